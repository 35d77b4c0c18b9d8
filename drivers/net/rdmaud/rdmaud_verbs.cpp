/* SPDX-License-Identifier: BSD-3-Clause */
#include "rdmaud_verbs.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <arpa/inet.h>

namespace rdmaud {
namespace {

struct DevListDeleter {
	void operator()(ibv_device **l) const { ibv_free_device_list(l); }
};

/* RoCE v2 IPv4 GIDs are IPv4-mapped IPv6 addresses: ::ffff:a.b.c.d. */
bool gid_is_ipv4_mapped(const ibv_gid &g)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return std::memcmp(g.raw, prefix, sizeof(prefix)) == 0;
}

bool gid_is_zero(const ibv_gid &g)
{
	static const uint8_t zero[16] = {};
	return std::memcmp(g.raw, zero, sizeof(zero)) == 0;
}

/* Small sysfs reader: the first line of a file, or "" when there is none. */
std::string read_sysfs_line(const std::string &path)
{
	std::string out;
	FILE *f = std::fopen(path.c_str(), "re");
	if (f == nullptr)
		return out;
	char buf[128];
	if (std::fgets(buf, sizeof(buf), f) != nullptr) {
		out = buf;
		while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
			out.pop_back();
	}
	std::fclose(f);
	return out;
}

/*
 * The GID type as the kernel publishes it ("RoCE v2", "IB/RoCE v1"), or "" when
 * the device has no such sysfs entry (softud): then an IPv4-mapped GID is taken
 * as RoCE v2, the only kind softud has.
 */
std::string gid_type(const Device &dev, int index)
{
	return read_sysfs_line("/sys/class/infiniband/" + dev.name + "/ports/" +
			       std::to_string(dev.port) + "/gid_attrs/types/" + std::to_string(index));
}

int device_numa_node(const std::string &name)
{
	std::string v = read_sysfs_line("/sys/class/infiniband/" + name + "/device/numa_node");
	if (v.empty())
		return 0; /* no PCI device behind it (softud): node 0 */
	int node = std::atoi(v.c_str());
	return node < 0 ? -1 : node; /* -1: SOCKET_ID_ANY */
}

std::string gid_string(const ibv_gid &g)
{
	char buf[INET6_ADDRSTRLEN];
	if (inet_ntop(AF_INET6, g.raw, buf, sizeof(buf)) == nullptr)
		return "?";
	return buf;
}

} // namespace

uint32_t mtu_to_bytes(ibv_mtu mtu)
{
	switch (mtu) {
	case IBV_MTU_256: return 256;
	case IBV_MTU_512: return 512;
	case IBV_MTU_1024: return 1024;
	case IBV_MTU_2048: return 2048;
	case IBV_MTU_4096: return 4096;
	}
	return 0;
}

int query_port_state(Device &dev, ibv_port_attr &attr)
{
	std::memset(&attr, 0, sizeof(attr));
	int rc = ibv_query_port(dev.ctx.get(), dev.port, &attr);
	if (rc != 0)
		return -(rc > 0 ? rc : EIO);
	dev.mtu_bytes = mtu_to_bytes(attr.active_mtu);
	dev.lid = attr.lid;
	return 0;
}

int open_device(const DevConfig &cfg, Device &dev, std::string &err)
{
	int n = 0;
	std::unique_ptr<ibv_device *, DevListDeleter> list(ibv_get_device_list(&n));
	if (!list || n == 0) {
		err = "no verbs device found (is libibverbs a real one, or softud-run in use?)";
		return -ENODEV;
	}
	ibv_device *chosen = nullptr;
	std::string names;
	for (int i = 0; i < n; i++) {
		const char *nm = ibv_get_device_name(list.get()[i]);
		names += (i ? ", " : "") + std::string(nm ? nm : "?");
		if (chosen == nullptr && (cfg.dev.empty() || cfg.dev == (nm ? nm : "")))
			chosen = list.get()[i];
	}
	if (chosen == nullptr) {
		err = "verbs device \"" + cfg.dev + "\" not found; devices: " + names;
		return -ENODEV;
	}
	dev.name = ibv_get_device_name(chosen);
	dev.ctx.reset(ibv_open_device(chosen));
	if (!dev.ctx) {
		err = "cannot open verbs device " + dev.name + ": " + std::strerror(errno);
		return -(errno ? errno : ENODEV);
	}
	if (int rc = ibv_query_device(dev.ctx.get(), &dev.attr); rc != 0) {
		err = "ibv_query_device(" + dev.name + ") failed: " + std::strerror(rc);
		return -rc;
	}
	if (cfg.port > dev.attr.phys_port_cnt) {
		err = "verbs device " + dev.name + " has " + std::to_string(dev.attr.phys_port_cnt) +
		      " port(s); port=" + std::to_string(cfg.port) + " does not exist";
		return -ENODEV;
	}
	dev.port = static_cast<uint8_t>(cfg.port);
	ibv_port_attr pa;
	if (int rc = query_port_state(dev, pa); rc != 0) {
		err = "ibv_query_port(" + dev.name + ", " + std::to_string(dev.port) + ") failed: " +
		      std::strerror(-rc);
		return rc;
	}
	if (dev.mtu_bytes < RTE_ETHER_MIN_LEN) {
		err = "port MTU of " + dev.name + " unknown or too small for Ethernet frames";
		return -EINVAL;
	}
	/* rdma-core treats an unspecified link layer as InfiniBand. */
	dev.ib = pa.link_layer != IBV_LINK_LAYER_ETHERNET;
	dev.numa_node = device_numa_node(dev.name);

	if (cfg.gid_index != kGidIndexAuto) {
		if (cfg.gid_index >= pa.gid_tbl_len) {
			err = "gid_index=" + std::to_string(cfg.gid_index) + " beyond the GID table (" +
			      std::to_string(pa.gid_tbl_len) + " entries)";
			return -EINVAL;
		}
		if (ibv_query_gid(dev.ctx.get(), dev.port, cfg.gid_index, &dev.gid) != 0 ||
		    gid_is_zero(dev.gid)) {
			err = "gid_index=" + std::to_string(cfg.gid_index) + " is not a valid GID";
			return -EINVAL;
		}
		dev.gid_index = cfg.gid_index;
		dev.use_grh = true;
	} else if (dev.ib) {
		dev.use_grh = false; /* LID routing, no GRH */
		if (dev.lid == 0 || dev.lid > kMaxUnicastLid) {
			err = "InfiniBand port " + std::to_string(dev.port) + " of " + dev.name +
			      " has no unicast LID (is the subnet manager running?)";
			return -EINVAL;
		}
		ibv_query_gid(dev.ctx.get(), dev.port, 0, &dev.gid); /* for the log only */
	} else {
		for (int i = 0; i < pa.gid_tbl_len; i++) {
			ibv_gid g;
			if (ibv_query_gid(dev.ctx.get(), dev.port, i, &g) != 0 || !gid_is_ipv4_mapped(g))
				continue;
			std::string type = gid_type(dev, i);
			if (!type.empty() && type != "RoCE v2")
				continue;
			dev.gid = g;
			dev.gid_index = i;
			break;
		}
		if (dev.gid_index < 0) {
			err = "no RoCE v2 IPv4 GID on port " + std::to_string(dev.port) + " of " + dev.name +
			      "; give gid_index=";
			return -EINVAL;
		}
		dev.use_grh = true;
	}

	dev.pd.reset(ibv_alloc_pd(dev.ctx.get()));
	if (!dev.pd) {
		err = "ibv_alloc_pd(" + dev.name + ") failed: " + std::strerror(errno);
		return -(errno ? errno : ENOMEM);
	}
	return 0;
}

int create_ud_qp(Device &dev, const QpCaps &caps, UdQp &out, std::string &err)
{
	out.send_cq.reset(ibv_create_cq(dev.ctx.get(), static_cast<int>(caps.send_wr), nullptr, nullptr, 0));
	/* A channel costs nothing until the CQ is armed (rx interrupt mode). */
	out.rx_channel.reset(ibv_create_comp_channel(dev.ctx.get()));
	out.recv_cq.reset(ibv_create_cq(dev.ctx.get(), static_cast<int>(caps.recv_wr), nullptr,
					out.rx_channel.get(), 0));
	if (!out.send_cq || !out.recv_cq) {
		err = std::string("ibv_create_cq failed: ") + std::strerror(errno);
		return -(errno ? errno : ENOMEM);
	}
	ibv_qp_init_attr ia{};
	ia.send_cq = out.send_cq.get();
	ia.recv_cq = out.recv_cq.get();
	ia.qp_type = IBV_QPT_UD;
	ia.sq_sig_all = 0; /* selective signaling */
	ia.cap.max_send_wr = caps.send_wr;
	ia.cap.max_recv_wr = caps.recv_wr;
	ia.cap.max_send_sge = caps.send_sge;
	ia.cap.max_recv_sge = caps.recv_sge;
	ia.cap.max_inline_data = caps.inline_data;
	out.qp.reset(ibv_create_qp(dev.pd.get(), &ia));
	if (!out.qp && errno == EINVAL && caps.inline_data > 0) {
		/* Some devices inline less than asked or not at all: go without. */
		ia.cap.max_inline_data = 0;
		out.qp.reset(ibv_create_qp(dev.pd.get(), &ia));
	}
	if (!out.qp) {
		const int e = errno ? errno : ENOMEM;
		err = std::string("ibv_create_qp(UD) failed: ") + std::strerror(e);
		if (e == EADDRINUSE || e == EBUSY)
			err += " (device " + dev.name + " is in use by another process, which owns its address " +
			       "and QPNs: one process per device)";
		return -e;
	}
	/* ibv_create_qp returns caps at least as large as requested. */
	out.max_send_wr = ia.cap.max_send_wr;
	out.max_recv_wr = ia.cap.max_recv_wr;
	out.max_send_sge = ia.cap.max_send_sge;
	out.max_recv_sge = ia.cap.max_recv_sge;
	out.max_inline = ia.cap.max_inline_data;
	return 0;
}

int qp_to_rts(Device &dev, ibv_qp *qp, uint32_t qkey)
{
	ibv_qp_attr a{};
	a.qp_state = IBV_QPS_INIT;
	a.pkey_index = 0;
	a.port_num = dev.port;
	a.qkey = qkey;
	int rc = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY);
	if (rc != 0)
		return -rc;
	a = {};
	a.qp_state = IBV_QPS_RTR;
	if ((rc = ibv_modify_qp(qp, &a, IBV_QP_STATE)) != 0)
		return -rc;
	a = {};
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = 0;
	if ((rc = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN)) != 0)
		return -rc;
	return 0;
}

int qp_to_reset(ibv_qp *qp)
{
	ibv_qp_attr a{};
	a.qp_state = IBV_QPS_RESET;
	return -ibv_modify_qp(qp, &a, IBV_QP_STATE);
}

int qp_state(ibv_qp *qp)
{
	ibv_qp_attr a{};
	ibv_qp_init_attr ia{};
	if (int rc = ibv_query_qp(qp, &a, IBV_QP_STATE, &ia); rc != 0)
		return -rc;
	return a.qp_state;
}

ibv_ah *create_peer_ah(Device &dev, const PeerSpec &peer, std::string &err)
{
	ibv_ah_attr a{};
	a.port_num = dev.port;
	if (peer.kind == PeerAddrKind::kLid) {
		if (!dev.ib) {
			err = "a LID peer on a RoCE port (give its GID or IPv4 address)";
			errno = EINVAL;
			return nullptr;
		}
		a.dlid = peer.lid;
		a.is_global = 0;
	} else {
		if (!dev.use_grh) {
			err = "a GID peer on an InfiniBand port routed by LID (give its LID, or gid_index=)";
			errno = EINVAL;
			return nullptr;
		}
		a.is_global = 1;
		std::memcpy(a.grh.dgid.raw, peer.gid, sizeof(peer.gid));
		a.grh.sgid_index = static_cast<uint8_t>(dev.gid_index);
		a.grh.hop_limit = kHopLimit;
	}
	ibv_ah *ah = ibv_create_ah(dev.pd.get(), &a);
	if (ah == nullptr)
		err = std::string("ibv_create_ah failed: ") + std::strerror(errno);
	return ah;
}

rte_ether_addr derive_mac(const Device &dev, uint32_t qpn)
{
	rte_ether_addr m{};
	m.addr_bytes[0] = 0x02; /* locally administered, unicast */
	if (dev.use_grh) {
		m.addr_bytes[1] = dev.gid.raw[14];
		m.addr_bytes[2] = dev.gid.raw[15];
	} else {
		m.addr_bytes[1] = static_cast<uint8_t>(dev.lid >> 8);
		m.addr_bytes[2] = static_cast<uint8_t>(dev.lid);
	}
	m.addr_bytes[3] = static_cast<uint8_t>(qpn >> 16);
	m.addr_bytes[4] = static_cast<uint8_t>(qpn >> 8);
	m.addr_bytes[5] = static_cast<uint8_t>(qpn);
	return m;
}

std::string source_address(const Device &dev)
{
	char lid[16];
	std::snprintf(lid, sizeof(lid), "0x%x", dev.lid);
	if (dev.use_grh)
		return std::string(dev.ib ? "InfiniBand" : "RoCE v2") + " gid " + gid_string(dev.gid) +
		       " (index " + std::to_string(dev.gid_index) + ")";
	return std::string("InfiniBand lid ") + lid;
}

} // namespace rdmaud
