/* SPDX-License-Identifier: MIT */
/*
 * rx_ref: the C yardstick for afxdp's TypeScript receiver. It does the same job, the same way:
 * loads build/bpf/stamp.bpf.o (libbpf), one AF_XDP socket in its XSKMAP, bpf_link attach, then
 * per batch: one clock read; per packet: decode the afxdp_meta struct from its end, count the
 * latency into HdrHistogram's log-linear bucket (same index math as src/measure/recorder.ts),
 * clear the magic word (stale guard) and put the frame back on the fill ring.
 *
 *   rx_ref --iface IF [--netns /proc/PID/ns/net] [--queue Q] [--mode spin|poll]
 *          [--xdp native|generic] [--batch 64] [--ring 2048] [--count N] [--duration S] [--l2fwd 1]
 *          [--port P] [--stack-every N [--sent N]]
 *
 * --port P: only UDP to port P is matched (the program's cfg_udp_port; default any UDP port).
 * --stack-every N: the C AF_XDP path of the kernel-stack comparison (src/run/compare-stack.ts):
 * the program passes every Nth matched frame to the kernel stack (bpf/stack_split.h) and the rest
 * to this socket. --sent N: stop once N frames matched and each is accounted for — received here,
 * passed to the stack, or counted dropped by the kernel (XDP_STATISTICS) — checked while idle.
 * The JSON then carries the program's counts ("program": matched, to_stack, stamped, unstamped).
 *
 * --l2fwd 1: xdpsock's l2fwd, the C yardstick of afxdp's handler mode (a handler that swaps the
 * Ethernet addresses and calls ctx.forward): after the same decode and latency count, every
 * packet's Ethernet addresses are swapped and its descriptor goes on the TX ring as it is (the
 * frame is sent in place); a kick per batch (copy mode transmits on sendto); completed frames go
 * back to the fill ring. A packet the TX ring has no room for goes back to the fill ring (dropped).
 *
 * Prints "ready" on stderr once attached; stops at --count packets, --duration seconds, or
 * SIGINT/SIGTERM; prints one JSON object on stdout.
 */
#include "xsk_ref.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>

/* keep in sync with bpf/include/afxdp/meta.h */
#define META_MAGIC 0xAFD8A000u
#define META_MAGIC_MASK 0xFFFFFF00u
#define META_MIN_LEN 24u
#define META_MAX_LEN 216u
#define F_XDP_TS (1u << 0)
#define F_CLOCK_TAI (1u << 1)

/* HdrHistogram geometry of src/measure/recorder.ts: 1 ns .. 10 s, 3 significant digits */
#define SUB_BUCKET_HALF_MAG 10
#define SUB_BUCKET_HALF (1u << SUB_BUCKET_HALF_MAG)
#define SUB_BUCKET_MASK ((SUB_BUCKET_HALF << 1) - 1)
#define LZC_BASE_64 (64 - SUB_BUCKET_HALF_MAG - 1)
#define COUNTS_LEN ((34 + 1) * SUB_BUCKET_HALF)
#define HIGHEST_NS 10000000000ull

static uint64_t tv_ns(struct timeval tv) { return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull; }

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

struct hist {
	uint64_t counts[COUNTS_LEN];
	uint64_t total, sum, min, max, negative;
};

static inline void hist_record(struct hist *h, uint64_t v)
{
	if (v > HIGHEST_NS)
		v = HIGHEST_NS;
	unsigned b = LZC_BASE_64 - __builtin_clzll(v | SUB_BUCKET_MASK);
	unsigned i = (b << SUB_BUCKET_HALF_MAG) + (unsigned)(v >> b);
	h->counts[i]++;
	h->total++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* HdrHistogram's getValueAtPercentile: the highest value equivalent to the bucket reached */
static uint64_t hist_percentile(const struct hist *h, double p)
{
	if (h->total == 0)
		return 0;
	uint64_t want = (uint64_t)(p / 100.0 * (double)h->total + 0.5);
	if (want < 1)
		want = 1;
	uint64_t acc = 0;
	for (unsigned i = 0; i < COUNTS_LEN; i++) {
		acc += h->counts[i];
		if (acc >= want) {
			int b = (int)(i >> SUB_BUCKET_HALF_MAG) - 1;
			uint64_t sub = (i & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF;
			if (b < 0) {
				sub -= SUB_BUCKET_HALF;
				b = 0;
			}
			uint64_t v = (sub << b) + (1ull << b) - 1;
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

static struct hist hist = { .min = UINT64_MAX };

/* l2fwd: completed TX frames go back to the fill ring (as many as it takes; it is as large as the RX ring) */
static void l2fwd_complete(struct xsk *x, uint32_t shift)
{
	uint32_t n = ring_peek(&x->comp, 256);
	if (n == 0)
		return;
	uint32_t f = ring_free(&x->fill, n);
	uint32_t ci = x->comp.cached_cons, fi = x->fill.cached_prod;
	for (uint32_t i = 0; i < f; i++)
		*ring_addr(&x->fill, fi + i) = (*ring_addr(&x->comp, ci + i) >> shift) << shift;
	ring_release(&x->comp, f);
	ring_submit(&x->fill, f);
	if (ring_needs_wakeup(&x->fill))
		recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

struct opts {
	const char *iface, *netns;
	unsigned queue, batch, ring, port, stack_every;
	int spin, generic, l2fwd;
	uint64_t count, sent, warmup;
	double duration;
};

static void usage(void)
{
	fprintf(stderr, "usage: rx_ref --iface IF [--netns PATH] [--queue Q] [--mode spin|poll] [--xdp native|generic]\n"
			"              [--batch N] [--ring N] [--count N] [--duration S] [--l2fwd 1]\n"
			"              [--warmup N] [--port P] [--stack-every N [--sent N]]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .batch = 64, .ring = 2048, .spin = 1 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		if (!strcmp(a, "--iface")) o->iface = v;
		else if (!strcmp(a, "--netns")) o->netns = v;
		else if (!strcmp(a, "--queue")) o->queue = (unsigned)atoi(v);
		else if (!strcmp(a, "--mode")) o->spin = !strcmp(v, "spin");
		else if (!strcmp(a, "--xdp")) o->generic = !strcmp(v, "generic");
		else if (!strcmp(a, "--batch")) o->batch = (unsigned)atoi(v);
		else if (!strcmp(a, "--ring")) o->ring = (unsigned)atoi(v);
		else if (!strcmp(a, "--count")) o->count = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--duration")) o->duration = atof(v);
		else if (!strcmp(a, "--l2fwd")) o->l2fwd = atoi(v);
		else if (!strcmp(a, "--port")) o->port = (unsigned)atoi(v);
		else if (!strcmp(a, "--stack-every")) o->stack_every = (unsigned)atoi(v);
		else if (!strcmp(a, "--sent")) o->sent = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--warmup")) o->warmup = strtoull(v, NULL, 10);
		else usage();
		i++;
	}
	if (!o->iface || o->batch < 1 || o->batch > 4096 || (o->ring & (o->ring - 1)) || o->port > 65535 || o->stack_every == 1 ||
	    o->stack_every > 1000 || (o->sent && !o->stack_every) || (o->stack_every && o->l2fwd))
		usage();
}

/* Sets a `const volatile` u32 of the object's .rodata (found through its BTF) before load. */
static void set_rodata_u32(struct bpf_object *obj, const char *name, uint32_t value)
{
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj)
	{
		const char *mn = bpf_map__name(m);
		size_t ml = strlen(mn);
		if (!bpf_map__is_internal(m) || ml < 7 || strcmp(mn + ml - 7, ".rodata"))
			continue;
		size_t size;
		const void *init = bpf_map__initial_value(m, &size);
		struct btf *btf = bpf_object__btf(obj);
		int sec = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -1;
		uint8_t data[4096];
		if (!init || sec < 0 || size > sizeof(data))
			break;
		memcpy(data, init, size);
		const struct btf_type *t = btf__type_by_id(btf, (uint32_t)sec);
		const struct btf_var_secinfo *vs = btf_var_secinfos(t);
		for (unsigned i = 0; i < btf_vlen(t); i++) {
			const struct btf_type *v = btf__type_by_id(btf, vs[i].type);
			if (!strcmp(btf__name_by_offset(btf, v->name_off), name) && vs[i].size == 4 && vs[i].offset + 4 <= size) {
				memcpy(data + vs[i].offset, &value, 4);
				if (bpf_map__set_initial_value(m, data, size))
					break;
				return;
			}
		}
	}
	fprintf(stderr, "error: %s not found in the program's .rodata\n", name);
	exit(3);
}

/* u64 field `field` of a per-CPU array's value at key `queue`, summed over the CPUs (0 when unreadable). */
static uint64_t percpu_sum(int map_fd, uint32_t queue, unsigned value_size, unsigned field)
{
	static uint8_t buf[1024 * 128];
	int cpus = libbpf_num_possible_cpus();
	unsigned stride = (value_size + 7) & ~7u;
	if (map_fd < 0 || cpus <= 0 || (size_t)cpus * stride > sizeof(buf) || bpf_map_lookup_elem(map_fd, &queue, buf))
		return 0;
	uint64_t t = 0;
	for (int c = 0; c < cpus; c++) {
		uint64_t v;
		memcpy(&v, buf + (size_t)c * stride + field, 8);
		t += v;
	}
	return t;
}

/* sizes and offsets of bpf/stamp.h's afxdp_counters and bpf/stack_split.h's afxdp_stack_counters */
#define COUNTERS_SIZE 80u
#define MATCHED_OFF 8u
#define STACK_COUNTERS_SIZE 24u

int main(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o);
	if (o.netns)
		enter_netns(o.netns);
	unsigned ifindex = iface_index(o.iface);
	libbpf_set_print(libbpf_quiet);

	char obj_path[4096];
	object_beside_binary(obj_path, sizeof(obj_path), "stamp.bpf.o");

	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	if (!obj)
		die(obj_path, errno);
	if (o.port)
		set_rodata_u32(obj, "cfg_udp_port", o.port);
	if (o.stack_every)
		set_rodata_u32(obj, "cfg_stack_every", o.stack_every);
	if (bpf_object__load(obj))
		die("bpf_object__load", errno);
	int prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "afxdp_stamp_prog"));
	int map_fd = bpf_object__find_map_fd_by_name(obj, "xsks_map");
	int counters_fd = bpf_object__find_map_fd_by_name(obj, "afxdp_counters");
	int stack_fd = bpf_object__find_map_fd_by_name(obj, "afxdp_stack_counters");

	uint32_t frames = o.ring * 2 < 4096 ? 4096 : o.ring * 2;
	struct xsk x;
	xsk_open(&x, ifindex, o.queue, frames, 4096, o.ring, o.l2fwd ? o.ring : 0);
	if (bpf_map_update_elem(map_fd, &o.queue, &x.fd, 0))
		die("bpf_map_update_elem(xsks_map)", errno);
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = o.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
	int link = bpf_link_create(prog_fd, (int)ifindex, BPF_XDP, &lo);
	if (link < 0)
		die("bpf_link_create(XDP)", errno);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* CPU and time are counted from here: setup (BPF load, UMEM) is not the receive path */
	struct rusage ru0;
	getrusage(RUSAGE_SELF, &ru0);
	fprintf(stderr, "ready\n");

	const uint32_t batch = o.batch;
	const uint32_t shift = 12; /* log2(4096) */
	uint8_t *umem = x.umem;
	uint64_t received = 0, valid = 0, wakeups = 0, first_ns = 0, last_ns = 0, forwarded = 0, kicks = 0;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	uint64_t deadline = o.duration > 0 ? t0 + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
	struct pollfd pfd = { .fd = x.fd, .events = POLLIN };
	uint32_t idle = 0;
	uint64_t last_check = 0;

	while (!stop) {
		if (o.l2fwd)
			l2fwd_complete(&x, shift);
		uint32_t got = ring_peek(&x.rx, batch);
		if (got == 0) {
			if (o.l2fwd && x.tx.cached_prod != __atomic_load_n(x.tx.consumer, __ATOMIC_ACQUIRE)) {
				kicks++; /* frames still queued: copy mode sends at most 32 per kick */
				sendto(x.fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
			}
			if (ring_needs_wakeup(&x.fill))
				recvfrom(x.fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
			if (!o.spin) {
				wakeups++;
				/* --sent: wake every 10 ms once traffic came, to see the end; idle before it */
				poll(&pfd, 1, o.sent && received ? 10 : 100);
			}
			/* check the clock rarely while idle, so the spin loop stays tight */
			if (++idle >= 4096 || !o.spin) {
				idle = 0;
				uint64_t t = now_ns(CLOCK_MONOTONIC);
				if (t >= deadline)
					break;
				/* --sent: every frame sent is here, with the stack, or counted dropped (at most every 10 ms) */
				if (o.sent && received && t - last_check >= 10000000ull) {
					last_check = t;
					uint64_t matched = percpu_sum(counters_fd, o.queue, COUNTERS_SIZE, MATCHED_OFF);
					uint64_t ks[6];
					xsk_stats(x.fd, ks);
					if (matched >= o.sent && received + percpu_sum(stack_fd, o.queue, STACK_COUNTERS_SIZE, 0) + ks[0] + ks[1] + ks[3] >= matched)
						break;
				}
			}
			continue;
		}
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		if (!first_ns)
			first_ns = now;
		last_ns = now;
		uint32_t rx_idx = x.rx.cached_cons;
		uint32_t fill_free = ring_free(&x.fill, got);
		uint32_t fill_idx = x.fill.cached_prod;
		uint32_t tx_free = o.l2fwd ? ring_free(&x.tx, got) : 0, tx_n = 0, fill_n = 0;
		for (uint32_t i = 0; i < got; i++) {
			const struct xdp_desc *d = ring_desc(&x.rx, rx_idx + i);
			uint64_t addr = d->addr;
			uint64_t base = (addr >> shift) << shift;
			uint8_t *pkt = umem + addr;
			if (addr - base >= META_MIN_LEN) {
				uint32_t magic, len, flags;
				memcpy(&magic, pkt - 4, 4);
				memcpy(&len, pkt - 8, 4);
				memcpy(&flags, pkt - 12, 4);
				if ((magic & META_MAGIC_MASK) == META_MAGIC && len >= META_MIN_LEN && len <= META_MAX_LEN &&
				    !(len & 3) && len <= addr - base && (flags & F_XDP_TS) && !(flags & F_CLOCK_TAI)) {
					uint64_t ts;
					memcpy(&ts, pkt - 24, 8);
					if (now >= ts)
						hist_record(&hist, now - ts);
					else
						hist.negative++;
					valid++;
				}
				memset(pkt - 4, 0, 4); /* stale guard, like XskSocket.recycle() */
			}
			if (tx_n < tx_free) {
				/* l2fwd: swap the Ethernet addresses, send the frame as it is */
				uint8_t mac[6];
				memcpy(mac, pkt, 6);
				memcpy(pkt, pkt + 6, 6);
				memcpy(pkt + 6, mac, 6);
				struct xdp_desc *t = ring_desc(&x.tx, x.tx.cached_prod + tx_n++);
				t->addr = addr;
				t->len = d->len;
				t->options = 0;
				continue;
			}
			/* the fill ring is as large as the RX ring and holds every frame we do not: never full */
			if (fill_n < fill_free)
				*ring_addr(&x.fill, fill_idx + fill_n++) = base;
		}
		ring_release(&x.rx, got);
		ring_submit(&x.fill, fill_n);
		if (tx_n) {
			ring_submit(&x.tx, tx_n);
			forwarded += tx_n;
			kicks++;
			sendto(x.fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
		}
		received += got;
		if (o.warmup && received >= o.warmup) {
			/* --warmup N: the first N packets are received but not measured (as bench:api does for
			 * Node, whose JIT warms up): CPU, counts and latency start over from here */
			o.warmup = 0;
			getrusage(RUSAGE_SELF, &ru0);
			hist = (struct hist){ .min = UINT64_MAX };
			received = valid = wakeups = forwarded = kicks = 0;
			first_ns = 0;
			t0 = now_ns(CLOCK_MONOTONIC);
			continue;
		}
		if (o.count && received >= o.count)
			break;
	}
	uint64_t t1 = now_ns(CLOCK_MONOTONIC);
	/* l2fwd: what is still queued goes out before the numbers are read */
	for (int i = 0; o.l2fwd && i < 64 && x.tx.cached_prod != __atomic_load_n(x.tx.consumer, __ATOMIC_ACQUIRE); i++)
		sendto(x.fd, NULL, 0, MSG_DONTWAIT, NULL, 0);

	uint64_t ks[6];
	xsk_stats(x.fd, ks);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	/* the program's split, read before it is detached */
	uint64_t matched = percpu_sum(counters_fd, o.queue, COUNTERS_SIZE, MATCHED_OFF);
	uint64_t to_stack = percpu_sum(stack_fd, o.queue, STACK_COUNTERS_SIZE, 0);
	uint64_t stack_stamped = percpu_sum(stack_fd, o.queue, STACK_COUNTERS_SIZE, 8);
	uint64_t stack_unstamped = percpu_sum(stack_fd, o.queue, STACK_COUNTERS_SIZE, 16);
	close(link);
	close(x.fd);
	bpf_object__close(obj);

	double mean = hist.total ? (double)hist.sum / (double)hist.total : 0;
	printf("{\"received\":%llu,\"forwarded\":%llu,\"tx_kicks\":%llu,\"meta_valid\":%llu,\"meta_invalid\":%llu,\"mode\":\"%s\",\"bind\":\"%s\",\"batch\":%u,"
	       "\"elapsed_ns\":%llu,\"first_to_last_ns\":%llu,\"cpu_ns\":%llu,\"cpu_user_ns\":%llu,\"cpu_sys_ns\":%llu,\"poll_wakeups\":%llu,"
	       "\"kernel\":{\"rx_dropped\":%llu,\"rx_invalid_descs\":%llu,\"rx_ring_full\":%llu,\"rx_fill_ring_empty_descs\":%llu},"
	       "\"program\":{\"matched\":%llu,\"to_stack\":%llu,\"stamped\":%llu,\"unstamped\":%llu},"
	       "\"latency_ns\":{\"count\":%llu,\"min\":%llu,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu,\"mean\":%.0f,\"negative\":%llu}}\n",
	       (unsigned long long)received, (unsigned long long)forwarded, (unsigned long long)kicks, (unsigned long long)valid, (unsigned long long)(received - valid),
	       o.spin ? "spin" : "poll", x.copy ? "copy" : "zerocopy", batch, (unsigned long long)(t1 - t0),
	       (unsigned long long)(last_ns - first_ns),
	       (unsigned long long)(tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime) - tv_ns(ru0.ru_utime) - tv_ns(ru0.ru_stime)),
	       (unsigned long long)(tv_ns(ru.ru_utime) - tv_ns(ru0.ru_utime)),
	       (unsigned long long)(tv_ns(ru.ru_stime) - tv_ns(ru0.ru_stime)),
	       (unsigned long long)wakeups, (unsigned long long)ks[0], (unsigned long long)ks[1],
	       (unsigned long long)ks[3], (unsigned long long)ks[4],
	       (unsigned long long)matched, (unsigned long long)to_stack, (unsigned long long)stack_stamped, (unsigned long long)stack_unstamped,
	       (unsigned long long)hist.total,
	       (unsigned long long)(hist.total ? hist.min : 0), (unsigned long long)hist_percentile(&hist, 50),
	       (unsigned long long)hist_percentile(&hist, 90), (unsigned long long)hist_percentile(&hist, 99),
	       (unsigned long long)hist_percentile(&hist, 99.9), (unsigned long long)hist.max, mean,
	       (unsigned long long)hist.negative);
	return 0;
}
