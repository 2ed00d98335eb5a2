#!/usr/bin/env bash
# Fuzzes kcc's input parsers with cargo-fuzz (libFuzzer, AddressSanitizer; needs the nightly
# toolchain and `cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh [--merge] SECONDS [TARGET...]
#
# Runs each target (default: all of fuzz/fuzz_targets/) for SECONDS, one after the other,
# in one process each, and prints per target: seconds run, executions, exec/s, corpus size
# and crashes. A crash, timeout or out-of-memory input lands in fuzz/artifacts/TARGET/;
# the exit status is 1 if any target found one.
#
# Each target starts from the committed seeds (fuzz/corpus/TARGET/) and a working corpus
# that persists between runs (fuzz/target/corpus/TARGET/, not committed). With --merge,
# the inputs of the working corpus that reach code the committed corpus does not are
# copied into fuzz/corpus/TARGET/ (libFuzzer's -merge=1), to be reviewed and committed;
# tests/fuzz_corpus.rs replays that corpus (and fuzz/regressions/) in every `cargo test`.
# libFuzzer's output goes to $FUZZ_LOG_DIR/TARGET.log (default: fuzz/target/logs/).
set -euo pipefail

usage() {
    echo "usage: $0 [--merge] SECONDS [TARGET...]" >&2
    exit 2
}

merge=0
if [[ ${1:-} == --merge ]]; then
    merge=1
    shift
fi
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
seconds=$1
shift

cd "$(dirname "$0")/../fuzz"
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=()
    for f in fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi
for t in "${targets[@]}"; do
    [[ -f fuzz_targets/$t.rs ]] || { echo "$0: no fuzz target $t" >&2; exit 2; }
done

# Release code with debug assertions and overflow checks: a panic there is one in a debug
# build of kcc (the tests' build).
build=(-O -a)
cargo +nightly fuzz build "${build[@]}"
bin_dir=target/x86_64-unknown-linux-gnu/release
logs=${FUZZ_LOG_DIR:-target/logs}
mkdir -p "$logs"

# Per input at most 10 s and 1 GiB; inputs up to 16 KiB (the seeds are real values files
# and renders of a few KiB, plus hand-written tricky YAML).
flags=(-max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -max_len=16384
    -print_final_stats=1)

findings() { find "artifacts/$1" -type f 2>/dev/null | wc -l; }

failed=0
summary=()
for t in "${targets[@]}"; do
    work=target/corpus/$t
    mkdir -p "$work" "artifacts/$t" "corpus/$t"
    before=$(findings "$t")
    log=$logs/$t.log
    echo "== $t: fuzzing for ${seconds}s (log: $log)"
    start=$(date +%s)
    status=0
    "$bin_dir/$t" "${flags[@]}" -artifact_prefix="artifacts/$t/" "$work" "corpus/$t" \
        >"$log" 2>&1 || status=$?
    elapsed=$(($(date +%s) - start))
    crashes=$(($(findings "$t") - before))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    # The last status line's `corp: N/SIZE`: inputs kept in the fuzzer's corpus.
    corpus=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
    if [[ $status -ne 0 ]]; then
        failed=1
        [[ $crashes -gt 0 ]] || crashes="? (exit $status)"
        grep -m1 -E '^==[0-9]+==|panicked|ERROR: libFuzzer' "$log" || true
        ls -t "artifacts/$t" | head -n 3 | sed "s|^|  fuzz/artifacts/$t/|"
    fi
    if [[ $merge -eq 1 ]]; then
        "$bin_dir/$t" -merge=1 -rss_limit_mb=1024 -timeout=10 -max_len=16384 \
            "corpus/$t" "$work" >>"$log" 2>&1
    fi
    summary+=("$(printf '%-16s %8ss %12s %10s %14s %10s %s' "$t" "$elapsed" "${execs:-?}" \
        "${rate:-?}" "${corpus:-?}" "$(find "corpus/$t" -type f | wc -l)" "$crashes")")
done

printf '\n%-16s %9s %12s %10s %14s %10s %s\n' target seconds executions exec/s \
    'corpus(n/size)' committed crashes
printf '%s\n' "${summary[@]}"
exit "$failed"
