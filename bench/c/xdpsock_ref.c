/* SPDX-License-Identifier: MIT */
/*
 * xdpsock_ref: xdpsock's rxdrop and txonly loops in C, the yardstick of the same loops in
 * TypeScript on openXsk() (bench/xdpsock-child.ts). Raw AF_XDP (xsk_ref.h), batch 64.
 *
 *   xdpsock_ref --mode rxdrop --iface IF [--netns PATH] [--count N] [--idle-ms 1000] [--xdp native|generic]
 *   xdpsock_ref --mode txonly --iface IF --dst-mac MAC --src-mac MAC [--netns PATH] [--count N] [--size B]
 *   xdpsock_ref --mode loop [--count N]   (rxdrop's loop alone on rings in memory, no kernel)
 *
 * rxdrop: build/bpf/xsk_redirect.bpf.o on the interface (bpf_link), every received frame straight
 * back to the fill ring; sleeps in poll(POLLIN) while the RX ring is empty. Stops at --count
 * packets or after --idle-ms without one. txonly: every frame written once, then only descriptors
 * move (as xdpsock's txonly without --tx-pkt-pattern changes); a sendto() per batch in copy mode.
 * Prints "ready" on stderr once set up, then one JSON line on stdout:
 * {"packets":N,"elapsed_ns":T,"cpu_ns":C} (rxdrop: elapsed from the first packet to the last, and
 * the kernel's rx_dropped and rx_ring_full).
 */
#include "xsk_ref.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/resource.h>

#define FRAMES 4096u
#define FRAME_SIZE 4096u
#define BATCH 64u
#define RING 2048u

static uint64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static void rxdrop(unsigned ifindex, uint64_t count, int idle_ms, int generic)
{
	libbpf_set_print(libbpf_quiet);
	char obj_path[4096];
	object_beside_binary(obj_path, sizeof(obj_path), "xsk_redirect.bpf.o");
	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	if (!obj || bpf_object__load(obj))
		die(obj_path, errno);
	int prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "afxdp_xsk_redirect"));
	int map_fd = bpf_object__find_map_fd_by_name(obj, "xsks_map");
	struct xsk x;
	xsk_open(&x, ifindex, 0, FRAMES, FRAME_SIZE, RING, 0);
	uint32_t q = 0;
	if (bpf_map_update_elem(map_fd, &q, &x.fd, 0))
		die("bpf_map_update_elem(xsks_map)", errno);
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
	int link = bpf_link_create(prog_fd, (int)ifindex, BPF_XDP, &lo);
	if (link < 0)
		die("bpf_link_create(XDP)", errno);
	uint64_t c0 = cpu_ns();
	fprintf(stderr, "ready\n");

	uint64_t got = 0, first = 0, last = 0;
	/* instrumentation only: wake-ups and batch sizes (hist: 1, 2-7, 8-31, 32-63, 64 packets) */
	uint64_t polls = 0, kicks = 0, batches = 0, hist[5] = { 0 };
	struct pollfd pfd = { .fd = x.fd, .events = POLLIN };
	while (got < count) {
		uint32_t k = ring_peek(&x.rx, BATCH);
		if (k == 0) {
			if (ring_needs_wakeup(&x.fill))
				kicks++, recvfrom(x.fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
			polls++;
			if (poll(&pfd, 1, idle_ms) == 0 && got > 0)
				break;
			continue;
		}
		batches++;
		hist[k == 1 ? 0 : k < 8 ? 1 : k < 32 ? 2 : k < 64 ? 3 : 4]++;
		/* the fill ring has room for every frame: it is as large as the RX ring */
		uint32_t f = ring_free(&x.fill, k);
		for (uint32_t i = 0; i < f; i++)
			*ring_addr(&x.fill, x.fill.cached_prod + i) = ring_desc(&x.rx, x.rx.cached_cons + i)->addr & ~(uint64_t)(FRAME_SIZE - 1);
		ring_submit(&x.fill, f);
		ring_release(&x.rx, f);
		if (got == 0)
			first = now_ns(CLOCK_MONOTONIC);
		got += f;
		last = now_ns(CLOCK_MONOTONIC);
	}
	uint64_t c1 = cpu_ns(), st[6];
	xsk_stats(x.fd, st);
	printf("{\"packets\":%llu,\"elapsed_ns\":%llu,\"cpu_ns\":%llu,\"rx_dropped\":%llu,\"rx_ring_full\":%llu,"
	       "\"polls\":%llu,\"kicks\":%llu,\"batches\":%llu,\"batch_hist\":[%llu,%llu,%llu,%llu,%llu]}\n",
	       (unsigned long long)got, (unsigned long long)(last - first), (unsigned long long)(c1 - c0),
	       (unsigned long long)st[0], (unsigned long long)st[3], (unsigned long long)polls,
	       (unsigned long long)kicks, (unsigned long long)batches, (unsigned long long)hist[0],
	       (unsigned long long)hist[1], (unsigned long long)hist[2], (unsigned long long)hist[3],
	       (unsigned long long)hist[4]);
	close(link);
	bpf_object__close(obj);
}

static void txonly(unsigned ifindex, uint64_t count, unsigned size, const uint8_t dst[6], const uint8_t src[6])
{
	struct xsk x;
	xsk_open(&x, ifindex, 0, FRAMES, FRAME_SIZE, 0, RING);
	for (uint32_t i = 0; i < FRAMES; i++) {
		uint8_t *f = x.umem + (uint64_t)i * FRAME_SIZE;
		memcpy(f, dst, 6);
		memcpy(f + 6, src, 6);
		f[12] = 0x88, f[13] = 0xb5; /* local experimental ethertype: no stack handles it */
		for (unsigned k = 14; k < size; k++)
			f[k] = (uint8_t)k;
	}
	static uint64_t free_frames[FRAMES];
	uint32_t free_top = 0;
	for (uint32_t i = FRAMES; i-- > 0;)
		free_frames[free_top++] = (uint64_t)i * FRAME_SIZE;
	uint64_t c0 = cpu_ns();
	fprintf(stderr, "ready\n");
	uint64_t sent = 0, t0 = now_ns(CLOCK_MONOTONIC);
	while (sent < count || free_top < FRAMES) {
		uint32_t done = ring_peek(&x.comp, BATCH * 4);
		for (uint32_t i = 0; i < done; i++)
			free_frames[free_top++] = *ring_addr(&x.comp, x.comp.cached_cons + i);
		ring_release(&x.comp, done);
		uint32_t want = count - sent < BATCH ? (uint32_t)(count - sent) : BATCH;
		if (want > free_top)
			want = free_top;
		want = ring_free(&x.tx, want);
		for (uint32_t i = 0; i < want; i++) {
			struct xdp_desc *d = ring_desc(&x.tx, x.tx.cached_prod + i);
			d->addr = free_frames[--free_top];
			d->len = size;
			d->options = 0;
		}
		ring_submit(&x.tx, want);
		sent += want;
		if (x.copy || ring_needs_wakeup(&x.tx))
			sendto(x.fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	}
	uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = cpu_ns();
	printf("{\"packets\":%llu,\"elapsed_ns\":%llu,\"cpu_ns\":%llu}\n", (unsigned long long)sent,
	       (unsigned long long)(t1 - t0), (unsigned long long)(c1 - c0));
}

/* rxdrop's loop alone on rings in ordinary memory, this process playing the kernel: the
 * user-space cost per packet without system calls (the yardstick of the TS loop mode). */
static void loop_only(uint64_t count)
{
	static uint32_t rx_words[4 + RING * 4], fill_words[4 + RING * 2];
	struct ring rx = { .producer = &rx_words[0], .consumer = &rx_words[1], .flags = &rx_words[2], .desc = &rx_words[4], .mask = RING - 1, .size = RING };
	struct ring fill = { .producer = &fill_words[0], .consumer = &fill_words[1], .flags = &fill_words[2], .desc = &fill_words[4], .mask = RING - 1, .size = RING };
	for (int pass = 0; pass < 2; pass++) {
		uint64_t n = pass ? count : 1000000, f = 0;
		/* CPU time, not wall time: on a loaded machine a preemption would count as loop time */
		uint64_t t0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
		for (uint64_t done = 0; done < n; done += BATCH) {
			uint32_t p = __atomic_load_n(rx.producer, __ATOMIC_ACQUIRE);
			for (uint32_t i = 0; i < BATCH; i++, f = (f + 1) & (RING - 1)) {
				struct xdp_desc *d = ring_desc(&rx, p + i);
				d->addr = f * FRAME_SIZE + 256;
				d->len = 64;
				d->options = 0;
			}
			__atomic_store_n(rx.producer, p + BATCH, __ATOMIC_RELEASE);
			uint32_t k = ring_peek(&rx, BATCH);
			uint32_t fr = ring_free(&fill, k);
			for (uint32_t i = 0; i < fr; i++)
				*ring_addr(&fill, fill.cached_prod + i) = ring_desc(&rx, rx.cached_cons + i)->addr & ~(uint64_t)(FRAME_SIZE - 1);
			ring_submit(&fill, fr);
			ring_release(&rx, fr);
			__atomic_store_n(fill.consumer, __atomic_load_n(fill.producer, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
		}
		if (pass) {
			fprintf(stderr, "ready\n");
			printf("{\"packets\":%llu,\"ns_per_packet\":%.2f}\n", (unsigned long long)n,
			       (double)(now_ns(CLOCK_PROCESS_CPUTIME_ID) - t0) / (double)n);
		}
	}
}

int main(int argc, char **argv)
{
	const char *iface = NULL, *netns = NULL, *mode = NULL;
	uint8_t dst[6] = { 0 }, src[6] = { 0 };
	int have_mac = 0, idle_ms = 1000, generic = 0;
	unsigned size = 64;
	uint64_t count = 1000000;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--mode")) mode = v;
		else if (!strcmp(a, "--iface")) iface = v;
		else if (!strcmp(a, "--netns")) netns = v;
		else if (!strcmp(a, "--count")) count = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--size")) size = (unsigned)atoi(v);
		else if (!strcmp(a, "--idle-ms")) idle_ms = atoi(v);
		else if (!strcmp(a, "--xdp")) generic = !strcmp(v, "generic");
		else if (!strcmp(a, "--dst-mac")) have_mac |= !parse_mac(v, dst);
		else if (!strcmp(a, "--src-mac")) have_mac |= (!parse_mac(v, src)) << 1;
		else {
			fprintf(stderr, "unknown option %s\n", a);
			return 2;
		}
	}
	if (mode && !strcmp(mode, "loop")) {
		loop_only(count);
		return 0;
	}
	int rx = mode && !strcmp(mode, "rxdrop"), tx = mode && !strcmp(mode, "txonly");
	if (!iface || (!rx && !tx) || (tx && (have_mac != 3 || size < 60 || size > FRAME_SIZE))) {
		fprintf(stderr, "usage: xdpsock_ref --mode rxdrop|txonly --iface IF [--netns PATH] [--count N] [--size B] [--dst-mac MAC --src-mac MAC]\n");
		return 2;
	}
	if (netns)
		enter_netns(netns);
	unsigned ifindex = iface_index(iface);
	if (rx)
		rxdrop(ifindex, count, idle_ms, generic);
	else
		txonly(ifindex, count, size, dst, src);
	return 0;
}
