# palimpsest build. `make` builds build/palimpsest and build/libpalimpsest.a;
# `make test` installs what is missing (scripts/setup.sh), builds, runs every test,
# then the same suite under AddressSanitizer + UBSan. `make demo` runs the whole idea.

CC       ?= cc
BUILD    ?= build
ARCH     ?= -march=native
OPT      ?= -O3 $(ARCH)
# Tables (flags, settings, schedules) leave trailing fields to C's zero-initialisation.
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) -fno-math-errno $(WARN) -fopenmp -Iinclude -Isrc -MMD -MP
DEPLIBS  := -lopenblas -lcjson -lutf8proc -lpcre2-8 -lcurl -lmicrohttpd -lz -lm -lpthread
LDFLAGS  += -fopenmp
LDLIBS   += $(DEPLIBS)

LIB_SRC  := $(sort $(wildcard src/corpus/*.c src/tokenizer/*.c src/model/*.c src/train/*.c \
              src/generate/*.c src/io/*.c src/present/*.c src/studio/*.c src/util/*.c))
# the studio's page (HTML, CSS, JS) compiled into the library as byte arrays
PAGE_SRC := $(sort $(wildcard src/studio/page/*.html src/studio/page/*.css src/studio/page/*.js))
PAGE_OBJ := $(BUILD)/gen/studio_page.o
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCHES  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.SECONDARY:
.PHONY: all test test-quick asan setup demo bench bench-bin clean fixtures fuzz fuzz-bin golden
all: $(BUILD)/palimpsest $(TESTS)

$(BUILD)/gen/studio_page.c: $(PAGE_SRC) scripts/embed_page.sh
	@mkdir -p $(dir $@)
	bash scripts/embed_page.sh $@ $(PAGE_SRC)

$(BUILD)/gen/studio_page.o: $(BUILD)/gen/studio_page.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libpalimpsest.a: $(LIB_OBJ) $(PAGE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/palimpsest: $(CLI_OBJ) $(BUILD)/libpalimpsest.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libpalimpsest.a $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/check.o $(BUILD)/libpalimpsest.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tests/unit/check.o $(BUILD)/libpalimpsest.a $(LDLIBS)

# bench/NAME.c -> build/bench/NAME (drivers for the scripts in bench/; not tests)
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libpalimpsest.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/libpalimpsest.a $(LDLIBS)

bench-bin: $(BENCHES)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

setup:
	@bash scripts/setup.sh

# The README's test command: setup, the suite, then the suite again under sanitizers.
test: setup
	$(MAKE) all
	$(MAKE) asan
	bash tests/run.sh $(BUILD) build-asan

test-quick: all
	bash tests/run.sh $(BUILD)

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	        LDFLAGS="-fopenmp -fsanitize=address,undefined" all

demo: setup
	$(MAKE) all
	bash scripts/demo.sh

bench: all
	bash bench/run_all.sh

# Fuzzing (not part of `make test`): libFuzzer + ASan over the parsers of outside bytes.
# FUZZ_SECONDS per target; corpora live in tests/fuzz/corpus_*/ (new finds go to build-fuzz).
FUZZ_SECONDS ?= 60
FUZZ_SRC := src/io/safetensors.c src/io/config_json.c src/model/config.c src/model/dtype.c src/util/error.c \
            src/util/file.c src/util/buf.c
FUZZ_CC  := clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude -Isrc
# The readers of outside bytes (tests/fuzz/targets.c, replayed by build/tests/test_fuzz_corpora
# in make test): the whole library built once with clang's fuzzer instrumentation.
FUZZ_TARGETS := tokenizer recipe shard run_files jsonl studio
FUZZ_LIB_CC := clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fopenmp -Iinclude -Isrc
FUZZ_OBJ := $(LIB_SRC:%.c=build-fuzz/obj/%.o) build-fuzz/obj/studio_page.o
build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_LIB_CC) -c -o $@ $<
build-fuzz/obj/studio_page.o: $(BUILD)/gen/studio_page.c
	@mkdir -p $(dir $@)
	$(FUZZ_LIB_CC) -c -o $@ $<
build-fuzz/libfuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^
build-fuzz/fuzz_%: tests/fuzz/fuzz_main.c tests/fuzz/targets.c build-fuzz/libfuzz.a
	$(FUZZ_CC) -fopenmp -DFUZZ_TARGET=pal_fuzz_$* -o $@ tests/fuzz/fuzz_main.c tests/fuzz/targets.c build-fuzz/libfuzz.a $(DEPLIBS)
fuzz-bin: $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)

fuzz: fuzz-bin
	@mkdir -p build-fuzz/corpus_safetensors build-fuzz/corpus_config
	$(FUZZ_CC) -o build-fuzz/fuzz_safetensors tests/fuzz/fuzz_safetensors.c $(FUZZ_SRC) -lcjson -lm
	$(FUZZ_CC) -o build-fuzz/fuzz_config tests/fuzz/fuzz_config.c $(FUZZ_SRC) -lcjson -lm
	build-fuzz/fuzz_safetensors -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=1024 \
	  build-fuzz/corpus_safetensors tests/fuzz/corpus_safetensors
	build-fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -rss_limit_mb=1024 \
	  build-fuzz/corpus_config tests/fuzz/corpus_config
	bash tests/studio/make_run.sh build-fuzz/studio_run >/dev/null
	for t in $(FUZZ_TARGETS); do mkdir -p build-fuzz/corpus_$$t; \
	  PAL_FUZZ_RUN=build-fuzz/studio_run/run build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	    -rss_limit_mb=2048 -timeout=20 build-fuzz/corpus_$$t tests/fuzz/corpus_$$t || exit 1; done

fixtures:
	/usr/bin/python3 tests/ref/make_fixtures.py tests/fixtures
	/usr/bin/python3 tests/ref/make_train_fixtures.py tests/fixtures
	/usr/bin/python3 tests/ref/make_adafactor_fixtures.py tests/fixtures

# Rewrites tests/golden/expected/ from the current build: only for an intended change of
# behaviour (say which in the commit); test_golden.sh compares against these files.
golden: all
	bash tests/golden/pipeline.sh $(BUILD)/golden
	rm -rf tests/golden/expected
	python3 tests/golden/compare.py --write $(BUILD)/golden tests/golden/expected
	bash tests/golden/machine.sh > tests/golden/machine.txt

clean:
	rm -rf build build-asan build-fuzz

-include $(PAGE_OBJ:.o=.d) $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_SRC:%.c=$(BUILD)/%.d) $(BENCH_SRC:%.c=$(BUILD)/%.d)
