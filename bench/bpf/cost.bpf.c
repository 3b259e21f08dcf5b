// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs for `npm run bench:strategies` (bench/strategies.ts), run with BPF_PROG_TEST_RUN in
 * live-frames mode (a fresh copy of the packet per run). Each one ends like a real afxdp program,
 * in bpf_redirect_map() on an XSKMAP; the slot is empty, so the fallback action XDP_DROP recycles
 * the frame (XDP_PASS would build an skb and swamp what we measure).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <afxdp/meta.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} bench_xsks SEC(".maps");

/* the baseline: what any AF_XDP program does */
SEC("xdp")
int plain_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&bench_xsks, ctx->rx_queue_index, XDP_DROP);
}

/* the clock read alone (bpf_ktime_get_ns), kept alive through a volatile store */
volatile __u64 bench_sink;

SEC("xdp")
int clock_only(struct xdp_md *ctx)
{
	bench_sink = bpf_ktime_get_ns();
	return bpf_redirect_map(&bench_xsks, ctx->rx_queue_index, XDP_DROP);
}

/* afxdp_stamp() as a user program calls it; the strategy comes from .rodata */
SEC("xdp")
int stamp(struct xdp_md *ctx)
{
	afxdp_stamp(ctx);
	return bpf_redirect_map(&bench_xsks, ctx->rx_queue_index, XDP_DROP);
}

/*
 * The map strategy with a FRESH key per run. Every live frame is the same packet, so stamp()
 * with strategy map stores once and then only hits BPF_NOEXIST; here a per-CPU run counter salts
 * the key, the stamp is stored (a real insert into the LRU hash), then deleted again, as user
 * space does in steady state (there with a syscall, counted separately).
 */
__u64 bench_salt;

SEC("xdp")
int map_fresh(struct xdp_md *ctx)
{
	struct afxdp_map_key k;
	struct afxdp_meta m;
	afxdp_frame_key(ctx, &k);
	k.hash ^= (__u32)__sync_fetch_and_add(&bench_salt, 1);
	afxdp_fill(&m, ctx, bpf_ktime_get_ns(), AFXDP_F_VIA_MAP);
	if (bpf_map_update_elem(&afxdp_stamps, &k, &m, BPF_NOEXIST) == 0)
		bpf_map_delete_elem(&afxdp_stamps, &k);
	return bpf_redirect_map(&bench_xsks, ctx->rx_queue_index, XDP_DROP);
}

char LICENSE[] SEC("license") = "GPL";
