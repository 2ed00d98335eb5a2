//! Each cluster checked against its own Kubernetes version (tests/fixtures/versions: three
//! clusters on 1.23, 1.25 and 1.29), removed and deprecated APIs, `--target-version`, and
//! the vendored schemas.

use crate::common::*;
use serde_json::Value;

fn versions() -> std::path::PathBuf {
    fixture("versions")
}

/// The diagnostics of `rule` as (message, clusters) pairs.
fn of_rule(found: &[Value], rule: &str) -> Vec<(String, Vec<String>)> {
    found
        .iter()
        .filter(|d| d["rule"] == rule)
        .map(|d| {
            let clusters = d["clusters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect();
            (d["message"].as_str().unwrap().to_string(), clusters)
        })
        .collect()
}

#[test]
fn a_pod_security_policy_errors_only_from_1_25_with_the_replacement_hint() {
    let (out, found) = check_json(&versions());
    assert_exit(&out, 1);
    let removed = of_rule(&found, "schema/removed-api");
    let psp: Vec<_> = removed
        .iter()
        .filter(|(m, _)| m.starts_with("policy/v1beta1 PodSecurityPolicy removed in 1.25;"))
        .collect();
    assert_eq!(psp.len(), 1, "one cause, in two clusters: {removed:?}");
    assert!(
        psp.iter()
            .all(|(m, _)| m.contains("Pod Security Admission"))
    );
    let clusters: Vec<_> = psp.iter().flat_map(|(_, c)| c.clone()).collect();
    assert_eq!(clusters, ["mid", "new"]);
    let pdb: Vec<_> = removed
        .iter()
        .filter(|(m, _)| m == "policy/v1beta1 PodDisruptionBudget removed in 1.25; use policy/v1")
        .flat_map(|(_, c)| c.clone())
        .collect();
    assert_eq!(pdb, ["mid", "new"], "{removed:?}");
    // On 1.23 they are served, and deprecated: a warning naming the version that removes them.
    let deprecated = of_rule(&found, "schema/deprecated-api");
    assert!(
        deprecated.iter().any(|(m, c)| m
            .starts_with("policy/v1beta1 PodSecurityPolicy is removed in Kubernetes 1.25")
            && c == &["old"]),
        "{deprecated:?}"
    );
    assert!(
        deprecated
            .iter()
            .any(|(m, c)| m.contains("PodDisruptionBudget")
                && m.contains("use policy/v1")
                && c == &["old"]),
        "{deprecated:?}"
    );
    // The error is at the template line that writes the apiVersion.
    let d = found
        .iter()
        .find(|d| d["rule"] == "schema/removed-api")
        .unwrap();
    assert!(d["file"].as_str().unwrap().starts_with("charts/"), "{d}");
    assert_eq!(d["line"], 1);
}

#[test]
fn a_field_added_in_a_later_version_validates_only_there() {
    let (_, found) = check_json(&versions());
    let field: Vec<_> = of_rule(&found, "schema/kubernetes")
        .into_iter()
        .filter(|(m, _)| m.contains("'restartPolicy' was unexpected"))
        .collect();
    assert_eq!(field.len(), 1, "{found:?}");
    assert_eq!(field[0].1, ["old", "mid"]);
    let d = found
        .iter()
        .find(|d| d["rule"] == "schema/kubernetes")
        .unwrap();
    assert_eq!(d["file"], "charts/app/templates/deployment.yaml");
    assert_eq!(
        d["line"],
        line_of(
            &versions(),
            "charts/app/templates/deployment.yaml",
            "restartPolicy"
        )
    );
    // Nothing else: the rest of the fixture is valid in every version.
    let rules: std::collections::BTreeSet<_> =
        found.iter().map(|d| d["rule"].as_str().unwrap()).collect();
    assert_eq!(
        rules.into_iter().collect::<Vec<_>>(),
        [
            "schema/deprecated-api",
            "schema/kubernetes",
            "schema/removed-api"
        ],
        "{found:?}"
    );
}

#[test]
fn templates_see_the_clusters_version() {
    let out = kcc(&versions(), &["render", "-c", "new", "-r", "app"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("example.org/kubernetes-version: '1.29'")
            || stdout(&out).contains("example.org/kubernetes-version: \"1.29\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_unsupported_version_is_an_error_at_its_line() {
    let dir = copy_project(&versions());
    edit_file(
        &dir.path().join("kcc.yaml"),
        "kubernetesVersion: \"1.29\"",
        "kubernetesVersion: \"1.19\"",
    );
    // kcc.yaml is read before anything renders: the error is on stderr, at its line.
    let out = kcc(dir.path(), &["check"]);
    assert_exit(&out, 1);
    let line = line_of(dir.path(), "kcc.yaml", "\"1.19\"");
    let err = stderr(&out);
    assert!(
        err.contains("error[project/kubernetes-version]: cluster `new`: Kubernetes version `1.19` is not supported")
            && err.contains(&format!("kcc.yaml:{line}:"))
            && err.contains("supported versions: 1.23, 1.24, 1.25, 1.26, 1.27, 1.28, 1.29, 1.30, 1.31, 1.32, 1.33"),
        "{err}"
    );
}

#[test]
fn a_values_kubernetes_version_that_disagrees_with_kcc_yaml_is_an_error() {
    let dir = copy_project(&versions());
    write(
        &dir.path().join("values/mid/values.yaml"),
        "# cluster mid\nkubernetesVersion: \"1.24\"\n",
    );
    write(
        &dir.path().join("values/new/values.yaml"),
        "# cluster new\nkubernetesVersion: \"1.29\"\n",
    );
    let (_, found) = check_json(dir.path());
    let wrong = of_rule(&found, "project/kubernetes-version");
    assert_eq!(wrong.len(), 1, "{found:?}");
    assert!(
        wrong[0].0.contains("`1.24`") && wrong[0].0.contains("`1.25`"),
        "{wrong:?}"
    );
    assert_eq!(wrong[0].1, ["mid"]);
    let d = found
        .iter()
        .find(|d| d["rule"] == "project/kubernetes-version")
        .unwrap();
    assert_eq!(d["file"], "values/mid/values.yaml");
    assert_eq!(d["line"], 2);
}

#[test]
fn target_version_reports_what_an_upgrade_breaks_without_changing_the_check() {
    // The 2023 fleet runs 1.23 everywhere: 1.25 removes every PodSecurityPolicy.
    let fleet = fleet_2023();
    let (plain, before) = check_json(&fleet);
    let out = kcc(
        &fleet,
        &["check", "--format", "json", "--target-version", "1.25"],
    );
    // The fleet checks clean, but an upgrade would break it: exit 1.
    assert_exit(&plain, 0);
    assert_exit(&out, 1);
    let after: Vec<Value> = json_lines(&out);
    let upgrade = of_rule(&after, "schema/upgrade");
    assert!(!upgrade.is_empty());
    assert!(
        upgrade
            .iter()
            .all(|(m, _)| m.starts_with("breaks on Kubernetes 1.25: ")),
        "{upgrade:?}"
    );
    assert!(
        upgrade.iter().any(
            |(m, c)| m.contains("policy/v1beta1 PodSecurityPolicy removed in 1.25") && c.len() == 9
        ),
        "{upgrade:?}"
    );
    assert!(
        after
            .iter()
            .filter(|d| d["rule"] == "schema/upgrade")
            .all(|d| d["severity"] == "error")
    );
    // The clusters' own check is unchanged.
    let own: Vec<_> = after
        .iter()
        .filter(|d| d["rule"] != "schema/upgrade")
        .cloned()
        .collect();
    assert_eq!(own, before);
    // On the versions fixture only the 1.23 cluster has anything to upgrade.
    let out = kcc(
        &versions(),
        &["check", "--format", "json", "--target-version", "1.25"],
    );
    let found: Vec<Value> = json_lines(&out);
    let upgrade = of_rule(&found, "schema/upgrade");
    assert!(upgrade.iter().all(|(_, c)| c == &["old"]), "{upgrade:?}");
    assert!(
        upgrade
            .iter()
            .any(|(m, _)| m.contains("PodDisruptionBudget removed in 1.25; use policy/v1"))
    );
}

#[test]
fn target_version_checks_only_the_selected_clusters() {
    let out = kcc(
        &fleet_2023(),
        &[
            "check",
            "--format",
            "json",
            "--target-version",
            "1.25",
            "-c",
            "eqiad",
            "-c",
            "codfw",
        ],
    );
    assert_exit(&out, 1);
    let found: Vec<Value> = json_lines(&out);
    let upgrade = of_rule(&found, "schema/upgrade");
    assert!(!upgrade.is_empty());
    assert!(
        upgrade.iter().all(|(_, c)| c == &["eqiad", "codfw"]),
        "{upgrade:?}"
    );
    // -c without --target-version is a usage error, and so is an unknown cluster.
    assert_exit(&kcc(&fleet_2023(), &["check", "-c", "eqiad"]), 2);
    let out = kcc(
        &fleet_2023(),
        &["check", "--target-version", "1.25", "-c", "nowhere"],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no cluster `nowhere`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_target_version_is_a_usage_error() {
    let out = kcc(&versions(), &["check", "--target-version", "2.0"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("supported: 1.23,"),
        "{}",
        stderr(&out)
    );
}

fn validate(args: &[&str], stdin: &str) -> std::process::Output {
    assert_cmd::Command::cargo_bin("kcc")
        .unwrap()
        .current_dir(std::env::temp_dir())
        .arg("validate")
        .args(args)
        .env("NO_COLOR", "1")
        .write_stdin(stdin)
        .output()
        .unwrap()
}

const PDB: &str = "apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: web, namespace: apps}
spec: {maxUnavailable: 1}
";

#[test]
fn validate_takes_a_kubernetes_version() {
    assert_exit(&validate(&["-"], PDB), 0);
    let out = validate(&["--kubernetes-version", "1.25", "-"], PDB);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("removed in 1.25; use policy/v1"),
        "{}",
        stdout(&out)
    );
    assert_exit(
        &validate(
            &["--kubernetes-version", "v1.25.4", "-"],
            &PDB.replace("v1beta1", "v1"),
        ),
        0,
    );
    assert_exit(&validate(&["--kubernetes-version", "1.9", "-"], PDB), 2);
}

#[test]
fn validate_defaults_to_the_projects_version() {
    let dir = copy_project(&versions());
    for (from, to) in [("\"1.23\"", "\"1.29\""), ("\"1.25\"", "\"1.29\"")] {
        edit_file(
            &dir.path().join("kcc.yaml"),
            &format!("kubernetesVersion: {from}"),
            &format!("kubernetesVersion: {to}"),
        );
    }
    let out = assert_cmd::Command::cargo_bin("kcc")
        .unwrap()
        .args(["--project", dir.path().to_str().unwrap(), "validate", "-"])
        .env("NO_COLOR", "1")
        .write_stdin(PDB)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("Kubernetes 1.29"), "{}", stdout(&out));
}

#[test]
fn validate_skips_kinds_and_missing_schemas_and_expands_lists() {
    let pool = "---\napiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata: {name: x}\nspec: {cidr: 10.0.0.0/8}\n";
    let bad_ns = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a, labelz: {}}\n";
    let both = format!("{pool}{bad_ns}");
    assert_exit(&validate(&["-"], &both), 1);
    assert_exit(
        &validate(
            &["--ignore-missing-schemas", "--skip", "Namespace", "-"],
            &both,
        ),
        0,
    );
    assert_exit(
        &validate(
            &["--skip", "Namespace,crd.projectcalico.org/v1/IPPool", "-"],
            &both,
        ),
        0,
    );
    let out = validate(&["--ignore-missing-schemas", "-"], &both);
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("labelz"), "{}", stdout(&out));
    // kind: List items are objects of their own.
    let list = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Namespace\n    metadata: {name: a, labelz: {}}\n  - apiVersion: v1\n    kind: Namespace\n    metadata: {name: b}\n";
    let out = validate(&["--format", "json", "-"], list);
    assert_exit(&out, 1);
    let found: Vec<Value> = json_lines(&out);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["line"], 6);
    let out = validate(&["-"], &list.replace(", labelz: {}", ""));
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("2 object(s)"), "{}", stdout(&out));
}

/// The vendored schemas are what schemas/SOURCE.md says (the vendor script writes both; a
/// rerun of scripts/vendor-schemas.sh then leaves `git status` clean, which is how its
/// determinism was checked: it needs the network, so it is not run here).
#[test]
fn vendored_schemas_match_source_md() {
    use sha2::{Digest, Sha256};
    let root = repo_root().join("schemas");
    let source = std::fs::read_to_string(root.join("SOURCE.md")).unwrap();
    let mut checked = 0;
    for line in source.lines().filter(|l| l.starts_with("| `kubernetes/")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let path = cells[1].trim_matches('`');
        let bytes = std::fs::read(root.join(path)).unwrap();
        assert_eq!(cells[2], bytes.len().to_string(), "{path}");
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(cells[3].trim_matches('`'), digest, "{path}");
        checked += 1;
    }
    assert_eq!(checked, 13);
    // Content-addressed: every stored line's digest is its text's.
    let store = std::fs::read_to_string(root.join("kubernetes/definitions.tsv")).unwrap();
    let mut last = String::new();
    for line in store.lines() {
        let (digest, text) = line.split_once('\t').unwrap();
        let full: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(&full[..20], digest);
        assert!(digest > last.as_str(), "sorted and unique");
        last = digest.to_string();
    }
}

// Chart versions side by side (tests/fixtures/admin_ng-2026-08: calico 0.4.0 and 0.5.2,
// pinned in values/common.yaml and lifted with `~` by the four main clusters).

/// Pins ml-serve-eqiad's calico to `version` (one line in the cluster's values file, as an
/// operator writes it).
fn pin_calico(project: &std::path::Path, version: &str) {
    let file = project.join("values/ml-serve-eqiad/values.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    write(
        &file,
        &format!("chartVersions:\n  wmf-stable/calico: {version}\n{text}"),
    );
}

#[test]
fn moving_one_cluster_to_the_new_chart_version_is_one_line_and_reviews_as_a_version_change() {
    let dir = copy_project(&fleet_2026());
    let project = dir.path();
    commit_all(project);
    pin_calico(project, "0.5.2");

    let out = kcc(project, &["list", "-c", "ml-serve-eqiad", "-r", "calico"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("calico-0.5.2"), "{}", stdout(&out));
    let out = kcc(
        project,
        &["explain", "ml-serve-eqiad", "calico", "chartVersions"],
    );
    let first = stdout(&out).lines().next().unwrap_or_default().to_string();
    assert_eq!(
        first,
        "chart calico 0.5.2 (pinned at values/ml-serve-eqiad/values.yaml:2:3)"
    );

    // The review names the version change first, in every format.
    let out = kcc(project, &["diff", "--base", "HEAD", "--format", "json"]);
    assert_exit(&out, 1);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        report["chartVersions"],
        serde_json::json!([{"cluster": "ml-serve-eqiad", "release": "calico", "chart": "calico", "old": "0.4.0", "new": "0.5.2"}])
    );
    let line = "calico 0.4.0 → 0.5.2 (release calico) in ml-serve-eqiad";
    for format in ["text", "markdown", "gerrit"] {
        let out = kcc(project, &["diff", "--base", "HEAD", "--format", format]);
        assert!(stdout(&out).contains(line), "{format}: {}", stdout(&out));
    }
    // Only that cluster drifts; after `update` golden/ records the version.
    let (out, found) = check_json(project);
    assert_exit(&out, 1);
    assert!(!found.is_empty());
    for d in &found {
        assert_eq!(d["rule"], "golden/drift", "{d}");
        assert!(
            d["file"]
                .as_str()
                .unwrap()
                .starts_with("golden/ml-serve-eqiad/"),
            "{d}"
        );
    }
    assert_exit(&kcc(project, &["update"]), 0);
    assert_exit(&kcc(project, &["check"]), 0);
    let helmfile =
        std::fs::read_to_string(project.join("golden/ml-serve-eqiad/helmfile.yaml")).unwrap();
    assert!(
        helmfile.contains("      chart: calico\n      chartVersion: 0.5.2\n"),
        "{helmfile}"
    );
}

#[test]
fn a_pin_to_a_version_the_chart_lacks_is_an_error_at_the_pin_listing_the_versions() {
    let dir = copy_project(&fleet_2026());
    let project = dir.path();
    pin_calico(project, "0.9.9");
    let (out, found) = check_json(project);
    assert_exit(&out, 1);
    let pins: Vec<&Value> = found
        .iter()
        .filter(|d| d["rule"] == "chart/version")
        .collect();
    assert_eq!(pins.len(), 1, "{found:?}");
    assert_eq!(pins[0]["file"], "values/ml-serve-eqiad/values.yaml");
    assert_eq!(pins[0]["line"], 2);
    let notes = pins[0]["notes"].to_string();
    assert!(notes.contains("charts/calico has 0.4.0, 0.5.2"), "{notes}");
}

#[test]
fn a_chart_version_no_cluster_runs_is_reported() {
    let dir = copy_project(&fleet_2026());
    let project = dir.path();
    // Every cluster moves to 0.5.2: 0.4.0 is left behind.
    edit_file(
        &project.join("values/common.yaml"),
        "wmf-stable/calico: 0.4.0",
        "wmf-stable/calico: 0.5.2",
    );
    let (out, found) = check_json(project);
    assert_exit(&out, 1);
    let unused: Vec<&Value> = found
        .iter()
        .filter(|d| d["rule"] == "chart/unused-version")
        .collect();
    assert_eq!(unused.len(), 1, "{found:?}");
    assert_eq!(unused[0]["file"], "charts/calico/0.4.0/Chart.yaml");
    // A check of some clusters only cannot know what no cluster runs.
    let out = kcc(project, &["check", "-c", "eqiad", "--format", "json"]);
    assert!(!stdout(&out).contains("chart/unused-version"));
}

/// The upgrade the fleet made between April 2024 and August 2026 (1.23 → 1.31), told by
/// `--target-version` on the 2024 snapshot: the one API removal it had to handle is
/// PodSecurityPolicy, and nothing else the 2024 fleet ran breaks on 1.31.
#[test]
fn target_version_1_31_on_the_2024_fleet_names_the_podsecuritypolicy_removal_only() {
    let out = kcc(
        &fleet_2024(),
        &["check", "--target-version", "1.31", "--format", "json"],
    );
    assert_exit(&out, 1);
    let found = json_lines(&out);
    let upgrade = of_rule(&found, "schema/upgrade");
    assert_eq!(upgrade.len(), 1, "{upgrade:?}");
    assert!(
        upgrade[0]
            .0
            .contains("policy/v1beta1 PodSecurityPolicy removed in 1.25")
    );
    assert_eq!(upgrade[0].1.len(), 9, "all nine clusters");
    let errors: Vec<&Value> = found.iter().filter(|d| d["severity"] == "error").collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    // The 2026 fleet runs on 1.31 with nothing deprecated or removed.
    let (out, found) = check_json(&fleet_2026());
    assert_exit(&out, 0);
    assert!(found.is_empty(), "{found:?}");
}

/// The migration from the April 2024 fleet to the August 2026 one, reviewed as a change:
/// `diff --base` renders each side with its own charts and schemas (the 2024 values are not
/// judged by the 2026 schemas), and names every chart upgrade once for all its clusters.
#[test]
fn the_2024_to_2026_migration_reviews_with_each_side_its_own_charts() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path();
    copy_dir(&fleet_2024(), project);
    commit_all(project);
    for sub in ["charts", "values", "golden", "fixtures", "reference"] {
        std::fs::remove_dir_all(project.join(sub)).unwrap();
    }
    copy_dir(&fleet_2026(), project);
    let out = kcc(project, &["diff", "--base", "HEAD", "--format", "json"]);
    assert_exit(&out, 1);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let changes = report["chartVersions"].as_array().unwrap();
    let coredns: Vec<&Value> = changes
        .iter()
        .filter(|c| c["release"] == "coredns")
        .collect();
    assert_eq!(coredns.len(), 9, "the nine clusters of 2024: {changes:?}");
    assert!(
        coredns
            .iter()
            .all(|c| c["old"] == "0.3.3" && c["new"] == "0.6.0")
    );
    let out = kcc(project, &["diff", "--base", "HEAD", "--format", "markdown"]);
    let text = stdout(&out);
    assert!(
        text.contains("- `calico 0.2.10 → 0.5.2 (release calico) in 4 clusters: codfw, eqiad, staging-codfw, staging-eqiad`"),
        "{text}"
    );
}

/// `--target-version` older than a cluster's own version is never silently nothing: an
/// error naming the cluster when it was selected (or when every cluster is newer), a note
/// naming the clusters left out otherwise.
#[test]
fn a_target_version_older_than_a_cluster_is_named() {
    let out = kcc(
        &versions(),
        &["check", "--target-version", "1.25", "-c", "new"],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains(
            "--target-version 1.25 is older than the Kubernetes version of cluster `new` (1.29)"
        ),
        "{}",
        stderr(&out)
    );
    let out = kcc(&fleet_2026(), &["check", "--target-version", "1.29"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("cluster `eqiad` (1.31)"),
        "{}",
        stderr(&out)
    );
    let out = kcc(&versions(), &["check", "--target-version", "1.25"]);
    assert!(
        stdout(&out).contains("note: --target-version 1.25: not checked for cluster `new` (1.29)"),
        "{}",
        stdout(&out)
    );
}
