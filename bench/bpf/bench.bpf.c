// SPDX-License-Identifier: GPL-2.0-only
/*
 * Baselines for `npm run bench`:
 *   xdp_drop_count: XDP_DROP with a per-CPU packet counter — the receive bound on this path
 * (the stamp's cost is timed on the bench/bpf/cost.bpf.c programs)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drop_count SEC(".maps");

SEC("xdp")
int xdp_drop_count(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&drop_count, &k);
	if (c)
		(*c)++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
