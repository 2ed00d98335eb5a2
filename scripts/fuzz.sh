#!/usr/bin/env bash
# Fuzzes kcc's input parsers with cargo-fuzz (libFuzzer, AddressSanitizer; needs the nightly
# toolchain and `cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh [--merge] SECONDS [TARGET...]
#   scripts/fuzz.sh --merge 0 [TARGET...]     # only rewrite the corpora (see below)
#
# Runs each target (default: all of fuzz/fuzz_targets/) for SECONDS, one after the other,
# in one process each, and prints per target: seconds run, executions, exec/s, corpus size
# and crashes. A crash, timeout or out-of-memory input lands in fuzz/artifacts/TARGET/;
# the exit status is 1 if any target found one.
#
# Each target starts from the committed seeds (fuzz/corpus/TARGET/) and a working corpus
# that persists between runs (fuzz/target/corpus/TARGET/, not committed). With --merge,
# fuzz/corpus/TARGET/ is then rewritten as its hand-named seeds plus the fewest inputs
# (named by their SHA-1, at most $MAX_CORPUS files in all) that reach the code edges they
# and the working corpus reach, to be reviewed and committed; tests/it/fuzz_corpus.rs replays
# that corpus (and fuzz/regressions/) in every `cargo test`.
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
# SECONDS 0 (with --merge): only rewrite the corpora from the working ones.
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && ($1 -gt 0 || $merge -eq 1) ]] || usage
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

# At most this many files in a committed corpus: enough for the edges, small in git.
MAX_CORPUS=${MAX_CORPUS:-200}

# The edges (libFuzzer's PC indexes) that the input FILE reaches, on one line.
edges_of() {
    local bin=$1 file=$2 tmp
    tmp=$(mktemp -d)
    mkdir "$tmp/in" "$tmp/out"
    cp "$file" "$tmp/in/"
    "$bin" -merge=1 -merge_control_file="$tmp/control" -rss_limit_mb=1024 -timeout=10 \
        -max_len=16384 "$tmp/out" "$tmp/in" >/dev/null 2>&1 || true
    awk '$1 == "COV" { $1 = ""; $2 = ""; print }' "$tmp/control"
    rm -rf "$tmp"
}

# Rewrites corpus/TARGET: its hand-named seeds, then (greedy set cover) the inputs that
# reach the most edges not reached yet, among those libFuzzer's -set_cover_merge keeps of
# the committed corpus and the working one.
merge_corpus() {
    local t=$1 bin=$2 work=$3 candidates list f
    candidates=$(mktemp -d)
    "$bin" -merge=1 -set_cover_merge=1 -rss_limit_mb=1024 -timeout=10 -max_len=16384 \
        "$candidates" "corpus/$t" "$work" >/dev/null 2>&1
    list=$(mktemp)
    for f in "corpus/$t"/*; do
        [[ $(basename "$f") =~ ^[0-9a-f]{40}$ ]] || echo "seed $f $(edges_of "$bin" "$f")"
    done >"$list"
    for f in "$candidates"/*; do
        # Already there as a named seed?
        grep -q "$(sha1sum <"$f" | cut -c1-40)" <(sha1sum "corpus/$t"/* | grep -Ev '/[0-9a-f]{40}$') ||
            echo "found $f $(edges_of "$bin" "$f")"
    done >>"$list"
    find "corpus/$t" -type f -regextype egrep -regex '.*/[0-9a-f]{40}' -delete
    awk -v limit="$MAX_CORPUS" '
        { kind[NR] = $1; path[NR] = $2; line[NR] = $0; gain[NR] = NF - 2; for (i = 3; i <= NF; i++) all[$i] = 1 }
        END {
            for (f = 1; f <= NR; f++) if (kind[f] == "seed") keep(f)
            while (kept < limit) {
                # Lazy greedy: gains only shrink, so a recomputed best that stays best is.
                best = 0
                for (f = 1; f <= NR; f++) if (!(f in chosen) && gain[f] > gain[best]) best = f
                if (best == 0) break
                g = fresh(best)
                if (g == gain[best]) { keep(best); if (kind[best] == "found") print path[best] }
                else gain[best] = g
            }
            n = 0; for (e in all) n++
            r = 0; for (e in covered) r++
            printf "corpus: %d files reaching %d of %d edges\n", kept, r, n > "/dev/stderr"
        }
        function fresh(f,    a, m, i, g) {
            m = split(line[f], a, " "); g = 0
            for (i = 3; i <= m; i++) if (!(a[i] in covered)) g++
            return g
        }
        function keep(f,    a, m, i) {
            chosen[f] = 1; kept++
            m = split(line[f], a, " ")
            for (i = 3; i <= m; i++) covered[a[i]] = 1
        }' "$list" | while read -r f; do cp "$f" "corpus/$t/"; done
    rm -rf "$candidates" "$list"
}

failed=0
summary=()
for t in "${targets[@]}"; do
    work=target/corpus/$t
    mkdir -p "$work" "artifacts/$t" "corpus/$t"
    before=$(findings "$t")
    log=$logs/$t.log
    if [[ $seconds -gt 0 ]]; then
        echo "== $t: fuzzing for ${seconds}s (log: $log)"
    else
        echo "== $t: corpus merge only"
    fi
    start=$(date +%s)
    status=0
    if [[ $seconds -gt 0 ]]; then
        "$bin_dir/$t" "${flags[@]}" -artifact_prefix="artifacts/$t/" "$work" "corpus/$t" \
            >"$log" 2>&1 || status=$?
    else
        : >"$log"
    fi
    elapsed=$(($(date +%s) - start))
    crashes=$(($(findings "$t") - before))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    # The last status line's `corp: N/SIZE`: inputs kept in the fuzzer's corpus.
    corpus=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    if [[ $status -ne 0 ]]; then
        failed=1
        [[ $crashes -gt 0 ]] || crashes="? (exit $status)"
        grep -m1 -E '^==[0-9]+==|panicked|ERROR: libFuzzer' "$log" || true
        ls -t "artifacts/$t" | head -n 3 | sed "s|^|  fuzz/artifacts/$t/|" || true
    fi
    if [[ $merge -eq 1 ]]; then
        merge_corpus "$t" "$bin_dir/$t" "$work" 2>&1 | tee -a "$log"
    fi
    summary+=("$(printf '%-16s %8ss %12s %10s %14s %10s %s' "$t" "$elapsed" "${execs:-?}" \
        "${rate:-?}" "${corpus:-?}" "$(find "corpus/$t" -type f | wc -l)" "$crashes")")
done

printf '\n%-16s %9s %12s %10s %14s %10s %s\n' target seconds executions exec/s \
    'corpus(n/size)' committed crashes
printf '%s\n' "${summary[@]}"
exit "$failed"
