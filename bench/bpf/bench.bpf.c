// SPDX-License-Identifier: GPL-2.0-only
/*
 * Baselines for `npm run bench`:
 *   xdp_drop_count: XDP_DROP with a per-CPU packet counter — the receive bound on this path
 *   xdp_redirect_plain: redirect to the XSKMAP without any stamp — what the stamp costs is
 *                       (stamp program) − (this), both timed with BPF_PROG_TEST_RUN
 *   xdp_redirect_ktime, xdp_redirect_meta: the stamp's parts (clock read; clock read + metadata
 *                       struct), to say where the stamp program's nanoseconds go
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <afxdp/meta.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drop_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp")
int xdp_drop_count(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&drop_count, &k);
	if (c)
		(*c)++;
	return XDP_DROP;
}

SEC("xdp")
int xdp_redirect_plain(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int xdp_redirect_ktime(struct xdp_md *ctx)
{
	__u64 ts = bpf_ktime_get_ns();
	/* keep the read: an unused helper result is still a call, but make the intent explicit */
	asm volatile("" : : "r"(ts));
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int xdp_redirect_meta(struct xdp_md *ctx)
{
	afxdp_stamp_meta(ctx, bpf_ktime_get_ns(), 0);
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
