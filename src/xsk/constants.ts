/** Kernel ABI numbers for AF_XDP (include/uapi/linux/if_xdp.h, if_link.h). */

// setsockopt(SOL_XDP, …)
export const XDP_RX_RING = 2;
export const XDP_TX_RING = 3;
export const XDP_UMEM_FILL_RING = 5;
export const XDP_UMEM_COMPLETION_RING = 6;

// mmap page offsets of the four rings
export const XDP_PGOFF_RX_RING = 0;
export const XDP_PGOFF_TX_RING = 0x80000000;
export const XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
export const XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;

// sockaddr_xdp.sxdp_flags
export const XDP_SHARED_UMEM = 1 << 0;
export const XDP_COPY = 1 << 1;
export const XDP_ZEROCOPY = 1 << 2;
export const XDP_USE_NEED_WAKEUP = 1 << 3;
/** scatter-gather (kernel ≥ 6.6): a packet larger than a frame arrives as a chain of descriptors */
export const XDP_USE_SG = 1 << 4;

// xdp_desc.options: more descriptors of this packet follow (RX and TX, with XDP_USE_SG)
export const XDP_PKT_CONTD = 1 << 0;

// getsockopt(SOL_XDP, XDP_OPTIONS): struct xdp_options.flags
export const XDP_OPTIONS_ZEROCOPY = 1 << 0;

// poll(2) events
export const POLLIN = 0x1;
export const POLLOUT = 0x4;

// ring flags word
export const XDP_RING_NEED_WAKEUP = 1 << 0;

// xdp_umem_reg.flags
export const XDP_UMEM_UNALIGNED_CHUNK_FLAG = 1 << 0;
export const XDP_UMEM_TX_METADATA_LEN = 1 << 2;

// xdp_desc.options and struct xsk_tx_metadata (kernel ≥ 6.8)
export const XDP_TX_METADATA = 1 << 1;
export const XDP_TXMD_FLAGS_TIMESTAMP = 1 << 0;
/** sizeof(struct xsk_tx_metadata): u64 flags + a 8-byte union (request csum / completion tx_timestamp) */
export const XSK_TX_METADATA_LEN = 16;

// XDP attach flags (bpf_link_create opts.flags)
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;

/** struct xdp_desc { u64 addr; u32 len; u32 options; }: 4 u32 words */
export const DESC_WORDS_SHIFT = 2;
/** fill / completion entries are u64 addresses: 2 u32 words */
export const ADDR_WORDS_SHIFT = 1;

/** The kernel puts packet data this far into a chunk (XDP_PACKET_HEADROOM). */
export const XDP_PACKET_HEADROOM = 256;
/**
 * Room for one chain beyond a batch in the receive window: a 64 KiB packet (generic mode, GRO) in
 * 2048-byte frames needs 37. A chain longer than the window (batch size + this) is dropped whole
 * and counted (XskSocket.chainsDropped).
 */
export const MAX_CHAIN = 64;

export const CLOCK_MONOTONIC = 1;
export const CLOCK_TAI = 11;

export const CLONE_NEWNET = 0x40000000;
