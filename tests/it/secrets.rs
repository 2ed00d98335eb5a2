//! Secrets as a taint: a sentinel private value, and its base64, never appear in anything
//! kcc prints or writes, except the Secret's data in a deploy directory (`render --out`).

use std::path::Path;

use crate::common::*;
use base64::Engine as _;

const SENTINEL: &str = "kcc-sentinel-9f8e7d6c5b";
const PRIVATE: &str = "fixtures/private/cfssl-issuer-values.yaml";
const SECRET_TEMPLATE: &str = "charts/cfssl-issuer/templates/secret.yaml";

fn encoded() -> String {
    base64::engine::general_purpose::STANDARD.encode(SENTINEL)
}

/// Everything a run printed, to search for the sentinel.
fn printed(out: &std::process::Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

fn assert_no_sentinel(what: &str, text: &str) {
    assert!(
        !text.contains(SENTINEL),
        "{what} prints the secret:\n{text}"
    );
    assert!(
        !text.contains(&encoded()),
        "{what} prints the secret's base64:\n{text}"
    );
}

/// Every file under `dir` that holds the sentinel or its base64.
fn files_with_sentinel(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        if text.contains(SENTINEL) || text.contains(&encoded()) {
            found.push(entry.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    found.sort();
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The 2023 fixture fleet with the sentinel as its private value, committed to git (for
/// `diff --base`), and with golden/ updated to it.
fn fleet_with_sentinel() -> tempfile::TempDir {
    let project = copy_project(&fleet_2023());
    edit_file(
        &project.path().join(PRIVATE),
        "key: fixture-secret-key",
        &format!("key: {SENTINEL}"),
    );
    assert_exit(&kcc(project.path(), &["update"]), 0);
    commit_all(project.path());
    project
}

#[test]
fn no_output_prints_the_secret() {
    let project = fleet_with_sentinel();
    let p = project.path();
    // A change that touches the Secret: its digest shows, its value doesn't.
    edit_file(
        &p.join(PRIVATE),
        &format!("key: {SENTINEL}"),
        &format!("key: {SENTINEL}-rotated"),
    );
    let mut runs: Vec<(String, Vec<&str>)> = Vec::new();
    for format in ["text", "json"] {
        runs.push((format!("check {format}"), vec!["check", "--format", format]));
    }
    for format in ["text", "json", "markdown", "gerrit"] {
        runs.push((format!("diff {format}"), vec!["diff", "--format", format]));
        runs.push((
            format!("diff --base {format}"),
            vec!["diff", "--base", "HEAD", "--format", format],
        ));
    }
    runs.push(("render".into(), vec!["render", "-c", "eqiad"]));
    runs.push(("list".into(), vec!["list"]));
    let path = "issuers.discovery.authSecret.key";
    runs.push((
        "explain".into(),
        vec!["explain", "eqiad", "cfssl-issuer", path],
    ));
    let parent = "issuers.discovery";
    runs.push((
        "explain parent".into(),
        vec!["explain", "eqiad", "cfssl-issuer", parent],
    ));
    for (what, args) in &runs {
        let out = kcc(p, args);
        assert_no_sentinel(what, &printed(&out));
    }
    let explained = stdout(&kcc(p, &["explain", "eqiad", "cfssl-issuer", path]));
    assert!(explained.contains("(private: sha256:"), "{explained}");

    // The diff shows that the Secret changed, by digest.
    let diff = stdout(&kcc(p, &["diff"]));
    assert!(diff.contains("issuer-discovery-authkey"), "{diff}");

    // golden/ holds digests only, before and after an update.
    assert_exit(&kcc(p, &["update"]), 0);
    assert_eq!(files_with_sentinel(&p.join("golden")), Vec::<String>::new());
}

#[test]
fn a_deploy_directory_holds_the_secret_only_in_its_secret() {
    let project = fleet_with_sentinel();
    let out_dir = tempfile::tempdir().unwrap();
    let out = kcc(
        project.path(),
        &[
            "render",
            "-c",
            "eqiad",
            "--fixture-secrets",
            "--out",
            out_dir.path().to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    assert_no_sentinel("render --out", &printed(&out));
    // The manifest and the verbatim chart's copy of it: the Secret's data, base64.
    assert_eq!(
        files_with_sentinel(out_dir.path()),
        ["cfssl-issuer.yaml", "cfssl-issuer/manifest.yaml"]
    );
    let manifest = std::fs::read_to_string(out_dir.path().join("cfssl-issuer.yaml")).unwrap();
    assert!(
        manifest.contains(&format!("key: {}", encoded())),
        "{manifest}"
    );
    assert!(!manifest.contains(SENTINEL));
}

/// A template that writes the private value into a ConfigMap, as is or base64-encoded.
fn leak(project: &Path, expression: &str) -> String {
    let template = "charts/cfssl-issuer/templates/leak.yaml";
    write(
        &project.join(template),
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\n  namespace: cert-manager\ndata:\n  copied: {{{{ {expression} | quote }}}}\n"
        ),
    );
    template.to_string()
}

#[test]
fn a_private_value_written_outside_a_secret_is_refused_at_the_template_line() {
    for expression in [
        "values.issuers.discovery.authSecret.key",
        "values.issuers.discovery.authSecret.key | b64encode",
        "'prefix-' ~ values.issuers.discovery.authSecret.key",
    ] {
        let project = fleet_with_sentinel();
        let p = project.path();
        let template = leak(p, expression);
        let golden_before = files_with_sentinel(&p.join("golden"));

        let out = kcc(p, &["check"]);
        assert_exit(&out, 1);
        let text = printed(&out);
        assert_no_sentinel("check", &text);
        assert!(text.contains("error[secret/flow]"), "{expression}: {text}");
        assert!(text.contains(&format!("{template}:7:")), "{text}");
        assert!(
            text.contains("ConfigMap cert-manager/leak writes the private value `issuers.discovery.authSecret.key` into `.data.copied`"),
            "{text}"
        );
        let (out, json) = check_json(p);
        assert_exit(&out, 1);
        assert_no_sentinel("check json", &printed(&out));
        assert!(json.iter().any(|d| d["rule"] == "secret/flow"));

        for args in [
            vec!["update"],
            vec!["diff"],
            vec!["diff", "--base", "HEAD", "--format", "gerrit"],
            vec!["render", "-c", "eqiad"],
        ] {
            let out = kcc(p, &args);
            assert_ne!(out.status.code(), Some(0), "{args:?}");
            assert_no_sentinel(&format!("{args:?}"), &printed(&out));
        }
        assert_eq!(files_with_sentinel(&p.join("golden")), golden_before);

        let out_dir = tempfile::tempdir().unwrap();
        let out = kcc(
            p,
            &[
                "render",
                "-c",
                "eqiad",
                "--fixture-secrets",
                "--out",
                out_dir.path().to_str().unwrap(),
            ],
        );
        assert_exit(&out, 1);
        assert_eq!(
            std::fs::read_dir(out_dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }
}

#[test]
fn template_errors_mask_the_secret() {
    let project = fleet_with_sentinel();
    let p = project.path();
    // `required` with the value as its message; a filter that fails on the value.
    for (from, to) in [
        (
            "key: {{ issuer.authSecret.key | required(",
            "key: {{ none | required(issuer.authSecret.key) | required(",
        ),
        (
            "key: {{ issuer.authSecret.key | required(",
            "key: {{ issuer.authSecret.key | int | required(",
        ),
    ] {
        let original = std::fs::read_to_string(p.join(SECRET_TEMPLATE)).unwrap();
        edit_file(&p.join(SECRET_TEMPLATE), from, to);
        for format in ["text", "json"] {
            let out = kcc(p, &["check", "--format", format]);
            assert_exit(&out, 1);
            let text = printed(&out);
            assert_no_sentinel(&format!("{to} ({format})"), &text);
            assert!(text.contains("template/"), "{text}");
        }
        write(&p.join(SECRET_TEMPLATE), &original);
    }
    // Shown masked, so the reader still sees that it was the private value.
    edit_file(
        &p.join(SECRET_TEMPLATE),
        "key: {{ issuer.authSecret.key | required(",
        "key: {{ none | required(issuer.authSecret.key) | required(",
    );
    let text = printed(&kcc(p, &["check"]));
    assert!(text.contains("(private: sha256:"), "{text}");
}

#[test]
fn a_secret_in_a_typed_field_is_refused_without_quoting_it() {
    let project = fleet_with_sentinel();
    let p = project.path();
    // A Secret whose type field gets the value: not data, so a leak, and never quoted by
    // the schema error it would also be.
    edit_file(
        &p.join(SECRET_TEMPLATE),
        "kind: Secret\n",
        "kind: Secret\ntype: {{ issuer.authSecret.key | quote }}\n",
    );
    let out = kcc(p, &["check"]);
    assert_exit(&out, 1);
    let text = printed(&out);
    assert_no_sentinel("check", &text);
    assert!(text.contains("error[secret/flow]"), "{text}");
    assert!(text.contains("into `.type`"), "{text}");
}
