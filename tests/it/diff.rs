//! `kcc diff`: object-level diffs against golden/ and against a git revision, in every
//! format, never printing a secret value.

use std::path::Path;

use crate::common::*;

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
        json(r#"{"files": 2, "added": 0, "removed": 0, "changed": 2, "renamed": 0}"#)
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
        md.contains("| cluster | files | added | removed | changed |\n|---|---:|---:|---:|---:|\n| eqiad | 2 | 0 | 0 | 2 |\n"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>~ Deployment: spec.replicas 4 → 5 (Deployment kube-system/coredns in eqiad)</summary>"),
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
    // Nothing of it is committed: no file of HEAD can take a comment.
    assert_eq!(review["comments"], json("{}"));

    // The working tree is as it was: kcc diff touched neither the files nor the index.
    assert_eq!(git(p, &["status", "--porcelain"]), status_before);

    // Committed with golden/ updated: each comment is on the changed line of the NEW
    // golden file, and the hunk headers count that file's lines.
    assert_exit(&kcc(p, &["update"]), 0);
    git(p, &["commit", "-q", "-a", "-m", "change"]);
    let out = kcc(p, &["diff", "--base", "HEAD~1", "--format", "gerrit"]);
    assert_exit(&out, 1);
    let review = json(&stdout(&out));
    assert_eq!(review["tag"], "autogenerated:kcc");
    let comments = review["comments"].as_object().unwrap();
    let paths: Vec<&str> = comments.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        ["golden/eqiad/calico.yaml", "golden/eqiad/coredns.yaml"]
    );
    for (path, changed) in [
        ("golden/eqiad/coredns.yaml", "  replicas: 5"),
        ("golden/eqiad/calico.yaml", "  asNumber: 64611"),
    ] {
        let list = comments[path].as_array().unwrap();
        assert_eq!(list.len(), 1, "{path}: {list:?}");
        let line = list[0]["line"].as_u64().unwrap() as usize;
        let golden = std::fs::read_to_string(p.join(path)).unwrap();
        let lines: Vec<&str> = golden.lines().collect();
        assert_eq!(lines[line - 1], changed, "{path}:{line}");
        let message = list[0]["message"].as_str().unwrap();
        let header = format!("@@ -{},7 +{},7 @@", line - 3, line - 3);
        assert!(message.contains(&header), "{header} not in {message}");
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
            // The Secret still shows as changed, by digest (Gerrit names it only in a
            // comment, which goes only on a golden file of the change's revision).
            if format != "gerrit" {
                assert!(all.contains("issuer-discovery-authkey"), "{args:?}:\n{all}");
            }
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
    assert_exit(&kcc(&p, &["update"]), 0);
    git(repo.path(), &["commit", "-q", "-a", "-m", "change"]);
    let out = kcc(&p, &["diff", "--base", "HEAD~1", "--format", "gerrit"]);
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

/// A release renders once when its inputs are the same on both sides: a change to any
/// input of the render still shows, whichever file it is in.
#[test]
fn diff_base_sees_a_change_in_any_input_of_a_render() {
    let edits: [(&str, &str, &str, &str); 4] = [
        (
            "charts/coredns/templates/_helpers.j2",
            r#"chart.name ~ "-" ~ chart.version"#,
            r#"chart.name ~ "_" ~ chart.version"#,
            "coredns.yaml",
        ),
        (
            "charts/coredns/Chart.yaml",
            "version: 0.3.3",
            "version: 0.3.4",
            "coredns.yaml",
        ),
        (
            "charts/coredns/values.yaml",
            "tag: 1.8.7-1",
            "tag: 1.8.7-2",
            "coredns.yaml",
        ),
        (
            "fixtures/private/cfssl-issuer-values.yaml",
            "key: fixture-secret-key",
            "key: fixture-secret-key-2",
            "cfssl-issuer.yaml",
        ),
    ];
    for (file, from, to, golden) in edits {
        let dir = copy_project(&fleet_2023());
        let p = dir.path();
        commit_all(p);
        edit_file(&p.join(file), from, to);
        let out = kcc(p, &["diff", "--base", "HEAD", "--format", "json"]);
        assert_exit(&out, 1);
        let report = json(&stdout(&out));
        let paths: Vec<&str> = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert!(!paths.is_empty(), "{file}: no difference");
        // A chart's version is recorded in each cluster's helmfile.yaml too.
        let version_bump = file.ends_with("Chart.yaml");
        assert!(
            paths
                .iter()
                .all(|path| path.ends_with(golden)
                    || (version_bump && path.ends_with("/helmfile.yaml"))),
            "{file}: {paths:?}"
        );
        // The same as the working tree's render against golden/ after an update of HEAD.
        let against_golden = kcc(p, &["diff", "--format", "json"]);
        assert_eq!(
            json(&stdout(&against_golden))["files"]
                .as_array()
                .unwrap()
                .len(),
            paths.len(),
            "{file}"
        );
    }
}

/// The revision is read from git's object store: nothing is written, so a temp dir that
/// cannot be written to (or a signal) does not matter.
#[test]
fn diff_base_reads_the_revision_without_writing_a_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    commit_all(p);
    edit_values(p);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = assert_cmd::Command::cargo_bin("kcc")
        .unwrap()
        .args(["--project", p.to_str().unwrap(), "diff", "--base", "HEAD"])
        .env("TMPDIR", tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("2 files differ; objects: 2 changed"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// Links in the revision resolve inside it; one that leads out of the project is refused
/// as in the working tree, and what it points at is never printed.
#[test]
fn diff_base_follows_links_in_the_revision_only_inside_the_project() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.yaml");
    write(&secret, "replicaCount: 7 # sentinel-outside-the-project\n");
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    let values = p.join("values/eqiad/coredns-values.yaml");
    let real = p.join("values/eqiad/coredns-values.yaml.real");
    std::fs::rename(&values, &real).unwrap();
    std::os::unix::fs::symlink("coredns-values.yaml.real", &values).unwrap();
    commit_all(p);
    // The same link on both sides: no difference, so the base read the linked file.
    let out = kcc(p, &["diff", "--base", "HEAD"]);
    assert_exit(&out, 0);

    std::fs::remove_file(&values).unwrap();
    std::os::unix::fs::symlink(&secret, &values).unwrap();
    git(p, &["commit", "-q", "-a", "-m", "link out"]);
    std::fs::remove_file(&values).unwrap();
    std::fs::copy(&real, &values).unwrap();
    let out = kcc(p, &["diff", "--base", "HEAD"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("cannot render `HEAD`"), "{err}");
    assert!(
        err.contains("HEAD:values/eqiad/coredns-values.yaml resolves to /")
            && err.contains("kcc reads nothing outside the project"),
        "{err}"
    );
    assert!(!err.contains("sentinel") && !stdout(&out).contains("sentinel"));
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
    assert_exit(&kcc(p, &["update"]), 0);
    git(p, &["commit", "-q", "-a", "-m", "no cert-manager in eqiad"]);
    let out = kcc(p, &["diff", "--base", "HEAD~1", "--format", "gerrit"]);
    assert_exit(&out, 1);
    let review = json(&stdout(&out));
    let comments = review["comments"].as_object().unwrap();
    // A removed file is not in the change's revision: it is named in the message only.
    assert!(
        !comments.contains_key("golden/eqiad/cfssl-issuer.yaml"),
        "{review}"
    );
    let message = review["message"].as_str().unwrap();
    assert!(
        message.contains("\n- \\- golden/eqiad/cfssl-issuer.yaml (removed: 10 objects)"),
        "{message}"
    );
    assert!(
        comments.contains_key("golden/eqiad/helmfile.yaml"),
        "{review}"
    );
    let text = stdout(&kcc(p, &["diff", "--base", "HEAD~1"]));
    assert!(
        text.starts_with("! hazard/cascade-delete in eqiad"),
        "{text}"
    );
    assert!(
        text.contains("- golden/eqiad/cfssl-issuer.yaml (removed: 10 objects)\n"),
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

/// One line of common.yaml changes every LimitRange of the fleet: the review stays one
/// entry, within Gerrit's limits.
#[test]
fn one_common_line_is_one_review_entry_within_gerrit_limits() {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    commit_all(p);
    edit_file(
        &p.join("values/common.yaml"),
        "    max:\n      memory: \"3Gi\"",
        "    max:\n      memory: \"4Gi\"",
    );
    let out = kcc(
        p,
        &[
            "diff",
            "--base",
            "HEAD",
            "--format",
            "gerrit",
            "--gerrit-label",
            "Verified=-1",
        ],
    );
    assert_exit(&out, 1);
    let review = json(&stdout(&out));
    let message = review["message"].as_str().unwrap();
    assert!(message.len() <= 16 * 1024, "{} bytes", message.len());
    let comments: usize = review["comments"]
        .as_object()
        .unwrap()
        .values()
        .map(|l| l.as_array().unwrap().len())
        .sum();
    assert!(comments <= 50, "{comments} comments");
    assert_eq!(review["tag"], "autogenerated:kcc");
    assert_eq!(review["labels"], json(r#"{"Verified": -1}"#));
    let entry = message
        .lines()
        .find(|l| l.contains("max.memory 3Gi → 4Gi"))
        .unwrap_or_else(|| panic!("no grouped entry in {message}"));
    let count: usize = entry
        .rsplit_once('(')
        .and_then(|(_, tail)| tail.split_once(" objects in ")?.0.parse().ok())
        .unwrap_or_else(|| panic!("{entry}"));
    assert!(count >= 100, "{entry}");

    let md = stdout(&kcc(p, &["diff", "--base", "HEAD", "--format", "markdown"]));
    assert_eq!(md.matches("max.memory 3Gi → 4Gi").count(), 1, "{md}");
    assert!(md.contains("| eqiad |"), "{md}");
    eprintln!(
        "{count} LimitRanges: gerrit message {} bytes, {comments} comments; markdown {} bytes",
        message.len(),
        md.len()
    );
}

#[test]
fn diff_ignore_hides_fields_but_still_fails_unless_asked() {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    std::fs::write(
        p.join("kcc.yaml"),
        std::fs::read_to_string(p.join("kcc.yaml")).unwrap()
            + "\ndiffIgnore:\n  - kind: LimitRange\n    path: /spec/limits/0/max/memory\n",
    )
    .unwrap();
    commit_all(p);
    edit_file(
        &p.join("values/common.yaml"),
        "    max:\n      memory: \"3Gi\"",
        "    max:\n      memory: \"4Gi\"",
    );
    let out = kcc(p, &["diff", "--base", "HEAD"]);
    assert_exit(&out, 1);
    assert_eq!(
        stdout(&out),
        "kcc diff (HEAD → working tree): no differences (187 ignored field changes not shown: diffIgnore in kcc.yaml)\n"
    );
    assert_exit(
        &kcc(p, &["diff", "--base", "HEAD", "--ignored-changes-pass"]),
        0,
    );
    // A change beside the ignored one still shows, and still fails.
    edit_file(
        &p.join("values/eqiad/coredns-values.yaml"),
        "replicaCount: 4",
        "replicaCount: 5",
    );
    let out = kcc(p, &["diff", "--base", "HEAD", "--ignored-changes-pass"]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("~ Deployment kube-system/coredns"),
        "{}",
        stdout(&out)
    );

    // A path that is not a JSON pointer is an error at its line.
    edit_file(
        &p.join("kcc.yaml"),
        "path: /spec/limits/0/max/memory",
        "path: spec.limits",
    );
    let out = kcc(p, &["check"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("diffIgnore path `spec.limits` is not a JSON pointer"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("kcc.yaml:"), "{}", stderr(&out));
}

/// Clusters are diffed in parallel: the output is the same bytes whatever the thread count.
#[test]
fn diff_output_does_not_depend_on_thread_count() {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    commit_all(p);
    edit_values(p);
    edit_file(
        &p.join("values/common.yaml"),
        "    max:\n      memory: \"3Gi\"",
        "    max:\n      memory: \"4Gi\"",
    );
    for format in FORMATS {
        let outputs: Vec<String> = ["1", "3", "8"]
            .iter()
            .map(|threads| {
                let mut cmd = assert_cmd::Command::cargo_bin("kcc").unwrap();
                cmd.arg("--project")
                    .arg(p)
                    .args(["diff", "--base", "HEAD", "--format", format])
                    .env("NO_COLOR", "1")
                    .env("RAYON_NUM_THREADS", threads);
                String::from_utf8(cmd.output().unwrap().stdout).unwrap()
            })
            .collect();
        assert!(outputs[0].len() > 100, "{format}: {}", outputs[0]);
        assert!(
            outputs.iter().all(|o| *o == outputs[0]),
            "{format} differs by thread count"
        );
    }
}
