/* SPDX-License-Identifier: MIT */
/* Readiness of an XSK fd, two ways:
 *  - event mode: a uv_poll watcher in Node's own event loop, so a readable socket wakes one JS
 *    callback that drains the ring (one wake-up, no extra thread);
 *  - worker mode: pollWait(), a plain blocking poll(2) for a worker thread that has nothing else
 *    to do — the shape of a C poll loop, without a libuv turn per wake-up. */
#include "addon.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<uv.h>)
#include <uv.h>
#define AFX_HAVE_UV_H 1
#endif
#endif

#ifndef AFX_HAVE_UV_H
/* Node's uv.h is not always installed next to its binary; libuv 1.x keeps this ABI stable, and
 * the handle size is asked at run time (uv_handle_size), so these declarations are enough. */
typedef struct uv_poll_s uv_poll_t;
typedef struct uv_handle_s uv_handle_t;
typedef void (*uv_poll_cb)(uv_poll_t *handle, int status, int events);
typedef void (*uv_close_cb)(uv_handle_t *handle);
int uv_poll_init(struct uv_loop_s *loop, uv_poll_t *handle, int fd);
int uv_poll_start(uv_poll_t *handle, int events, uv_poll_cb cb);
int uv_poll_stop(uv_poll_t *handle);
void uv_close(uv_handle_t *handle, uv_close_cb close_cb);
size_t uv_handle_size(int type);
const char *uv_strerror(int err);
#define UV_READABLE 1
#define UV_POLL 8
#endif

/* The uv handle must be the first member so the callback can find its watcher. Its real size
 * comes from uv_handle_size() at run time, hence the flexible tail. */
typedef struct {
	napi_env env;
	napi_ref cb;
	napi_ref recv; /* make_callback's receiver, made once: napi_get_global per wake-up cost more than the rest of the entry */
	napi_async_context ctx;
	int stopped;
	int closed;  /* uv_close finished */
	int orphan;  /* the JS handle was garbage-collected */
	_Alignas(16) unsigned char handle[];
} watcher_t;

static watcher_t *from_handle(void *h)
{
	return (watcher_t *)((char *)h - offsetof(watcher_t, handle));
}

static void on_ready(uv_poll_t *h, int status, int events)
{
	watcher_t *w = from_handle(h);
	if (w->stopped)
		return;
	napi_env env = w->env;
	napi_handle_scope scope;
	napi_open_handle_scope(env, &scope);
	napi_value cb, recv, arg, result;
	napi_get_reference_value(env, w->cb, &cb);
	napi_get_reference_value(env, w->recv, &recv);
	napi_create_int32(env, status, &arg); /* a small integer: no allocation */
	/* make_callback: runs nextTicks/microtasks after, like any other I/O callback */
	if (napi_make_callback(env, w->ctx, recv, cb, 1, &arg, &result) == napi_pending_exception) {
		napi_value err;
		napi_get_and_clear_last_exception(env, &err);
		napi_fatal_exception(env, err);
	}
	napi_close_handle_scope(env, scope);
}

/* Freed only when both uv is done with the handle and JS can no longer reach it, so a second
 * pollStop (or one after close) is harmless instead of a use-after-free. */
static void on_closed(uv_handle_t *h)
{
	watcher_t *w = from_handle(h);
	w->closed = 1;
	if (w->orphan)
		free(w);
}

static void on_collected(napi_env env, void *data, void *hint)
{
	watcher_t *w = data;
	w->orphan = 1;
	if (w->closed)
		free(w);
}

static void stop_watcher(watcher_t *w)
{
	if (w->stopped)
		return;
	w->stopped = 1;
	uv_poll_stop((uv_poll_t *)w->handle);
	napi_delete_reference(w->env, w->cb);
	napi_delete_reference(w->env, w->recv);
	napi_async_destroy(w->env, w->ctx);
	uv_close((uv_handle_t *)w->handle, on_closed);
}

AFX_FN(pollStart)
{
	napi_value argv[2];
	int32_t fd;
	if (!afx_args(env, info, 2, argv) || !afx_get_i32(env, argv[0], &fd))
		return NULL;
	napi_valuetype t;
	napi_typeof(env, argv[1], &t);
	if (t != napi_function)
		return afx_throw_type(env, "pollStart: expected a callback");

	struct uv_loop_s *loop;
	if (napi_get_uv_event_loop(env, &loop) != napi_ok)
		return afx_throw_errno(env, "napi_get_uv_event_loop", 22);
	watcher_t *w = calloc(1, sizeof(*w) + uv_handle_size(UV_POLL));
	if (!w)
		return afx_throw_errno(env, "calloc", 12);
	int r = uv_poll_init(loop, (uv_poll_t *)w->handle, fd);
	if (r) {
		free(w);
		return afx_throw_errno(env, "uv_poll_init", -r);
	}
	w->env = env;
	napi_create_reference(env, argv[1], 1, &w->cb);
	napi_value recv;
	napi_create_object(env, &recv); /* make_callback needs an object receiver; the callback ignores `this` */
	napi_create_reference(env, recv, 1, &w->recv);
	napi_value name;
	napi_create_string_utf8(env, "afxdp:xsk-poll", NAPI_AUTO_LENGTH, &name);
	napi_async_init(env, NULL, name, &w->ctx);
	r = uv_poll_start((uv_poll_t *)w->handle, UV_READABLE, on_ready);
	if (r) {
		int e = -r;
		w->orphan = 1; /* no JS handle will ever exist */
		stop_watcher(w);
		return afx_throw_errno(env, "uv_poll_start", e);
	}
	napi_value ext;
	napi_create_external(env, w, on_collected, NULL, &ext);
	return ext;
}

AFX_FN(pollStop)
{
	napi_value argv[1];
	if (!afx_args(env, info, 1, argv))
		return NULL;
	void *p;
	if (napi_get_value_external(env, argv[0], &p) != napi_ok)
		return afx_throw_type(env, "pollStop: expected a poll handle");
	stop_watcher(p);
	return afx_undefined(env);
}

/* pollWait(fd, timeoutMs): blocks the calling thread in poll(2) for POLLIN. Returns the revents
 * (0 on timeout) or -errno; EINTR is a plain early return (0), the caller loops anyway. */
AFX_FN(pollWait)
{
	napi_value argv[2];
	int32_t fd, timeout;
	if (!afx_args(env, info, 2, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_i32(env, argv[1], &timeout))
		return NULL;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r = poll(&pfd, 1, timeout);
	if (r < 0)
		return afx_i32(env, errno == EINTR ? 0 : -errno);
	return afx_i32(env, r == 0 ? 0 : pfd.revents);
}

/* pollWaitWake(fd, wakeFd, timeoutMs): pollWait() that another thread can end early by
 * signalling the eventfd wakeFd (wakeSignal). The eventfd is read (reset) here when it fired.
 * Returns fd's revents (0 on timeout, EINTR or a wake-up alone) or -errno. */
AFX_FN(pollWaitWake)
{
	napi_value argv[3];
	int32_t fd, wake, timeout;
	if (!afx_args(env, info, 3, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_i32(env, argv[1], &wake) || !afx_get_i32(env, argv[2], &timeout))
		return NULL;
	struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN }, { .fd = wake, .events = POLLIN } };
	int r = poll(pfd, 2, timeout);
	if (r < 0)
		return afx_i32(env, errno == EINTR ? 0 : -errno);
	if (pfd[1].revents & POLLIN) {
		uint64_t v;
		ssize_t n = read(wake, &v, sizeof(v)); /* non-blocking: resets the counter */
		(void)n;
	}
	return afx_i32(env, r == 0 ? 0 : pfd[0].revents);
}

/* wakeCreate(): a non-blocking eventfd for pollWaitWake(); wakeSignal(fd): ends such a wait
 * (returns 0 or -errno). Not per packet: at most once per send of a sleeping worker. */
AFX_FN(wakeCreate)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return afx_throw_errno(env, "eventfd", errno);
	return afx_i32(env, fd);
}

AFX_FN(wakeSignal)
{
	napi_value argv[1];
	int32_t fd;
	if (!afx_args(env, info, 1, argv) || !afx_get_i32(env, argv[0], &fd))
		return NULL;
	uint64_t one = 1;
	return afx_i32(env, write(fd, &one, sizeof(one)) < 0 ? -errno : 0);
}

napi_value afx_poll_init(napi_env env, napi_value exports)
{
	static const afx_fn fns[] = {
		{ "pollStart", pollStart },
		{ "pollStop", pollStop },
		{ "pollWait", pollWait },
		{ "pollWaitWake", pollWaitWake },
		{ "wakeCreate", wakeCreate },
		{ "wakeSignal", wakeSignal },
	};
	afx_register(env, exports, fns, AFX_COUNT(fns));
	return exports;
}
