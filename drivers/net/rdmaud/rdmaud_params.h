/* SPDX-License-Identifier: BSD-3-Clause */
/* The devargs net_rdmaud accepts, as one string (C and C++): the PMD-info
 * export and the parser's error messages both use it. */
#ifndef RDMAUD_PARAMS_H
#define RDMAUD_PARAMS_H

#define RDMAUD_PARAM_STRING \
	"dev=<verbs device name> " \
	"port=<int> " \
	"gid_index=<int> " \
	"qkey=<int> " \
	"mac=<xx:xx:xx:xx:xx:xx> " \
	"peers=<mac@gid|ipv4|lid/qpn[/qkey][;...]> " \
	"peers_file=<path: one peers entry per line> " \
	"tx_inline=<bytes> " \
	"tx_signal=<int> " \
	"registry=<host[:port][;host[:port]...]> " \
	"ns=<registry namespace> " \
	"name=<endpoint name> " \
	"registry_key=<HMAC key file> " \
	"registry_ttl=<seconds>"

#endif /* RDMAUD_PARAMS_H */
