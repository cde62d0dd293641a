# orchestrator: MySQL/MariaDB replication topology manager.
# Targets: deps all test unit integration demo asan tsan format format-check install clean
# Objects go under build/<variant>/ with dependency files (-MMD -MP).

VARIANT ?= release
BUILD   := build/$(VARIANT)
CC      ?= gcc
PREFIX  ?= /usr/local
PYTHON  ?= /usr/bin/python3

PKGS    := raft libuv libmicrohttpd jansson sqlite3 libmariadb libcurl
WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wwrite-strings -Wimplicit-fallthrough -Werror
CFLAGS_release := -O2 -g
CFLAGS_debug   := -O0 -g
CFLAGS_asan    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -Wno-stringop-overread
CFLAGS_tsan    := -O1 -g -fsanitize=thread -Wno-stringop-overread
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -I. $(WARN) $(CFLAGS_$(VARIANT)) -MMD -MP
LDFLAGS_asan := -fsanitize=address,undefined
LDFLAGS_tsan := -fsanitize=thread

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

MODULES := common backend discovery recovery web orchestrator
LIB_SRCS := $(filter-out orchestrator/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UI_FILES := $(sort $(wildcard web/ui/*))
UI_OBJ   := $(BUILD)/web/ui_assets.o
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BIN := $(BUILD)/bin/orchestrator

.PHONY: all deps test unit integration demo demo-down asan tsan format format-check install clean

all: $(BIN) $(TEST_BINS)
	@ln -sfn $(VARIANT)/bin/orchestrator build/orchestrator

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

$(BIN): $(BUILD)/orchestrator/main.o $(BUILD)/liborc.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_$(VARIANT)) -o $@ $^ $(PKG_LIBS) -lpthread -lm

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/liborc.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/liborc.a $(LDFLAGS_$(VARIANT)) \
	    $(PKG_LIBS) -lcmocka -lpthread -lm

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit integration

unit: all
	@bash scripts/run-unit.sh $(TEST_BINS)

integration: all
	cd tests/integration && ORC_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

demo-down:
	@bash scripts/demo.sh down

asan:
	@$(MAKE) --no-print-directory VARIANT=asan all unit

tsan:
	@$(MAKE) --no-print-directory VARIANT=tsan all unit

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/orchestrator
	install -D -m 0644 conf/orchestrator-sample-sqlite.conf.json \
	    $(DESTDIR)/etc/orchestrator.conf.json.sample

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(BUILD)/orchestrator/main.d
