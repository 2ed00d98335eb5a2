#!/usr/bin/env bash
# Benchmark kcc against baselines measured in the same run, reported as ratios (shared
# machines are noisy; ratios are what to compare across runs).
#
# On this project's fleet, `kcc check` (render, schemas, rules, golden drift) against:
#   - the process floor: `kcc --version`
#   - one thread (RAYON_NUM_THREADS=1) against the default
#   - `kcc check` of the frozen April 2024 fleet (tests/fixtures/admin_ng-2024-04), the two
#     run interleaved: the cost of the fleet's growth since
#   - the job kcc replaces: `helm template` of every release of every cluster, one after
#     the other, and `helmfile template --skip-deps` of every cluster's deploy directory
#     (`kcc render --out`), one after the other (charts that only emit kcc's manifests: a
#     lower bound of the real loop, which also ran the charts' logic and kubeconform).
#     The helmfile loop runs interleaved with `kcc check` (kcc, helmfile, kcc, helmfile,
#     ...: both see the same machine), on this fleet and on the 2024 fixture (kcc run from
#     inside its directory), and the ratio is of the two medians.
#     Needs scripts/install-helm-tools.sh; skipped without it.
# Then, with --scale, a table for synthetic fleets of N eqiad-sized clusters
# (scripts/synth-fleet N DIR --from eqiad), wall time and peak RSS (/usr/bin/time) of:
#   - check:  `kcc check` of the fleet, golden/ current
#   - update: `kcc update` after a one-line change to values/common.yaml
#             (IPAMConfig.strictAffinity flipped) that changes calico.yaml in every cluster:
#             every cluster rendered, N golden files rewritten
#   - diff:   `kcc diff --base HEAD` with that same one-line change uncommitted, the fleet
#             committed to a fresh git repository: the fleet rendered twice (HEAD and the
#             working tree), N changed objects reported
#   - diff, 1 cluster: `kcc diff --base HEAD` after a change to one cluster's CoreDNS
#             replicas instead (the usual review): releases whose inputs are the same on
#             both sides render once, so this costs about one render of the fleet
# with the time and memory per cluster, to show how they grow with N.
#
# Usage: scripts/bench.sh [RUNS] [--scale 10,100[,1000]] [--kcc BINARY]
#   RUNS (default 20): runs of each fleet measurement; scale runs are min(RUNS, 3), and 1
#   for N >= 1000. --scale defaults to 10,100; `--scale none` skips it. --kcc benchmarks a
#   given binary instead of building this checkout's. Synthetic fleets go under $TMPDIR
#   (default /tmp) and are deleted (1000 clusters: ~0.5 GB on disk, and 8.5 GB of memory
#   for kcc versions that hold the whole fleet).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=20
scale=10,100
kcc=
while [ $# -gt 0 ]; do
    case $1 in
        --scale) scale=${2:?--scale needs a list, e.g. 10,100,1000}; shift 2 ;;
        --scale=*) scale=${1#--scale=}; shift ;;
        --kcc) kcc=$(realpath "${2:?--kcc needs a binary}"); shift 2 ;;
        --kcc=*) kcc=$(realpath "${1#--kcc=}"); shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        [0-9]*) runs=$1; shift ;;
        *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ "$scale" = none ] && scale=
if [ -z "$kcc" ]; then
    cargo build --release --quiet
    kcc=$PWD/target/release/kcc
fi
[ -x /usr/bin/time ] || { echo "bench.sh: needs /usr/bin/time (GNU time) for peak RSS" >&2; exit 2; }

# The binary's revision: the git commit of the checkout it was built in (+dirty when that
# checkout's sources differ from the commit), and when it was built.
bin_repo=$(git -C "$(dirname "$kcc")" rev-parse --show-toplevel 2>/dev/null || true)
if [ -n "$bin_repo" ]; then
    rev=$(git -C "$bin_repo" rev-parse --short HEAD)
    [ -n "$(git -C "$bin_repo" status --porcelain -- src Cargo.toml Cargo.lock)" ] && rev="$rev+dirty"
    rev="$rev ($(git -C "$bin_repo" log -1 --format=%s "${rev%+dirty}" | python3 -c 'import sys; print(sys.stdin.read().strip()[:60])'))"
else
    rev=unknown
fi
built=$(date -r "$kcc" '+%Y-%m-%d %H:%M')

tools=${KCC_TOOLS_DIR:-$HOME/.cache/kcc-tools/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$kcc" render --fixture-secrets --out "$work/deploy" >/dev/null

python3 - "$runs" "$kcc" "$tools" "$work" "$scale" "$rev" "$built" <<'PY'
import os, re, shutil, statistics, subprocess, sys, tempfile, time
runs, kcc, tools, work, scale, rev, built = sys.argv[1:8]
runs = int(runs)
deploy = os.path.join(work, "deploy")
devnull = subprocess.DEVNULL

def median_ms(cmd, env=None, n=runs, **kw):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=devnull, env=env, **kw)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)

version = subprocess.run([kcc, "--version"], capture_output=True, text=True).stdout.strip()
clusters = sorted(c for c in os.listdir(deploy) if os.path.isdir(os.path.join(deploy, c)))
print(f"kcc binary   {kcc}: {version}, git {rev}, built {built}")
print(f"machine      {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
print(f"fleet        {os.getcwd()}: {len(clusters)} clusters, median of {runs} runs\n")

floor = median_ms([kcc, "--version"])
check = median_ms([kcc, "check"])
one_thread = median_ms([kcc, "check"], env={**os.environ, "RAYON_NUM_THREADS": "1"})
print(f"kcc --version (floor)          {floor:9.1f} ms")
print(f"kcc check ({len(clusters)} clusters)         {check:9.1f} ms   {check / floor:6.1f}x floor")
print(f"kcc check, 1 thread            {one_thread:9.1f} ms   {one_thread / check:6.2f}x default threads")

# This fleet against the April 2024 snapshot (9 clusters, 3,184 objects), interleaved run by
# run so that both see the same machine: what the fleet's growth since then costs.
fixture_2024 = "tests/fixtures/admin_ng-2024-04"
if os.path.isdir(fixture_2024):
    ours, theirs = [], []
    for _ in range(runs):
        for times, cmd in ((ours, [kcc, "check"]), (theirs, [kcc, "--project", fixture_2024, "check"])):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=devnull)
            times.append((time.perf_counter() - start) * 1000)
    o, t24 = statistics.median(ours), statistics.median(theirs)
    print(f"kcc check, 2024 fixture        {t24:9.1f} ms   this fleet takes {o / t24:5.2f}x it (interleaved: {o:.1f} ms)")

helm, helmfile = os.path.join(tools, "helm"), os.path.join(tools, "helmfile")
charts = sorted(
    os.path.join(deploy, c, r)
    for c in clusters
    for r in os.listdir(os.path.join(deploy, c))
    if os.path.isdir(os.path.join(deploy, c, r))
)
if os.path.exists(helm):
    def helm_loop():
        for chart in charts:
            subprocess.run([helm, "template", os.path.basename(chart), chart], check=True, stdout=devnull)
    loops = []
    for _ in range(3):
        start = time.perf_counter()
        helm_loop()
        loops.append((time.perf_counter() - start) * 1000)
    h = statistics.median(loops)
    print(f"helm template x{len(charts)} releases    {h:9.1f} ms   kcc check is {h / check:5.1f}x faster")
else:
    print("helm template loop: skipped (run scripts/install-helm-tools.sh)")
def interleaved(fleet, deploy, label):
    """`kcc check` run from inside `fleet` and `helmfile template` of every cluster of its
    deploy directory `deploy`, alternated run by run: their medians and the ratio of them."""
    hf_tmp = os.path.join(work, "helmfile-tmp")
    os.makedirs(hf_tmp, exist_ok=True)
    env = {**os.environ, "PATH": tools + os.pathsep + os.environ["PATH"], "TMPDIR": hf_tmp}
    names = sorted(c for c in os.listdir(deploy) if os.path.isdir(os.path.join(deploy, c)))
    ours, theirs = [], []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([kcc, "check"], check=True, stdout=devnull, cwd=fleet)
        ours.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        for c in names:
            subprocess.run([helmfile, "template", "--skip-deps"], check=True, stdout=devnull,
                           stderr=devnull, env=env, cwd=os.path.join(deploy, c))
        theirs.append((time.perf_counter() - start) * 1000)
    k, hf = statistics.median(ours), statistics.median(theirs)
    print(f"{label:<22} kcc check {k:7.1f} ms   helmfile template x{len(names)} clusters "
          f"{hf:7.0f} ms   {hf / k:6.1f}x (interleaved, medians of {runs})", flush=True)

if os.path.exists(helmfile) and os.path.exists(helm):
    interleaved(os.getcwd(), deploy, "this fleet")
    if os.path.isdir(fixture_2024):
        deploy_2024 = os.path.join(work, "deploy-2024")
        subprocess.run([kcc, "--project", fixture_2024, "render", "--fixture-secrets", "--out",
                        deploy_2024], check=True, stdout=devnull)
        interleaved(os.path.abspath(fixture_2024), deploy_2024, "2024 fixture")
else:
    print("helmfile template loop: skipped (run scripts/install-helm-tools.sh)")

if not scale:
    sys.exit(0)

# --- scale ------------------------------------------------------------------------------------
synth = os.path.join(os.getcwd(), "scripts", "synth-fleet")
tmp_root = os.environ.get("TMPDIR", "/tmp")
EDIT = (re.compile(r"^(  strictAffinity: )(true|false)$", re.M), "values/common.yaml")

def flip(fleet):
    """The one-line change: IPAMConfig.strictAffinity in values/common.yaml, flipped."""
    path = os.path.join(fleet, EDIT[1])
    text = open(path).read()
    new, n = EDIT[0].subn(lambda m: m.group(1) + ("false" if m.group(2) == "true" else "true"), text)
    if n != 1:
        sys.exit(f"bench.sh: {path} has no `  strictAffinity: true|false` line to change")
    open(path, "w").write(new)

def timed(cmd, ok=(0,), cwd=None):
    """(wall seconds, peak RSS in MB, stdout) of one run, by GNU time."""
    out = os.path.join(work, "time.txt")
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", out, *cmd], cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode not in ok:
        sys.stderr.write(r.stdout[-4000:])
        sys.exit(f"bench.sh: {' '.join(cmd)} exited {r.returncode}")
    wall, rss_kb = open(out).read().split()[-2:]
    return float(wall), int(rss_kb) / 1024, r.stdout

def measure(cmd, n, before=None, ok=(0,), expect=None):
    results = []
    for _ in range(n):
        if before:
            before()
        wall, rss, stdout = timed(cmd, ok)
        if expect and not re.search(expect, stdout):
            sys.stderr.write(stdout[-4000:])
            sys.exit(f"bench.sh: {' '.join(cmd)}: expected /{expect}/ in its output")
        results.append((wall, rss))
    return statistics.median(w for w, _ in results), max(r for _, r in results)

rows = []
objects = None
print(f"\nscale: synthetic fleets of N clusters cloned from eqiad (scripts/synth-fleet --from eqiad);")
print("wall = median, RSS = peak over the runs; update and diff after a one-line change to")
print("values/common.yaml that changes one object in every cluster; per added cluster = the")
print("difference to the previous N, divided by the clusters added; `diff, 1 cluster`: one")
print("cluster's CoreDNS replicas changed instead\n")
print(f"{'':>28}{'':>15}{'per cluster':>20}{'per added cluster':>20}")
print(f"{'N':>5} {'runs':>4}  {'command':<17}{'wall s':>7}{'RSS MB':>8}{'ms':>10}{'MB':>10}{'ms':>10}{'MB':>10}")
previous = {}
for n in [int(x) for x in scale.split(",") if x.strip()]:
    reps = 1 if n >= 1000 else min(runs, 3)
    base = tempfile.mkdtemp(prefix=f"kcc-bench-{n}-", dir=tmp_root)
    fleet = os.path.join(base, "fleet")
    try:
        start = time.perf_counter()
        r = subprocess.run([synth, str(n), fleet, "--from", "eqiad", "--kcc", kcc],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stdout)
            sys.exit(f"bench.sh: synth-fleet {n} failed")
        gen = time.perf_counter() - start
        first = f"synth-{1:0{max(4, len(str(n)))}d}"  # the first cluster
        g = os.path.join(fleet, "golden", first)
        if objects is None:
            objects = sum(len(re.findall(r"^# Source: ", open(os.path.join(g, f)).read(), re.M))
                          for f in os.listdir(g) if f.endswith(".yaml") and f != "helmfile.yaml")
        project = ["--project", fleet]
        def row(name, wall, rss):
            # Per cluster, and per cluster added since the previous N (the slope: flat when
            # cost is linear in N, the fixed cost of a process left out).
            slope = ""
            if name in previous and previous[name][0] < n:
                m, w, r = previous[name]
                slope = f"{(wall - w) * 1000 / (n - m):10.1f}{(rss - r) / (n - m):10.2f}"
            previous[name] = (n, wall, rss)
            print(f"{n:>5} {reps:>4}  {name:<17}{wall:7.2f}{rss:8.0f}{wall * 1000 / n:10.1f}{rss / n:10.2f}{slope}", flush=True)
        row("check", *measure([kcc, *project, "check"], reps, expect=r"\b0 error"))
        row("update (stale)", *measure([kcc, *project, "update"], reps, before=lambda: flip(fleet),
                                      expect=rf"\b{n} file\(s\) changed"))
        if reps % 2:  # back to the committed state, golden/ current
            flip(fleet)
            subprocess.run([kcc, *project, "update"], check=True, stdout=devnull)
        git = ["git", "-C", fleet, "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run([*git, "init", "--quiet"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "--quiet", "--no-verify", "-m", "synthetic fleet"], check=True)
        flip(fleet)
        row("diff --base HEAD", *measure([kcc, *project, "diff", "--base", "HEAD"], reps, ok=(1,)))
        # The usual review: one cluster's values change (its CoreDNS replicas); the releases
        # whose inputs are the same on both sides render once.
        flip(fleet)
        one = os.path.join(fleet, "values", first, "coredns-values.yaml")
        text, k = re.subn(r"^replicaCount: (\d+)$", lambda m: f"replicaCount: {int(m.group(1)) + 1}",
                          open(one).read(), flags=re.M)
        if k != 1:
            sys.exit(f"bench.sh: {one} has no `replicaCount: N` line to change")
        open(one, "w").write(text)
        row("diff, 1 cluster", *measure([kcc, *project, "diff", "--base", "HEAD"], reps, ok=(1,),
                                        expect=r"\b1 file differs"))
        print(f"{n:>5}       (generated in {gen:.0f} s, {objects} objects per cluster)", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
PY
