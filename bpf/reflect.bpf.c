// SPDX-License-Identifier: GPL-2.0-only
/*
 * afxdp's ping reflector (`afxdp demo --ping`): sends every IPv4 UDP frame to cfg_udp_port back
 * where it came from with XDP_TX, source and destination swapped in Ethernet, IPv4 and UDP.
 * Swapping keeps both checksums valid (the sums are order-independent), so nothing is recomputed.
 * Everything else goes to the stack.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u32 cfg_udp_port = 9; /* host byte order */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} reflected SEC(".maps");

SEC("xdp")
int afxdp_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(cfg_udp_port))
		return XDP_PASS;

	unsigned char mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	__be32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	__be16 p = udp->source;
	udp->source = udp->dest;
	udp->dest = p;

	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&reflected, &key);
	if (n)
		*n += 1;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
