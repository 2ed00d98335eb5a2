//! Errors in one release of one cluster do not stop the others: `kcc check` reports every
//! error, once per cause with the clusters and releases it broke, and still shows the drift
//! of everything that rendered; `kcc render` and `kcc update` write nothing while any error
//! remains.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;
use serde_json::{Value, json};

/// The four clusters of group `main`, which read values/main.yaml, in kcc.yaml order.
const MAIN: [&str; 4] = ["eqiad", "codfw", "staging-eqiad", "staging-codfw"];
/// The three clusters of group `ml-serve`, whose CoreDNS has rewrite rules.
const ML_SERVE: [&str; 3] = ["ml-serve-eqiad", "ml-serve-codfw", "ml-staging-codfw"];

/// A values/main.yaml line that breaks the rbac-rules values schema in the four `main`
/// clusters; returns (file, the broken text).
fn break_main_values(root: &Path) -> (&'static str, &'static str) {
    let file = "values/main.yaml";
    edit_file(&root.join(file), "  - \"flink\"\n", "  - \"Flink!\"\n");
    (file, "\"Flink!\"")
}

/// A coredns template line that fails only where the values have rewrite rules (the
/// `ml-serve` clusters); returns (file, the broken text).
fn break_coredns_template(root: &Path) -> (&'static str, &'static str) {
    let file = "charts/coredns/templates/configmap.yaml";
    edit_file(&root.join(file), "{{ rule }}", "{{ rule.text }}");
    (file, "rule.text")
}

/// An unrelated change in a cluster of another group: drift in ml-staging-codfw's CoreDNS.
fn change_ml_staging_replicas(root: &Path) {
    edit_file(
        &root.join("values/ml-staging-codfw/coredns-values.yaml"),
        "replicaCount: 2\n",
        "replicaCount: 3\n",
    );
}

/// `[{"name": cluster, "releases": [release]}, ...]`, as `--format json` lists them.
fn seen_in(clusters: &[&str], release: &str) -> Value {
    clusters
        .iter()
        .map(|c| json!({"name": c, "releases": [release]}))
        .collect()
}

fn with_rule<'a>(diagnostics: &'a [Value], rule: &str) -> Vec<&'a Value> {
    diagnostics.iter().filter(|d| d["rule"] == rule).collect()
}

/// `kcc check --format json`, without the fleet's one warning (1.25 removes its
/// PodSecurityPolicies): these tests are about render failures.
fn check_json(root: &std::path::Path) -> (std::process::Output, Vec<serde_json::Value>) {
    let (out, found) = crate::common::check_json(root);
    let found = found
        .into_iter()
        .filter(|d| d["rule"] != "schema/deprecated-api")
        .collect();
    (out, found)
}

#[test]
fn one_bad_group_values_line_is_one_error_and_the_rest_still_renders() {
    let project = copy_project(&fleet_2023());
    let root = project.path();
    let (file, broken) = break_main_values(root);
    change_ml_staging_replicas(root);

    let (out, diagnostics) = check_json(root);
    assert_exit(&out, 1);
    // The values error, once, at its line, naming the four clusters and the release.
    let schema = with_rule(&diagnostics, "values/schema");
    assert_eq!(schema.len(), 1, "{diagnostics:#?}");
    let d = schema[0];
    assert_eq!(d["file"], file, "{d:#}");
    assert_eq!(d["line"], line_of(root, file, broken), "{d:#}");
    assert_eq!(d["clusters"], seen_in(&MAIN, "rbac-rules"), "{d:#}");
    assert_eq!(
        d["notes"][0],
        "in 4 clusters: eqiad, codfw, staging-eqiad, staging-codfw (release rbac-rules)",
        "{d:#}"
    );
    // The rest rendered: the unrelated change in another group's cluster is drift.
    let drift = with_rule(&diagnostics, "golden/drift");
    assert_eq!(drift.len(), 1, "{diagnostics:#?}");
    assert!(
        drift[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("golden/ml-staging-codfw/coredns.yaml "),
        "{:#}",
        drift[0]
    );
    // Nothing else: no drift for the releases that did not render, and no rule echoing
    // their absence (the deploy roles rbac-rules would have rendered, for one).
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");

    // The text report says which golden files it could not compare.
    let text = stdout(&kcc(root, &["check"]));
    let note = text
        .lines()
        .find(|l| l.starts_with("note: 8 golden file(s) not compared"))
        .unwrap_or_else(|| panic!("{text}"));
    for cluster in MAIN {
        assert!(
            note.contains(&format!("golden/{cluster}/rbac-rules.yaml")),
            "{note}"
        );
    }
    assert!(
        text.ends_with("kcc check: 9 clusters, 2 error(s), 1 warning(s)\n"),
        "{text}"
    );
}

#[test]
fn a_template_error_is_reported_once_naming_its_clusters_and_release() {
    let project = copy_project(&fleet_2023());
    let root = project.path();
    let (file, broken) = break_coredns_template(root);

    let (out, diagnostics) = check_json(root);
    assert_exit(&out, 1);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d["rule"], "template/undefined", "{d:#}");
    assert_eq!(d["file"], file, "{d:#}");
    assert_eq!(d["line"], line_of(root, file, broken), "{d:#}");
    assert_eq!(d["clusters"], seen_in(&ML_SERVE, "coredns"), "{d:#}");
    assert_eq!(
        d["notes"][0],
        "in 3 clusters: ml-serve-eqiad, ml-serve-codfw, ml-staging-codfw (release coredns)",
        "{d:#}"
    );
}

#[test]
fn render_writes_nothing_when_a_release_fails() {
    let project = copy_project(&fleet_2023());
    let root = project.path();
    break_coredns_template(root);

    // All or nothing: nothing on stdout, and the error names where it happened.
    let out = kcc(root, &["render"]);
    assert_exit(&out, 1);
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(
            "in 3 clusters: ml-serve-eqiad, ml-serve-codfw, ml-staging-codfw (release coredns)"
        ),
        "{}",
        stderr(&out)
    );

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out");
    let out = kcc(root, &["render", "--out", target.to_str().unwrap()]);
    assert_exit(&out, 1);
    assert!(!target.exists(), "render --out wrote {}", target.display());
}

/// Every file under `dir` (hidden ones included) and its bytes, by relative path.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    files
}

/// `kcc update` on a fleet with an error: exit 1, the error on stderr, golden/ untouched
/// (though `change_ml_staging_replicas` gives it something to write) and no temp file left.
#[track_caller]
fn assert_update_refused(root: &Path, rule: &str) -> Output {
    change_ml_staging_replicas(root);
    let before = tree(&root.join("golden"));
    let out = kcc(root, &["update"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains(rule), "{err}");
    assert!(err.contains("golden/ not updated"), "{err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(before == tree(&root.join("golden")), "golden/ changed");
    let temps: Vec<_> = tree(root)
        .into_keys()
        .filter(|p| p.to_string_lossy().contains(".tmp"))
        .collect();
    assert!(temps.is_empty(), "temp files left: {temps:?}");
    out
}

#[test]
fn update_refuses_while_a_release_does_not_render() {
    let project = copy_project(&fleet_2023());
    break_main_values(project.path());
    let out = assert_update_refused(project.path(), "values/schema");
    let err = stderr(&out);
    assert!(
        err.contains(
            "in 4 clusters: eqiad, codfw, staging-eqiad, staging-codfw (release rbac-rules)"
        ),
        "{err}"
    );
    assert!(
        err.contains("kcc: 1 error(s); golden/ not updated"),
        "{err}"
    );
}

#[test]
fn update_refuses_while_a_rule_fails() {
    // Everything renders; only a rule fails (a binding to a role nobody renders).
    let project = copy_project(&fleet_2023());
    edit_file(
        &project.path().join("values/staging-codfw/values.yaml"),
        "deployClusterRole: deploy-flink",
        "deployClusterRole: deploy-flonk",
    );
    assert_update_refused(project.path(), "rbac/role-ref");
}

#[test]
fn check_output_does_not_depend_on_thread_count() {
    let project = copy_project(&fleet_2023());
    let root = project.path();
    break_main_values(root);
    break_coredns_template(root);
    change_ml_staging_replicas(root);
    let run = |threads: Option<&str>, format: &str| {
        let mut cmd = assert_cmd::Command::cargo_bin("kcc").unwrap();
        cmd.arg("--project")
            .arg(root)
            .args(["check", "--format", format])
            .env("NO_COLOR", "1")
            .env_remove("RAYON_NUM_THREADS");
        if let Some(n) = threads {
            cmd.env("RAYON_NUM_THREADS", n);
        }
        let out = cmd.output().unwrap();
        assert_exit(&out, 1);
        out.stdout
    };
    for format in ["json", "text"] {
        let one = run(Some("1"), format);
        assert_eq!(one, run(None, format), "{format}");
        assert_eq!(one, run(Some("4"), format), "{format}");
    }
    // Both causes, each once, in kcc.yaml order of their first cluster; the changed
    // replicas are in a release that no longer renders, so they are not drift.
    let (_, diagnostics) = check_json(root);
    let rules: Vec<&str> = diagnostics
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["values/schema", "template/undefined"],
        "{diagnostics:#?}"
    );
}
