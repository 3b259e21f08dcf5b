/* SPDX-License-Identifier: MIT */
#include "addon.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

bool afx_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv)
{
	size_t argc = n;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return false;
	if (argc < n) {
		char msg[96];
		snprintf(msg, sizeof(msg), "expected %zu arguments, got %zu", n, argc);
		afx_throw_type(env, msg);
		return false;
	}
	return true;
}

napi_value afx_throw_errno(napi_env env, const char *what, int err)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	napi_value m, e;
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
	napi_create_error(env, NULL, m, &e);
	afx_set(env, e, "errno", afx_i32(env, err));
	afx_set(env, e, "syscall", afx_str(env, what));
	napi_throw(env, e);
	return NULL;
}

napi_value afx_throw_type(napi_env env, const char *msg)
{
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
	return NULL;
}

bool afx_get_i32(napi_env env, napi_value v, int32_t *out)
{
	if (napi_get_value_int32(env, v, out) != napi_ok) {
		afx_throw_type(env, "expected a number");
		return false;
	}
	return true;
}

bool afx_get_u32(napi_env env, napi_value v, uint32_t *out)
{
	if (napi_get_value_uint32(env, v, out) != napi_ok) {
		afx_throw_type(env, "expected a number");
		return false;
	}
	return true;
}

bool afx_get_f64(napi_env env, napi_value v, double *out)
{
	if (napi_get_value_double(env, v, out) != napi_ok) {
		afx_throw_type(env, "expected a number");
		return false;
	}
	return true;
}

bool afx_get_bool(napi_env env, napi_value v, bool *out)
{
	if (napi_get_value_bool(env, v, out) != napi_ok) {
		afx_throw_type(env, "expected a boolean");
		return false;
	}
	return true;
}

bool afx_get_str(napi_env env, napi_value v, char *buf, size_t size)
{
	size_t len = 0;
	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
		afx_throw_type(env, "expected a string");
		return false;
	}
	if (len + 1 > size) {
		afx_throw_type(env, "string argument too long");
		return false;
	}
	napi_get_value_string_utf8(env, v, buf, size, &len);
	return true;
}

bool afx_get_bytes(napi_env env, napi_value v, void **data, size_t *len)
{
	bool is;
	if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
		napi_typedarray_type type;
		size_t length, offset;
		napi_value ab;
		napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset);
		size_t el = 1;
		switch (type) {
		case napi_int16_array: case napi_uint16_array: el = 2; break;
		case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
		case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
		default: el = 1;
		}
		*len = length * el;
		return true;
	}
	if (napi_is_dataview(env, v, &is) == napi_ok && is) {
		napi_value ab;
		size_t offset;
		napi_get_dataview_info(env, v, len, data, &ab, &offset);
		return true;
	}
	afx_throw_type(env, "expected a TypedArray, Buffer or DataView");
	return false;
}

bool afx_get_arraybuffer(napi_env env, napi_value v, void **data, size_t *len)
{
	bool is;
	if (napi_is_arraybuffer(env, v, &is) != napi_ok || !is) {
		afx_throw_type(env, "expected an ArrayBuffer");
		return false;
	}
	napi_get_arraybuffer_info(env, v, data, len);
	return true;
}

napi_value afx_u32(napi_env env, uint32_t v) { napi_value r; napi_create_uint32(env, v, &r); return r; }
napi_value afx_i32(napi_env env, int32_t v) { napi_value r; napi_create_int32(env, v, &r); return r; }
napi_value afx_f64(napi_env env, double v) { napi_value r; napi_create_double(env, v, &r); return r; }
napi_value afx_bool(napi_env env, bool v) { napi_value r; napi_get_boolean(env, v, &r); return r; }
napi_value afx_str(napi_env env, const char *s) { napi_value r; napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r); return r; }
napi_value afx_undefined(napi_env env) { napi_value r; napi_get_undefined(env, &r); return r; }
napi_value afx_null(napi_env env) { napi_value r; napi_get_null(env, &r); return r; }

void afx_set(napi_env env, napi_value obj, const char *key, napi_value v)
{
	napi_set_named_property(env, obj, key, v);
}

void afx_register(napi_env env, napi_value exports, const afx_fn *fns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		napi_value f;
		napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
		napi_set_named_property(env, exports, fns[i].name, f);
	}
}

/* Context-aware (NAPI_MODULE_INIT) so worker_threads can load their own instance (docs/ARCHITECTURE.md, "Measured facts"). */
NAPI_MODULE_INIT()
{
	afx_xsk_init(env, exports);
	afx_poll_init(env, exports);
	afx_bpf_init(env, exports);
	afx_sys_init(env, exports);
	afx_netdev_init(env, exports);
	afx_unix_init(env, exports);
	afx_tun_init(env, exports);
	return exports;
}
