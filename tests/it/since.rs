//! `kcc check --since REV` and `kcc affected PATH...`: a check of what a change feeds says
//! exactly what a full check says of those clusters, after each kind of edit.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::common::*;

/// A copy of the 2026 fleet, committed in a fresh git repository.
fn committed_fleet() -> tempfile::TempDir {
    let dir = copy_project(&fleet_2026());
    commit_all(dir.path());
    dir
}

/// The clusters of the fleet at `dir`, in kcc.yaml order, and its number of releases: every
/// pair kcc.yaml feeds (`kcc affected kcc.yaml`).
fn fleet_shape(dir: &Path) -> (Vec<String>, usize) {
    let out = kcc_in(dir, &["affected", "kcc.yaml", "--format", "json"]);
    assert_exit(&out, 0);
    let mut clusters: Vec<String> = Vec::new();
    let mut releases = BTreeSet::new();
    for row in json_lines(&out) {
        let cluster = row["cluster"].as_str().unwrap().to_string();
        if !clusters.contains(&cluster) {
            clusters.push(cluster);
        }
        releases.insert(row["release"].as_str().unwrap().to_string());
    }
    (clusters, releases.len())
}

/// A diagnostic without the notes that depend on which clusters were checked: the clusters
/// it was seen in (`in 9 clusters: ...`, `in cluster eqiad`), which its `clusters` list
/// says and is compared instead, and the line of the rendered output, which names the
/// clusters where several render the object at different lines.
fn without_seen_note(mut d: Value) -> Value {
    if let Some(notes) = d.get_mut("notes").and_then(Value::as_array_mut) {
        notes.retain(|n| {
            let n = n.as_str().unwrap_or_default();
            let counted = n
                .strip_prefix("in ")
                .and_then(|rest| rest.split_once(" clusters: "))
                .is_some_and(|(count, _)| count.parse::<usize>().is_ok());
            let rendered_line = n.starts_with("line") && n.contains(" of the rendered output");
            !(counted || rendered_line || n.starts_with("in cluster "))
        });
    }
    d
}

/// A full check's diagnostics as a check of only `clusters` (of the fleet's `all`) reports
/// them: each one's cluster list cut to those clusters, and dropped when none is left.
/// Fleet-wide ones (no cluster) stay, but for those at a file under `values/<cluster>/` or
/// `golden/<cluster>/` of a cluster not checked: that file feeds only its cluster.
fn restricted(all: &[String], full: &[Value], clusters: &BTreeSet<&str>) -> Vec<String> {
    let not_checked = |file: &str| {
        file.strip_prefix("values/")
            .or_else(|| file.strip_prefix("golden/"))
            .and_then(|f| f.split_once('/'))
            .is_some_and(|(cluster, _)| {
                !clusters.contains(cluster) && all.iter().any(|c| c == cluster)
            })
    };
    let mut out: Vec<String> = full
        .iter()
        .filter_map(|d| {
            let mut d = d.clone();
            let file = d["file"].as_str().unwrap_or_default().to_string();
            match d.get_mut("clusters").and_then(Value::as_array_mut) {
                Some(list) if !list.is_empty() => {
                    list.retain(|c| clusters.contains(c["name"].as_str().unwrap()));
                    if list.is_empty() {
                        return None;
                    }
                }
                _ if not_checked(&file) => return None,
                _ => {}
            }
            Some(without_seen_note(d).to_string())
        })
        .collect();
    out.sort();
    out
}

/// Checks the working tree `--since HEAD` and in full; asserts that the first checks
/// exactly `clusters` and says what the second says of them. Returns the --since
/// diagnostics.
#[track_caller]
fn assert_since_is_full_check(dir: &Path, clusters: &[&str]) -> Vec<Value> {
    let since = kcc(dir, &["check", "--since", "HEAD", "--format", "json"]);
    let full = kcc(dir, &["check", "--format", "json"]);
    assert!(
        since.status.code() == Some(0) || since.status.code() == Some(1),
        "{}",
        stderr(&since)
    );
    let wanted: BTreeSet<&str> = clusters.iter().copied().collect();
    let mut got: Vec<String> = json_lines(&since)
        .into_iter()
        .map(|d| without_seen_note(d).to_string())
        .collect();
    got.sort();
    let (all, releases) = fleet_shape(dir);
    assert_eq!(got, restricted(&all, &json_lines(&full), &wanted));
    let text = stdout(&kcc(dir, &["check", "--since", "HEAD"]));
    let summary = text.lines().last().unwrap_or_default().to_string();
    assert!(
        summary.contains(&format!(
            "{} of {} clusters, {} of {} cluster × release pairs skipped as unchanged since HEAD",
            clusters.len(),
            all.len(),
            (all.len() - clusters.len()) * releases,
            all.len() * releases,
        )),
        "{summary}"
    );
    json_lines(&since)
}

fn rules(diagnostics: &[Value]) -> BTreeSet<String> {
    diagnostics
        .iter()
        .map(|d| d["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn nothing_changed_checks_no_cluster() {
    let dir = committed_fleet();
    let out = kcc(dir.path(), &["check", "--since", "HEAD"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out)
            .contains("kcc check: 0 of 11 clusters, 88 of 88 cluster × release pairs skipped"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_cluster_release_values_edit_checks_its_cluster() {
    let dir = committed_fleet();
    edit_file(
        &dir.path().join("values/eqiad/coredns-values.yaml"),
        "replicaCount: 12",
        "replicaCount: 13",
    );
    let found = assert_since_is_full_check(dir.path(), &["eqiad"]);
    assert!(rules(&found).contains("golden/drift"), "{found:?}");
}

#[test]
fn an_untracked_values_file_counts_as_a_change() {
    let dir = committed_fleet();
    write(
        &dir.path().join("values/codfw/namespaces-values.yaml"),
        "stray: 1\n",
    );
    assert_since_is_full_check(dir.path(), &["codfw"]);
}

#[test]
fn a_deleted_values_file_checks_its_cluster() {
    let dir = committed_fleet();
    std::fs::remove_file(dir.path().join("values/eqiad/coredns-values.yaml")).unwrap();
    let found = assert_since_is_full_check(dir.path(), &["eqiad"]);
    assert!(!found.is_empty());
}

#[test]
fn a_group_values_edit_checks_the_group() {
    let dir = committed_fleet();
    let file = dir.path().join("values/aux-k8s.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    write(&file, &format!("{text}\nauxNote: 1\n"));
    assert_since_is_full_check(dir.path(), &["aux-k8s-eqiad", "aux-k8s-codfw"]);
}

#[test]
fn a_chart_template_or_default_edit_checks_its_releases() {
    let dir = committed_fleet();
    edit_file(
        &dir.path().join("charts/coredns/values.yaml"),
        "replicaCount: 1",
        "replicaCount: 2",
    );
    let all = [
        "eqiad",
        "codfw",
        "staging-eqiad",
        "staging-codfw",
        "ml-serve-eqiad",
        "ml-serve-codfw",
        "ml-staging-codfw",
        "dse-k8s-eqiad",
        "dse-k8s-codfw",
        "aux-k8s-eqiad",
        "aux-k8s-codfw",
    ];
    assert_since_is_full_check(dir.path(), &all);
    commit_all_again(dir.path());
    let template = dir.path().join("charts/coredns/templates/service.yaml");
    let text = std::fs::read_to_string(&template).unwrap();
    write(
        &template,
        &text.replacen("metadata:", "metadata:\n  labels: {edited: \"yes\"}", 1),
    );
    let found = assert_since_is_full_check(dir.path(), &all);
    assert!(!found.is_empty());
}

/// Commits the working tree on top of the repository made by `commit_all`.
fn commit_all_again(dir: &Path) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "next"]);
}

#[test]
fn a_kcc_yaml_edit_of_one_cluster_checks_that_cluster() {
    let dir = committed_fleet();
    let kcc_yaml = dir.path().join("kcc.yaml");
    let text = std::fs::read_to_string(&kcc_yaml).unwrap();
    // aux-k8s-codfw's entry: its toggles lose install_kube_state_metrics.
    let entry = text.find("  - name: aux-k8s-codfw").unwrap();
    let (head, tail) = text.split_at(entry);
    let tail = tail.replacen(", install_kube_state_metrics", "", 1);
    write(
        &kcc_yaml,
        &format!("# a comment changes nothing\n{head}{tail}"),
    );
    assert_since_is_full_check(dir.path(), &["aux-k8s-codfw"]);
    // A release's entry concerns every cluster.
    commit_all_again(dir.path());
    edit_file(
        &kcc_yaml,
        "  - name: coredns\n",
        "  - name: coredns\n    # moved\n",
    );
    let out = stdout(&kcc(dir.path(), &["check", "--since", "HEAD"]));
    assert!(
        out.contains("0 of 11 clusters"),
        "a comment is no change: {out}"
    );
    let text = std::fs::read_to_string(&kcc_yaml).unwrap();
    write(
        &kcc_yaml,
        &text.replacen("namespace: kube-system", "namespace: kube-system2", 1),
    );
    let out = stdout(&kcc(dir.path(), &["check", "--since", "HEAD"]));
    assert!(out.contains("11 of 11 clusters, 0 of 88"), "{out}");
}

#[test]
fn a_private_overlay_edit_checks_its_pairs() {
    let dir = committed_fleet();
    let file = dir
        .path()
        .join("fixtures/private/dse-k8s-codfw/cfssl-issuer-values.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    write(&file, &format!("{text}\n# edited\n"));
    assert_since_is_full_check(dir.path(), &["dse-k8s-codfw"]);
}

#[test]
fn a_golden_edit_is_checked() {
    let dir = committed_fleet();
    let file = dir.path().join("golden/codfw/coredns.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    write(&file, &text.replacen("kind: ", "kind:  ", 1));
    let found = assert_since_is_full_check(dir.path(), &["codfw"]);
    assert!(rules(&found).contains("golden/drift"), "{found:?}");
}

#[test]
fn a_change_through_a_link_checks_the_link_s_cluster() {
    let dir = copy_project(&fleet_2026());
    // eqiad's coredns values become a link to a shared file.
    let shared = dir.path().join("values/shared-coredns.yaml");
    std::fs::rename(dir.path().join("values/eqiad/coredns-values.yaml"), &shared).unwrap();
    std::os::unix::fs::symlink(
        "../shared-coredns.yaml",
        dir.path().join("values/eqiad/coredns-values.yaml"),
    )
    .unwrap();
    commit_all(dir.path());
    edit_file(&shared, "replicaCount: 12", "replicaCount: 13");
    let found = assert_since_is_full_check(dir.path(), &["eqiad"]);
    assert!(rules(&found).contains("golden/drift"), "{found:?}");
}

#[test]
fn a_bad_revision_is_a_usage_error() {
    let dir = committed_fleet();
    for rev in ["no-such-rev", "--help", ""] {
        let out = kcc(dir.path(), &["check", &format!("--since={rev}")]);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("unknown git revision"),
            "{}",
            stderr(&out)
        );
    }
    // Not a git repository at all.
    let bare = copy_project(&fleet_2026());
    let out = kcc(bare.path(), &["check", "--since", "HEAD"]);
    assert_exit(&out, 2);
}

/// `kcc args...` run in `dir` (where `kcc affected` reads its relative paths from).
fn kcc_in(dir: &Path, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("kcc")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `kcc affected` rows as (cluster, release, role, use), for one path.
fn affected(dir: &Path, path: &str) -> (i32, Vec<(String, String, String, String)>) {
    let out = kcc_in(dir, &["affected", "--format", "json", path]);
    let rows = json_lines(&out)
        .iter()
        .map(|r| {
            assert_eq!(r["path"], path);
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("cluster"), s("release"), s("role"), s("use"))
        })
        .collect();
    (out.status.code().unwrap(), rows)
}

#[test]
fn affected_names_the_pairs_each_kind_of_file_feeds() {
    let fleet = fleet_2026();
    let dir = fleet.as_path();
    let one = |c: &str, r: &str, role: &str, used: &str| {
        (
            c.to_string(),
            r.to_string(),
            role.to_string(),
            used.to_string(),
        )
    };
    assert_eq!(
        affected(dir, "values/eqiad/coredns-values.yaml"),
        (0, vec![one("eqiad", "coredns", "cluster-release", "read")])
    );
    let count = |path: &str, role: &str| {
        let (code, rows) = affected(dir, path);
        assert_eq!(code, 0, "{path}");
        assert!(rows.iter().all(|r| r.2 == role), "{path}: {rows:?}");
        rows.len()
    };
    assert_eq!(count("values/common.yaml", "common"), 88);
    assert_eq!(count("values/common-bgp.yaml", "release-extra"), 11);
    assert_eq!(count("values/main.yaml", "group"), 4 * 8);
    assert_eq!(count("values/eqiad/values.yaml", "cluster"), 8);
    assert_eq!(count("kcc.yaml", "project"), 88);
    assert_eq!(
        count(
            "charts/calico/0.4.0/templates/bgpconfiguration.yaml",
            "chart"
        ),
        11
    );
    assert_eq!(count("charts/coredns/values.yaml", "chart"), 11);
    assert_eq!(
        count("fixtures/private/cfssl-issuer-values.yaml", "private"),
        11
    );
    assert_eq!(
        count(
            "fixtures/private/dse-k8s-codfw/cfssl-issuer-values.yaml",
            "private"
        ),
        1
    );
    assert_eq!(count("golden/eqiad/coredns.yaml", "golden"), 1);
    assert_eq!(count("golden/eqiad/helmfile.yaml", "golden"), 8);
    // Not an input of any pair: exit 1, as grep.
    let (code, rows) = affected(dir, "README.md");
    assert_eq!((code, rows.len()), (1, 0));
}

#[test]
fn affected_tells_read_from_merged() {
    let dir = copy_project(&fleet_2026());
    // A key no template of the chart names: only merged. (Charts that pass `values`
    // whole to a macro, as namespaces and coredns do, read every key.)
    write(
        &dir.path()
            .join("values/eqiad/validating-admission-policies-values.yaml"),
        "noTemplateReadsThis:\n  atAll: 1\n",
    );
    assert_eq!(
        affected(
            dir.path(),
            "values/eqiad/validating-admission-policies-values.yaml"
        )
        .1[0]
            .3,
        "merged"
    );
    // A nested key under a path the coredns templates read.
    write(
        &dir.path().join("values/eqiad/coredns-values.yaml"),
        "resources:\n  limits:\n    memory: 1Gi\n",
    );
    assert_eq!(
        affected(dir.path(), "values/eqiad/coredns-values.yaml").1[0].3,
        "read"
    );
    // Text: one awk-able word per column, a header first.
    let out = kcc_in(
        dir.path(),
        &["affected", "values/eqiad/coredns-values.yaml"],
    );
    let lines: Vec<Vec<String>> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(lines[0], ["PATH", "CLUSTER", "RELEASE", "ROLE", "USE"]);
    assert_eq!(
        lines[1],
        [
            "values/eqiad/coredns-values.yaml",
            "eqiad",
            "coredns",
            "cluster-release",
            "read"
        ]
    );
}

#[test]
fn a_file_of_a_cluster_not_checked_is_judged_with_that_cluster() {
    let dir = committed_fleet();
    let codfw = dir.path().join("values/codfw/coredns-values.yaml");
    let text = std::fs::read_to_string(&codfw).unwrap();
    write(&codfw, &format!("{text}\nlegacyFlag: yes\n"));
    commit_all_again(dir.path());
    let at_codfw = |found: &[Value]| -> BTreeSet<String> {
        found
            .iter()
            .filter(|d| d["file"] == "values/codfw/coredns-values.yaml")
            .map(|d| d["rule"].as_str().unwrap().to_string())
            .collect()
    };
    let both = BTreeSet::from([
        "values/unknown-key".to_string(),
        "yaml/ambiguous".to_string(),
    ]);
    // A full check judges codfw's file; a check of eqiad's change does not.
    assert_eq!(
        at_codfw(&json_lines(&kcc(
            dir.path(),
            &["check", "--format", "json"]
        ))),
        both
    );
    edit_file(
        &dir.path().join("values/eqiad/coredns-values.yaml"),
        "replicaCount: 12",
        "replicaCount: 13",
    );
    let found = assert_since_is_full_check(dir.path(), &["eqiad"]);
    assert!(at_codfw(&found).is_empty(), "{found:?}");
    // Once codfw changes too, its file is judged again.
    write(&codfw, &format!("{text}\nlegacyFlag: yes\nreplicas: 2\n"));
    let found = assert_since_is_full_check(dir.path(), &["codfw", "eqiad"]);
    assert!(at_codfw(&found).is_superset(&both), "{found:?}");
}

/// Every fixture fleet: an edit of one cluster's values (a new key, a YAML 1.1 boolean) is
/// checked as a full check checks it, whatever the fleet's layout (IPv6 only, chart
/// versions side by side, no golden/).
#[test]
fn a_cluster_edit_is_checked_as_a_full_check_on_every_fixture_fleet() {
    for name in [
        "admin_ng-2023-07",
        "admin_ng-2024-04",
        "demo",
        "net",
        "reads",
        "versions",
    ] {
        let dir = copy_project(&fixture(name));
        commit_all(dir.path());
        let (clusters, _) = fleet_shape(dir.path());
        let cluster = clusters.last().unwrap().clone();
        let file = dir.path().join(format!("values/{cluster}/values.yaml"));
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // A file that holds only `{}` takes no block key after it.
        let text = match text.lines().any(|l| l.trim() == "{}") {
            true => String::new(),
            false => text,
        };
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        write(&file, &format!("{text}\nsinceProbe: yes\n"));
        let found = assert_since_is_full_check(dir.path(), &[&cluster]);
        assert!(
            found.iter().any(|d| d["rule"] == "yaml/ambiguous"),
            "{name}: {found:?}"
        );
    }
}
