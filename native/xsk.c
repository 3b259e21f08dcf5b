/* SPDX-License-Identifier: MIT */
/* AF_XDP socket system calls: UMEM registration, ring setup and mmap, bind, statistics, kicks.
 * Rings and UMEM are handed to JS as external ArrayBuffers over the mappings; JS reads and
 * writes the rings itself (Atomics on the producer/consumer words), so nothing here runs per
 * packet except the optional kick. */
#include "addon.h"
#include <errno.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

/* Debian's uapi headers are 6.1: the 6.8 struct (with tx_metadata_len) is defined locally.
 * The kernel accepts the longer struct; unused trailing fields must be zero. */
struct afx_umem_reg {
	__u64 addr;
	__u64 len;
	__u32 chunk_size;
	__u32 headroom;
	__u32 flags;
	__u32 tx_metadata_len;
};

/* Ring mappings handed out by xskMmapRing, so xskReleaseRing only ever touches one of them
 * (never an arbitrary ArrayBuffer a caller passes). Worker threads share the list: a mutex. */
struct ring_map {
	void *p;
	size_t size;
	struct ring_map *next;
};
static struct ring_map *ring_maps;
static pthread_mutex_t ring_maps_lock = PTHREAD_MUTEX_INITIALIZER;

static void ring_map_forget(void *p)
{
	pthread_mutex_lock(&ring_maps_lock);
	for (struct ring_map **m = &ring_maps; *m; m = &(*m)->next) {
		if ((*m)->p == p) {
			struct ring_map *dead = *m;
			*m = dead->next;
			free(dead);
			break;
		}
	}
	pthread_mutex_unlock(&ring_maps_lock);
}

static void unmap_finalize(napi_env env, void *data, void *hint)
{
	ring_map_forget(data);
	munmap(data, (size_t)(uintptr_t)hint);
}

/* An external ArrayBuffer over a mapping. The mapping is released only by the finalizer, i.e.
 * when no JS view can reach it any more, so closing a socket can never leave a dangling view. */
static napi_value wrap_mapping(napi_env env, void *p, size_t size)
{
	napi_value ab;
	napi_status st = napi_create_external_arraybuffer(env, p, size, unmap_finalize, (void *)(uintptr_t)size, &ab);
	if (st != napi_ok) {
		munmap(p, size);
		napi_throw_error(env, NULL, "cannot create an external ArrayBuffer (runtime without external buffer support)");
		return NULL;
	}
	return ab;
}

AFX_FN(mmapAnonymous)
{
	napi_value argv[1];
	double size;
	if (!afx_args(env, info, 1, argv) || !afx_get_f64(env, argv[0], &size))
		return NULL;
	if (size <= 0 || size > (double)(1ull << 40))
		return afx_throw_type(env, "size out of range");
	void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return afx_throw_errno(env, "mmap(UMEM)", errno);
	return wrap_mapping(env, p, (size_t)size);
}

/* mmapShared(fd, size): a MAP_SHARED mapping of a file (the broker's memfd UMEM): the broker and
 * its client see the same pages, which the broker's UMEM registration pinned */
AFX_FN(mmapShared)
{
	napi_value argv[2];
	int32_t fd;
	double size;
	if (!afx_args(env, info, 2, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_f64(env, argv[1], &size))
		return NULL;
	void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		return afx_throw_errno(env, "mmap(shared UMEM)", errno);
	return wrap_mapping(env, p, (size_t)size);
}

AFX_FN(xskSocket)
{
	int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return afx_throw_errno(env, "socket(AF_XDP)", errno);
	return afx_i32(env, fd);
}

AFX_FN(xskUmemReg)
{
	napi_value argv[6];
	int32_t fd;
	uint32_t chunk, headroom, flags, txmd;
	void *data;
	size_t len;
	if (!afx_args(env, info, 6, argv) || !afx_get_i32(env, argv[0], &fd) ||
	    !afx_get_arraybuffer(env, argv[1], &data, &len) || !afx_get_u32(env, argv[2], &chunk) ||
	    !afx_get_u32(env, argv[3], &headroom) || !afx_get_u32(env, argv[4], &flags) ||
	    !afx_get_u32(env, argv[5], &txmd))
		return NULL;
	struct afx_umem_reg reg;
	memset(&reg, 0, sizeof(reg));
	reg.addr = (__u64)(uintptr_t)data;
	reg.len = len;
	reg.chunk_size = chunk;
	reg.headroom = headroom;
	reg.flags = flags;
	reg.tx_metadata_len = txmd;
	/* the short (6.1) struct when no 6.8 field is used: runs on older kernels too */
	socklen_t optlen = txmd ? sizeof(reg) : offsetof(struct afx_umem_reg, tx_metadata_len);
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &reg, optlen))
		return afx_throw_errno(env, "setsockopt(XDP_UMEM_REG)", errno);
	return afx_undefined(env);
}

AFX_FN(xskSetRingSize)
{
	napi_value argv[3];
	int32_t fd, opt;
	uint32_t n;
	if (!afx_args(env, info, 3, argv) || !afx_get_i32(env, argv[0], &fd) ||
	    !afx_get_i32(env, argv[1], &opt) || !afx_get_u32(env, argv[2], &n))
		return NULL;
	if (setsockopt(fd, SOL_XDP, opt, &n, sizeof(n))) {
		const char *what = opt == XDP_RX_RING ? "setsockopt(XDP_RX_RING)" :
				   opt == XDP_TX_RING ? "setsockopt(XDP_TX_RING)" :
				   opt == XDP_UMEM_FILL_RING ? "setsockopt(XDP_UMEM_FILL_RING)" :
				   opt == XDP_UMEM_COMPLETION_RING ? "setsockopt(XDP_UMEM_COMPLETION_RING)" :
								     "setsockopt(ring size)";
		return afx_throw_errno(env, what, errno);
	}
	return afx_undefined(env);
}

static napi_value ring_off(napi_env env, const struct xdp_ring_offset *o)
{
	napi_value r;
	napi_create_object(env, &r);
	afx_set(env, r, "producer", afx_f64(env, (double)o->producer));
	afx_set(env, r, "consumer", afx_f64(env, (double)o->consumer));
	afx_set(env, r, "desc", afx_f64(env, (double)o->desc));
	afx_set(env, r, "flags", afx_f64(env, (double)o->flags));
	return r;
}

AFX_FN(xskMmapOffsets)
{
	napi_value argv[1];
	int32_t fd;
	if (!afx_args(env, info, 1, argv) || !afx_get_i32(env, argv[0], &fd))
		return NULL;
	struct xdp_mmap_offsets off;
	memset(&off, 0, sizeof(off));
	socklen_t optlen = sizeof(off);
	if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen))
		return afx_throw_errno(env, "getsockopt(XDP_MMAP_OFFSETS)", errno);
	if (optlen != sizeof(off)) {
		/* pre-5.4 layout without the flags word: need_wakeup unsupported; refuse clearly */
		return afx_throw_errno(env, "getsockopt(XDP_MMAP_OFFSETS) returned the pre-5.4 layout", ENOTSUP);
	}
	napi_value r;
	napi_create_object(env, &r);
	afx_set(env, r, "rx", ring_off(env, &off.rx));
	afx_set(env, r, "tx", ring_off(env, &off.tx));
	afx_set(env, r, "fr", ring_off(env, &off.fr));
	afx_set(env, r, "cr", ring_off(env, &off.cr));
	return r;
}

AFX_FN(xskMmapRing)
{
	napi_value argv[3];
	int32_t fd;
	double pgoff, size;
	if (!afx_args(env, info, 3, argv) || !afx_get_i32(env, argv[0], &fd) ||
	    !afx_get_f64(env, argv[1], &pgoff) || !afx_get_f64(env, argv[2], &size))
		return NULL;
	void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, (off_t)pgoff);
	if (p == MAP_FAILED)
		return afx_throw_errno(env, "mmap(XDP ring)", errno);
	struct ring_map *m = malloc(sizeof(*m));
	if (!m) {
		munmap(p, (size_t)size);
		return afx_throw_errno(env, "malloc", ENOMEM);
	}
	m->p = p;
	m->size = (size_t)size;
	pthread_mutex_lock(&ring_maps_lock);
	m->next = ring_maps;
	ring_maps = m;
	pthread_mutex_unlock(&ring_maps_lock);
	return wrap_mapping(env, p, (size_t)size);
}

/* Closing an AF_XDP fd does not release the socket while its rings are mapped (each mapping
 * holds a file reference), so the queue stays bound (EBUSY for the next bind) until the GC runs
 * the finalizers. This swaps a ring mapping for zeroed anonymous memory in place (MAP_FIXED):
 * views over it stay valid (they read an empty ring), the socket's last reference goes now,
 * and the finalizer later unmaps the anonymous pages as before. Returns false for a buffer
 * that is not a live ring mapping (nothing is touched then). */
AFX_FN(xskReleaseRing)
{
	napi_value argv[1];
	void *data;
	size_t len;
	if (!afx_args(env, info, 1, argv) || !afx_get_arraybuffer(env, argv[0], &data, &len))
		return NULL;
	bool found = false;
	pthread_mutex_lock(&ring_maps_lock);
	for (struct ring_map *m = ring_maps; m; m = m->next) {
		if (m->p == data && m->size == len) {
			found = true;
			break;
		}
	}
	if (found) {
		void *q = mmap(data, len, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q == MAP_FAILED)
			found = false;
	}
	pthread_mutex_unlock(&ring_maps_lock);
	napi_value r;
	napi_get_boolean(env, found, &r);
	return r;
}

AFX_FN(xskBind)
{
	napi_value argv[5];
	int32_t fd, shared;
	uint32_t ifindex, queue, flags;
	if (!afx_args(env, info, 5, argv) || !afx_get_i32(env, argv[0], &fd) ||
	    !afx_get_u32(env, argv[1], &ifindex) || !afx_get_u32(env, argv[2], &queue) ||
	    !afx_get_u32(env, argv[3], &flags) || !afx_get_i32(env, argv[4], &shared))
		return NULL;
	struct sockaddr_xdp sxdp;
	memset(&sxdp, 0, sizeof(sxdp));
	sxdp.sxdp_family = AF_XDP;
	sxdp.sxdp_ifindex = ifindex;
	sxdp.sxdp_queue_id = queue;
	sxdp.sxdp_flags = (__u16)flags;
	if (shared >= 0) {
		sxdp.sxdp_flags |= XDP_SHARED_UMEM;
		sxdp.sxdp_shared_umem_fd = (__u32)shared;
	}
	if (bind(fd, (struct sockaddr *)&sxdp, sizeof(sxdp)))
		return afx_throw_errno(env, "bind(AF_XDP)", errno);
	return afx_undefined(env);
}

AFX_FN(xskStatistics)
{
	napi_value argv[2];
	int32_t fd;
	void *data;
	size_t len;
	if (!afx_args(env, info, 2, argv) || !afx_get_i32(env, argv[0], &fd) ||
	    !afx_get_bytes(env, argv[1], &data, &len))
		return NULL;
	__u64 st[8];
	memset(st, 0, sizeof(st));
	socklen_t optlen = sizeof(st);
	if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, st, &optlen))
		return afx_throw_errno(env, "getsockopt(XDP_STATISTICS)", errno);
	size_t n = optlen / sizeof(__u64);
	double *out = data;
	size_t cap = len / sizeof(double);
	if (n > cap)
		n = cap;
	for (size_t i = 0; i < n; i++)
		out[i] = (double)st[i];
	return afx_u32(env, (uint32_t)n);
}

/* Hot-ish path (once per batch at most, only when need_wakeup says so): no exceptions. */
AFX_FN(xskKick)
{
	napi_value argv[2];
	int32_t fd, kind;
	if (!afx_args(env, info, 2, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_i32(env, argv[1], &kind))
		return NULL;
	ssize_t r;
	if (kind == 0) {
		r = recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	} else if (kind == 1) {
		r = sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	} else {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		r = poll(&p, 1, 0);
	}
	/* -errno, not an exception: EAGAIN/EBUSY/ENOBUFS are normal answers to a kick */
	if (r < 0)
		return afx_i32(env, -errno);
	return afx_i32(env, 0);
}

/* xskPoll(fd, events, timeoutMs): poll(2) on the socket for `events` (POLLIN 1, POLLOUT 4) for
 * up to timeoutMs (the kernel's POLL_* scenarios; in copy mode a poll with a TX ring also sends).
 * Returns the revents, 0 on timeout or EINTR, or -errno. */
AFX_FN(xskPoll)
{
	napi_value argv[3];
	int32_t fd, events, timeout;
	if (!afx_args(env, info, 3, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_i32(env, argv[1], &events) ||
	    !afx_get_i32(env, argv[2], &timeout))
		return NULL;
	struct pollfd p = { .fd = fd, .events = (short)events };
	int r = poll(&p, 1, timeout);
	if (r < 0)
		return afx_i32(env, errno == EINTR ? 0 : -errno);
	return afx_i32(env, r == 0 ? 0 : p.revents);
}

#ifndef XDP_OPTIONS
#define XDP_OPTIONS 8
#endif

/* xskOptions(fd): getsockopt(SOL_XDP, XDP_OPTIONS) flags (XDP_OPTIONS_ZEROCOPY = 1: the socket
 * is bound in zero-copy mode, as the kernel sees it); -errno on failure. */
AFX_FN(xskOptions)
{
	napi_value argv[1];
	int32_t fd;
	if (!afx_args(env, info, 1, argv) || !afx_get_i32(env, argv[0], &fd))
		return NULL;
	__u32 flags = 0;
	socklen_t len = sizeof(flags);
	if (getsockopt(fd, SOL_XDP, XDP_OPTIONS, &flags, &len))
		return afx_i32(env, -errno);
	return afx_i32(env, (int32_t)flags);
}

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

/* xskBusyPoll(fd, usecs, budget): SO_PREFER_BUSY_POLL, SO_BUSY_POLL and SO_BUSY_POLL_BUDGET, so a
 * recvfrom(MSG_DONTWAIT) on an empty ring runs the driver's NAPI in this thread (up to usecs,
 * budget packets) instead of waiting for the softirq. Throws naming the option the kernel
 * refused (EPERM without CAP_NET_ADMIN). */
AFX_FN(xskBusyPoll)
{
	napi_value argv[3];
	int32_t fd, usecs, budget;
	if (!afx_args(env, info, 3, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_i32(env, argv[1], &usecs) ||
	    !afx_get_i32(env, argv[2], &budget))
		return NULL;
	int prefer = usecs > 0;
	if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &prefer, sizeof(prefer)))
		return afx_throw_errno(env, "setsockopt(SO_PREFER_BUSY_POLL)", errno);
	if (setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usecs, sizeof(usecs)))
		return afx_throw_errno(env, "setsockopt(SO_BUSY_POLL)", errno);
	if (setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)))
		return afx_throw_errno(env, "setsockopt(SO_BUSY_POLL_BUDGET)", errno);
	return afx_undefined(env);
}

/* socketOptionInt(fd, name): getsockopt(SOL_SOCKET, name) as the kernel reports it (the report
 * shows what took effect, not what was asked for); -errno on failure. */
AFX_FN(socketOptionInt)
{
	napi_value argv[2];
	int32_t fd, name;
	if (!afx_args(env, info, 2, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_i32(env, argv[1], &name))
		return NULL;
	int v = 0;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, name, &v, &len))
		return afx_i32(env, -errno);
	return afx_i32(env, v);
}

AFX_FN(closeFd)
{
	napi_value argv[1];
	int32_t fd;
	if (!afx_args(env, info, 1, argv) || !afx_get_i32(env, argv[0], &fd))
		return NULL;
	if (close(fd))
		return afx_throw_errno(env, "close", errno);
	return afx_undefined(env);
}

napi_value afx_xsk_init(napi_env env, napi_value exports)
{
	static const afx_fn fns[] = {
		{ "mmapAnonymous", mmapAnonymous },
		{ "mmapShared", mmapShared },
		{ "xskSocket", xskSocket },
		{ "xskUmemReg", xskUmemReg },
		{ "xskSetRingSize", xskSetRingSize },
		{ "xskMmapOffsets", xskMmapOffsets },
		{ "xskMmapRing", xskMmapRing },
		{ "xskReleaseRing", xskReleaseRing },
		{ "xskBind", xskBind },
		{ "xskStatistics", xskStatistics },
		{ "xskKick", xskKick },
		{ "xskPoll", xskPoll },
		{ "xskOptions", xskOptions },
		{ "xskBusyPoll", xskBusyPoll },
		{ "socketOptionInt", socketOptionInt },
		{ "close", closeFd },
	};
	afx_register(env, exports, fns, AFX_COUNT(fns));
	return exports;
}
