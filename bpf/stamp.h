/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/* Shared between bpf/stamp.bpf.c and the TypeScript that reads its maps (src/xdp/counters.ts).
 * Keep the two in sync: the TS side reads these structs by the offsets documented here. */
#ifndef AFXDP_STAMP_H
#define AFXDP_STAMP_H

#include <linux/types.h>

#define AFXDP_MAX_QUEUES 64

/* value of the per-CPU array `afxdp_counters`, indexed by RX queue; user space sums the CPUs */
struct afxdp_counters {
	__u64 seen;        /* +0  frames that reached the program */
	__u64 matched;     /* +8  frames that passed the filter (to be redirected) */
	__u64 stamped;     /* +16 frames whose stamp was written (by any strategy) */
	__u64 meta_failed; /* +24 bpf_xdp_adjust_meta() refused (or was simulated to): auto then falls back */
	__u64 redirected;  /* +32 bpf_redirect_map() returned XDP_REDIRECT */
	__u64 via_meta;    /* +40 stamps carried as metadata */
	__u64 via_prepend; /* +48 stamps prepended to the packet */
	__u64 via_map;     /* +56 stamps stored in afxdp_stamps */
	__u64 map_collisions; /* +64 map stamps refused: a stamp with the same key was waiting */
	__u64 unstamped;   /* +72 frames left without a stamp (every configured strategy refused) */
};

enum afxdp_match {
	AFXDP_MATCH_UDP = 0, /* IPv4/IPv6 UDP (optionally one destination port); the rest passes */
	AFXDP_MATCH_ALL = 1, /* every frame on the queue */
	AFXDP_MATCH_AFXDP = 2, /* like UDP, and the payload starts with AFXDP_PAYLOAD_MAGIC (stack_split.h: afxdp's test frames) */
};


/* the clock setting is afxdp_cfg_clock in afxdp/meta.h */

#endif
