// SPDX-License-Identifier: GPL-2.0-only
/*
 * A custom XDP program for afxdp: UDP to a port listed in `allowed_ports` is stamped with the
 * afxdp metadata header and redirected to the AF_XDP socket of its queue; UDP to any other port
 * is dropped (and counted); everything else (ARP, TCP, ...) goes on to the kernel.
 *
 * Build: clang -O2 -g -target bpf -I$(afxdp include dir) -I/usr/include/$(uname -m)-linux-gnu \
 *          -c xdp-filter.bpf.c -o xdp-filter.bpf.o
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <afxdp/meta.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/* destination ports (host byte order) to deliver; filled from TypeScript */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} allowed_ports SEC(".maps");

/* [0] = delivered, [1] = dropped */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} filter_stats SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&filter_stats, &slot);
	if (v)
		(*v)++;
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl < 5)
		return XDP_PASS;
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;

	__u32 port = bpf_ntohs(udp->dest);
	if (!bpf_map_lookup_elem(&allowed_ports, &port)) {
		count(1);
		return XDP_DROP;
	}
	/* every packet pointer above is invalid after this call: do not use eth/ip/udp below */
	afxdp_stamp_meta(ctx, bpf_ktime_get_ns(), 0);
	count(0);
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
