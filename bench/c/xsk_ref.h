/* SPDX-License-Identifier: MIT */
/*
 * Shared parts of the C reference programs (rx_ref.c, tx_ref.c, xdpsock_ref.c): raw AF_XDP socket setup, the
 * four rings with cached indices (the same scheme as libxdp's xsk.h and our src/xsk/ring.ts),
 * and small helpers. Raw syscalls, not libxdp: libxdp 1.3.1 fails on this kernel
 * (docs/ARCHITECTURE.md, "Measured facts"), and this is what our addon + TypeScript do, so the
 * comparison is like for like.
 */
#ifndef XSK_REF_H
#define XSK_REF_H

#define _GNU_SOURCE
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define XDP_HEADROOM 256u

static inline void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err));
	exit(1);
}

/* "aa:bb:cc:dd:ee:ff" into m; -1 when s is not a MAC address */
static inline int parse_mac(const char *s, uint8_t m[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

/* libbpf's warnings only: its info lines would mix with what a run prints */
static inline int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* A BPF object found relative to this binary (build/bench/X or prebuilds/linux-ARCH/X →
 * ../bpf/NAME), so a checkout and an installed package both work. */
static inline void object_beside_binary(char *out, size_t size, const char *name)
{
	ssize_t n = readlink("/proc/self/exe", out, size - 1);
	if (n < 0)
		die("readlink(/proc/self/exe)", errno);
	out[n] = 0;
	char *slash = strrchr(out, '/');
	size_t used = (size_t)(slash - out);
	if ((size_t)snprintf(slash, size - used, "/../bpf/%s", name) >= size - used)
		die("object path", ENAMETOOLONG);
}

static inline uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One ring as user space sees it. `cached_*` avoid touching the shared words on every call. */
struct ring {
	uint32_t *producer;
	uint32_t *consumer;
	uint32_t *flags;
	void *desc;
	uint32_t mask;
	uint32_t size;
	uint32_t cached_prod;
	uint32_t cached_cons;
};

/* consumer side (RX, completion): entries ready, at most max */
static inline uint32_t ring_peek(struct ring *r, uint32_t max)
{
	uint32_t avail = r->cached_prod - r->cached_cons;
	if (avail == 0) {
		r->cached_prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
		avail = r->cached_prod - r->cached_cons;
	}
	return avail < max ? avail : max;
}

static inline void ring_release(struct ring *r, uint32_t n)
{
	r->cached_cons += n;
	__atomic_store_n(r->consumer, r->cached_cons, __ATOMIC_RELEASE);
}

/* producer side (fill, TX): free slots, at most max */
static inline uint32_t ring_free(struct ring *r, uint32_t max)
{
	uint32_t free = r->size - (r->cached_prod - r->cached_cons);
	if (free < max) {
		r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
		free = r->size - (r->cached_prod - r->cached_cons);
	}
	return free < max ? free : max;
}

static inline void ring_submit(struct ring *r, uint32_t n)
{
	r->cached_prod += n;
	__atomic_store_n(r->producer, r->cached_prod, __ATOMIC_RELEASE);
}

static inline int ring_needs_wakeup(const struct ring *r)
{
	return __atomic_load_n(r->flags, __ATOMIC_RELAXED) & XDP_RING_NEED_WAKEUP;
}

static inline uint64_t *ring_addr(struct ring *r, uint32_t idx)
{
	return &((uint64_t *)r->desc)[idx & r->mask];
}

static inline struct xdp_desc *ring_desc(struct ring *r, uint32_t idx)
{
	return &((struct xdp_desc *)r->desc)[idx & r->mask];
}

struct xsk {
	int fd;
	uint8_t *umem;
	uint64_t umem_size;
	uint32_t frame_size;
	uint32_t frames;
	int copy; /* bound in copy mode: TX always needs a sendto */
	struct ring rx, tx, fill, comp;
};

static void map_ring(int fd, struct ring *r, const struct xdp_ring_offset *o, uint64_t pgoff, uint32_t n, size_t entry)
{
	size_t len = o->desc + (size_t)n * entry;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, (off_t)pgoff);
	if (p == MAP_FAILED)
		die("mmap(XDP ring)", errno);
	r->producer = (uint32_t *)((char *)p + o->producer);
	r->consumer = (uint32_t *)((char *)p + o->consumer);
	r->flags = (uint32_t *)((char *)p + o->flags);
	r->desc = (char *)p + o->desc;
	r->size = n;
	r->mask = n - 1;
	r->cached_prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
	r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
}

static void set_ring(int fd, int opt, uint32_t n, const char *what)
{
	if (setsockopt(fd, SOL_XDP, opt, &n, sizeof(n)))
		die(what, errno);
}

/*
 * Socket + UMEM + rings, bound to ifindex/queue with need_wakeup, zero-copy when the driver can
 * (else copy, as on veth). rx_n / tx_n = 0 leaves that ring out. RX: every frame goes on the fill
 * ring before bind; TX: the caller owns all frames.
 */
static void xsk_open(struct xsk *x, unsigned ifindex, unsigned queue, uint32_t frames, uint32_t frame_size,
		     uint32_t rx_n, uint32_t tx_n)
{
	memset(x, 0, sizeof(*x));
	x->frames = frames;
	x->frame_size = frame_size;
	x->umem_size = (uint64_t)frames * frame_size;
	x->umem = mmap(NULL, x->umem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->umem == MAP_FAILED)
		die("mmap(UMEM)", errno);
	x->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (x->fd < 0)
		die("socket(AF_XDP)", errno);

	struct xdp_umem_reg reg;
	memset(&reg, 0, sizeof(reg));
	reg.addr = (uint64_t)(uintptr_t)x->umem;
	reg.len = x->umem_size;
	reg.chunk_size = frame_size;
	if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)))
		die("setsockopt(XDP_UMEM_REG)", errno);
	uint32_t fill_n = rx_n ? rx_n : 64, comp_n = tx_n ? tx_n : 64;
	set_ring(x->fd, XDP_UMEM_FILL_RING, fill_n, "setsockopt(XDP_UMEM_FILL_RING)");
	set_ring(x->fd, XDP_UMEM_COMPLETION_RING, comp_n, "setsockopt(XDP_UMEM_COMPLETION_RING)");
	if (rx_n)
		set_ring(x->fd, XDP_RX_RING, rx_n, "setsockopt(XDP_RX_RING)");
	if (tx_n)
		set_ring(x->fd, XDP_TX_RING, tx_n, "setsockopt(XDP_TX_RING)");

	struct xdp_mmap_offsets off;
	socklen_t optlen = sizeof(off);
	if (getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen))
		die("getsockopt(XDP_MMAP_OFFSETS)", errno);
	map_ring(x->fd, &x->fill, &off.fr, XDP_UMEM_PGOFF_FILL_RING, fill_n, sizeof(uint64_t));
	map_ring(x->fd, &x->comp, &off.cr, XDP_UMEM_PGOFF_COMPLETION_RING, comp_n, sizeof(uint64_t));
	if (rx_n)
		map_ring(x->fd, &x->rx, &off.rx, XDP_PGOFF_RX_RING, rx_n, sizeof(struct xdp_desc));
	if (tx_n)
		map_ring(x->fd, &x->tx, &off.tx, XDP_PGOFF_TX_RING, tx_n, sizeof(struct xdp_desc));

	if (rx_n) {
		uint32_t n = ring_free(&x->fill, fill_n);
		if (n > frames)
			n = frames;
		for (uint32_t i = 0; i < n; i++)
			*ring_addr(&x->fill, x->fill.cached_prod + i) = (uint64_t)i * frame_size;
		ring_submit(&x->fill, n);
	}

	struct sockaddr_xdp sxdp;
	memset(&sxdp, 0, sizeof(sxdp));
	sxdp.sxdp_family = AF_XDP;
	sxdp.sxdp_ifindex = ifindex;
	sxdp.sxdp_queue_id = queue;
	sxdp.sxdp_flags = XDP_USE_NEED_WAKEUP | XDP_ZEROCOPY;
	/* EBUSY right after a previous socket on this queue closed: the kernel releases the queue
	 * from a workqueue. Retry for up to 1 s, as src/xsk/socket.ts does. */
	int rc;
	for (int tries = 0; (rc = bind(x->fd, (struct sockaddr *)&sxdp, sizeof(sxdp))) && errno == EBUSY && tries < 100; tries++)
		usleep(10000);
	if (rc) {
		if (errno != EOPNOTSUPP && errno != EINVAL)
			die("bind(AF_XDP, zero-copy)", errno);
		sxdp.sxdp_flags = XDP_USE_NEED_WAKEUP | XDP_COPY;
		if (bind(x->fd, (struct sockaddr *)&sxdp, sizeof(sxdp)))
			die("bind(AF_XDP, copy)", errno);
		x->copy = 1;
	}
}

/* XDP_STATISTICS: rx_dropped, rx_invalid_descs, tx_invalid_descs, rx_ring_full, rx_fill_ring_empty_descs, tx_ring_empty_descs */
static void xsk_stats(int fd, uint64_t out[6])
{
	uint64_t st[8];
	memset(st, 0, sizeof(st));
	socklen_t optlen = sizeof(st);
	if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, st, &optlen))
		memset(st, 0, sizeof(st));
	memcpy(out, st, 6 * sizeof(uint64_t));
}

/* --netns /proc/PID/ns/net: enter a namespace (the whole process is single-threaded here) */
static void enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path, errno);
	if (setns(fd, CLONE_NEWNET))
		die("setns", errno);
	close(fd);
}

static unsigned iface_index(const char *name)
{
	unsigned i = if_nametoindex(name);
	if (!i) {
		fprintf(stderr, "interface %s not found\n", name);
		exit(2);
	}
	return i;
}

#endif
