#!/usr/bin/env bash
# kcc check --since HEAD against a full kcc check, and kcc affected, on a synthetic fleet
# in git.
#
#   scripts/bench-since.sh [N_CLUSTERS] [RUNS]      (default 1000 clusters, 5 runs)
#
# Builds a fleet of N clusters cloned from the 2024 fixture's eqiad (scripts/synth-fleet),
# commits it, then for two edits — one cluster's values file, values/common.yaml — times
# `kcc check --since HEAD` and `kcc check`, interleaved (since, full, since, full, ...), so
# that both see the same machine load; prints the median wall and CPU (user + sys) seconds
# of each and the ratio of the medians. Then the median of `kcc affected` for both files.
# KCC (default target/release/kcc, built if missing) is the binary; KEEP=1 keeps the fleet,
# FLEET=DIR reuses a kept one.
set -euo pipefail

n=${1:-1000}
runs=${2:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
kcc=${KCC:-$repo/target/release/kcc}
[ -x "$kcc" ] || (cd "$repo" && cargo build --release --quiet)
work=$(mktemp -d)
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT
fleet=$work/fleet

# FLEET=DIR: a fleet this script built before (KEEP=1), committed and clean.
if [ -n "${FLEET:-}" ]; then
    fleet=$FLEET
else
"$repo/scripts/synth-fleet" "$n" "$fleet" --from eqiad --kcc "$kcc" --no-update >/dev/null
(cd "$fleet" && "$kcc" update >/dev/null)
git -C "$fleet" init -q
git -C "$fleet" add -A
git -C "$fleet" -c user.name=bench -c user.email=bench@example.org commit -q -m fleet
fi

# One run: "wall cpu" seconds of kcc ARGS in the fleet (exit 1, drift, is expected).
run() {
    local tf=$work/time
    /usr/bin/time -o "$tf" -f '%e %U %S' "$kcc" --project "$fleet" "$@" >/dev/null 2>&1 || true
    tail -1 "$tf" | awk '{printf "%s %.3f\n", $1, $2 + $3}'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# Interleaved runs of `check --since HEAD` and `check` for the edit in the working tree.
compare() {
    local label=$1 since full
    since=$(mktemp) full=$(mktemp)
    "$kcc" --project "$fleet" check --since HEAD 2>/dev/null | tail -1 | sed 's/^/  /' || true
    for _ in $(seq "$runs"); do
        run check --since HEAD >>"$since"
        run check >>"$full"
    done
    local sw sc fw fc
    sw=$(cut -d' ' -f1 "$since" | median) sc=$(cut -d' ' -f2 "$since" | median)
    fw=$(cut -d' ' -f1 "$full" | median) fc=$(cut -d' ' -f2 "$full" | median)
    printf '%-28s since HEAD %6.2f s wall %6.2f s cpu | full %6.2f s wall %6.2f s cpu | since/full %.3f wall %.3f cpu\n' \
        "$label" "$sw" "$sc" "$fw" "$fc" "$(echo "$sw / $fw" | bc -l)" "$(echo "$sc / $fc" | bc -l)"
    rm -f "$since" "$full"
}

cluster=$(printf 'synth-%04d' $(( (n + 1) / 2 )))
echo "fleet: $n clusters ($fleet), $runs interleaved runs each, medians"
sed -i '0,/^replicaCount: .*/s//replicaCount: 7/' "$fleet/values/$cluster/coredns-values.yaml"
compare "one cluster ($cluster)"
git -C "$fleet" checkout -q -- .
printf '\n# edited\n' >>"$fleet/values/common.yaml"
compare "values/common.yaml"
git -C "$fleet" checkout -q -- .

for file in "values/$cluster/coredns-values.yaml" values/common.yaml; do
    times=$(mktemp)
    for _ in $(seq "$runs"); do
        ( cd "$fleet" && run affected "$file" ) >>"$times"
    done
    printf 'kcc affected %-36s %6.3f s wall %6.3f s cpu (%s rows)\n' "$file" \
        "$(cut -d' ' -f1 "$times" | median)" "$(cut -d' ' -f2 "$times" | median)" \
        "$(cd "$fleet" && "$kcc" affected "$file" | tail -n +2 | wc -l)"
    rm -f "$times"
done
