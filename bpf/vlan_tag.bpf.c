// SPDX-License-Identifier: GPL-2.0-only
/*
 * The lab's VLAN tagger (Lab.create({ vlan })): a tc egress program on the tx veth end that puts
 * an 802.1Q tag on every frame the kernel stack sends, the way a VLAN device over a NIC with
 * VLAN offload does: bpf_skb_vlan_push() stores it out of band (skb->vlan_tci), so on the rx end
 * the driver reports it as the XDP VLAN hint. This kernel has no 8021q module, hence BPF.
 * (AF_XDP transmits bypass tc egress; the lab sends tagged traffic through the stack.)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u32 cfg_vlan_id = 1;

SEC("tc")
int vlan_tag(struct __sk_buff *skb)
{
	if (skb->vlan_present)
		return TC_ACT_OK;
	bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), (__u16)cfg_vlan_id);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
