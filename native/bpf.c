/* SPDX-License-Identifier: MIT */
/* libbpf calls: open/load objects (with .rodata config and the verifier log captured), attach
 * XDP through bpf_link, map access, test runs. No ELF parsing of our own: libbpf does it. */
#include "addon.h"
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <linux/if_link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	struct bpf_object *obj;
} objh_t;

/* ---- libbpf log capture: libbpf prints through one global callback; we collect what it says
 * during open/load so JS can show (and explain) the verifier's log instead of losing it. ---- */
static __thread char *cap_buf;
static __thread size_t cap_len, cap_cap;
static __thread int capturing;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!capturing || level == LIBBPF_DEBUG)
		return 0;
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0)
		return 0;
	if (cap_len + (size_t)n + 1 > cap_cap) {
		size_t nc = cap_cap ? cap_cap : 4096;
		while (nc < cap_len + (size_t)n + 1)
			nc *= 2;
		char *nb = realloc(cap_buf, nc);
		if (!nb)
			return 0;
		cap_buf = nb;
		cap_cap = nc;
	}
	vsnprintf(cap_buf + cap_len, (size_t)n + 1, fmt, ap);
	cap_len += (size_t)n;
	return n;
}

static void cap_begin(void)
{
	cap_len = 0;
	if (cap_buf)
		cap_buf[0] = 0;
	capturing = 1;
}

static napi_value cap_end(napi_env env)
{
	capturing = 0;
	return afx_str(env, cap_buf ? cap_buf : "");
}

static void obj_finalize(napi_env env, void *data, void *hint)
{
	objh_t *h = data;
	if (h->obj)
		bpf_object__close(h->obj);
	free(h);
}

static objh_t *get_obj(napi_env env, napi_value v)
{
	void *p = NULL;
	if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
		afx_throw_type(env, "expected a BPF object handle");
		return NULL;
	}
	objh_t *h = p;
	if (!h->obj) {
		napi_throw_error(env, "ECLOSED", "BPF object already closed");
		return NULL;
	}
	return h;
}

static struct bpf_program *get_prog(napi_env env, objh_t *h, napi_value v)
{
	char name[256];
	if (!afx_get_str(env, v, name, sizeof(name)))
		return NULL;
	struct bpf_program *p = bpf_object__find_program_by_name(h->obj, name);
	if (!p)
		afx_throw_errno(env, "bpf_object__find_program_by_name", ENOENT);
	return p;
}

static struct bpf_map *get_map(napi_env env, objh_t *h, napi_value v)
{
	char name[256];
	if (!afx_get_str(env, v, name, sizeof(name)))
		return NULL;
	struct bpf_map *m = bpf_object__find_map_by_name(h->obj, name);
	if (!m)
		afx_throw_errno(env, "bpf_object__find_map_by_name", ENOENT);
	return m;
}

AFX_FN(bpfOpen)
{
	napi_value argv[1];
	char path[4096];
	if (!afx_args(env, info, 1, argv) || !afx_get_str(env, argv[0], path, sizeof(path)))
		return NULL;
	cap_begin();
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	int err = obj ? 0 : errno;
	napi_value log = cap_end(env);
	if (!obj) {
		afx_throw_errno(env, "bpf_object__open_file", err);
		/* attach libbpf's own words to the pending error: they say *why* (not ELF, no BTF, …) */
		napi_value e;
		napi_get_and_clear_last_exception(env, &e);
		afx_set(env, e, "log", log);
		napi_throw(env, e);
		return NULL;
	}
	objh_t *h = calloc(1, sizeof(*h));
	h->obj = obj;
	napi_value ext;
	napi_create_external(env, h, obj_finalize, NULL, &ext);
	return ext;
}

AFX_FN(bpfClose)
{
	napi_value argv[1];
	if (!afx_args(env, info, 1, argv))
		return NULL;
	void *p = NULL;
	if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p)
		return afx_throw_type(env, "expected a BPF object handle");
	objh_t *h = p;
	if (h->obj) {
		bpf_object__close(h->obj);
		h->obj = NULL;
	}
	return afx_undefined(env);
}

AFX_FN(bpfPrograms)
{
	napi_value argv[1];
	if (!afx_args(env, info, 1, argv))
		return NULL;
	objh_t *h = get_obj(env, argv[0]);
	if (!h)
		return NULL;
	napi_value arr;
	napi_create_array(env, &arr);
	uint32_t i = 0;
	struct bpf_program *p;
	bpf_object__for_each_program(p, h->obj) {
		napi_value o;
		napi_create_object(env, &o);
		afx_set(env, o, "name", afx_str(env, bpf_program__name(p)));
		afx_set(env, o, "section", afx_str(env, bpf_program__section_name(p)));
		afx_set(env, o, "type", afx_u32(env, bpf_program__type(p)));
		napi_set_element(env, arr, i++, o);
	}
	return arr;
}

AFX_FN(bpfMaps)
{
	napi_value argv[1];
	if (!afx_args(env, info, 1, argv))
		return NULL;
	objh_t *h = get_obj(env, argv[0]);
	if (!h)
		return NULL;
	napi_value arr;
	napi_create_array(env, &arr);
	uint32_t i = 0;
	struct bpf_map *m;
	bpf_object__for_each_map(m, h->obj) {
		napi_value o;
		napi_create_object(env, &o);
		afx_set(env, o, "name", afx_str(env, bpf_map__name(m)));
		afx_set(env, o, "type", afx_u32(env, bpf_map__type(m)));
		afx_set(env, o, "keySize", afx_u32(env, bpf_map__key_size(m)));
		afx_set(env, o, "valueSize", afx_u32(env, bpf_map__value_size(m)));
		afx_set(env, o, "maxEntries", afx_u32(env, bpf_map__max_entries(m)));
		napi_set_element(env, arr, i++, o);
	}
	return arr;
}

static struct bpf_map *find_rodata(struct bpf_object *obj)
{
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj) {
		const char *n = bpf_map__name(m);
		size_t l = strlen(n);
		if (bpf_map__is_internal(m) && l >= 7 && strcmp(n + l - 7, ".rodata") == 0)
			return m;
	}
	return NULL;
}

/* The .rodata bytes plus each variable's name/offset/size from BTF, so TS can patch config
 * values by name (the way a libbpf skeleton's `skel->rodata->x = …` does). */
AFX_FN(bpfRodata)
{
	napi_value argv[1];
	if (!afx_args(env, info, 1, argv))
		return NULL;
	objh_t *h = get_obj(env, argv[0]);
	if (!h)
		return NULL;
	struct bpf_map *m = find_rodata(h->obj);
	if (!m)
		return afx_null(env);
	size_t size = 0;
	const void *init = bpf_map__initial_value(m, &size);
	if (!init)
		return afx_null(env);
	napi_value res, bytes, vars;
	void *copy;
	napi_create_buffer_copy(env, size, init, &copy, &bytes);
	napi_create_array(env, &vars);
	struct btf *btf = bpf_object__btf(h->obj);
	if (btf) {
		int id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
		if (id > 0) {
			const struct btf_type *sec = btf__type_by_id(btf, id);
			const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
			for (uint32_t i = 0; i < btf_vlen(sec); i++, vs++) {
				const struct btf_type *var = btf__type_by_id(btf, vs->type);
				napi_value o;
				napi_create_object(env, &o);
				afx_set(env, o, "name", afx_str(env, btf__name_by_offset(btf, var->name_off)));
				afx_set(env, o, "offset", afx_u32(env, vs->offset));
				afx_set(env, o, "size", afx_u32(env, vs->size));
				napi_set_element(env, vars, i, o);
			}
		}
	}
	napi_create_object(env, &res);
	afx_set(env, res, "bytes", bytes);
	afx_set(env, res, "vars", vars);
	return res;
}

AFX_FN(bpfSetRodata)
{
	napi_value argv[2];
	void *data;
	size_t len;
	if (!afx_args(env, info, 2, argv))
		return NULL;
	objh_t *h = get_obj(env, argv[0]);
	if (!h || !afx_get_bytes(env, argv[1], &data, &len))
		return NULL;
	struct bpf_map *m = find_rodata(h->obj);
	if (!m)
		return afx_throw_errno(env, "bpf_map__set_initial_value(.rodata)", ENOENT);
	int err = bpf_map__set_initial_value(m, data, len);
	if (err)
		return afx_throw_errno(env, "bpf_map__set_initial_value(.rodata)", -err);
	return afx_undefined(env);
}

AFX_FN(bpfSetAutoload)
{
	napi_value argv[3];
	bool on;
	if (!afx_args(env, info, 3, argv))
		return NULL;
	objh_t *h = get_obj(env, argv[0]);
	struct bpf_program *p = h ? get_prog(env, h, argv[1]) : NULL;
	if (!p || !afx_get_bool(env, argv[2], &on))
		return NULL;
	int err = bpf_program__set_autoload(p, on);
	if (err)
		return afx_throw_errno(env, "bpf_program__set_autoload", -err);
	return afx_undefined(env);
}

AFX_FN(bpfSetProgType)
{
	napi_value argv[3];
	uint32_t type;
	if (!afx_args(env, info, 3, argv))
		return NULL;
	objh_t *h = get_obj(env, argv[0]);
	struct bpf_program *p = h ? get_prog(env, h, argv[1]) : NULL;
	if (!p || !afx_get_u32(env, argv[2], &type))
		return NULL;
	int err = bpf_program__set_type(p, type);
	if (err)
		return afx_throw_errno(env, "bpf_program__set_type", -err);
	return afx_undefined(env);
}

AFX_FN(bpfSetProgIfindex)
{
	napi_value argv[4];
	uint32_t ifindex, flags;
	if (!afx_args(env, info, 4, argv))
		return NULL;
	objh_t *h = get_obj(env, argv[0]);
	struct bpf_program *p = h ? get_prog(env, h, argv[1]) : NULL;
	if (!p || !afx_get_u32(env, argv[2], &ifindex) || !afx_get_u32(env, argv[3], &flags))
		return NULL;
	bpf_program__set_ifindex(p, ifindex);
	int err = bpf_program__set_flags(p, bpf_program__flags(p) | flags);
	if (err)
		return afx_throw_errno(env, "bpf_program__set_flags", -err);
	return afx_undefined(env);
}

#define PROG_LOG_SIZE (16u << 20)

/* Load all autoload programs. logLevel 0: libbpf's own retry-with-log on failure (its text is
 * captured). logLevel 1/2: a private buffer per program at that level, returned in progLogs. */
AFX_FN(bpfLoad)
{
	napi_value argv[2];
	size_t argc = 2;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1)
		return afx_throw_type(env, "bpfLoad: expected a BPF object handle");
	objh_t *h = get_obj(env, argv[0]);
	if (!h)
		return NULL;
	uint32_t level = 0;
	if (argc > 1 && !afx_get_u32(env, argv[1], &level))
		return NULL;

	struct bpf_program *p;
	char *bufs[64] = { 0 };
	int nb = 0;
	if (level > 0) {
		bpf_object__for_each_program(p, h->obj) {
			if (!bpf_program__autoload(p) || nb >= 64)
				continue;
			bufs[nb] = calloc(1, PROG_LOG_SIZE);
			if (bufs[nb]) {
				bpf_program__set_log_buf(p, bufs[nb], PROG_LOG_SIZE);
				bpf_program__set_log_level(p, level);
			}
			nb++;
		}
	}
	/* The verifier gives up with EAGAIN when a signal is pending (it checks signal_pending() as it
	 * walks the program), and libbpf retries only 5 times: a profiler's SIGPROF every 50 µs
	 * (node --cpu-prof) made every attempt fail. Signals are held for this thread during the load
	 * and delivered right after it. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	cap_begin();
	int err = bpf_object__load(h->obj);
	napi_value log = cap_end(env);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	napi_value res, plogs;
	napi_create_object(env, &res);
	napi_create_object(env, &plogs);
	if (level > 0) {
		int i = 0;
		bpf_object__for_each_program(p, h->obj) {
			if (!bpf_program__autoload(p) || i >= 64)
				continue;
			if (bufs[i])
				afx_set(env, plogs, bpf_program__name(p), afx_str(env, bufs[i]));
			i++;
		}
		for (i = 0; i < nb; i++)
			free(bufs[i]);
		bpf_object__for_each_program(p, h->obj)
			bpf_program__set_log_buf(p, NULL, 0);
	}
	afx_set(env, res, "ok", afx_bool(env, err == 0));
	afx_set(env, res, "errno", afx_i32(env, err < 0 ? -err : 0));
	afx_set(env, res, "log", log);
	afx_set(env, res, "progLogs", plogs);
	return res;
}

AFX_FN(bpfProgFd)
{
	napi_value argv[2];
	if (!afx_args(env, info, 2, argv))
		return NULL;
	objh_t *h = get_obj(env, argv[0]);
	struct bpf_program *p = h ? get_prog(env, h, argv[1]) : NULL;
	if (!p)
		return NULL;
	int fd = bpf_program__fd(p);
	if (fd < 0)
		return afx_throw_errno(env, "bpf_program__fd (program not loaded)", -fd);
	return afx_i32(env, fd);
}

AFX_FN(bpfMapFd)
{
	napi_value argv[2];
	if (!afx_args(env, info, 2, argv))
		return NULL;
	objh_t *h = get_obj(env, argv[0]);
	struct bpf_map *m = h ? get_map(env, h, argv[1]) : NULL;
	if (!m)
		return NULL;
	int fd = bpf_map__fd(m);
	if (fd < 0)
		return afx_throw_errno(env, "bpf_map__fd (object not loaded)", -fd);
	return afx_i32(env, fd);
}

/* bpf_link (not netlink) attach: the kernel detaches it when the last fd closes, which
 * includes the process dying of SIGKILL, so a crash never leaves a program on the interface. */
AFX_FN(bpfLinkXdp)
{
	napi_value argv[3];
	int32_t pfd;
	uint32_t ifindex, flags;
	if (!afx_args(env, info, 3, argv) || !afx_get_i32(env, argv[0], &pfd) ||
	    !afx_get_u32(env, argv[1], &ifindex) || !afx_get_u32(env, argv[2], &flags))
		return NULL;
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
	int fd = bpf_link_create(pfd, (int)ifindex, BPF_XDP, &opts);
	if (fd < 0)
		return afx_throw_errno(env, "bpf_link_create(BPF_XDP)", errno);
	return afx_i32(env, fd);
}

/* Debian's 6.1 uapi headers predate tcx (kernel 6.6) */
#define AFX_BPF_TCX_INGRESS 46
#define AFX_BPF_TCX_EGRESS 47

/* bpf_link_create(BPF_TCX_INGRESS / BPF_TCX_EGRESS): a tc BPF program on an interface without a
 * qdisc, detached when the link's last fd closes. Used by the lab (VLAN tagging on egress). */
AFX_FN(bpfLinkTcx)
{
	napi_value argv[3];
	int32_t pfd;
	uint32_t ifindex;
	bool egress;
	if (!afx_args(env, info, 3, argv) || !afx_get_i32(env, argv[0], &pfd) ||
	    !afx_get_u32(env, argv[1], &ifindex) || !afx_get_bool(env, argv[2], &egress))
		return NULL;
	int fd = bpf_link_create(pfd, (int)ifindex, (enum bpf_attach_type)(egress ? AFX_BPF_TCX_EGRESS : AFX_BPF_TCX_INGRESS), NULL);
	if (fd < 0)
		return afx_throw_errno(env, "bpf_link_create(BPF_TCX)", errno);
	return afx_i32(env, fd);
}

AFX_FN(bpfXdpQuery)
{
	napi_value argv[1];
	uint32_t ifindex;
	if (!afx_args(env, info, 1, argv) || !afx_get_u32(env, argv[0], &ifindex))
		return NULL;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = bpf_xdp_query((int)ifindex, 0, &q);
	if (err)
		return afx_throw_errno(env, "bpf_xdp_query", -err);
	napi_value r;
	napi_create_object(env, &r);
	afx_set(env, r, "progId", afx_u32(env, q.prog_id));
	afx_set(env, r, "attachMode", afx_u32(env, q.attach_mode));
	afx_set(env, r, "driveProgId", afx_u32(env, q.drv_prog_id));
	afx_set(env, r, "skbProgId", afx_u32(env, q.skb_prog_id));
	return r;
}

AFX_FN(bpfProgName)
{
	napi_value argv[1];
	uint32_t id;
	if (!afx_args(env, info, 1, argv) || !afx_get_u32(env, argv[0], &id))
		return NULL;
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return afx_str(env, "");
	struct bpf_prog_info pi;
	memset(&pi, 0, sizeof(pi));
	__u32 len = sizeof(pi);
	int err = bpf_obj_get_info_by_fd(fd, &pi, &len);
	close(fd);
	return afx_str(env, err ? "" : pi.name);
}

/* The kernel copies key_size / value_size bytes (times the CPU count for per-CPU maps): check
 * the JS buffers first, so a wrong-sized buffer is an exception, not memory corruption. */
static bool check_map_bufs(napi_env env, int fd, size_t kl, size_t vl, bool need_value)
{
	struct bpf_map_info mi;
	memset(&mi, 0, sizeof(mi));
	__u32 len = sizeof(mi);
	if (bpf_obj_get_info_by_fd(fd, &mi, &len)) {
		afx_throw_errno(env, "bpf_obj_get_info_by_fd(map)", errno);
		return false;
	}
	size_t vs = mi.value_size;
	if (mi.type == BPF_MAP_TYPE_PERCPU_ARRAY || mi.type == BPF_MAP_TYPE_PERCPU_HASH ||
	    mi.type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		vs = ((vs + 7) & ~(size_t)7) * (size_t)libbpf_num_possible_cpus();
	if (kl < mi.key_size || (need_value && vl < vs)) {
		char msg[160];
		snprintf(msg, sizeof(msg), "map buffers too small: key %zu < %u or value %zu < %zu bytes",
			 kl, mi.key_size, vl, vs);
		afx_throw_type(env, msg);
		return false;
	}
	return true;
}

AFX_FN(bpfMapUpdate)
{
	napi_value argv[4];
	int32_t fd;
	uint32_t flags;
	void *k, *v;
	size_t kl, vl;
	if (!afx_args(env, info, 4, argv) || !afx_get_i32(env, argv[0], &fd) ||
	    !afx_get_bytes(env, argv[1], &k, &kl) || !afx_get_bytes(env, argv[2], &v, &vl) ||
	    !afx_get_u32(env, argv[3], &flags) || !check_map_bufs(env, fd, kl, vl, true))
		return NULL;
	if (bpf_map_update_elem(fd, k, v, flags))
		return afx_throw_errno(env, "bpf_map_update_elem", errno);
	return afx_undefined(env);
}

AFX_FN(bpfMapLookup)
{
	napi_value argv[3];
	int32_t fd;
	void *k, *v;
	size_t kl, vl;
	if (!afx_args(env, info, 3, argv) || !afx_get_i32(env, argv[0], &fd) ||
	    !afx_get_bytes(env, argv[1], &k, &kl) || !afx_get_bytes(env, argv[2], &v, &vl) ||
	    !check_map_bufs(env, fd, kl, vl, true))
		return NULL;
	if (bpf_map_lookup_elem(fd, k, v)) {
		if (errno == ENOENT)
			return afx_bool(env, false);
		return afx_throw_errno(env, "bpf_map_lookup_elem", errno);
	}
	return afx_bool(env, true);
}

AFX_FN(bpfMapDelete)
{
	napi_value argv[2];
	int32_t fd;
	void *k;
	size_t kl;
	if (!afx_args(env, info, 2, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_bytes(env, argv[1], &k, &kl) ||
	    !check_map_bufs(env, fd, kl, 0, false))
		return NULL;
	if (bpf_map_delete_elem(fd, k)) {
		if (errno == ENOENT)
			return afx_bool(env, false);
		return afx_throw_errno(env, "bpf_map_delete_elem", errno);
	}
	return afx_bool(env, true);
}

/* For the map strategy: BPF_MAP_LOOKUP_AND_DELETE_ELEM for `count` keys laid out back to back in
 * `keys`; the values land at the same index in `values`, found[i] = 1 when key i was there.
 * One N-API call per received batch (the syscalls are per key: the kernel has no keyed batch
 * lookup-and-delete for hash maps). Returns how many were found. */
AFX_FN(bpfMapTakeBatch)
{
	napi_value argv[5];
	int32_t fd;
	uint32_t count;
	void *k, *v, *f;
	size_t kl, vl, fl;
	if (!afx_args(env, info, 5, argv) || !afx_get_i32(env, argv[0], &fd) ||
	    !afx_get_bytes(env, argv[1], &k, &kl) || !afx_get_bytes(env, argv[2], &v, &vl) ||
	    !afx_get_u32(env, argv[3], &count) || !afx_get_bytes(env, argv[4], &f, &fl))
		return NULL;
	struct bpf_map_info mi;
	memset(&mi, 0, sizeof(mi));
	__u32 len = sizeof(mi);
	if (bpf_obj_get_info_by_fd(fd, &mi, &len))
		return afx_throw_errno(env, "bpf_obj_get_info_by_fd(map)", errno);
	if (mi.key_size == 0 || mi.value_size == 0 || (size_t)count * mi.key_size > kl ||
	    (size_t)count * mi.value_size > vl || count > fl)
		return afx_throw_type(env, "bpfMapTakeBatch: buffers too small for count keys/values");
	uint8_t *found = f;
	uint32_t hits = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (bpf_map_lookup_and_delete_elem(fd, (uint8_t *)k + (size_t)i * mi.key_size,
						   (uint8_t *)v + (size_t)i * mi.value_size) == 0) {
			found[i] = 1;
			hits++;
		} else if (errno == ENOENT) {
			found[i] = 0;
		} else {
			return afx_throw_errno(env, "bpf_map_lookup_and_delete_elem", errno);
		}
	}
	return afx_u32(env, hits);
}

/* BPF_PROG_TEST_RUN: the kernel runs the program `repeat` times on `data` and reports the mean
 * duration per run: how the cost of a stamping strategy is measured without any NIC.
 * Optional flags (e.g. BPF_F_TEST_XDP_LIVE_FRAMES, which gives every run a fresh copy of the
 * packet, so helpers that move data/data_meta do not accumulate) and batch size. */
AFX_FN(bpfProgTestRun)
{
	napi_value argv[5];
	size_t argc = 5;
	int32_t fd;
	uint32_t repeat, flags = 0, batch = 0;
	void *data;
	size_t len;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 3)
		return afx_throw_type(env, "bpfProgTestRun: expected (progFd, data, repeat[, flags[, batchSize]])");
	if (!afx_get_i32(env, argv[0], &fd) || !afx_get_bytes(env, argv[1], &data, &len) ||
	    !afx_get_u32(env, argv[2], &repeat) || (argc > 3 && !afx_get_u32(env, argv[3], &flags)) ||
	    (argc > 4 && !afx_get_u32(env, argv[4], &batch)))
		return NULL;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = data, .data_size_in = (__u32)len, .repeat = repeat,
		    .flags = flags, .batch_size = batch);
	if (bpf_prog_test_run_opts(fd, &o))
		return afx_throw_errno(env, "bpf_prog_test_run_opts", errno);
	napi_value r;
	napi_create_object(env, &r);
	afx_set(env, r, "retval", afx_u32(env, o.retval));
	afx_set(env, r, "durationNs", afx_u32(env, o.duration));
	return r;
}

AFX_FN(numPossibleCpus)
{
	int n = libbpf_num_possible_cpus();
	if (n < 0)
		return afx_throw_errno(env, "libbpf_num_possible_cpus", -n);
	return afx_i32(env, n);
}

napi_value afx_bpf_init(napi_env env, napi_value exports)
{
	libbpf_set_print(print_fn);
	static const afx_fn fns[] = {
		{ "bpfOpen", bpfOpen },
		{ "bpfClose", bpfClose },
		{ "bpfPrograms", bpfPrograms },
		{ "bpfMaps", bpfMaps },
		{ "bpfRodata", bpfRodata },
		{ "bpfSetRodata", bpfSetRodata },
		{ "bpfSetAutoload", bpfSetAutoload },
		{ "bpfSetProgType", bpfSetProgType },
		{ "bpfSetProgIfindex", bpfSetProgIfindex },
		{ "bpfLoad", bpfLoad },
		{ "bpfProgFd", bpfProgFd },
		{ "bpfMapFd", bpfMapFd },
		{ "bpfLinkXdp", bpfLinkXdp },
		{ "bpfLinkTcx", bpfLinkTcx },
		{ "bpfXdpQuery", bpfXdpQuery },
		{ "bpfProgName", bpfProgName },
		{ "bpfMapUpdate", bpfMapUpdate },
		{ "bpfMapLookup", bpfMapLookup },
		{ "bpfMapDelete", bpfMapDelete },
		{ "bpfMapTakeBatch", bpfMapTakeBatch },
		{ "bpfProgTestRun", bpfProgTestRun },
		{ "numPossibleCpus", numPossibleCpus },
	};
	afx_register(env, exports, fns, AFX_COUNT(fns));
	return exports;
}
