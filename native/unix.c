/* SPDX-License-Identifier: MIT */
/* The broker's Unix socket (afxdp serve, docs/BROKER.md): SOCK_SEQPACKET listen/connect/accept,
 * the peer's credentials (SO_PEERCRED) and messages that carry file descriptors (SCM_RIGHTS),
 * which Node's own net module cannot send. Plus memfd_create for a UMEM that two processes map.
 * Setup-time calls only, never on the data path. */
#define _GNU_SOURCE
#include "addon.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 64

static bool unix_addr(napi_env env, napi_value v, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	return afx_get_str(env, v, a->sun_path, sizeof(a->sun_path));
}

/* unixListen(path, backlog): a non-blocking listening socket; created with mode 0600 (umask), the
 * caller sets the final mode and group before it accepts anyone */
AFX_FN(unixListen)
{
	napi_value argv[2];
	struct sockaddr_un a;
	int32_t backlog;
	if (!afx_args(env, info, 2, argv) || !unix_addr(env, argv[0], &a) || !afx_get_i32(env, argv[1], &backlog))
		return NULL;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return afx_throw_errno(env, "socket(AF_UNIX)", errno);
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	int err = errno;
	umask(old);
	if (r) {
		close(fd);
		return afx_throw_errno(env, "bind", err);
	}
	if (listen(fd, backlog)) {
		err = errno;
		close(fd);
		return afx_throw_errno(env, "listen", err);
	}
	return afx_i32(env, fd);
}

/* unixConnect(path): a blocking connected socket */
AFX_FN(unixConnect)
{
	napi_value argv[1];
	struct sockaddr_un a;
	if (!afx_args(env, info, 1, argv) || !unix_addr(env, argv[0], &a))
		return NULL;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return afx_throw_errno(env, "socket(AF_UNIX)", errno);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		int err = errno;
		close(fd);
		return afx_throw_errno(env, "connect", err);
	}
	return afx_i32(env, fd);
}

/* unixAccept(fd): a non-blocking connection, or -errno (-EAGAIN: none pending) */
AFX_FN(unixAccept)
{
	napi_value argv[1];
	int32_t fd;
	if (!afx_args(env, info, 1, argv) || !afx_get_i32(env, argv[0], &fd))
		return NULL;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	return afx_i32(env, c < 0 ? -errno : c);
}

/* peerCred(fd): { pid, uid, gid } of the process that connected (the kernel's, not the peer's word) */
AFX_FN(peerCred)
{
	napi_value argv[1];
	int32_t fd;
	if (!afx_args(env, info, 1, argv) || !afx_get_i32(env, argv[0], &fd))
		return NULL;
	struct ucred c;
	socklen_t len = sizeof(c);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len))
		return afx_throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
	napi_value o;
	napi_create_object(env, &o);
	afx_set(env, o, "pid", afx_i32(env, c.pid));
	afx_set(env, o, "uid", afx_u32(env, c.uid));
	afx_set(env, o, "gid", afx_u32(env, c.gid));
	return o;
}

/* sendFds(fd, bytes, fds: Int32Array): one message with the descriptors attached; returns 0 or -errno */
AFX_FN(sendFds)
{
	napi_value argv[3];
	int32_t fd;
	void *data, *fdata;
	size_t len, flen;
	if (!afx_args(env, info, 3, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_bytes(env, argv[1], &data, &len) ||
	    !afx_get_bytes(env, argv[2], &fdata, &flen))
		return NULL;
	size_t nfds = flen / sizeof(int);
	if (nfds > MAX_FDS)
		return afx_throw_type(env, "sendFds: too many descriptors");
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char ctl[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	memset(ctl, 0, sizeof(ctl));
	if (nfds > 0) {
		m.msg_control = ctl;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fdata, sizeof(int) * nfds);
	}
	ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL);
	return afx_i32(env, r < 0 ? -errno : 0);
}

/* recvFds(fd, buf, fdsOut: Int32Array, timeoutMs): waits up to timeoutMs (0: not at all, -1:
 * forever) for one message; returns { bytes, fds } (bytes 0: the peer closed) or { bytes: -errno }
 * (-EAGAIN: nothing within the timeout). Received descriptors are close-on-exec. */
AFX_FN(recvFds)
{
	napi_value argv[4];
	int32_t fd, timeout;
	void *data, *fdata;
	size_t len, flen;
	if (!afx_args(env, info, 4, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_bytes(env, argv[1], &data, &len) ||
	    !afx_get_bytes(env, argv[2], &fdata, &flen) || !afx_get_i32(env, argv[3], &timeout))
		return NULL;
	napi_value o;
	napi_create_object(env, &o);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int pr;
	do
		pr = poll(&p, 1, timeout);
	while (pr < 0 && errno == EINTR);
	if (pr <= 0) {
		afx_set(env, o, "bytes", afx_i32(env, pr < 0 ? -errno : -EAGAIN));
		afx_set(env, o, "fds", afx_i32(env, 0));
		return o;
	}
	size_t maxfds = flen / sizeof(int);
	if (maxfds > MAX_FDS)
		maxfds = MAX_FDS;
	char ctl[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = CMSG_SPACE(sizeof(int) * maxfds) };
	ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int got = 0;
	if (r >= 0) {
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int *in = (int *)CMSG_DATA(c);
			for (int i = 0; i < n; i++) {
				if ((size_t)got < maxfds)
					((int32_t *)fdata)[got++] = in[i];
				else
					close(in[i]); /* more than asked for: never leak them */
			}
		}
		if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			for (int i = 0; i < got; i++)
				close(((int32_t *)fdata)[i]);
			got = 0;
			r = -EMSGSIZE;
		}
	} else {
		r = -errno;
	}
	afx_set(env, o, "bytes", afx_i32(env, (int32_t)r));
	afx_set(env, o, "fds", afx_i32(env, got));
	return o;
}

/* memfdCreate(name, size): an anonymous file of `size` bytes (a UMEM two processes can map) */
AFX_FN(memfdCreate)
{
	napi_value argv[2];
	char name[64];
	double size;
	if (!afx_args(env, info, 2, argv) || !afx_get_str(env, argv[0], name, sizeof(name)) || !afx_get_f64(env, argv[1], &size))
		return NULL;
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return afx_throw_errno(env, "memfd_create", errno);
	if (ftruncate(fd, (off_t)size)) {
		int err = errno;
		close(fd);
		return afx_throw_errno(env, "ftruncate(memfd)", err);
	}
	return afx_i32(env, fd);
}

napi_value afx_unix_init(napi_env env, napi_value exports)
{
	static const afx_fn fns[] = {
		{ "unixListen", unixListen },
		{ "unixConnect", unixConnect },
		{ "unixAccept", unixAccept },
		{ "peerCred", peerCred },
		{ "sendFds", sendFds },
		{ "recvFds", recvFds },
		{ "memfdCreate", memfdCreate },
	};
	afx_register(env, exports, fns, AFX_COUNT(fns));
	return exports;
}
