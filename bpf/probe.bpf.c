// SPDX-License-Identifier: GPL-2.0-only
/* Capability probe for `afxdp doctor --probe`: the smallest XDP program (passes everything), to
 * check that native attach works on an interface. Attached for a moment through a bpf_link. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int afxdp_probe(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
