/* SPDX-License-Identifier: MIT */
/* Small system calls the TS side needs: namespaces, clocks, interface facts (ethtool). */
#define _GNU_SOURCE
#include "addon.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* setns() switches only the calling thread: the main thread enters the lab's namespace for the
 * synchronous moments that need it (if_nametoindex, socket creation, attach), then returns. */
AFX_FN(setnsFn)
{
	napi_value argv[2];
	int32_t fd, type;
	if (!afx_args(env, info, 2, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_i32(env, argv[1], &type))
		return NULL;
	if (setns(fd, type))
		return afx_throw_errno(env, "setns", errno);
	return afx_undefined(env);
}

/* (clockId, out) as clockGettime and clockRegister take them: out must hold the ns value as two
 * u32 words (lo, hi). Reads the clock once, so a bad clock id throws here. */
static bool clock_args(napi_env env, napi_callback_info info, const char *fn, napi_value *argv,
		       clockid_t *id, uint32_t **out, struct timespec *ts)
{
	int32_t cid;
	void *data;
	size_t len;
	if (!afx_args(env, info, 2, argv) || !afx_get_i32(env, argv[0], &cid) || !afx_get_bytes(env, argv[1], &data, &len))
		return false;
	if (len < 8) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%s: output needs 2 u32 words", fn);
		afx_throw_type(env, msg);
		return false;
	}
	if (clock_gettime(cid, ts)) {
		afx_throw_errno(env, "clock_gettime", errno);
		return false;
	}
	*id = cid;
	*out = data;
	return true;
}

static inline void ns_store(uint32_t *out, const struct timespec *ts)
{
	uint64_t ns = (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
	out[0] = (uint32_t)ns;
	out[1] = (uint32_t)(ns >> 32);
}

/* Writes the ns value as two u32 words (lo, hi) into a caller-owned Uint32Array: no BigInt,
 * no allocation, so it can run once per batch. */
AFX_FN(clockGettime)
{
	napi_value argv[2];
	clockid_t id;
	uint32_t *out;
	struct timespec ts;
	if (!clock_args(env, info, "clockGettime", argv, &id, &out, &ts))
		return NULL;
	ns_store(out, &ts);
	return afx_undefined(env);
}

AFX_FN(ifNameToIndex)
{
	napi_value argv[1];
	char name[IF_NAMESIZE + 8];
	if (!afx_args(env, info, 1, argv))
		return NULL;
	size_t len = 0;
	if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok)
		return afx_throw_type(env, "expected an interface name");
	if (len >= IF_NAMESIZE)
		return afx_u32(env, 0); /* cannot exist */
	napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len);
	return afx_u32(env, if_nametoindex(name));
}

static int ethtool_ioctl(const char *ifname, void *cmd)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	int r = ioctl(fd, SIOCETHTOOL, &ifr);
	int e = errno;
	close(fd);
	return r ? -e : 0;
}

/* The MTU of an interface in the calling thread's network namespace (sysfs would show the
 * namespace /sys was mounted in, not the one setns() entered). 0 when there is no such interface. */
AFX_FN(ifMtu)
{
	napi_value argv[1];
	char name[IF_NAMESIZE];
	if (!afx_args(env, info, 1, argv) || !afx_get_str(env, argv[0], name, sizeof(name)))
		return NULL;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return afx_throw_errno(env, "socket(AF_INET)", errno);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int r = ioctl(fd, SIOCGIFMTU, &ifr);
	int e = errno;
	close(fd);
	if (r)
		return e == ENODEV ? afx_u32(env, 0) : afx_throw_errno(env, "ioctl(SIOCGIFMTU)", e);
	return afx_u32(env, (uint32_t)ifr.ifr_mtu);
}

AFX_FN(ethtoolChannels)
{
	napi_value argv[1];
	char name[IF_NAMESIZE];
	if (!afx_args(env, info, 1, argv) || !afx_get_str(env, argv[0], name, sizeof(name)))
		return NULL;
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	int r = ethtool_ioctl(name, &ch);
	if (r == -EOPNOTSUPP || r == -ENOTSUP)
		return afx_null(env); /* driver does not report channels */
	if (r)
		return afx_throw_errno(env, "ioctl(ETHTOOL_GCHANNELS)", -r);
	napi_value o;
	napi_create_object(env, &o);
	afx_set(env, o, "rx", afx_u32(env, ch.rx_count));
	afx_set(env, o, "tx", afx_u32(env, ch.tx_count));
	afx_set(env, o, "other", afx_u32(env, ch.other_count));
	afx_set(env, o, "combined", afx_u32(env, ch.combined_count));
	afx_set(env, o, "maxRx", afx_u32(env, ch.max_rx));
	afx_set(env, o, "maxTx", afx_u32(env, ch.max_tx));
	afx_set(env, o, "maxOther", afx_u32(env, ch.max_other));
	afx_set(env, o, "maxCombined", afx_u32(env, ch.max_combined));
	return o;
}

AFX_FN(ethtoolDriver)
{
	napi_value argv[1];
	char name[IF_NAMESIZE];
	if (!afx_args(env, info, 1, argv) || !afx_get_str(env, argv[0], name, sizeof(name)))
		return NULL;
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	int r = ethtool_ioctl(name, &di);
	if (r == -EOPNOTSUPP || r == -ENOTSUP)
		return afx_null(env);
	if (r)
		return afx_throw_errno(env, "ioctl(ETHTOOL_GDRVINFO)", -r);
	napi_value o;
	napi_create_object(env, &o);
	afx_set(env, o, "driver", afx_str(env, di.driver));
	afx_set(env, o, "version", afx_str(env, di.version));
	afx_set(env, o, "busInfo", afx_str(env, di.bus_info));
	return o;
}

/* threadPin(cpu): pins the calling thread (not the process) to one CPU; -errno on failure. */
AFX_FN(threadPin)
{
	napi_value argv[1];
	int32_t cpu;
	if (!afx_args(env, info, 1, argv) || !afx_get_i32(env, argv[0], &cpu))
		return NULL;
	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return afx_i32(env, -EINVAL);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return afx_i32(env, sched_setaffinity(0, sizeof(set), &set) ? -errno : 0);
}

/* threadAffinity(): the calling thread's CPUs (sched_getaffinity), as an array of CPU numbers. */
AFX_FN(threadAffinity)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set))
		return afx_throw_errno(env, "sched_getaffinity", errno);
	napi_value a;
	napi_create_array(env, &a);
	uint32_t k = 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			napi_set_element(env, a, k++, afx_i32(env, c));
	return a;
}

/* threadSetAffinity(cpus): the calling thread on these CPUs; 0 or -errno. */
AFX_FN(threadSetAffinity)
{
	napi_value argv[1];
	uint32_t n = 0;
	if (!afx_args(env, info, 1, argv) || napi_get_array_length(env, argv[0], &n) != napi_ok)
		return afx_throw_type(env, "threadSetAffinity: expected an array of CPU numbers");
	cpu_set_t set;
	CPU_ZERO(&set);
	for (uint32_t i = 0; i < n; i++) {
		napi_value v;
		int32_t c;
		if (napi_get_element(env, argv[0], i, &v) != napi_ok || !afx_get_i32(env, v, &c))
			return NULL;
		if (c < 0 || c >= CPU_SETSIZE)
			return afx_i32(env, -EINVAL);
		CPU_SET(c, &set);
	}
	return afx_i32(env, sched_setaffinity(0, sizeof(set), &set) ? -errno : 0);
}

/* threadFifo(priority): SCHED_FIFO for the calling thread only; -errno (EPERM without
 * CAP_SYS_NICE or an RLIMIT_RTPRIO that allows it). */
AFX_FN(threadFifo)
{
	napi_value argv[1];
	int32_t prio;
	if (!afx_args(env, info, 1, argv) || !afx_get_i32(env, argv[0], &prio))
		return NULL;
	struct sched_param sp = { .sched_priority = prio };
	return afx_i32(env, sched_setscheduler(0, SCHED_FIFO, &sp) ? -errno : 0);
}

/* threadId(): the calling thread's kernel id (gettid), as /proc/self/task/TID names it. */
AFX_FN(threadId)
{
	return afx_i32(env, (int32_t)syscall(SYS_gettid));
}

/* threadPolicy(tid): [policy, priority] of a thread of this process (0: the calling one), the
 * policy without SCHED_RESET_ON_FORK; -errno (ESRCH: the thread is gone). */
AFX_FN(threadPolicy)
{
	napi_value argv[1];
	int32_t tid;
	if (!afx_args(env, info, 1, argv) || !afx_get_i32(env, argv[0], &tid))
		return NULL;
	int pol = sched_getscheduler(tid);
	struct sched_param sp = { 0 };
	if (pol < 0 || sched_getparam(tid, &sp))
		return afx_i32(env, -errno);
	napi_value a;
	napi_create_array_with_length(env, 2, &a);
	napi_set_element(env, a, 0, afx_i32(env, pol & ~SCHED_RESET_ON_FORK));
	napi_set_element(env, a, 1, afx_i32(env, sp.sched_priority));
	return a;
}

/* threadSetPolicy(tid, policy, priority): sched_setscheduler on one thread of this process (0:
 * the calling one); 0 or -errno. Lowering a thread needs no privilege; raising one (out of
 * SCHED_IDLE, into SCHED_FIFO) needs CAP_SYS_NICE or an RLIMIT_NICE / RLIMIT_RTPRIO that allows it. */
AFX_FN(threadSetPolicy)
{
	napi_value argv[3];
	int32_t tid, pol, prio;
	if (!afx_args(env, info, 3, argv) || !afx_get_i32(env, argv[0], &tid) || !afx_get_i32(env, argv[1], &pol) || !afx_get_i32(env, argv[2], &prio))
		return NULL;
	struct sched_param sp = { .sched_priority = prio };
	return afx_i32(env, sched_setscheduler(tid, pol, &sp) ? -errno : 0);
}

/* The calling thread's registered clock (clockRegister): a zero-argument clockNow() writes into
 * it, so a read costs the call and the vDSO, not the argument conversions. Per thread: each
 * worker registers its own (an addon instance per worker, one thread each). */
static __thread uint32_t *clock_out;
static __thread clockid_t clock_id;
static __thread napi_ref clock_ref;

/* clockRegister(clockId, out): out (a Uint32Array of >= 2 words) receives clockNow()'s reading
 * as (lo, hi) words of the ns value; kept alive by a reference until the next registration. */
AFX_FN(clockRegister)
{
	napi_value argv[2];
	clockid_t id;
	uint32_t *out;
	struct timespec ts;
	if (!clock_args(env, info, "clockRegister", argv, &id, &out, &ts))
		return NULL;
	if (clock_ref)
		napi_delete_reference(env, clock_ref);
	clock_ref = NULL;
	napi_create_reference(env, argv[1], 1, &clock_ref);
	clock_out = out;
	clock_id = id;
	return afx_undefined(env);
}

static inline void clock_store(void)
{
	struct timespec ts;
	clock_gettime(clock_id, &ts);
	ns_store(clock_out, &ts);
}

/* clockNow(): the registered clock into the registered words. */
AFX_FN(clockNow)
{
	if (clock_out == NULL)
		return afx_throw_type(env, "clockNow: no clock registered in this thread (clockRegister)");
	clock_store();
	return NULL;
}

/* pollWaitClock(fd, timeoutMs): pollWait() that reads the registered clock the moment poll(2)
 * returns readable, before going back to JS (a worker's wake-up: the earliest user-space time of
 * the packets that woke it). Returns the revents (0 on timeout or EINTR) or -errno. */
AFX_FN(pollWaitClock)
{
	napi_value argv[2];
	int32_t fd, timeout;
	if (!afx_args(env, info, 2, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_i32(env, argv[1], &timeout))
		return NULL;
	if (clock_out == NULL)
		return afx_throw_type(env, "pollWaitClock: no clock registered in this thread (clockRegister)");
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r = poll(&pfd, 1, timeout);
	if (r > 0)
		clock_store();
	if (r < 0)
		return afx_i32(env, errno == EINTR ? 0 : -errno);
	return afx_i32(env, r == 0 ? 0 : pfd.revents);
}

/* dupFd(fd): a close-on-exec duplicate of an fd this process already has (`--csv /dev/stdout`
 * writes to our stdout as it is, instead of reopening it, which after a privilege drop may be
 * refused: a pipe made by root is mode 0600). Throws on EBADF. */
AFX_FN(dupFd)
{
	napi_value argv[1];
	int32_t fd;
	if (!afx_args(env, info, 1, argv) || !afx_get_i32(env, argv[0], &fd))
		return NULL;
	int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (r < 0)
		return afx_throw_errno(env, "dup", errno);
	return afx_i32(env, r);
}

napi_value afx_sys_init(napi_env env, napi_value exports)
{
	static const afx_fn fns[] = {
		{ "setns", setnsFn },
		{ "clockGettime", clockGettime },
		{ "ifNameToIndex", ifNameToIndex },
		{ "ifMtu", ifMtu },
		{ "ethtoolChannels", ethtoolChannels },
		{ "ethtoolDriver", ethtoolDriver },
		{ "threadPin", threadPin },
		{ "threadFifo", threadFifo },
		{ "dupFd", dupFd },
		{ "threadId", threadId },
		{ "threadAffinity", threadAffinity },
		{ "threadSetAffinity", threadSetAffinity },
		{ "threadPolicy", threadPolicy },
		{ "threadSetPolicy", threadSetPolicy },
		{ "clockRegister", clockRegister },
		{ "clockNow", clockNow },
		{ "pollWaitClock", pollWaitClock },
	};
	afx_register(env, exports, fns, AFX_COUNT(fns));
	return exports;
}
