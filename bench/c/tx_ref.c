/* SPDX-License-Identifier: MIT */
/*
 * tx_ref: the C yardstick for afxdp's TypeScript generator (src/lab/generator.ts), built like
 * xdpsock's txonly loop: frames are written once as templates; per packet only the sequence
 * number and the TX time (one clock read per batch) are patched; completions are reclaimed
 * before each batch; copy mode needs a sendto per ≤32 frames, so the TX ring is kicked until
 * empty.
 *
 *   tx_ref --iface IF --dst-mac MAC --src-mac MAC [--netns PATH] [--queue Q] [--count N]
 *          [--rate PPS] [--size B] [--batch 32]
 *
 * Prints one JSON object on stdout: {"sent":N,"elapsed_ns":T,"cpu_user_ns":..,"cpu_sys_ns":..}.
 */
#include "xsk_ref.h"
#include <sys/resource.h>

#define FRAMES 4096u
#define FRAME_SIZE 4096u
#define PAYLOAD 42u /* eth 14 + ip 20 + udp 8: frame layout of src/lab/frame.ts */

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet + IPv4 198.18.0.1 → 198.18.0.2 + UDP 40000 → 9 + payload magic 'AFXG' */
static void write_frame(uint8_t *f, uint32_t size, const uint8_t dst[6], const uint8_t src[6])
{
	memset(f, 0, size);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	uint8_t *ip = f + 14;
	uint16_t iplen = (uint16_t)(size - 14);
	ip[0] = 0x45;
	ip[2] = iplen >> 8;
	ip[3] = iplen & 0xff;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 198, ip[13] = 18, ip[14] = 0, ip[15] = 1;
	ip[16] = 198, ip[17] = 18, ip[18] = 0, ip[19] = 2;
	uint16_t c = csum(ip, 20);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	uint8_t *udp = ip + 20;
	uint16_t ulen = (uint16_t)(size - 34);
	udp[0] = 40000 >> 8, udp[1] = 40000 & 0xff;
	udp[2] = 0, udp[3] = 9;
	udp[4] = ulen >> 8, udp[5] = ulen & 0xff;
	uint8_t *pl = f + PAYLOAD;
	pl[0] = 'A', pl[1] = 'F', pl[2] = 'X', pl[3] = 'G';
}

int main(int argc, char **argv)
{
	const char *iface = NULL, *netns = NULL;
	uint8_t dst[6], src[6];
	int have_dst = 0, have_src = 0;
	unsigned queue = 0, size = 64, batch = 32;
	uint64_t count = 1000000;
	double rate = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--iface")) iface = v;
		else if (!strcmp(a, "--netns")) netns = v;
		else if (!strcmp(a, "--queue")) queue = (unsigned)atoi(v);
		else if (!strcmp(a, "--count")) count = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--rate")) rate = atof(v);
		else if (!strcmp(a, "--size")) size = (unsigned)atoi(v);
		else if (!strcmp(a, "--batch")) batch = (unsigned)atoi(v);
		else if (!strcmp(a, "--dst-mac")) have_dst = !parse_mac(v, dst);
		else if (!strcmp(a, "--src-mac")) have_src = !parse_mac(v, src);
		else {
			fprintf(stderr, "unknown option %s\n", a);
			return 2;
		}
	}
	if (!iface || !have_dst || !have_src || size < 62 || size > FRAME_SIZE || batch < 1 || batch > 2048) {
		fprintf(stderr, "usage: tx_ref --iface IF --dst-mac MAC --src-mac MAC [--netns PATH] [--queue Q] [--count N] [--rate PPS] [--size B] [--batch N]\n");
		return 2;
	}
	if (netns)
		enter_netns(netns);
	unsigned ifindex = iface_index(iface);

	struct xsk x;
	xsk_open(&x, ifindex, queue, FRAMES, FRAME_SIZE, 0, 2048);
	for (uint32_t i = 0; i < FRAMES; i++)
		write_frame(x.umem + (uint64_t)i * FRAME_SIZE, size, dst, src);
	uint32_t run_id = (uint32_t)now_ns(CLOCK_MONOTONIC);
	for (uint32_t i = 0; i < FRAMES; i++)
		memcpy(x.umem + (uint64_t)i * FRAME_SIZE + PAYLOAD + 4, &run_id, 4);

	/* free frame stack */
	static uint64_t free_frames[FRAMES];
	uint32_t free_top = 0;
	for (uint32_t i = FRAMES; i-- > 0;)
		free_frames[free_top++] = (uint64_t)i * FRAME_SIZE;

	uint64_t sent = 0, seq = 0;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	while (sent < count || free_top < FRAMES) {
		/* reclaim completions */
		uint32_t done = ring_peek(&x.comp, FRAMES);
		for (uint32_t i = 0; i < done; i++)
			free_frames[free_top++] = *ring_addr(&x.comp, x.comp.cached_cons + i);
		ring_release(&x.comp, done);

		uint64_t due = count;
		if (rate > 0) {
			uint64_t d = (uint64_t)((double)(now_ns(CLOCK_MONOTONIC) - t0) * rate / 1e9) + 1;
			if (d < due)
				due = d;
		}
		uint32_t want = due > sent ? (uint32_t)(due - sent < batch ? due - sent : batch) : 0;
		if (want > free_top)
			want = free_top;
		want = ring_free(&x.tx, want);
		if (want) {
			uint64_t now = now_ns(CLOCK_MONOTONIC);
			uint32_t idx = x.tx.cached_prod;
			for (uint32_t i = 0; i < want; i++) {
				uint64_t addr = free_frames[--free_top];
				uint8_t *pl = x.umem + addr + PAYLOAD;
				uint32_t s = (uint32_t)seq++;
				memcpy(pl + 8, &s, 4);
				memcpy(pl + 12, &now, 8);
				struct xdp_desc *d = ring_desc(&x.tx, idx + i);
				d->addr = addr;
				d->len = size;
				d->options = 0;
			}
			ring_submit(&x.tx, want);
			sent += want;
		}
		/* copy mode transmits at most 32 frames per sendto: kick while the kernel has some */
		if (x.copy || ring_needs_wakeup(&x.tx)) {
			for (int k = 0; k < 256; k++) {
				if (sendto(x.fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN && errno != EBUSY && errno != ENOBUFS)
					die("sendto", errno);
				if (__atomic_load_n(x.tx.consumer, __ATOMIC_ACQUIRE) == x.tx.cached_prod)
					break;
			}
		}
		/* paced and ahead of schedule: sleep instead of spinning, so a paced sender leaves the CPU
		 * to the receiver under test (as the TS generator's timer does) */
		if (rate > 0 && sent < count && sent >= due && free_top == FRAMES) {
			struct timespec ts = { 0, (long)(1e9 / rate) };
			if (ts.tv_nsec > 1000000)
				ts.tv_nsec = 1000000;
			nanosleep(&ts, NULL);
		}
		if (sent >= count && now_ns(CLOCK_MONOTONIC) - t0 > (uint64_t)60e9)
			break; /* completions never came back: give up rather than hang */
	}
	uint64_t t1 = now_ns(CLOCK_MONOTONIC);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	uint64_t ks[6];
	xsk_stats(x.fd, ks);
	close(x.fd);
	printf("{\"sent\":%llu,\"elapsed_ns\":%llu,\"cpu_user_ns\":%llu,\"cpu_sys_ns\":%llu,\"tx_invalid_descs\":%llu,\"bind\":\"%s\"}\n",
	       (unsigned long long)sent, (unsigned long long)(t1 - t0),
	       (unsigned long long)ru.ru_utime.tv_sec * 1000000000ull + (unsigned long long)ru.ru_utime.tv_usec * 1000ull,
	       (unsigned long long)ru.ru_stime.tv_sec * 1000000000ull + (unsigned long long)ru.ru_stime.tv_usec * 1000ull,
	       (unsigned long long)ks[2], x.copy ? "copy" : "zerocopy");
	return 0;
}
