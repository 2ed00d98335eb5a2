//! `kcc diff`: object-level diffs against golden/ and against a git revision, in every
//! format, never printing a secret value.

mod common;

use std::path::Path;

use common::*;

const FORMATS: [&str; 4] = ["text", "json", "markdown", "gerrit"];

/// Two values changes: eqiad's CoreDNS replicas and its calico AS number.
fn edit_values(project: &Path) {
    edit_file(
        &project.join("values/eqiad/coredns-values.yaml"),
        "replicaCount: 4",
        "replicaCount: 5",
    );
    // An AS no other cluster has: the edited fleet stays valid, so `kcc update` writes it.
    edit_file(
        &project.join("values/eqiad/calico-values.yaml"),
        "asNumber: 64601",
        "asNumber: 64611",
    );
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// (status, kind, name, [field paths]) of every object in a `--format json` report.
fn objects(report: &serde_json::Value) -> Vec<(String, String, String, String, Vec<String>)> {
    let mut out = Vec::new();
    for file in report["files"].as_array().unwrap() {
        for o in file["objects"].as_array().unwrap() {
            let fields = o["fields"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .map(|f| f["path"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            out.push((
                file["path"].as_str().unwrap().to_string(),
                o["status"].as_str().unwrap().to_string(),
                o["object"]["kind"].as_str().unwrap().to_string(),
                o["object"]["name"].as_str().unwrap().to_string(),
                fields,
            ));
        }
    }
    out
}

fn no_escapes(text: &str) {
    assert!(!text.contains('\x1b'), "ESC in output:\n{text}");
}

#[test]
fn diff_base_head_reports_exactly_the_changed_objects_in_every_format() {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    commit_all(p);
    edit_values(p);
    let status_before = git(p, &["status", "--porcelain"]);

    let out = kcc(p, &["diff", "--base", "HEAD"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    no_escapes(&text);
    assert!(
        text.contains("~ Deployment kube-system/coredns  (line "),
        "{text}"
    );
    assert!(text.contains("      ~ spec.replicas\n"), "{text}");
    assert!(text.contains("      ~ spec.asNumber\n"), "{text}");
    assert!(text.ends_with(
        "kcc diff (HEAD → working tree): 2 files differ; objects: 2 changed, 0 added, 0 removed\n"
    ));

    let out = kcc(p, &["diff", "--base", "HEAD", "--format", "json"]);
    assert_exit(&out, 1);
    let report = json(&stdout(&out));
    assert_eq!(report["old"], "HEAD");
    assert_eq!(report["new"], "working tree");
    assert_eq!(report["differs"], true);
    assert_eq!(
        report["counts"],
        json(r#"{"files": 2, "added": 0, "removed": 0, "changed": 2}"#)
    );
    let s = |x: &str| x.to_string();
    assert_eq!(
        objects(&report),
        [
            (
                s("golden/eqiad/calico.yaml"),
                s("changed"),
                s("BGPConfiguration"),
                s("default"),
                vec![s("spec.asNumber")]
            ),
            (
                s("golden/eqiad/coredns.yaml"),
                s("changed"),
                s("Deployment"),
                s("coredns"),
                vec![s("spec.replicas")]
            ),
        ]
    );
    assert_eq!(report["files"][1]["cluster"], "eqiad");
    assert_eq!(report["files"][1]["release"], "coredns");

    let out = kcc(p, &["diff", "--base", "HEAD", "--format", "markdown"]);
    assert_exit(&out, 1);
    let md = stdout(&out);
    no_escapes(&md);
    assert!(
        md.contains("### `golden/eqiad/coredns.yaml` (changed)"),
        "{md}"
    );
    assert!(
        md.contains("| changed | `Deployment kube-system/coredns` | `spec.replicas` |"),
        "{md}"
    );
    assert!(md.contains("-  replicas: 4\n+  replicas: 5\n"), "{md}");

    let out = kcc(p, &["diff", "--base", "HEAD", "--format", "gerrit"]);
    assert_exit(&out, 1);
    let review = json(&stdout(&out));
    assert!(
        review["message"]
            .as_str()
            .unwrap()
            .contains("objects: 2 changed"),
        "{review}"
    );
    let comments = review["comments"].as_object().unwrap();
    let paths: Vec<&str> = comments.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        ["golden/eqiad/calico.yaml", "golden/eqiad/coredns.yaml"]
    );

    // The working tree is as it was: kcc diff touched neither the files nor the index.
    assert_eq!(git(p, &["status", "--porcelain"]), status_before);

    // Each comment's line is where the object's document starts in the NEW golden file.
    assert_exit(&kcc(p, &["update"]), 0);
    for (path, kind) in [
        ("golden/eqiad/coredns.yaml", "kind: Deployment"),
        ("golden/eqiad/calico.yaml", "kind: BGPConfiguration"),
    ] {
        let list = comments[path].as_array().unwrap();
        assert_eq!(list.len(), 1, "{path}: {list:?}");
        let line = list[0]["line"].as_u64().unwrap() as usize;
        let golden = std::fs::read_to_string(p.join(path)).unwrap();
        let lines: Vec<&str> = golden.lines().collect();
        assert_eq!(lines[line - 1], "---", "{path}:{line}");
        let doc: Vec<&str> = lines[line..]
            .iter()
            .take_while(|l| **l != "---")
            .copied()
            .collect();
        assert!(doc.contains(&kind), "{path}:{line}: {doc:?}");
    }
    // After `kcc update`, the render is golden/.
    assert_exit(&kcc(p, &["diff"]), 0);
}

#[test]
fn diff_base_head_without_changes_exits_0() {
    let dir = copy_project(&fleet_2023());
    commit_all(dir.path());
    for format in FORMATS {
        let out = kcc(dir.path(), &["diff", "--base", "HEAD", "--format", format]);
        assert_exit(&out, 0);
        no_escapes(&stdout(&out));
    }
    let review = json(&stdout(&kcc(
        dir.path(),
        &["diff", "--base", "HEAD", "--format", "gerrit"],
    )));
    assert_eq!(review["comments"], json("{}"));
}

#[test]
fn diff_without_base_shows_the_object_a_values_change_touches() {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    let out = kcc(p, &["diff"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("no differences"), "{}", stdout(&out));

    edit_file(
        &p.join("values/eqiad/coredns-values.yaml"),
        "replicaCount: 4",
        "replicaCount: 5",
    );
    let out = kcc(p, &["diff"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    no_escapes(&text);
    assert!(
        text.contains("~ golden/eqiad/coredns.yaml (changed)"),
        "{text}"
    );
    assert!(text.contains("~ Deployment kube-system/coredns"), "{text}");
    assert!(text.contains("~ spec.replicas"), "{text}");
    assert!(
        text.contains("-  replicas: 4\n    +  replicas: 5\n"),
        "{text}"
    );
    assert!(
        text.contains("(golden/ → render): 1 file differs; objects: 1 changed, 0 added, 0 removed"),
        "{text}"
    );
}

#[test]
fn diff_never_prints_a_secret_value() {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    commit_all(p);
    edit_file(
        &p.join("fixtures/private/cfssl-issuer-values.yaml"),
        "key: fixture-secret-key",
        "key: brand-new-secret-value",
    );
    let mut report = None;
    for base in [&[][..], &["--base", "HEAD"][..]] {
        for format in FORMATS {
            let mut args = vec!["diff", "--format", format];
            args.extend_from_slice(base);
            let out = kcc(p, &args);
            assert_exit(&out, 1);
            if format == "json" {
                report = Some(json(&stdout(&out)));
            }
            let all = stdout(&out) + &stderr(&out);
            for secret in ["fixture-secret-key", "brand-new-secret-value"] {
                assert!(!all.contains(secret), "{secret} in {args:?}:\n{all}");
            }
            // The Secret still shows as changed, by digest.
            assert!(all.contains("issuer-discovery-authkey"), "{args:?}:\n{all}");
            assert!(all.contains("data.key"), "{args:?}:\n{all}");
            assert!(all.contains("sha256:"), "{args:?}:\n{all}");
        }
    }
    let objects = objects(&report.unwrap());
    assert!(!objects.is_empty());
    for (path, status, kind, name, fields) in objects {
        assert!(path.ends_with("/cfssl-issuer.yaml"), "{path}");
        assert_eq!(
            (status.as_str(), kind.as_str(), name.as_str()),
            ("changed", "Secret", "issuer-discovery-authkey")
        );
        assert_eq!(fields, ["data.key"]);
    }
}

#[test]
fn diff_base_works_when_the_project_is_a_subdirectory_of_the_repo() {
    let repo = tempfile::tempdir().unwrap();
    let p = repo.path().join("admin_ng");
    copy_dir(&fleet_2023(), &p);
    write(&repo.path().join("README"), "not the project\n");
    commit_all(repo.path());
    edit_values(&p);
    let out = kcc(&p, &["diff", "--base", "HEAD", "--format", "gerrit"]);
    assert_exit(&out, 1);
    let review = json(&stdout(&out));
    let paths: Vec<&String> = review["comments"].as_object().unwrap().keys().collect();
    // Gerrit paths are relative to the repository.
    assert_eq!(
        paths,
        [
            "admin_ng/golden/eqiad/calico.yaml",
            "admin_ng/golden/eqiad/coredns.yaml"
        ]
    );
}

#[test]
fn diff_base_fails_with_exit_2_outside_git_or_for_an_unknown_revision() {
    let dir = copy_project(&fleet_2023());
    let out = kcc(dir.path(), &["diff", "--base", "HEAD"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("not in a git repository"),
        "{}",
        stderr(&out)
    );

    commit_all(dir.path());
    for rev in ["no-such-branch", "-p"] {
        let out = kcc(dir.path(), &["diff", &format!("--base={rev}")]);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("unknown git revision"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn diff_base_reports_a_release_that_is_no_longer_rendered() {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    commit_all(p);
    // Removing cert-manager from eqiad's toggles uninstalls cfssl-issuer there.
    edit_file(
        &p.join("kcc.yaml"),
        "name: eqiad\n    group: main\n    kubernetesVersion: \"1.23\"\n    toggles: [istio_gateways, install_cert_manager, namespace_certificates, install_flink_operator]",
        "name: eqiad\n    group: main\n    kubernetesVersion: \"1.23\"\n    toggles: [istio_gateways, namespace_certificates, install_flink_operator]",
    );
    let out = kcc(p, &["diff", "--base", "HEAD", "--format", "gerrit"]);
    assert_exit(&out, 1);
    let review = json(&stdout(&out));
    let comments = review["comments"].as_object().unwrap();
    let removed = comments["golden/eqiad/cfssl-issuer.yaml"]
        .as_array()
        .unwrap();
    // A removed file gets file-level comments: no line.
    assert!(
        removed.iter().all(|c| c.get("line").is_none()),
        "{removed:?}"
    );
    assert!(
        comments.contains_key("golden/eqiad/helmfile.yaml"),
        "{review}"
    );
    let text = stdout(&kcc(p, &["diff", "--base", "HEAD"]));
    assert!(
        text.contains("- golden/eqiad/cfssl-issuer.yaml (removed)"),
        "{text}"
    );
    assert!(text.contains("--- a/golden/eqiad/helmfile.yaml"), "{text}");
}

/// The formats on the small demo project: a snapshot per format of a two-field change.
#[test]
fn diff_formats_on_the_demo_project() {
    let dir = copy_project(&fixture("demo"));
    let p = dir.path();
    commit_all(p);
    edit_file(
        &p.join("values/alpha/web-values.yaml"),
        "replicas: 3",
        "replicas: 4\nlabels:\n  tier: back",
    );
    for format in FORMATS {
        let out = kcc(p, &["diff", "--base", "HEAD", "--format", format]);
        assert_exit(&out, 1);
        insta::assert_snapshot!(format!("demo_{format}"), stdout(&out));
    }
}
