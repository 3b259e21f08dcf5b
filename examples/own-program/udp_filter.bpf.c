// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * Bring your own XDP program: your filter, your XSKMAP, your own metadata fields — afxdp does
 * the stamping (afxdp_stamp() from <afxdp/meta.h>), the AF_XDP socket and the measurement.
 *
 *   clang -O2 -g -target bpf -I<afxdp>/bpf/include -I/usr/include/$(gcc -dumpmachine) \
 *         -c udp_filter.bpf.c -o udp_filter.bpf.o
 *   afxdp demo --program udp_filter.bpf.o
 *   afxdp latency --iface eth0 --program udp_filter.bpf.o --xskmap my_sockets
 *
 * This one takes IPv4 UDP to port 9 (what `afxdp demo` sends); everything else goes to the
 * kernel stack as if nothing were attached.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Optional: your own fields, carried in front of afxdp's struct (meta strategy). Up to
 * 216 − 48 = 168 bytes, a multiple of 4; afxdp refuses a bigger struct before loading. */
#define AFXDP_USER_META
struct afxdp_user_meta {
	__u32 src_ip;   /* network byte order */
	__u16 src_port; /* network byte order */
	__u8 ttl;
	__u8 pad;
};
#include <afxdp/meta.h>

#define UDP_PORT 9

/* afxdp registers its socket here: the only XSKMAP of the object (or name it with --xskmap) */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} my_sockets SEC(".maps");

SEC("xdp")
int udp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end || udp->dest != bpf_htons(UDP_PORT))
		return XDP_PASS;

	/* keep what we want to carry: packet pointers are invalid after afxdp_stamp() */
	__u32 src_ip = ip->saddr;
	__u16 src_port = udp->source;
	__u8 ttl = ip->ttl;

	/* 0, or a negative errno: the packet is delivered either way (then counted meta_invalid) */
	if (afxdp_stamp(ctx) == 0) {
		struct afxdp_user_meta *u = afxdp_user_meta(ctx);
		if (u) {
			u->src_ip = src_ip;
			u->src_port = src_port;
			u->ttl = ttl;
		}
	}
	return bpf_redirect_map(&my_sockets, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
