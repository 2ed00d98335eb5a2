#!/usr/bin/env bash
# Benchmark `kcc check` (whole fleet: render, schemas, rules, golden drift) against
# baselines measured in the same run, reported as ratios (shared machines are noisy; ratios
# are what to compare across runs):
#   - process floor: `kcc --version`
#   - the job kcc replaces, for ONE release of ONE cluster: `helm template` of eqiad's
#     calico chart (needs scripts/install-helm-tools.sh; skipped without it).
# Usage: scripts/bench.sh [RUNS]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
cargo build --release --quiet
kcc=$PWD/target/release/kcc
tools=${KCC_TOOLS_DIR:-$HOME/.cache/kcc-tools/bin}
deploy=$(mktemp -d)
trap 'rm -rf "$deploy"' EXIT
"$kcc" render --cluster eqiad --out "$deploy" >/dev/null

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
if os.path.exists(helm):
    h = median_ms([helm, "template", "calico", os.path.join(deploy, "calico"), "--namespace", "kube-system"])
    print(f"helm template (1 release)    {h:8.1f} ms   kcc check = {check / h:5.2f}x one helm template")
else:
    print("helm template: skipped (run scripts/install-helm-tools.sh)")
PY
