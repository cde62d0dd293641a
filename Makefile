# orchestrator: MySQL/MariaDB replication topology manager.
# Targets: deps all test unit integration demo asan tsan format format-check install deb clean
# Objects go under build/<variant>/ with dependency files (-MMD -MP).

VARIANT ?= release
BUILD   := build/$(VARIANT)
CC      ?= gcc
PREFIX  ?= /usr/local
PYTHON  ?= /usr/bin/python3
# Install layout (make install; the Debian package uses PREFIX=/usr).
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system
DATADIR    ?= /var/lib/orchestrator
LOGDIR     ?= /var/log/orchestrator
SVC_USER   ?= orchestrator

# The version (from common/orc.h) and the git commit, compiled into main.c.
# A tree without git builds too: the commit is then "unknown".
VERSION    := $(shell sed -n 's/^\#define ORC_VERSION "\(.*\)"/\1/p' common/orc.h)
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
GIT_DIRTY  := $(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
ifeq ($(GIT_COMMIT),unknown)
GIT_DIRTY :=
endif

PKGS    := raft libuv libmicrohttpd gnutls jansson sqlite3 libmariadb libcurl libcrypto
WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wwrite-strings -Wimplicit-fallthrough -Werror
CFLAGS_release := -O2 -g
CFLAGS_debug   := -O0 -g
CFLAGS_asan    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -Wno-stringop-overread
CFLAGS_tsan    := -O1 -g -fsanitize=thread -Wno-stringop-overread
# libFuzzer (make fuzz: CC=clang); the library is instrumented, the targets link libFuzzer.
CFLAGS_fuzz    := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                  -fno-sanitize-recover=undefined
WARN_fuzz := -Wno-format-nonliteral -Wno-error
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -I. $(WARN) $(WARN_$(VARIANT)) $(CFLAGS_$(VARIANT)) -MMD -MP
LDFLAGS_asan := -fsanitize=address,undefined
LDFLAGS_tsan := -fsanitize=thread
LDFLAGS_fuzz := -fsanitize=fuzzer,address,undefined

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(EXTRA_LIBS)
# libzookeeper-mt-dev ships no pkg-config file.
EXTRA_LIBS := -lzookeeper_mt

MODULES := common backend discovery recovery web orchestrator
LIB_SRCS := $(filter-out orchestrator/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UI_FILES := $(sort $(wildcard web/ui/*))
UI_OBJ   := $(BUILD)/web/ui_assets.o
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BIN := $(BUILD)/bin/orchestrator
# The fleet simulator: a test tool, kept out of liborc.
FLEET_SRCS := $(wildcard tests/fleet/*.c)
FLEET_OBJS := $(FLEET_SRCS:%.c=$(BUILD)/%.o)
FLEET_BIN  := $(BUILD)/bin/orc-fleet

FUZZ_TARGETS ?= config http probe raft_fsm snapshot hooks gtid
FUZZ_SECONDS ?= 60
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
REPLAY_BINS  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz-replay/fuzz_%)

.PHONY: all deps test unit integration demo demo-down asan tsan format format-check install deb clean \
        fuzz fuzz-build fuzz-regress

all: $(BIN) $(TEST_BINS) $(FLEET_BIN)
	@ln -sfn $(VARIANT)/bin/orchestrator build/orchestrator
	@ln -sfn $(VARIANT)/bin/orc-fleet build/orc-fleet

deps:
	@bash scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# The web UI is compiled into the binary so it works with no files beside it.
$(BUILD)/web/ui_assets.c: $(UI_FILES) scripts/embed.sh
	@mkdir -p $(dir $@)
	bash scripts/embed.sh $@ $(UI_FILES)

$(UI_OBJ): $(BUILD)/web/ui_assets.c
	$(CC) $(BASE_CFLAGS) -c $< -o $@

$(BUILD)/liborc.a: $(LIB_OBJS) $(UI_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The commit stamp changes only when the commit does, so only main.o rebuilds.
COMMIT_STAMP := $(BUILD)/git-commit
$(shell mkdir -p $(BUILD) && echo '$(GIT_COMMIT)$(GIT_DIRTY)' | cmp -s - $(COMMIT_STAMP) || \
    echo '$(GIT_COMMIT)$(GIT_DIRTY)' > $(COMMIT_STAMP))
$(BUILD)/orchestrator/main.o: orchestrator/main.c $(COMMIT_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(PKG_CFLAGS) -DORC_GIT_COMMIT='"$(GIT_COMMIT)$(GIT_DIRTY)"' -c $< -o $@

$(BIN): $(BUILD)/orchestrator/main.o $(BUILD)/liborc.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_$(VARIANT)) -o $@ $^ $(PKG_LIBS) -lpthread -lm

$(FLEET_BIN): $(FLEET_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_$(VARIANT)) -o $@ $^ $(shell pkg-config --libs jansson libcrypto 2>/dev/null)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/liborc.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/liborc.a $(LDFLAGS_$(VARIANT)) \
	    $(PKG_LIBS) -lcmocka -lpthread -lm

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit fuzz-regress integration

unit: all
	@bash scripts/run-unit.sh $(TEST_BINS)

integration: all
	cd tests/integration && ORC_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

demo-down:
	@bash scripts/demo.sh down

# ---- fuzzing (tests/fuzz/) ----
# make fuzz: builds every target with clang -fsanitize=fuzzer,address,undefined and runs each
# for FUZZ_SECONDS over a work copy of its seed corpus (tests/fuzz/corpus/<target>/); crashes
# land in build/fuzz/artifacts/. make fuzz-regress: replays the seed corpora and the
# regression inputs (tests/fuzz/regress/<target>/) through the same targets built with the
# normal compiler and a small driver (no clang needed); part of make test, and of make asan
# (where the sanitizers catch what a plain replay cannot, e.g. undefined behaviour).
fuzz:
	@DEPS_PKGS="clang libclang-rt-14-dev" bash scripts/deps.sh
	@$(MAKE) --no-print-directory VARIANT=fuzz CC=clang fuzz-build
	@mkdir -p build/fuzz/artifacts
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p build/fuzz/corpus/$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    build/fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -rss_limit_mb=2048 -timeout=10 -artifact_prefix=build/fuzz/artifacts/$$t- \
	        build/fuzz/corpus/$$t tests/fuzz/corpus/$$t 2>&1 | grep -E 'DONE|ERROR|SUMMARY|stat::' ; \
	done

fuzz-build: $(FUZZ_BINS)

.PRECIOUS: $(BUILD)/tests/fuzz/%.o

$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/liborc.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_$(VARIANT)) -o $@ $^ $(PKG_LIBS) -lpthread -lm

$(BUILD)/fuzz-replay/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay_main.o \
                              $(BUILD)/liborc.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_$(VARIANT)) -o $@ $^ $(PKG_LIBS) -lpthread -lm

fuzz-regress: $(REPLAY_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	        $(BUILD)/fuzz-replay/fuzz_$$t tests/fuzz/corpus/$$t tests/fuzz/regress/$$t; \
	done

asan:
	@$(MAKE) --no-print-directory VARIANT=asan all unit fuzz-regress

tsan:
	@$(MAKE) --no-print-directory VARIANT=tsan all unit

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

# Installs the binary, the hardened systemd unit, the default config (kept when
# one exists), the logrotate snippet and the data and log directories (0750).
# Ownership of those directories: given to $(SVC_USER) only when installing as
# root into the real root (no DESTDIR) and the user exists; otherwise it is
# left to the package scripts (packaging/debian/postinst) or the operator.
install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/orchestrator
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	sed 's|@BINDIR@|$(BINDIR)|g' packaging/orchestrator.service.in \
	    > $(DESTDIR)$(UNITDIR)/orchestrator.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/orchestrator.service
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/orchestrator.conf.json ]; then \
	    echo "install: keeping the existing $(DESTDIR)$(SYSCONFDIR)/orchestrator.conf.json"; \
	else \
	    install -m 0640 packaging/orchestrator.conf.json $(DESTDIR)$(SYSCONFDIR)/orchestrator.conf.json; \
	fi
	install -m 0644 packaging/orchestrator.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/orchestrator
	install -d -m 0750 $(DESTDIR)$(DATADIR) $(DESTDIR)$(LOGDIR)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && getent passwd $(SVC_USER) >/dev/null; then \
	    chown $(SVC_USER):$(SVC_USER) $(DATADIR) $(LOGDIR); \
	    chown root:$(SVC_USER) $(SYSCONFDIR)/orchestrator.conf.json; \
	else \
	    echo "install: $(DATADIR) and $(LOGDIR) left to root: chown them to the service user"; \
	fi

# A Debian package (dpkg-deb) in build/deb/.
deb:
	@$(MAKE) --no-print-directory all
	rm -rf build/deb/stage
	@$(MAKE) --no-print-directory install DESTDIR=$(abspath build/deb/stage) PREFIX=/usr
	bash scripts/deb.sh build/deb/stage $(VERSION) build/deb

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(BUILD)/orchestrator/main.d $(wildcard $(BUILD)/tests/fuzz/*.d)
