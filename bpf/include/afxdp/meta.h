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
 * Include from BPF C (with bpf_helpers.h) or from user-space C; see docs/METADATA.md.
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

/* Strategies (afxdp_cfg_strategy): how the stamp travels to user space. */
#define AFXDP_STRATEGY_AUTO    0u /* meta; per packet, when that fails: prepend, then map */
#define AFXDP_STRATEGY_META    1u /* bpf_xdp_adjust_meta: struct in front of the packet */
#define AFXDP_STRATEGY_PREPEND 2u /* bpf_xdp_adjust_head: struct at the new packet start */
#define AFXDP_STRATEGY_MAP     3u /* struct in the LRU hash afxdp_stamps, keyed by afxdp_frame_key */

/* Clocks (afxdp_cfg_clock) */
#define AFXDP_CLOCK_MONOTONIC 0u
#define AFXDP_CLOCK_TAI       1u

/* Which strategy carried a stamp (afxdp_stamp_via's *via) */
#define AFXDP_VIA_META    1u
#define AFXDP_VIA_PREPEND 2u
#define AFXDP_VIA_MAP     3u

/* Key of the map strategy, derived from the packet alone so user space can compute it too:
 * murmur3_32's block mixing (seed 0) over the first 64 bytes of the frame taken as little-endian
 * u32 words (fewer when the frame is shorter; a tail under 4 bytes is left out), finished with
 * fmix32, and the frame length. (Word-wise FNV-1a was tried first: test traffic whose sequence
 * number and timestamp change together collided in 7% of 200-packet runs.) Two frames with equal first 64 bytes and length collide: the second
 * stamp is refused (BPF_NOEXIST) and counted, never swapped. */
struct afxdp_map_key {
	__u32 hash;
	__u32 len;
};
#define AFXDP_MAP_KEY_WORDS   16
#define AFXDP_MAP_MAX_ENTRIES 8192

struct afxdp_meta {
	/* ---- newer fields go here, in front ---- */
	__u64 hw_rx_ts;      /* NIC RX timestamp, ns, PHC domain (AFXDP_F_HW_TS) */
	__u32 rx_hash;       /* RSS hash (AFXDP_F_RX_HASH) */
	__u32 rx_hash_type;  /* enum xdp_rss_hash_type */
	__u16 vlan_proto;    /* network byte order, as the kfunc returns it (AFXDP_F_VLAN) */
	__u16 vlan_tci;
	__u32 cookie;        /* the run cookie from .rodata (afxdp_cfg_cookie); 0 = none */
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
#define AFXDP_META_OFF_COOKIE    (-28)
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
 * Configuration, set by afxdp through .rodata before load (const volatile: the verifier then
 * prunes the branches a setting rules out, so e.g. a `meta` program never even contains the map
 * path). A program that includes this header gets them under these names.
 */
const volatile __u32 afxdp_cfg_strategy = AFXDP_STRATEGY_AUTO;
const volatile __u32 afxdp_cfg_clock = AFXDP_CLOCK_MONOTONIC;
/* diagnostic: behave as on a driver without metadata support (adjust_meta = -ENOTSUPP) */
const volatile __u32 afxdp_cfg_simulate_no_meta = 0;
/* random per run: lets user space tell a prepended struct from payload bytes */
const volatile __u32 afxdp_cfg_cookie = 0;

/*
 * Your own metadata fields (meta strategy): `#define AFXDP_USER_META` and define
 * `struct afxdp_user_meta { ... }` before including this header. afxdp_stamp() then reserves
 * your struct in front of afxdp's (zeroed), and afxdp_user_meta(ctx) returns it for you to fill.
 * afxdp reads the size below before loading and refuses a total above AFXDP_META_MAX_LEN with a
 * clear error (the kernel would refuse every packet's metadata at run time).
 */
#ifdef AFXDP_USER_META
#define AFXDP_USER_META_LEN ((int)sizeof(struct afxdp_user_meta))
#else
#define AFXDP_USER_META_LEN 0
#endif
const volatile __u32 afxdp_meta_user_len = AFXDP_USER_META_LEN;

#ifndef AFXDP_NO_MAP_STRATEGY
/* The map strategy's stamps. LRU: stamps nobody collects (their packet was dropped) are evicted
 * instead of filling the map; user space counts them as stamps without a packet. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AFXDP_MAP_MAX_ENTRIES);
	__type(key, struct afxdp_map_key);
	__type(value, struct afxdp_meta);
} afxdp_stamps SEC(".maps");
#endif

#ifdef AFXDP_HINTS
/*
 * Device-bound hardware hints (kernel ≥ 6.3; VLAN ≥ 6.8): RX timestamp, RX hash + type, VLAN tag,
 * read with the XDP metadata kfuncs. A program using them must be loaded for one device with
 * BPF_F_XDP_DEV_BOUND_ONLY and attached in native mode; afxdp builds its program with and
 * without AFXDP_HINTS and falls back to the one without when the kernel or driver refuses.
 * Which hints are read is afxdp_cfg_hints (a bit mask of AFXDP_F_HW_TS | _RX_HASH | _VLAN).
 *
 * The kernel's enum xdp_rss_hash_type is not in the uapi headers; the kfunc's third argument
 * must still be a pointer to an enum of that name, or libbpf rejects the object.
 */
enum xdp_rss_hash_type {
	AFXDP_RSS_TYPE_NONE = 0,
};
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym;
extern int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash, enum xdp_rss_hash_type *rss_type) __ksym;
extern int bpf_xdp_metadata_rx_vlan_tag(const struct xdp_md *ctx, __be16 *vlan_proto, __u16 *vlan_tci) __ksym;

const volatile __u32 afxdp_cfg_hints = AFXDP_F_HW_TS | AFXDP_F_RX_HASH | AFXDP_F_VLAN;

/* Fill the hint fields; a kfunc that fails (-EOPNOTSUPP, -ENODATA) or a timestamp of 0 leaves its
 * flag clear: absent, never a guess. */
static __always_inline __u32 afxdp_hints(struct xdp_md *ctx, struct afxdp_meta *m)
{
	__u32 flags = 0;
	if (afxdp_cfg_hints & AFXDP_F_HW_TS) {
		__u64 ts = 0;
		if (bpf_xdp_metadata_rx_timestamp(ctx, &ts) == 0 && ts != 0) {
			m->hw_rx_ts = ts;
			flags |= AFXDP_F_HW_TS;
		}
	}
	if (afxdp_cfg_hints & AFXDP_F_RX_HASH) {
		__u32 hash = 0;
		enum xdp_rss_hash_type type = 0;
		if (bpf_xdp_metadata_rx_hash(ctx, &hash, &type) == 0) {
			m->rx_hash = hash;
			m->rx_hash_type = (__u32)type;
			flags |= AFXDP_F_RX_HASH;
		}
	}
	if (afxdp_cfg_hints & AFXDP_F_VLAN) {
		__be16 proto = 0;
		__u16 tci = 0;
		if (bpf_xdp_metadata_rx_vlan_tag(ctx, &proto, &tci) == 0) {
			m->vlan_proto = proto;
			m->vlan_tci = tci;
			flags |= AFXDP_F_VLAN;
		}
	}
	return flags;
}
#endif /* AFXDP_HINTS */

static __always_inline void afxdp_fill(struct afxdp_meta *m, struct xdp_md *ctx, __u64 ts, __u32 ts_flags)
{
	m->hw_rx_ts = 0;
	m->rx_hash = 0;
	m->rx_hash_type = 0;
	m->vlan_proto = 0;
	m->vlan_tci = 0;
#ifdef AFXDP_HINTS
	ts_flags |= afxdp_hints(ctx, m);
#endif
	m->cookie = afxdp_cfg_cookie;
	m->xdp_ts = ts;
	m->rx_queue = ctx->rx_queue_index;
	m->flags = ts_flags | AFXDP_F_XDP_TS | AFXDP_F_QUEUE;
	m->len = sizeof(struct afxdp_meta);
	m->magic = AFXDP_META_MAGIC | AFXDP_META_VERSION;
}

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
	int err = bpf_xdp_adjust_meta(ctx, -(AFXDP_USER_META_LEN + (int)sizeof(struct afxdp_meta)));
	if (err)
		return err;

	void *data = (void *)(long)ctx->data;
	void *meta = (void *)(long)ctx->data_meta;
	struct afxdp_meta *m = meta + AFXDP_USER_META_LEN;
	if ((void *)(m + 1) > data)
		return -22; /* -EINVAL: cannot happen after a successful adjust, but the verifier needs it */
#ifdef AFXDP_USER_META
	__builtin_memset(meta, 0, AFXDP_USER_META_LEN);
#endif
	afxdp_fill(m, ctx, ts, ts_flags);
	return 0;
}

#ifdef AFXDP_USER_META
/* Your struct in front of afxdp's, after a successful meta stamp; NULL otherwise (prepend and
 * map carry afxdp's struct only). Re-read packet pointers after afxdp_stamp() anyway. */
static __always_inline struct afxdp_user_meta *afxdp_user_meta(struct xdp_md *ctx)
{
	struct afxdp_user_meta *u = (void *)(long)ctx->data_meta;
	void *data = (void *)(long)ctx->data;
	if ((void *)(u + 1) + sizeof(struct afxdp_meta) > data)
		return 0;
	return u;
}
#endif

/*
 * afxdp_stamp_prepend(): grow the packet at the front with bpf_xdp_adjust_head() and write the
 * struct there; user space strips it again. Works where metadata does not (the packet headroom
 * exists on every XDP driver), but the packet the stack or a redirect sees is longer.
 */
static __always_inline int afxdp_stamp_prepend(struct xdp_md *ctx, __u64 ts, __u32 ts_flags)
{
	int err = bpf_xdp_adjust_head(ctx, -(int)sizeof(struct afxdp_meta));
	if (err)
		return err;

	struct afxdp_meta *m = (void *)(long)ctx->data;
	if ((void *)(m + 1) > (void *)(long)ctx->data_end) {
		bpf_xdp_adjust_head(ctx, (int)sizeof(struct afxdp_meta));
		return -22;
	}
	afxdp_fill(m, ctx, ts, ts_flags | AFXDP_F_VIA_PREPEND);
	return 0;
}

/* murmur3's fmix32: spreads the state over all bits (user space does the same) */
static __always_inline __u32 afxdp_fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* murmur3's block mixing of one little-endian word into the state */
static __always_inline __u32 afxdp_mix_word(__u32 h, __u32 w)
{
	__u32 k = w * 0xcc9e2d51u;
	k = (k << 15) | (k >> 17);
	h ^= k * 0x1b873593u;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64u;
}

/*
 * The map key of the packet as it is now (see struct afxdp_map_key). `len` is the WHOLE packet
 * (bpf_xdp_get_buff_len: every buffer of a multi-buffer packet, kernel >= 5.18). The hashed bytes
 * are read straight from the linear part; only when that is shorter than them but the packet is
 * not (a driver that splits headers from a multi-buffer packet) they are copied out with
 * bpf_xdp_load_bytes first.
 */
static __always_inline void afxdp_frame_key(struct xdp_md *ctx, struct afxdp_map_key *k)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 total = (__u32)bpf_xdp_get_buff_len(ctx);
	__u32 h = 0;
	if (data + AFXDP_MAP_KEY_WORDS * 4 > end && total >= AFXDP_MAP_KEY_WORDS * 4) {
		__u32 w[AFXDP_MAP_KEY_WORDS];
		if (bpf_xdp_load_bytes(ctx, 0, w, sizeof(w)) == 0) {
#pragma unroll
			for (int i = 0; i < AFXDP_MAP_KEY_WORDS; i++)
				h = afxdp_mix_word(h, w[i]);
		}
	} else {
#pragma unroll
		for (int i = 0; i < AFXDP_MAP_KEY_WORDS; i++) {
			__u32 *p = data + i * 4;
			if ((void *)(p + 1) > end)
				break;
			h = afxdp_mix_word(h, *p);
		}
	}
	k->hash = afxdp_fmix32(h);
	k->len = total;
}

#ifndef AFXDP_NO_MAP_STRATEGY
/*
 * afxdp_stamp_map(): the packet stays untouched; the struct goes to afxdp_stamps under the
 * packet's key. Returns 0, -EEXIST (17) when a stamp with the same key is still waiting (counted
 * as a collision; that packet has no stamp), or another negative errno.
 */
static __always_inline int afxdp_stamp_map(struct xdp_md *ctx, __u64 ts, __u32 ts_flags)
{
	struct afxdp_map_key k;
	struct afxdp_meta m;
	afxdp_frame_key(ctx, &k);
	afxdp_fill(&m, ctx, ts, ts_flags | AFXDP_F_VIA_MAP);
	return (int)bpf_map_update_elem(&afxdp_stamps, &k, &m, BPF_NOEXIST);
}
#endif

/*
 * afxdp_stamp_via(): stamp the packet the way .rodata says (afxdp_cfg_strategy, _clock,
 * _simulate_no_meta). `auto` tries metadata and falls back per packet, first to prepend, then
 * (unless AFXDP_NO_MAP_STRATEGY) to the map; the flags in the struct say which one carried it,
 * and *via gets AFXDP_VIA_*. Returns 0 or the last strategy's negative errno.
 */
static __always_inline int afxdp_stamp_via(struct xdp_md *ctx, __u32 *via)
{
	__u64 ts;
	__u32 ts_flags;
	int err = -95; /* -EOPNOTSUPP: no strategy configured that could run */

	if (afxdp_cfg_clock == AFXDP_CLOCK_TAI) {
		ts = bpf_ktime_get_tai_ns();
		ts_flags = AFXDP_F_CLOCK_TAI;
	} else {
		ts = bpf_ktime_get_ns();
		ts_flags = 0;
	}
	*via = 0;

	if (afxdp_cfg_strategy == AFXDP_STRATEGY_AUTO || afxdp_cfg_strategy == AFXDP_STRATEGY_META) {
		/* -ENOTSUPP (524) is what bpf_xdp_adjust_meta returns on such a driver */
		err = afxdp_cfg_simulate_no_meta ? -524 : afxdp_stamp_meta(ctx, ts, ts_flags);
		if (err == 0) {
			*via = AFXDP_VIA_META;
			return 0;
		}
		if (afxdp_cfg_strategy == AFXDP_STRATEGY_META)
			return err;
	}
	if (afxdp_cfg_strategy == AFXDP_STRATEGY_AUTO || afxdp_cfg_strategy == AFXDP_STRATEGY_PREPEND) {
		err = afxdp_stamp_prepend(ctx, ts, ts_flags);
		if (err == 0) {
			*via = AFXDP_VIA_PREPEND;
			return 0;
		}
		if (afxdp_cfg_strategy == AFXDP_STRATEGY_PREPEND)
			return err;
	}
#ifndef AFXDP_NO_MAP_STRATEGY
	err = afxdp_stamp_map(ctx, ts, ts_flags);
	if (err == 0)
		*via = AFXDP_VIA_MAP;
#endif
	return err;
}

/*
 * afxdp_stamp(): what a user program calls, once per packet it redirects to afxdp's socket,
 * before bpf_redirect_map(). Returns 0 or a negative errno; the packet is delivered either way
 * (user space then counts it as meta_invalid). Packet pointers taken before the call are
 * invalid after it: re-read ctx->data / ctx->data_end.
 */
static __always_inline int afxdp_stamp(struct xdp_md *ctx)
{
	__u32 via;
	return afxdp_stamp_via(ctx, &via);
}
#endif /* __BPF__ */

#endif /* AFXDP_META_H */
