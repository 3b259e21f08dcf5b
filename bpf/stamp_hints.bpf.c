// SPDX-License-Identifier: GPL-2.0-only
/*
 * afxdp's default program with device-bound hardware hints (RX timestamp, RX hash, VLAN tag via
 * the XDP metadata kfuncs). Loaded with BPF_F_XDP_DEV_BOUND_ONLY for one interface, native mode
 * only; when the kernel or driver refuses it, afxdp uses stamp.bpf.o (the same program without).
 */
#define AFXDP_HINTS
#include "stamp.bpf.c"
