#!/bin/sh
# run.sh BIN CORPUS SECONDS [WORKDIR] — runs one libFuzzer target for
# SECONDS over the committed seed corpus CORPUS (read only: new inputs go
# to WORKDIR/corpus, crash/leak reproducers to WORKDIR/artifacts; WORKDIR
# defaults to a temporary directory removed afterwards). Exits non-zero
# on a crash, leak, UB report or timeout; the reproducer's path is in the
# output. Replay one input: BIN FILE.
set -eu
bin=$1 seeds=$2 secs=$3
work=${4:-}
tmp=
if [ -z "$work" ]; then
    tmp=$(mktemp -d)
    work=$tmp
    trap 'rm -rf "$tmp"' EXIT
fi
mkdir -p "$work/corpus" "$work/artifacts"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS
# The engine targets keep one engine (SQLite's caches, tables) across
# inputs, so every input's mallocs and frees differ and libFuzzer's
# per-input leak check would scan the whole heap each time (20 execs/s
# instead of hundreds); for them leaks are checked once, at exit, where
# whatever is unreachable is reported.
leaks=-detect_leaks=1
case $(basename "$bin") in
fuzz_ddb | fuzz_http) leaks=-detect_leaks=0 ;;
esac
"$bin" $leaks -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
