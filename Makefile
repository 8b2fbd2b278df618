# portmortem - plain Makefile. `make` builds ./portmortem; `make demo`, `make test` set
# themselves up (Debian packages) first. See README.md.

SHELL    := /bin/bash
CC       ?= cc
PKGS     := libpcap sqlite3 zlib libzstd libxxhash libcrypto libisal
WARN     := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla -Wno-unused-parameter
CSTD     := -std=c17 -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE
OPT      ?= -O2 -g
INCLUDES := -I. -Ibuild/gen
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(INCLUDES) $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The public captures beside the repository (tests/tools/harness.sh): tests that read them are
# skipped, one line per group saying why, where they are absent (a newcomer's clone).
SHARED   ?= ../shared
export SHARED

# Debian packages each target needs (installed by `make deps` / `make test-deps`).
DEB_BUILD := gcc make pkg-config libpcap-dev libsqlite3-dev zlib1g-dev libzstd-dev \
             libxxhash-dev libssl-dev libisal-dev
# tshark: tests/report-views.sh opens each finding's packets with its display filter.
DEB_TEST  := $(DEB_BUILD) libcriterion-dev chromium sqlite3 python3 gzip zstd time coreutils \
             wireshark-common tshark man-db groff-base mandoc strace parallel bsdutils \
             clang-format-14
DEB_BENCH := $(DEB_BUILD) hyperfine tcpdump wireshark-common sqlite3 python3 zstd isal pigz time

LIB_SRC := $(sort $(wildcard dissectors/*.c) $(wildcard db/*.c) $(wildcard reports/*.c) \
           $(filter-out analyzer/main.c,$(wildcard analyzer/*.c)))
GEN_SRC := build/gen/schema_sql.c build/gen/views_sql.c build/gen/kb_data.c
TEST_SRC := $(sort $(wildcard tests/unit/*.c))

REL_OBJ  := $(patsubst %.c,build/rel/%.o,$(LIB_SRC) $(GEN_SRC))
ASAN_OBJ := $(patsubst %.c,build/asan/%.o,$(LIB_SRC) $(GEN_SRC))
TEST_OBJ := $(patsubst %.c,build/asan/%.o,$(TEST_SRC))

.PHONY: all deps test-deps bench-deps demo test test-lone unit integration clean bench fuzz fuzz-build check-gen \
        check-format format \
        install uninstall
all: portmortem

portmortem: build/rel/analyzer/main.o $(REL_OBJ)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

build/asan/portmortem: build/asan/analyzer/main.o $(ASAN_OBJ)
	@echo "  LD asan $@"
	@$(CC) $(CFLAGS_ALL) $(SAN) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

build/asan/unit-tests: $(TEST_OBJ) $(ASAN_OBJ)
	@echo "  LD asan $@"
	@$(CC) $(CFLAGS_ALL) $(SAN) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs criterion 2>/dev/null) $(LDFLAGS)

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(CFLAGS_ALL) $(SAN) -c -o $@ $<

# Generated objects are compiled from build/gen (the pattern rules above see "build/gen/x.c").
build/rel/build/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS_ALL) -c -o $@ $<
build/asan/build/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS_ALL) $(SAN) -c -o $@ $<

# Data files compiled into the binary: nothing to install beside it.
build/gen/schema_sql.c: db/schema.sql tests/tools/c-string.sh
	@mkdir -p $(dir $@)
	sh tests/tools/c-string.sh pm_schema_sql < $< > $@.tmp && mv $@.tmp $@
build/gen/views_sql.c: db/views.sql tests/tools/c-string.sh
	@mkdir -p $(dir $@)
	sh tests/tools/c-string.sh pm_views_sql < $< > $@.tmp && mv $@.tmp $@
build/gen/kb_data.c: reports/kb.txt tests/tools/c-string.sh
	@mkdir -p $(dir $@)
	sh tests/tools/c-string.sh pm_kb_text < $< > $@.tmp && mv $@.tmp $@

# `make install PREFIX=/usr DESTDIR=/tmp/stage`: the binary to $(DESTDIR)$(PREFIX)/bin, the
# manual page to $(DESTDIR)$(PREFIX)/share/man/man1 (nothing else: the schema and the
# knowledge base are compiled in). `make uninstall` with the same variables removes them.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
MAN1DIR := $(PREFIX)/share/man/man1
install: portmortem
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MAN1DIR)"
	install -m 755 portmortem "$(DESTDIR)$(BINDIR)/portmortem"
	install -m 644 docs/portmortem.1 "$(DESTDIR)$(MAN1DIR)/portmortem.1"
uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/portmortem" "$(DESTDIR)$(MAN1DIR)/portmortem.1"

# Dependencies: installs missing Debian packages when root, else prints the command.
deps:
	@sh tests/tools/deps.sh $(DEB_BUILD)
test-deps:
	@sh tests/tools/deps.sh $(DEB_TEST)
bench-deps:
	@sh tests/tools/deps.sh $(DEB_BENCH)

demo: deps
	$(MAKE) --no-print-directory portmortem
	rm -f portmortem.db portmortem.db-wal portmortem.db-shm
	./portmortem analyze --db portmortem.db samples/*.pcap
	./portmortem report --db portmortem.db -f html -o portmortem-report.html
	@echo "wrote portmortem-report.html and portmortem.db"

test: test-deps
	$(MAKE) --no-print-directory check-format
	$(MAKE) --no-print-directory portmortem build/asan/portmortem build/asan/unit-tests build/gen-capture
	$(MAKE) --no-print-directory unit integration

# Every C file tracked by git as clang-format 14 writes it (.clang-format); a difference fails.
# `make format` rewrites them in place.
check-format:
	@sh tests/tools/check-format.sh

format:
	@sh tests/tools/check-format.sh --fix

unit: build/asan/unit-tests
	ASAN_OPTIONS=detect_leaks=1 sh tests/tools/run-unit.sh build/asan/unit-tests

integration: portmortem build/asan/portmortem
	bash tests/integration.sh

# `make test` in a clone of the committed HEAD with no shared data beside it, as a newcomer
# gets it (not part of `make test`: it runs `make test`).
test-lone:
	bash tests/lone-clone.sh

bench: bench-deps
	$(MAKE) --no-print-directory portmortem build/gen-capture
	sh tests/bench/bench.sh
	sh tests/bench/storm.sh
	sh tests/bench/evict.sh

# The generator checked against tshark for every link type (needs tshark; about 2 minutes).
check-gen: build/gen-capture
	GEN=build/gen-capture sh tests/bench/check-gen.sh

# The generator of large synthetic captures (samples/gen/, no dependencies).
build/gen-capture: $(wildcard samples/gen/*.c samples/gen/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -o $@ $(filter %.c,$^)

# libFuzzer targets (clang only): dissect_packet, the capture reader, the report escapers,
# and the whole path from capture bytes to every report format. `make fuzz` runs each for
# FUZZ_TIME seconds, seeded from the samples (and the corpus when it is beside us).
FUZZ_TIME ?= 120
FUZZ_CC   := clang $(CSTD) $(WARN) -g -O1 $(INCLUDES) $(PKG_CFLAGS) -fsanitize=address,undefined \
             -fno-sanitize-recover=all
FUZZ_OBJ  := $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRC) $(GEN_SRC))
FUZZ_TARGETS := build/fuzz/fuzz_dissect build/fuzz/fuzz_capture build/fuzz/fuzz_escape \
                build/fuzz/fuzz_report
FUZZ_SEEDS := $(wildcard samples/*.pcap samples/formats/*.pcap* tests/captures/*.pcap)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	@$(FUZZ_CC) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
build/fuzz/obj/build/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) -fsanitize=fuzzer-no-link -c -o $@ $<
build/fuzz/fuzz_dissect: tests/fuzz/fuzz_dissect.c $(wildcard dissectors/*.c dissectors/*.h)
	@mkdir -p $(dir $@)
	clang $(CSTD) $(WARN) -g -O1 -I. -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -o $@ tests/fuzz/fuzz_dissect.c $(wildcard dissectors/*.c)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD fuzz $@"
	@$(FUZZ_CC) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS)
.SECONDARY: $(FUZZ_OBJ)
fuzz-build: $(FUZZ_TARGETS)
fuzz: $(FUZZ_TARGETS)
	@mkdir -p build/fuzz/corpus build/fuzz/seeds
	python3 tests/fuzz/pcap_extract.py seeds build/fuzz/seeds $(wildcard samples/*.pcap tests/captures/*.pcap $(SHARED)/corpus/*/*.pcap)
	build/fuzz/fuzz_dissect -max_total_time=$(FUZZ_TIME) build/fuzz/corpus build/fuzz/seeds
	sh tests/fuzz/seeds.sh build/fuzz $(FUZZ_SEEDS)
	build/fuzz/fuzz_capture -max_len=65536 -timeout=10 -max_total_time=$(FUZZ_TIME) \
	  build/fuzz/corpus-capture build/fuzz/seeds-capture
	build/fuzz/fuzz_escape -max_total_time=$(FUZZ_TIME) build/fuzz/corpus-escape \
	  build/fuzz/seeds-escape
	build/fuzz/fuzz_report -max_len=65536 -timeout=10 -max_total_time=$(FUZZ_TIME) \
	  build/fuzz/corpus-report build/fuzz/seeds-report

clean:
	rm -rf build portmortem

-include $(shell find build -name '*.d' 2>/dev/null)
