#!/usr/bin/env bash
# Vendor the Kubernetes 1.23–1.33 "local-strict" JSON schemas from the PyPI sdists of
# kubernetes-validate into schemas/kubernetes/, storing each distinct definition once:
#   definitions.tsv   one line per distinct definition: <sha256 of its JSON, 20 hex> TAB
#                     <the definition as compact JSON, keys sorted>, sorted by digest
#   v1.NN.json        per minor: {"definitions": {name: digest}, "kinds": {"apiVersion/kind": name}}
#   LICENSE           the package's licence notice (Apache-2.0)
# and write schemas/SOURCE.md. Deterministic: the output depends only on the pinned sdists
# (rerun = no diff; tests/it/versions.rs checks the files against SOURCE.md's checksums).
# Usage: scripts/vendor-schemas.sh
set -euo pipefail

PKG=kubernetes-validate
# For each Kubernetes minor, the newest kubernetes-validate release whose sdist ships its
# schemas (1.34.x and later start at 1.25; 1.33.1 is the last with 1.23 and 1.24).
MINORS="1.23 1.24 1.25 1.26 1.27 1.28 1.29 1.30 1.31 1.32 1.33"
release_of() {
  case "$1" in
    1.23 | 1.24) echo 1.33.1 ;;
    *) echo 1.37.0 ;;
  esac
}
declare -A SHA256=(
  [1.33.1]=53635bf66a5e04901209ae7f6aff0e8c19efa145cc9a90872344c92a31353a99
  [1.37.0]=09a26209d3e32d97ac13e6f81597c09316fe6f7473cdd4bd8db44075930de357
)

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/schemas/kubernetes
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

args=()
for release in $(printf '%s\n' "${!SHA256[@]}" | sort -V); do
  # pip is the ordinary PyPI client; --no-binary forces the sdist.
  pip download --quiet --no-deps --no-binary :all: --no-build-isolation "$PKG==$release" -d "$tmp" 2>/dev/null ||
    pip download --quiet --no-deps --no-binary :all: "$PKG==$release" -d "$tmp"
  sdist=$(find "$tmp" -maxdepth 1 -name "kubernetes[-_]validate-$release.tar.gz")
  echo "${SHA256[$release]}  $sdist" | sha256sum -c --quiet -
  mkdir -p "$tmp/$release"
  tar -xzf "$sdist" -C "$tmp/$release" --strip-components=1 --wildcards \
    'kubernetes*validate-*/LICENSE' 'kubernetes*validate-*/src/kubernetes_validate/kubernetes-json-schema/v1.*-local-strict/_definitions.json'
done
for minor in $MINORS; do
  release=$(release_of "$minor")
  args+=("$minor" "$release" "$(basename "$(find "$tmp" -maxdepth 1 -name "kubernetes[-_]validate-$release.tar.gz")")"
    "${SHA256[$release]}" "$tmp/$release/src/kubernetes_validate/kubernetes-json-schema/v$minor.0-local-strict/_definitions.json")
done

rm -rf "$out"
mkdir -p "$out"
cp "$tmp/1.37.0/LICENSE" "$out/LICENSE"

python3 - "$out" "$root/schemas/SOURCE.md" "${args[@]}" <<'EOF'
import hashlib, json, os, sys
out, source_md, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
def fail(msg):
    sys.exit("vendor-schemas: " + msg)

store = {}  # digest -> compact JSON text
rows = []
for i in range(0, len(rest), 5):
    minor, release, sdist, sdist_sha, path = rest[i:i + 5]
    raw = open(path, "rb").read()
    doc = json.loads(raw)
    defs = doc.get("$defs", doc.get("definitions"))
    if not isinstance(defs, dict):
        fail(f"{path}: no definitions")
    # Refs are "#/$defs/NAME" (newer generator) or "#/definitions/NAME": one spelling.
    defs = json.loads(json.dumps(defs).replace('"#/$defs/', '"#/definitions/'))
    names, kinds = {}, {}
    def nodes(x):
        if isinstance(x, dict):
            yield x
            for k, v in x.items():
                for c in (v.values() if k == "properties" else [v]):
                    yield from nodes(c)
        elif isinstance(x, list):
            for v in x:
                yield from nodes(v)
    for n in nodes(list(defs.values())):
        ref = n.get("$ref")
        if ref is not None and (not ref.startswith("#/definitions/") or ref[14:] not in defs):
            fail(f"{minor}: unresolvable $ref {ref}")
        if "properties" in n and n.get("additionalProperties") is not False:
            fail(f"{minor}: an object schema with properties lacks additionalProperties: false")
    for name in sorted(defs):
        d = defs[name]
        text = json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(text.encode()).hexdigest()[:20]
        if store.setdefault(digest, text) != text:
            fail(f"digest collision on {digest}")
        names[name] = digest
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            api = (gvk["group"] + "/" if gvk["group"] else "") + gvk["version"]
            key = api + "/" + gvk["kind"]
            if kinds.setdefault(key, name) != name:
                fail(f"{minor}: {key} names two definitions")
    with open(os.path.join(out, f"v{minor}.json"), "w", encoding="utf-8") as o:
        json.dump({"definitions": names, "kinds": kinds}, o, indent=1, sort_keys=True)
        o.write("\n")
    rows.append((minor, release, sdist, sdist_sha, hashlib.sha256(raw).hexdigest(), len(defs), len(kinds)))
with open(os.path.join(out, "definitions.tsv"), "w", encoding="utf-8") as o:
    for digest in sorted(store):
        o.write(f"{digest}\t{store[digest]}\n")

def file_row(name):
    p = os.path.join(out, name)
    data = open(p, "rb").read()
    return f"| `kubernetes/{name}` | {len(data)} | `{hashlib.sha256(data).hexdigest()}` |"

total = sum(r[5] for r in rows)
with open(source_md, "w", encoding="utf-8") as o:
    o.write(f"""# Vendored schemas

## kubernetes/

Kubernetes {rows[0][0]}–{rows[-1][0]} JSON schemas, "local-strict" variant (every object schema
that lists `properties` has `additionalProperties: false`, so unknown fields are rejected),
from the PyPI sdists of `kubernetes-validate`: for each minor, the newest release that ships
it. Regenerate with `scripts/vendor-schemas.sh` (deterministic: a rerun changes nothing).

Licence: Apache-2.0: kubernetes-validate (Copyright 2018 Will Thames, notice in
`kubernetes/LICENSE`); the schemas are generated from the Kubernetes OpenAPI spec, which is
Apache-2.0 (The Kubernetes Authors).

| minor | package release | sdist | sdist sha256 | `_definitions.json` sha256 | definitions | kinds |
|---|---|---|---|---|---|---|
""")
    for minor, release, sdist, sdist_sha, defs_sha, n, k in rows:
        o.write(f"| {minor} | {release} | `{sdist}` | `{sdist_sha}` | `{defs_sha}` | {n} | {k} |\n")
    o.write(f"""
Path inside each sdist: `src/kubernetes_validate/kubernetes-json-schema/v<minor>.0-local-strict/_definitions.json`
(JSON Schema 2020-12, definitions under `$defs`).

Storage: the {total} definitions of the {len(rows)} minors hold {len(store)} distinct ones, each stored once.
- `definitions.tsv`: `<digest>` TAB `<definition>`, one line per distinct definition; the
  digest is the first 20 hex digits of the sha256 of the definition as compact JSON with
  sorted keys (the text stored); `$ref`s are spelt `#/definitions/NAME`.
- `v<minor>.json`: `definitions` maps each definition name of that minor to its digest;
  `kinds` maps `apiVersion/kind` (core group: `v1/Kind`) to a definition name, from each
  definition's `x-kubernetes-group-version-kind` (it also holds the pseudo-kinds
  `DeleteOptions` and `WatchEvent`, annotated for every group/version upstream).
- `LICENSE`: the package's licence notice.

| file | bytes | sha256 |
|---|---|---|
""")
    for name in ["definitions.tsv"] + [f"v{r[0]}.json" for r in rows] + ["LICENSE"]:
        o.write(file_row(name) + "\n")
print(f"vendor-schemas: {len(rows)} minors, {total} definitions, {len(store)} distinct", file=sys.stderr)
EOF
echo "vendor-schemas: wrote $out and schemas/SOURCE.md" >&2
