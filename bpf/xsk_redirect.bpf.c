// SPDX-License-Identifier: GPL-2.0-only
/*
 * The plainest AF_XDP program (xdpsock's default): every frame goes to the socket registered in
 * xsks_map at its RX queue's index; a queue without a socket passes frames to the stack. No
 * stamp, no match: for sockets opened with openXsk() (shared UMEM forwarders, the kernel's AF_XDP
 * scenarios). SEC("xdp.frags"): multi-buffer frames are taken too.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp.frags")
int afxdp_xsk_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
