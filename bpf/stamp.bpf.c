// SPDX-License-Identifier: GPL-2.0-only
/*
 * afxdp's default XDP program: stamp the packet with the XDP hook time (afxdp_stamp_via() of
 * afxdp/meta.h: metadata, prepended header or map, per .rodata), then redirect it to the AF_XDP
 * socket of its RX queue.
 * Configured before load through .rodata (const volatile), so one object serves every run.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <afxdp/meta.h>
#include "stamp.h"
#include "l2.h"
/* the kernel-stack comparison: every Nth matched frame to the stack, stamped in place */
#include "stack_split.h"

const volatile __u32 cfg_match = AFXDP_MATCH_UDP;
const volatile __u32 cfg_udp_port = 0; /* host byte order; 0 = any port */

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, AFXDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AFXDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, struct afxdp_counters);
} afxdp_counters SEC(".maps");

/* AFXDP_MATCH_AFXDP: only afxdp's own test frames, so other UDP flows keep reaching the stack */
static __always_inline int payload_is_afxdp(void *payload, void *data_end)
{
	/* byte by byte: the payload may sit at an odd offset of match_frame()'s stack copy, and the
	 * verifier refuses a misaligned 4-byte stack load (a packet pointer would not care) */
	__u8 *m = payload;
	if ((void *)(m + 4) > data_end)
		return 0;
	return m[0] == (AFXDP_PAYLOAD_MAGIC >> 24) && m[1] == ((AFXDP_PAYLOAD_MAGIC >> 16) & 0xff) &&
	       m[2] == ((AFXDP_PAYLOAD_MAGIC >> 8) & 0xff) && m[3] == (AFXDP_PAYLOAD_MAGIC & 0xff);
}

/* Is this a frame we measure? Bounds-checked parse of Ethernet [+ one VLAN tag] + IP + UDP. */
static __always_inline int match_headers(void *data, void *data_end)
{
	__u16 proto;
	void *l3 = afxdp_l3(data, data_end, &proto);
	if (!l3)
		return 0;

	struct udphdr *udp;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl < 5)
			return 0;
		udp = (void *)ip + ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return 0;
		udp = (void *)(ip6 + 1);
	} else {
		return 0;
	}
	if ((void *)(udp + 1) > data_end)
		return 0;
	if (cfg_udp_port != 0 && udp->dest != bpf_htons((__u16)cfg_udp_port))
		return 0;
	return cfg_match != AFXDP_MATCH_AFXDP || payload_is_afxdp(udp + 1, data_end);
}

/* Ethernet + VLAN + IPv6 + UDP: the most header bytes match_headers() reads */
#define HDR_COPY 72

/*
 * The headers are read in place from the linear part (every driver seen keeps them there). A
 * multi-buffer packet whose linear part is shorter than the headers (header split) has them
 * copied out with bpf_xdp_load_bytes() and parsed from the stack copy instead.
 */
static __always_inline int match_frame(struct xdp_md *ctx)
{
	if (cfg_match == AFXDP_MATCH_ALL)
		return 1;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (data + HDR_COPY <= data_end || bpf_xdp_get_buff_len(ctx) < HDR_COPY)
		return match_headers(data, data_end);
	__u8 hdr[HDR_COPY];
	if (bpf_xdp_load_bytes(ctx, 0, hdr, HDR_COPY))
		return 0;
	return match_headers(hdr, hdr + HDR_COPY);
}

/* xdp.frags: multi-buffer packets (jumbo frames, XDP_USE_SG sockets) reach the program whole
 * (kernel >= 5.18); the stamp goes in front of the first buffer as for any packet. */
SEC("xdp.frags")
int afxdp_stamp_prog(struct xdp_md *ctx)
{
	__u32 queue = ctx->rx_queue_index;
	struct afxdp_counters *c = bpf_map_lookup_elem(&afxdp_counters, &queue);
	/* queue >= AFXDP_MAX_QUEUES: no counters and no socket slot; leave the frame to the stack */
	if (!c)
		return XDP_PASS;
	c->seen++;

	if (!match_frame(ctx))
		return XDP_PASS;
	c->matched++;
	if (afxdp_to_stack(ctx, queue, c->matched))
		return XDP_PASS;

	/* strategy, clock and the no-metadata simulation come from .rodata (afxdp/meta.h) */
	__u32 via = 0;
	int err = afxdp_stamp_via(ctx, &via);
	if ((afxdp_cfg_strategy == AFXDP_STRATEGY_AUTO || afxdp_cfg_strategy == AFXDP_STRATEGY_META) && via != AFXDP_VIA_META)
		c->meta_failed++;
	if (err == 0) {
		c->stamped++;
		if (via == AFXDP_VIA_META)
			c->via_meta++;
		else if (via == AFXDP_VIA_PREPEND)
			c->via_prepend++;
		else
			c->via_map++;
	} else {
		c->unstamped++; /* still delivered: user space counts it as meta_invalid */
		if (err == -17)
			c->map_collisions++;
	}

	long act = bpf_redirect_map(&xsks_map, queue, XDP_PASS);
	if (act == XDP_REDIRECT)
		c->redirected++;
	return act;
}

char LICENSE[] SEC("license") = "GPL";
