/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Ethernet [+ one 802.1Q / 802.1ad tag], bounds-checked: the one L2 parse of afxdp's programs
 * (the stamp program's match and the kernel-stack split's in-place stamp).
 */
#ifndef AFXDP_L2_H
#define AFXDP_L2_H
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* The L3 header, its EtherType (network order) in *proto; NULL when the frame is cut short. */
static __always_inline void *afxdp_l3(void *data, void *data_end, __u16 *proto)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return NULL;
	__u16 p = eth->h_proto;
	void *l3 = eth + 1;
	if (p == bpf_htons(ETH_P_8021Q) || p == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l3;
		if ((void *)(vh + 1) > data_end)
			return NULL;
		p = vh->proto;
		l3 = vh + 1;
	}
	*proto = p;
	return l3;
}
#endif
