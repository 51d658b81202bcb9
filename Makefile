# tidepool's front door. Every target that builds installs what is missing
# first (.ci/install-deps.sh: quiet and quick when all is present).
#
#   make run     build, then serve in memory on $(HOST):$(PORT)
#   make test    unit + integration tests (ctest), the summary printed last
#   make asan    the same tests under AddressSanitizer + UBSan (build-asan/)
#   make tsan    the tests that run threads (HTTP server, invocations,
#                pollers, long polls) under ThreadSanitizer (build-tsan/);
#                TSAN_TESTS is the ctest -R regex
#   make fuzz    every libFuzzer target (tests/fuzz) for FUZZ_S seconds each
#                (default 60), clang + ASan + UBSan, in $(BUILD)/fuzz
#   make bench   startup time, idle RSS, PutItem/GetItem throughput and latency,
#                handler pipelines (invoke, tp_call, stream mappings), fixture runs,
#                and a mixed-load RSS soak for SOAK_S seconds (default 60)
#   make lambda-zip HANDLER=handlers/echo.c [HANDLER_NAME=echo]
#                a provided.al2023 function zip: the handler linked with
#                libtidepool-lambda as `bootstrap`, in $(BUILD)/lambda/NAME.zip
#   make clean   remove the build trees

HOST ?= 127.0.0.1
PORT ?= 4566
BUILD ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
# (scenarios/statement_etl and quote_fanout are left out: 35 s each here, past
# ctest's 600 s under TSan)
TSAN_TESTS ?= unit/test_park|scenarios/(invoker|esm_semantics|esm_sqs)|boto3-debian/(test_lambda_functions|test_handler_library|test_handler_crashes|test_stream_pipeline|test_sqs_event_source_mappings|test_sqs_long_poll|test_control|test_faults)$$
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
FUZZ_S ?= 60
SOAK_S ?= 60
FUZZ_TARGETS = $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c)))

.PHONY: all deps build run test asan tsan fuzz bench clean lambda-zip

all: build

deps:
	@./.ci/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	./$(BUILD)/tidepool serve --host $(HOST) --port $(PORT)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(CTEST_JOBS)

asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTP_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j$(CTEST_JOBS)

# setarch -R: TSan's shadow memory needs the old address-space layout on
# kernels with high mmap ASLR entropy ("unexpected memory mapping").
# halt_on_error: a race fails the test that ran into it.
tsan: deps
	@cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTP_TSAN=ON >/dev/null
	@cmake --build $(BUILD_TSAN) -j$(JOBS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/.ci/tsan.supp" \
	  setarch $$(uname -m) -R ctest --test-dir $(BUILD_TSAN) --output-on-failure -j$(CTEST_JOBS) -R '$(TSAN_TESTS)'

# New inputs accumulate in $(BUILD)/fuzz/work/<target>/corpus (the committed
# seeds in tests/fuzz/corpus are only read); reproducers land in .../artifacts.
fuzz: deps
	@cmake -S . -B $(BUILD)/fuzz -DCMAKE_C_COMPILER=clang -DTP_FUZZ=ON -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD)/fuzz --target fuzz-all -j$(JOBS)
	@mkdir -p $(BUILD)/fuzz/work
	@for t in $(FUZZ_TARGETS); do \
	  echo "== $$t ($(FUZZ_S) s)"; log=$(BUILD)/fuzz/work/$$t.log; \
	  ./tests/fuzz/run.sh $(BUILD)/fuzz/$$t tests/fuzz/corpus/$$t $(FUZZ_S) $(BUILD)/fuzz/work/$$t \
	    >$$log 2>&1 || { tail -60 $$log; exit 1; }; \
	  grep -E 'DONE|stat::number_of_executed_units' $$log; \
	done

bench: build
	BUILD_DIR=$(BUILD) SOAK_S=$(SOAK_S) ./tests/bench/run.sh

lambda-zip: deps
	@test -n "$(HANDLER)" || { echo "usage: make lambda-zip HANDLER=path/to/handler.c [HANDLER_NAME=name]"; exit 2; }
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target tidepool_lambda
	@name=$${HANDLER_NAME:-$$(basename $(HANDLER) .c)}; out=$(BUILD)/lambda/$$name; mkdir -p $$out && \
	  $${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -DTP_LAMBDA_HANDLER="\"$$name\"" \
	    -Iemulator/include -Iemulator -Ilambda-runtime lambda-runtime/bootstrap.c $(HANDLER) \
	    $(BUILD)/libtidepool-lambda.a -rdynamic -lcurl -lcjson -lcrypto -lz -ldl -o $$out/bootstrap && \
	  rm -f $(BUILD)/lambda/$$name.zip && (cd $$out && zip -q ../$$name.zip bootstrap) && \
	  echo "$(BUILD)/lambda/$$name.zip (Runtime provided.al2023, handler $$name)"

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN)
