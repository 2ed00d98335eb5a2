#!/usr/bin/env bash
# Benchmark `kcc check` (whole fleet: render, schemas, rules, golden drift) against
# baselines measured in the same run, reported as ratios (shared machines are noisy; ratios
# are what to compare across runs):
#   - process floor: `kcc --version`
#   - the job kcc replaces: `helm template` of every release of every cluster, one after
#     the other (charts that only emit kcc's manifests: a lower bound of the real loop, which
#     also ran the charts' logic and kubeconform). Needs scripts/install-helm-tools.sh;
#     skipped without it.
# Usage: scripts/bench.sh [RUNS]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
cargo build --release --quiet
kcc=$PWD/target/release/kcc
tools=${KCC_TOOLS_DIR:-$HOME/.cache/kcc-tools/bin}
deploy=$(mktemp -d)
trap 'rm -rf "$deploy"' EXIT
"$kcc" render --out "$deploy" >/dev/null

python3 - "$runs" "$kcc" "$tools" "$deploy" <<'PY'
import os, statistics, subprocess, sys, time
runs, kcc, tools, deploy = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def median_ms(cmd, env=None):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)

floor = median_ms([kcc, "--version"])
check = median_ms([kcc, "check"])
one_thread = median_ms([kcc, "check"], env={**os.environ, "RAYON_NUM_THREADS": "1"})
print(f"kcc --version (floor)        {floor:8.1f} ms")
print(f"kcc check (9 clusters)       {check:8.1f} ms   {check / floor:6.1f}x floor")
print(f"kcc check, 1 thread          {one_thread:8.1f} ms   {one_thread / check:6.2f}x default threads")
helm = os.path.join(tools, "helm")
charts = sorted(
    os.path.join(deploy, c, r)
    for c in os.listdir(deploy)
    for r in os.listdir(os.path.join(deploy, c))
    if os.path.isdir(os.path.join(deploy, c, r))
)
if os.path.exists(helm):
    loops = []
    for _ in range(3):
        start = time.perf_counter()
        for chart in charts:
            subprocess.run([helm, "template", os.path.basename(chart), chart], check=True, stdout=subprocess.DEVNULL)
        loops.append((time.perf_counter() - start) * 1000)
    h = statistics.median(loops)
    print(f"helm template x{len(charts)} releases  {h:8.1f} ms   kcc check is {h / check:5.1f}x faster")
else:
    print("helm template loop: skipped (run scripts/install-helm-tools.sh)")
PY
