/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * afxdp metadata ABI: what an XDP program leaves in front of a packet for user space.
 *
 * Layout rule: the struct sits immediately before the packet data (data_meta .. data) and is
 * read *from its end*. The last two words are the struct length and a magic/version word, so a
 * reader holding only the packet address (the AF_XDP RX descriptor carries no metadata length)
 * can find and validate it. New fields are only ever added at the FRONT; the offset of every
 * existing field from the end never changes, so an old reader keeps working on a newer struct.
 *
 * Validity: `flags` says which fields hold a value. A clear bit means "absent", never a guess
 * (e.g. a HW timestamp of 0 is absent, not 1970).
 *
 * Include from BPF C (with bpf_helpers.h) or from user-space C; see docs/METADATA-ABI.md.
 */
#ifndef AFXDP_META_H
#define AFXDP_META_H

#include <linux/types.h>

/* magic (upper 24 bits) | version (lower 8 bits), stored in host byte order at data - 4 */
#define AFXDP_META_MAGIC        0xAFD8A000u
#define AFXDP_META_MAGIC_MASK   0xFFFFFF00u
#define AFXDP_META_VERSION      1u

/* flags: which fields are valid / how the stamp was carried */
#define AFXDP_F_XDP_TS      (1u << 0) /* xdp_ts holds the XDP hook time */
#define AFXDP_F_CLOCK_TAI   (1u << 1) /* xdp_ts is CLOCK_TAI (else CLOCK_MONOTONIC) */
#define AFXDP_F_HW_TS       (1u << 2) /* hw_rx_ts holds a NIC RX timestamp (PHC domain) */
#define AFXDP_F_RX_HASH     (1u << 3) /* rx_hash + rx_hash_type valid */
#define AFXDP_F_VLAN        (1u << 4) /* vlan_proto + vlan_tci valid */
#define AFXDP_F_QUEUE       (1u << 5) /* rx_queue valid */
#define AFXDP_F_VIA_PREPEND (1u << 8) /* struct was prepended to the packet (adjust_head) */
#define AFXDP_F_VIA_MAP     (1u << 9) /* stamp was carried in a BPF map */

struct afxdp_meta {
	/* ---- newer fields go here, in front ---- */
	__u64 hw_rx_ts;      /* NIC RX timestamp, ns, PHC domain (AFXDP_F_HW_TS) */
	__u32 rx_hash;       /* RSS hash (AFXDP_F_RX_HASH) */
	__u32 rx_hash_type;  /* enum xdp_rss_hash_type */
	__u16 vlan_proto;    /* network byte order, as the kfunc returns it (AFXDP_F_VLAN) */
	__u16 vlan_tci;
	__u32 reserved;      /* zero */
	__u64 xdp_ts;        /* time at the XDP hook, ns (AFXDP_F_XDP_TS) */
	__u32 rx_queue;      /* ctx->rx_queue_index (AFXDP_F_QUEUE) */
	__u32 flags;         /* AFXDP_F_* */
	__u32 len;           /* sizeof(struct afxdp_meta) as written: at data - 8 */
	__u32 magic;         /* AFXDP_META_MAGIC | AFXDP_META_VERSION: at data - 4 */
};

/* Offsets from the packet data pointer (negative), for readers that work from the end. */
#define AFXDP_META_OFF_MAGIC     (-4)
#define AFXDP_META_OFF_LEN       (-8)
#define AFXDP_META_OFF_FLAGS     (-12)
#define AFXDP_META_OFF_RX_QUEUE  (-16)
#define AFXDP_META_OFF_XDP_TS    (-24)
#define AFXDP_META_OFF_VLAN_PROTO (-32)
#define AFXDP_META_OFF_VLAN_TCI  (-30)
#define AFXDP_META_OFF_RX_HASH_TYPE (-36)
#define AFXDP_META_OFF_RX_HASH   (-40)
#define AFXDP_META_OFF_HW_RX_TS  (-48)

/* The kernel wants the metadata size to be a multiple of 4 (else EACCES) and, on 6.18, at
 * most 216 bytes (else EINVAL; 252 minus what the driver keeps). */
#define AFXDP_META_MAX_LEN 216

#ifdef __BPF__
/*
 * afxdp_stamp_meta(): reserve the struct in front of the packet with bpf_xdp_adjust_meta(),
 * then fill it. Returns 0, or the helper's negative errno (e.g. -ENOTSUPP on a driver
 * without metadata support: the packet is unchanged then).
 *
 * Why the pointers are re-read: every packet pointer taken before bpf_xdp_adjust_meta() is
 * invalid after it (the verifier rejects their use). And ctx->data_meta is read-only: writing
 * it is the seed question's "invalid bpf_context access off=8".
 */
static __always_inline int afxdp_stamp_meta(struct xdp_md *ctx, __u64 ts, __u32 ts_flags)
{
	int err = bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct afxdp_meta));
	if (err)
		return err;

	void *data = (void *)(long)ctx->data;
	struct afxdp_meta *m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > data)
		return -22; /* -EINVAL: cannot happen after a successful adjust, but the verifier needs it */

	m->hw_rx_ts = 0;
	m->rx_hash = 0;
	m->rx_hash_type = 0;
	m->vlan_proto = 0;
	m->vlan_tci = 0;
	m->reserved = 0;
	m->xdp_ts = ts;
	m->rx_queue = ctx->rx_queue_index;
	m->flags = ts_flags | AFXDP_F_XDP_TS | AFXDP_F_QUEUE;
	m->len = sizeof(struct afxdp_meta);
	m->magic = AFXDP_META_MAGIC | AFXDP_META_VERSION;
	return 0;
}
#endif /* __BPF__ */

#endif /* AFXDP_META_H */
