/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Registration with the vdev bus. Plain C because DPDK's registration macros
 * rely on C linkage: pmdinfogen (and so dpdk-pmdinfo.py) looks for the
 * unmangled this_pmd_name* and *_param_string_export symbols they define.
 */
#include <bus_vdev_driver.h>

#include "rdmaud_params.h"

int rdmaud_vdev_probe(struct rte_vdev_device *vdev);
int rdmaud_vdev_remove(struct rte_vdev_device *vdev);

static struct rte_vdev_driver rdmaud_vdev_driver = {
	.probe = rdmaud_vdev_probe,
	.remove = rdmaud_vdev_remove,
};

RTE_PMD_REGISTER_VDEV(net_rdmaud, rdmaud_vdev_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_rdmaud, RDMAUD_PARAM_STRING);
