/* SPDX-License-Identifier: MIT */
/* A tap device for the lab: open /dev/net/tun and name it (TUNSETIFF), and write a batch of
 * frames to it. A frame written to the fd arrives at the tap as if received from a wire, so the
 * tap's XDP program sees it; the tap lives only as long as the fd (not persistent). */
#define _GNU_SOURCE
#include "addon.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* tunOpen(name, multiQueue): a close-on-exec, non-blocking fd of the tap named `name` (IFF_TAP |
 * IFF_NO_PI: frames without a packet-info header), in the calling thread's network namespace; with
 * multiQueue (IFF_MULTI_QUEUE) each open of the same name adds a queue.
 * Non-blocking because tun runs native XDP on a written frame only for such writers (the
 * build_skb path); a blocking writer's frames take generic XDP. */
AFX_FN(tunOpen)
{
	napi_value argv[2];
	char name[IF_NAMESIZE];
	bool multi;
	if (!afx_args(env, info, 2, argv) || !afx_get_str(env, argv[0], name, sizeof(name)) || !afx_get_bool(env, argv[1], &multi))
		return NULL;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return afx_throw_errno(env, "open(/dev/net/tun)", errno);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		int e = errno;
		close(fd);
		return afx_throw_errno(env, "ioctl(TUNSETIFF)", e);
	}
	return afx_i32(env, fd);
}

/* tunWrite(fd, bytes, addrs, lens, n): writes frames i < n, each lens[i] bytes at bytes + addrs[i],
 * one write(2) per frame (tun takes one frame per write). Called once per batch of the generator:
 * returns the frames written, or -errno when the first frame failed (EAGAIN: try again later). */
AFX_FN(tunWrite)
{
	napi_value argv[5];
	int32_t fd;
	uint32_t n;
	void *bytes, *addrs, *lens;
	size_t blen, alen, llen;
	if (!afx_args(env, info, 5, argv) || !afx_get_i32(env, argv[0], &fd) || !afx_get_bytes(env, argv[1], &bytes, &blen) ||
	    !afx_get_bytes(env, argv[2], &addrs, &alen) || !afx_get_bytes(env, argv[3], &lens, &llen) || !afx_get_u32(env, argv[4], &n))
		return NULL;
	if ((size_t)n * 4 > alen || (size_t)n * 4 > llen)
		return afx_throw_type(env, "tunWrite: n exceeds the address or length array");
	const uint32_t *a = addrs, *l = lens;
	for (uint32_t i = 0; i < n; i++) {
		if ((size_t)a[i] + l[i] > blen)
			return afx_throw_type(env, "tunWrite: a frame lies outside the buffer");
		if (write(fd, (const uint8_t *)bytes + a[i], l[i]) < 0)
			return afx_i32(env, i > 0 ? (int32_t)i : -errno);
	}
	return afx_i32(env, (int32_t)n);
}

napi_value afx_tun_init(napi_env env, napi_value exports)
{
	static const afx_fn fns[] = {
		{ "tunOpen", tunOpen },
		{ "tunWrite", tunWrite },
	};
	afx_register(env, exports, fns, AFX_COUNT(fns));
	return exports;
}
