/* SPDX-License-Identifier: MIT */
/* netdev generic-netlink family (kernel 6.3+): what a device says it can do for XDP and AF_XDP
 * (xdp-features, xdp-zc-max-segs, xdp-rx-metadata-features, xsk-features). A read-only query:
 * it never changes the device, so `afxdp doctor` may run it on a live interface. */
#include "addon.h"
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* from linux/netdev.h (Debian's uapi headers are 6.1, older than the family) */
#define NETDEV_CMD_DEV_GET 1
#define NETDEV_A_DEV_IFINDEX 1
#define NETDEV_A_DEV_XDP_FEATURES 3
#define NETDEV_A_DEV_XDP_ZC_MAX_SEGS 4
#define NETDEV_A_DEV_XDP_RX_METADATA_FEATURES 5
#define NETDEV_A_DEV_XSK_FEATURES 6

struct req {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char buf[256];
};

static void put_attr(struct req *r, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->n.nlmsg_len));
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->n.nlmsg_len = NLMSG_ALIGN(r->n.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* one request, one reply; returns reply length or -errno (a netlink error reply's error) */
static int transact(int fd, struct req *r, char *reply, size_t size)
{
	static uint32_t seq;
	r->n.nlmsg_seq = ++seq;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (sendto(fd, r, r->n.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	ssize_t n = recv(fd, reply, size, 0);
	if (n < 0)
		return -errno;
	struct nlmsghdr *h = (struct nlmsghdr *)reply;
	if (!NLMSG_OK(h, (size_t)n))
		return -EBADMSG;
	if (h->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(h);
		return e->error ? e->error : -ENODATA;
	}
	return (int)n;
}

#define ATTRS_FOR_EACH(a, h)                                                                     \
	for (struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);          \
	     (char *)a + NLA_HDRLEN <= (char *)(h) + (h)->nlmsg_len && a->nla_len >= NLA_HDRLEN; \
	     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))

/* netdevDevGet(ifindex) → { xdpFeatures, xdpZcMaxSegs, xdpRxMetadataFeatures, xskFeatures }
 * (each -1 when the kernel does not report it), or null when the kernel has no netdev family. */
AFX_FN(netdevDevGet)
{
	napi_value argv[1];
	uint32_t ifindex;
	if (!afx_args(env, info, 1, argv) || !afx_get_u32(env, argv[0], &ifindex))
		return NULL;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return afx_throw_errno(env, "socket(NETLINK_GENERIC)", errno);
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char *reply = malloc(16384);
	napi_value result = NULL;
	if (!reply) {
		close(fd);
		return afx_throw_errno(env, "malloc", ENOMEM);
	}

	struct req r = { 0 };
	r.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r.n.nlmsg_type = GENL_ID_CTRL;
	r.n.nlmsg_flags = NLM_F_REQUEST;
	r.g.cmd = CTRL_CMD_GETFAMILY;
	r.g.version = 1;
	put_attr(&r, CTRL_ATTR_FAMILY_NAME, "netdev", 7);
	int n = transact(fd, &r, reply, 16384);
	if (n == -ENOENT) {
		result = afx_null(env);
		goto out;
	}
	if (n < 0) {
		afx_throw_errno(env, "genetlink CTRL_CMD_GETFAMILY netdev", -n);
		goto out;
	}
	uint16_t family = 0;
	struct nlmsghdr *h = (struct nlmsghdr *)reply;
	ATTRS_FOR_EACH(a, h)
	{
		if (a->nla_type == CTRL_ATTR_FAMILY_ID)
			memcpy(&family, (char *)a + NLA_HDRLEN, 2);
	}
	if (!family) {
		result = afx_null(env);
		goto out;
	}

	memset(&r, 0, sizeof(r));
	r.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r.n.nlmsg_type = family;
	r.n.nlmsg_flags = NLM_F_REQUEST;
	r.g.cmd = NETDEV_CMD_DEV_GET;
	r.g.version = 1;
	put_attr(&r, NETDEV_A_DEV_IFINDEX, &ifindex, 4);
	n = transact(fd, &r, reply, 16384);
	if (n < 0) {
		afx_throw_errno(env, "genetlink NETDEV_CMD_DEV_GET", -n);
		goto out;
	}
	double xdp = -1, zc = -1, meta = -1, xsk = -1;
	h = (struct nlmsghdr *)reply;
	ATTRS_FOR_EACH(a, h)
	{
		uint64_t v64 = 0;
		uint32_t v32 = 0;
		void *d = (char *)a + NLA_HDRLEN;
		int len = a->nla_len - NLA_HDRLEN;
		if (len >= 8)
			memcpy(&v64, d, 8);
		else if (len >= 4)
			memcpy(&v32, d, 4), v64 = v32;
		switch (a->nla_type) {
		case NETDEV_A_DEV_XDP_FEATURES: xdp = (double)v64; break;
		case NETDEV_A_DEV_XDP_ZC_MAX_SEGS: zc = (double)v64; break;
		case NETDEV_A_DEV_XDP_RX_METADATA_FEATURES: meta = (double)v64; break;
		case NETDEV_A_DEV_XSK_FEATURES: xsk = (double)v64; break;
		}
	}
	napi_create_object(env, &result);
	afx_set(env, result, "xdpFeatures", afx_f64(env, xdp));
	afx_set(env, result, "xdpZcMaxSegs", afx_f64(env, zc));
	afx_set(env, result, "xdpRxMetadataFeatures", afx_f64(env, meta));
	afx_set(env, result, "xskFeatures", afx_f64(env, xsk));
out:
	free(reply);
	close(fd);
	return result;
}

napi_value afx_netdev_init(napi_env env, napi_value exports)
{
	static const afx_fn fns[] = {
		{ "netdevDevGet", netdevDevGet },
	};
	afx_register(env, exports, fns, AFX_COUNT(fns));
	return exports;
}
