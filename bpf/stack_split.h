/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel-stack comparison of bpf/stamp.bpf.c (`afxdp demo --compare-stack`, `afxdp compare`):
 * every Nth matched frame (cfg_stack_every; 0 = off) is passed to the kernel stack instead of the
 * AF_XDP socket, with the XDP hook time written into the afxdp payload in place, so a plain UDP
 * socket gets it with the datagram. Kept apart from the stamping program so both evolve alone.
 *
 * In-place stamp (IPv4 afxdp frames with a UDP payload of at least 28 bytes, i.e. frames >= 70):
 *   payload +0   magic 'AFXG' becomes 'AFXS' (big-endian), so a stamped datagram is recognisable
 *   payload +20  u64 little-endian: the XDP time, in the clock of afxdp_cfg_clock
 * and the UDP checksum is zeroed (IPv4 allows "no checksum"; the payload changed under it).
 * Anything else that is sent to the stack goes unstamped and is counted as such.
 */
#ifndef AFXDP_STACK_SPLIT_H
#define AFXDP_STACK_SPLIT_H
#include "l2.h"

#define AFXDP_PAYLOAD_MAGIC 0x41465847u /* 'AFXG', src/wire/frame.ts */
#define AFXDP_STACK_MAGIC   0x41465853u /* 'AFXS' */
#define AFXDP_STACK_TS_OFF  20
#define AFXDP_STACK_MIN_PAYLOAD (AFXDP_STACK_TS_OFF + 8)

const volatile __u32 cfg_stack_every = 0;

/* value of the per-CPU array `afxdp_stack_counters`, indexed by RX queue (src/xdp/counters.ts) */
struct afxdp_stack_counters {
	__u64 to_stack;  /* +0  matched frames passed to the kernel stack */
	__u64 stamped;   /* +8  of those, stamped in place */
	__u64 unstamped; /* +16 of those, left as they were (not IPv4 afxdp frames, or too short) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AFXDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, struct afxdp_stack_counters);
} afxdp_stack_counters SEC(".maps");

/* Writes the in-place stamp; 0 when the frame is no IPv4 afxdp frame with room for it. */
static __always_inline int afxdp_stack_stamp(void *data, void *data_end)
{
	__u16 proto;
	void *l3 = afxdp_l3(data, data_end, &proto);
	if (!l3)
		return 0;
	if (proto != bpf_htons(ETH_P_IP))
		return 0;
	struct iphdr *ip = l3;
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return 0;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end || bpf_ntohs(udp->len) < sizeof(*udp) + AFXDP_STACK_MIN_PAYLOAD)
		return 0;
	__u8 *pl = (void *)(udp + 1);
	if ((void *)(pl + AFXDP_STACK_MIN_PAYLOAD) > data_end || *(__u32 *)pl != bpf_htonl(AFXDP_PAYLOAD_MAGIC))
		return 0;
	__u64 ts = afxdp_cfg_clock == AFXDP_CLOCK_TAI ? bpf_ktime_get_tai_ns() : bpf_ktime_get_ns();
	*(__u32 *)pl = bpf_htonl(AFXDP_STACK_MAGIC);
	__builtin_memcpy(pl + AFXDP_STACK_TS_OFF, &ts, sizeof(ts));
	udp->check = 0;
	return 1;
}

/* 1: the frame goes to the kernel stack (the caller returns XDP_PASS). `nth` counts matched frames. */
static __always_inline int afxdp_to_stack(struct xdp_md *ctx, __u32 queue, __u64 nth)
{
	if (cfg_stack_every == 0 || nth % cfg_stack_every != 0)
		return 0;
	struct afxdp_stack_counters *s = bpf_map_lookup_elem(&afxdp_stack_counters, &queue);
	if (!s)
		return 0;
	s->to_stack++;
	if (afxdp_stack_stamp((void *)(long)ctx->data, (void *)(long)ctx->data_end))
		s->stamped++;
	else
		s->unstamped++;
	return 1;
}

#endif
