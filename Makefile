# Builds the native addon (Node-API, plain cc: no node-gyp, no header download) and the BPF
# objects. `npm run build` calls this, then tsc.
CC      ?= cc
CLANG   ?= $(shell command -v clang-19 || command -v clang)
ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)
NAPI_INC := $(shell node -p "require('node-api-headers').include_dir")
# uv.h for the uv_poll watcher when Node ships it (else native/poll.c declares the stable subset)
NODE_INC := $(wildcard $(dir $(shell node -p process.execPath))../include/node)

BPF_SRC  := $(wildcard bpf/*.bpf.c)
BPF_OBJ  := $(patsubst bpf/%.bpf.c,build/bpf/%.bpf.o,$(BPF_SRC))
# programs the tests feed to `afxdp check` (some are wrong on purpose)
TEST_BPF_SRC := $(wildcard test/fixtures/bpf/*.bpf.c)
TEST_BPF_OBJ := $(patsubst test/fixtures/bpf/%.bpf.c,build/test-bpf/%.bpf.o,$(TEST_BPF_SRC))
# one program per verifier-rejection class the explainer knows (all wrong on purpose)
VERIFIER_SRC := $(wildcard test/fixtures/verifier/*.bpf.c)
VERIFIER_OBJ := $(patsubst test/fixtures/verifier/%.bpf.c,build/test-verifier/%.bpf.o,$(VERIFIER_SRC))
# examples/*.bpf.c: user-style programs built against <afxdp/meta.h> (docs and tests run them)
EXAMPLE_BPF_SRC := $(wildcard examples/*.bpf.c)
EXAMPLE_BPF_OBJ := $(patsubst examples/%.bpf.c,build/examples/%.bpf.o,$(EXAMPLE_BPF_SRC))
# programs `npm run bench:strategies` measures
BENCH_BPF_SRC := $(wildcard bench/bpf/*.bpf.c)
BENCH_BPF_OBJ := $(patsubst bench/bpf/%.bpf.c,build/bench-bpf/%.bpf.o,$(BENCH_BPF_SRC))
NATIVE_SRC := $(wildcard native/*.c)
NATIVE_HDR := $(wildcard native/*.h) $(wildcard bpf/include/afxdp/*.h)
ADDON    := build/Release/afxdp.node

# -Werror for our own builds and CI; `make package` (npm install on a user's machine) drops it so a
# newer compiler's new warnings cannot break an install
WERROR ?= -Werror
# the checkout's path stays out of every object (debug info, BTF line info, __FILE__): two builds of
# one commit in different directories are byte-identical (scripts/reproducible checks it)
REPRO_FLAGS := -ffile-prefix-map=$(CURDIR)/= -ffile-prefix-map=$(CURDIR)=.
BPF_CFLAGS := -O2 -g -Wall $(WERROR) $(REPRO_FLAGS) -target bpf -D__BPF__ -I$(ARCH_INC) -Ibpf/include -Ibpf
NATIVE_CFLAGS := -O2 -g -Wall -Wextra $(WERROR) $(REPRO_FLAGS) -Wno-unused-parameter -std=gnu11 -fPIC \
	-fvisibility=hidden -I$(NAPI_INC) $(if $(NODE_INC),-idirafter $(NODE_INC)) -Ibpf/include -DNAPI_VERSION=8

# the C reference receiver / generator of `npm run bench` (its XDP programs are in BENCH_BPF_OBJ), and
# stack_rx, the kernel stack's recvmmsg receiver of `afxdp demo --compare-stack` / `afxdp compare`
BENCH_BIN := build/bench/rx_ref build/bench/tx_ref build/bench/stack_rx build/bench/xdpsock_ref

all: $(ADDON) $(BPF_OBJ) $(TEST_BPF_OBJ) $(VERIFIER_OBJ) $(EXAMPLE_BPF_OBJ) $(BENCH_BPF_OBJ) $(BENCH_BIN)

$(ADDON): $(NATIVE_SRC) $(NATIVE_HDR) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_CFLAGS) -shared -o $@ $(NATIVE_SRC) -lbpf -lelf -lz

build/bpf/%.bpf.o: bpf/%.bpf.c bpf/include/afxdp/meta.h $(wildcard bpf/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

build/test-bpf/%.bpf.o: test/fixtures/bpf/%.bpf.c bpf/include/afxdp/meta.h Makefile
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

build/test-verifier/%.bpf.o: test/fixtures/verifier/%.bpf.c test/fixtures/verifier/common.h Makefile
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

build/examples/%.bpf.o: examples/%.bpf.c bpf/include/afxdp/meta.h Makefile
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# what `npm install afxdp` builds (scripts/install.mjs): no test or bench objects
package: $(ADDON) $(BPF_OBJ) $(EXAMPLE_BPF_OBJ)

# Prebuilt binaries for the package (`npm pack` runs this through prepack; see docs/TROUBLESHOOTING.md):
# the addon linked against position-independent static libbpf, libelf and zlib (scripts/static-deps
# builds them from Debian's sources) so it needs nothing but glibc, named the way node-gyp-build
# finds it (prebuilds/linux-<arch>/node.napi.glibc.node: Node-API, any Node version, glibc);
# and afxdp's own BPF objects, which are BPF bytecode, the same on every little-endian machine.
# Written by hand rather than with prebuildify: that drives node-gyp, which this build does not use.
# linux-arm64 is cross-built with aarch64-linux-gnu-gcc (scripts/setup installs it) and load-tested
# under qemu-aarch64 by test/package.test.ts.
PREBUILD_ARCHS := x64 arm64
TRIPLE_x64     := x86_64-linux-gnu
TRIPLE_arm64   := aarch64-linux-gnu
PREBUILT_ADDONS := $(foreach a,$(PREBUILD_ARCHS),prebuilds/linux-$(a)/node.napi.glibc.node prebuilds/linux-$(a)/THIRD-PARTY/VERSIONS)
PREBUILT_BPF  := $(patsubst bpf/%.bpf.c,prebuilds/bpf/%.bpf.o,$(BPF_SRC))
# the C reference receivers users run through afxdp: rx_ref (`afxdp calibrate`, and the C AF_XDP
# path of `demo --compare-stack`'s 2×2) and stack_rx (its C kernel-stack path); each finds the BPF
# objects at ../bpf/ from itself. rx_ref includes <bpf/btf.h> (the split's .rodata), in .deps' libbpf.
REF_BINS := rx_ref stack_rx
PREBUILT_REFS := $(foreach a,$(PREBUILD_ARCHS),$(foreach r,$(REF_BINS),prebuilds/linux-$(a)/$(r)))

prebuilds: $(PREBUILT_ADDONS) $(PREBUILT_BPF) $(PREBUILT_REFS)

# built once, kept (make would delete an intermediate file)
.PRECIOUS: .deps/linux-%/.done

.deps/linux-%/.done: scripts/static-deps
	scripts/static-deps .deps/linux-$* $(TRIPLE_$*)

# -I.deps/…/include first: the headers of the very libbpf/libelf/zlib linked in. --exclude-libs
# keeps their symbols out of the addon's dynamic symbol table; -s drops debug info (size).
prebuilds/linux-%/node.napi.glibc.node: $(NATIVE_SRC) $(NATIVE_HDR) Makefile .deps/linux-%/.done
	@mkdir -p $(dir $@)
	$(TRIPLE_$*)-gcc -I.deps/linux-$*/include $(NATIVE_CFLAGS) -shared -s -o $@ $(NATIVE_SRC) \
		$(addprefix .deps/linux-$*/lib/,libbpf.a libelf.a libz.a) -Wl,--exclude-libs,ALL -Wl,--as-needed

prebuilds/linux-%/THIRD-PARTY/VERSIONS: .deps/linux-%/.done
	@mkdir -p $(dir $@)
	cp .deps/linux-$*/licenses/* .deps/linux-$*/VERSIONS $(dir $@)

# linked like the addon: static libbpf, libelf and zlib of .deps, glibc dynamic; -s drops debug info
define REF_RULE
prebuilds/linux-%/$(1): bench/c/$(1).c bench/c/xsk_ref.h Makefile .deps/linux-%/.done
	@mkdir -p $$(dir $$@)
	$$(TRIPLE_$$*)-gcc -I.deps/linux-$$*/include -O2 -Wall -Wextra $(WERROR) $(REPRO_FLAGS) -std=gnu11 -s -o $$@ $$< \
		$$(addprefix .deps/linux-$$*/lib/,libbpf.a libelf.a libz.a) -Wl,--as-needed
endef
$(foreach r,$(REF_BINS),$(eval $(call REF_RULE,$(r))))

prebuilds/bpf/%.bpf.o: build/bpf/%.bpf.o
	@mkdir -p $(dir $@)
	cp $< $@

build/bench/%: bench/c/%.c bench/c/xsk_ref.h Makefile
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra $(WERROR) $(REPRO_FLAGS) -std=gnu11 -o $@ $< -lbpf -lelf -lz

build/bench-bpf/%.bpf.o: bench/bpf/%.bpf.c bpf/include/afxdp/meta.h Makefile
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

clean:
	rm -rf build prebuilds

.PHONY: all clean package prebuilds
