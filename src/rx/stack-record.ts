/**
 * The record a kernel-stack receiver (rx/stack-dgram.ts, bench/c/stack_rx.c) writes per
 * datagram, 32 bytes little-endian: u32 seq, u32 flags, u64 XDP time, u64 kernel RX time
 * (CLOCK_MONOTONIC, converted from SO_TIMESTAMPNS's CLOCK_REALTIME; 0 when absent), u64 the time
 * user code had the datagram.
 */
export const REC_SIZE = 32;
/** the datagram carried the XDP stamp ('AFXS') */
export const REC_STAMPED = 1;
/** the kernel's RX time is present */
export const REC_KERNEL_TS = 2;
/** an afxdp frame without the stamp ('AFXG') */
export const REC_UNSTAMPED = 4;
