/* SPDX-License-Identifier: MIT */
/* Shared helpers of the afxdp addon: argument parsing and errno errors. The addon is thin:
 * system calls and libbpf, no per-packet logic (that lives in TypeScript). */
#ifndef AFXDP_ADDON_H
#define AFXDP_ADDON_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ARGS 8

/* Fetch up to n args; throws and returns NULL-equivalent (false) on failure. */
bool afx_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv);

/* Throw `Error("<what>: <strerror(err)>")` with .errno = err and .syscall = what. Returns NULL. */
napi_value afx_throw_errno(napi_env env, const char *what, int err);
/* Throw a TypeError for a bad argument. Returns NULL. */
napi_value afx_throw_type(napi_env env, const char *msg);

bool afx_get_i32(napi_env env, napi_value v, int32_t *out);
bool afx_get_u32(napi_env env, napi_value v, uint32_t *out);
bool afx_get_f64(napi_env env, napi_value v, double *out);
bool afx_get_bool(napi_env env, napi_value v, bool *out);
/* copies into buf (NUL-terminated); false if not a string or too long */
bool afx_get_str(napi_env env, napi_value v, char *buf, size_t size);
/* data pointer + byte length of any TypedArray / Buffer / DataView */
bool afx_get_bytes(napi_env env, napi_value v, void **data, size_t *len);
bool afx_get_arraybuffer(napi_env env, napi_value v, void **data, size_t *len);

napi_value afx_u32(napi_env env, uint32_t v);
napi_value afx_i32(napi_env env, int32_t v);
napi_value afx_f64(napi_env env, double v);
napi_value afx_bool(napi_env env, bool v);
napi_value afx_str(napi_env env, const char *s);
napi_value afx_undefined(napi_env env);
napi_value afx_null(napi_env env);
void afx_set(napi_env env, napi_value obj, const char *key, napi_value v);

/* each module part registers its functions */
typedef struct { const char *name; napi_callback fn; } afx_fn;
void afx_register(napi_env env, napi_value exports, const afx_fn *fns, size_t n);

napi_value afx_xsk_init(napi_env env, napi_value exports);
napi_value afx_poll_init(napi_env env, napi_value exports);
napi_value afx_bpf_init(napi_env env, napi_value exports);
napi_value afx_sys_init(napi_env env, napi_value exports);
napi_value afx_netdev_init(napi_env env, napi_value exports);
napi_value afx_unix_init(napi_env env, napi_value exports);
napi_value afx_tun_init(napi_env env, napi_value exports);

#define AFX_FN(name) static napi_value name(napi_env env, napi_callback_info info)
#define AFX_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
