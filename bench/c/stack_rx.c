/* SPDX-License-Identifier: MIT */
/*
 * stack_rx: the kernel stack's best case for `afxdp demo --compare-stack` / `afxdp compare`: a
 * UDP socket read with recvmmsg(2) in batches, blocking. Per batch: one CLOCK_MONOTONIC read (the
 * moment user code has the datagrams) and one CLOCK_REALTIME read to convert the kernel's own RX
 * time (SO_TIMESTAMPNS, CLOCK_REALTIME) into the monotonic domain of the XDP stamp. Per datagram:
 * one 32-byte record (see below) appended to --out, an fd the caller opened (an unlinked file):
 * the caller folds the records into its histograms after the run, so nothing is read back while
 * the AF_XDP receiver measures.
 *
 *   stack_rx --port P [--netns /proc/PID/ns/net] [--batch 64] [--rcvbuf BYTES] --out FD
 *
 * Record (little-endian): u32 seq, u32 flags (1 XDP-stamped 'AFXS', 2 kernel time present,
 * 4 an afxdp frame without the stamp), u64 xdp_ns, u64 kernel_ns (monotonic, converted), u64 user_ns.
 * Prints "ready" on stderr once bound; "error: ..." and exit 3 when it cannot bind; on SIGTERM
 * it reads what is queued without waiting, flushes and prints one JSON line on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC_PLAIN 0x41465847u   /* 'AFXG': src/wire/frame.ts */
#define MAGIC_STACK 0x41465853u   /* 'AFXS': bpf/stack_split.h */
#define TS_OFF 20
#define MAX_BATCH 1024
#define DGRAM_MAX 2048
#define REC_SIZE 32
#define REC_BUF 4096 /* records per write(2) */

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void fail(const char *what, int err)
{
	fprintf(stderr, "error: %s: %s\n", what, strerror(err));
	exit(3);
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t tv_ns(struct timeval tv) { return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull; }

static uint8_t recs[REC_BUF * REC_SIZE];
static unsigned nrec;
static int out_fd = -1;

static void flush_records(void)
{
	size_t left = (size_t)nrec * REC_SIZE, off = 0;
	while (left > 0) {
		ssize_t w = write(out_fd, recs + off, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			fail("write(--out)", errno);
		off += (size_t)w;
		left -= (size_t)w;
	}
	nrec = 0;
}

int main(int argc, char **argv)
{
	int port = -1, batch = 64, rcvbuf = 0;
	const char *netns = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--netns")) netns = argv[i + 1];
		else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--rcvbuf")) rcvbuf = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--out")) out_fd = atoi(argv[i + 1]);
		else fail(argv[i], EINVAL);
	}
	if (argc % 2 == 0 || port < 1 || port > 65535 || batch < 1 || batch > MAX_BATCH || out_fd < 0) {
		fprintf(stderr, "usage: stack_rx --port P [--netns PATH] [--batch 1..%d] [--rcvbuf BYTES] --out FD\n", MAX_BATCH);
		return 2;
	}
	/* dies with the process that started it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (netns) {
		int fd = open(netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			fail(netns, errno);
		close(fd);
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		fail("socket", errno);
	int one = 1;
	if (setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)))
		fail("SO_TIMESTAMPNS", errno);
	if (rcvbuf > 0 && setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		fail("SO_RCVBUF", errno);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = { htonl(INADDR_ANY) } };
	if (bind(s, (struct sockaddr *)&a, sizeof(a)))
		fail("bind", errno);

	/* no SA_RESTART: SIGTERM ends a blocking recvmmsg with EINTR */
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	static uint8_t bufs[MAX_BATCH][DGRAM_MAX];
	static char ctl[MAX_BATCH][CMSG_SPACE(sizeof(struct timespec))];
	static struct iovec iov[MAX_BATCH];
	static struct mmsghdr msgs[MAX_BATCH];
	for (int i = 0; i < batch; i++) {
		iov[i] = (struct iovec){ bufs[i], DGRAM_MAX };
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	struct rusage ru0, ru;
	getrusage(RUSAGE_SELF, &ru0);
	fprintf(stderr, "ready\n");

	uint64_t received = 0, stamped = 0, unstamped = 0, foreign = 0, kernel_ts = 0, batches = 0;
	int draining = 0;
	for (;;) {
		if (stop)
			draining = 1;
		for (int i = 0; i < batch; i++) {
			msgs[i].msg_hdr.msg_control = ctl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		int n = recvmmsg(s, msgs, (unsigned)batch, draining ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break; /* draining, and nothing is left */
			fail("recvmmsg", errno);
		}
		uint64_t user = now_ns(CLOCK_MONOTONIC);
		/* realtime − monotonic now: converts SO_TIMESTAMPNS into the XDP stamp's clock */
		int64_t rt_off = (int64_t)(now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC));
		batches++;
		for (int i = 0; i < n; i++) {
			const uint8_t *p = bufs[i];
			uint32_t len = msgs[i].msg_len, magic = 0, seq = 0, flags = 0;
			uint64_t xdp = 0, kern = 0;
			received++;
			if (len >= 4)
				magic = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
			if (len < TS_OFF + 8 || (magic != MAGIC_STACK && magic != MAGIC_PLAIN)) {
				foreign++;
				continue;
			}
			memcpy(&seq, p + 8, 4);
			if (magic == MAGIC_STACK) {
				memcpy(&xdp, p + TS_OFF, 8);
				flags |= 1;
				stamped++;
			} else {
				flags |= 4;
				unstamped++;
			}
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(c), sizeof(ts));
					kern = (uint64_t)((int64_t)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) - rt_off);
					flags |= 2;
					kernel_ts++;
				}
			}
			uint8_t *r = recs + (size_t)nrec * REC_SIZE;
			memcpy(r, &seq, 4);
			memcpy(r + 4, &flags, 4);
			memcpy(r + 8, &xdp, 8);
			memcpy(r + 16, &kern, 8);
			memcpy(r + 24, &user, 8);
			if (++nrec == REC_BUF)
				flush_records();
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	flush_records();
	close(s);
	fprintf(stderr, "{\"received\":%llu,\"stamped\":%llu,\"unstamped\":%llu,\"foreign\":%llu,\"kernel_ts\":%llu,\"batches\":%llu,\"cpu_ns\":%llu}\n",
		(unsigned long long)received, (unsigned long long)stamped, (unsigned long long)unstamped, (unsigned long long)foreign,
		(unsigned long long)kernel_ts, (unsigned long long)batches,
		(unsigned long long)(tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime) - tv_ns(ru0.ru_utime) - tv_ns(ru0.ru_stime)));
	return 0;
}
