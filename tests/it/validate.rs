//! `kcc validate`: a kubeconform replacement that needs no network or cache.

use crate::common::*;

fn validate(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("kcc").unwrap();
    cmd.arg("validate").args(args).env("NO_COLOR", "1");
    if let Some(text) = stdin {
        cmd.write_stdin(text);
    }
    cmd.output().unwrap()
}

#[test]
fn the_reference_renders_pass() {
    // Production ran them on 1.23 (without the flag, validate takes the version of the
    // project it runs in, and the tests run in this repository, whose fleet may move on).
    let reference = fleet_2023().join("reference");
    let out = validate(
        &["--kubernetes-version", "1.23", reference.to_str().unwrap()],
        None,
    );
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("0 error(s)"), "{}", stdout(&out));
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: web:1
";

fn fails_with(manifest: &str, rule: &str, needle: &str, line: u64) {
    let out = validate(&["--format", "json", "-"], Some(manifest));
    assert_exit(&out, 1);
    let text = stdout(&out);
    let found = json_lines(&out);
    assert!(
        found.iter().any(|d| d["rule"] == rule
            && d["message"].as_str().unwrap().contains(needle)
            && d["line"] == line),
        "want {rule} `{needle}` at line {line}, got:\n{text}"
    );
}

#[test]
fn valid_manifest_passes() {
    let out = validate(&["-"], Some(DEPLOYMENT));
    assert_exit(&out, 0);
}

#[test]
fn unknown_field_fails() {
    fails_with(
        &DEPLOYMENT.replace("  selector:", "  replicaz: 2\n  selector:"),
        "schema/kubernetes",
        "replicaz",
        7,
    );
}

#[test]
fn an_int32_field_beyond_its_range_fails() {
    // The schemas say `format: int32`, which JSON Schema leaves unchecked for numbers.
    fails_with(
        &DEPLOYMENT.replace("  selector:", "  replicas: 3000000000\n  selector:"),
        "schema/kubernetes",
        "greater than the maximum of 2147483647",
        7,
    );
}

#[test]
fn wrong_type_fails() {
    fails_with(
        &DEPLOYMENT.replace("  selector:", "  replicas: two\n  selector:"),
        "schema/kubernetes",
        "spec.replicas",
        7,
    );
}

#[test]
fn missing_required_field_fails() {
    fails_with(
        &DEPLOYMENT
            .replace("          image: web:1\n", "")
            .replace("        - name: web\n", "        - image: web:1\n"),
        "schema/kubernetes",
        "name",
        14,
    );
}

#[test]
fn ippool_with_a_typo_in_spec_fails() {
    let crds = fleet_2023().join("charts/calico-crds/crds/crd.projectcalico.org_ippools.yaml");
    let pool = "apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata:
  name: ipv4
spec:
  cidr: 10.67.128.0/18
  natOutgoin: true
";
    let ok = validate(
        &["--crds", crds.to_str().unwrap(), "-"],
        Some(&pool.replace("natOutgoin", "natOutgoing")),
    );
    assert_exit(&ok, 0);
    let out = validate(
        &["--format", "json", "--crds", crds.to_str().unwrap(), "-"],
        Some(pool),
    );
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("\"rule\":\"schema/crd\"")
            && text.contains("natOutgoin")
            && text.contains("\"line\":7"),
        "{text}"
    );
}

#[test]
fn a_kind_with_no_schema_is_an_error() {
    let pool = "apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata:\n  name: x\nspec: {cidr: 10.0.0.0/8}\n";
    fails_with(pool, "schema/unknown-kind", "IPPool", 1);
}

/// kcc's own output validates: a golden directory (with its helmfile.yaml, skipped with a
/// note) passes; without their CRDs, objects of one kind are one diagnostic listing the
/// rest, and diagnostics come in file and line order.
#[test]
fn a_golden_directory_validates_and_one_missing_crd_is_one_diagnostic() {
    let golden = fleet_2026().join("golden/eqiad");
    let out = validate(
        &["--kubernetes-version", "1.31", golden.to_str().unwrap()],
        None,
    );
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("helmfile.yaml: a helmfile, not Kubernetes objects: skipped"),
        "{}",
        stdout(&out)
    );
    let calico = golden.join("calico.yaml");
    let out = validate(
        &[
            "--kubernetes-version",
            "1.31",
            "--format",
            "json",
            calico.to_str().unwrap(),
        ],
        None,
    );
    assert_exit(&out, 1);
    let found = json_lines(&out);
    let peers: Vec<&serde_json::Value> = found
        .iter()
        .filter(|d| d["message"].as_str().unwrap().contains(" BGPPeer:"))
        .collect();
    assert_eq!(peers.len(), 1, "{found:?}");
    assert!(
        peers[0]["notes"]
            .to_string()
            .contains("and 139 more object(s) of this kind")
    );
    let lines: Vec<u64> = found.iter().map(|d| d["line"].as_u64().unwrap()).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
}
