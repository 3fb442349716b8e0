# ndpq build. Sources are found per layer; each folder is one layer.
CC       ?= cc
PKGS     := libzstd liblz4 snappy zlib jansson sqlite3
# Headers only: workflow/alert opens libcurl when it first posts (dlopen),
# so the other commands do not load its TLS and LDAP libraries at start.
HDR_PKGS := libcurl
VERSION  := 0.1.0
GIT_HASH := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
BUILD    ?= build
OPT      ?= -O3
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
# gcc's -Wformat-truncation flags message buffers we truncate on purpose.
# gcc builds link-time optimized: the per-value path crosses layers
# (worker -> rowgroup -> column -> dict) and inlining across them saves
# 4-6% of the instructions (bench/README.md). Fat objects keep the
# archive usable by a plain linker.
ifeq ($(shell $(CC) -dM -E - </dev/null 2>/dev/null | grep -c __clang__),0)
WARN += -Wno-format-truncation
LTO      ?= -flto=auto -ffat-lto-objects
endif
CFLAGS   ?= $(OPT) $(LTO) -g
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(HDR_PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Isrc \
              -DNDPQ_VERSION='"$(VERSION)"' -DNDPQ_BUILD='"$(GIT_HASH)"' -MMD -MP
LDLIBS   := $(PKG_LIBS) -ldl -lpthread -lm

LIB_SRC  := $(filter-out src/cli/main.c,$(wildcard src/*/*.c))
CLI_SRC  := src/cli/main.c
UNIT_SRC := $(wildcard tests/unit/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
PREFIX   ?= /usr/local

.PHONY: all setup check unit bench demo install clean crash-test fuzz

all: $(BUILD)/ndpq

$(BUILD)/ndpq: $(CLI_OBJ) $(BUILD)/libndpq.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) $(LDFLAGS)

$(BUILD)/libndpq.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/test_unit: $(UNIT_OBJ) $(BUILD)/libndpq.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) $(LDFLAGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

setup:
	bash scripts/setup.sh

# The README's test command: installs what is missing, builds, runs every
# test: unit + end-to-end, again under ASan+UBSan (unit tests under
# valgrind), and the fuzz regressions plus a short run of each fuzzer.
check: setup
	$(MAKE) all $(BUILD)/test_unit
	bash tests/check.sh

# libFuzzer targets: FUZZ_SECONDS per target (default 10).
fuzz: setup
	bash tests/fuzz/run.sh

unit: $(BUILD)/test_unit
	$(BUILD)/test_unit

bench: setup
	$(MAKE) all
	bash bench/run.sh

# The long crash test: 100 random SIGKILLs of the service and its jobs.
crash-test: setup
	$(MAKE) all
	node tests/crash/crash.mjs --kills $${CRASH_KILLS:-100} --seed $${CRASH_SEED:-1}

demo: setup
	$(MAKE) all
	bash scripts/demo.sh

install: $(BUILD)/ndpq
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/ndpq $(DESTDIR)$(PREFIX)/bin/ndpq

clean:
	rm -rf $(BUILD) build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
