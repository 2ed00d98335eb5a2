//! Reviews that tell the truth: list items compared by identity, markdown and Gerrit text
//! that a CommonMark renderer shows as written, Gerrit comments only where the change's
//! revision has the line, and the apply hazards (`hazard/*`) in `kcc diff` and
//! `kcc check --base`, accepted only by a commit-message trailer.

use std::path::Path;

use crate::common::*;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn diff_json(p: &Path, base: &str) -> Value {
    let out = kcc(p, &["diff", "--base", base, "--format", "json"]);
    assert_exit(&out, 1);
    json(&stdout(&out))
}

/// The fields of one object of a `--format json` report: (status, pointer).
fn fields_of(report: &Value, file: &str, name: &str) -> Vec<(String, String)> {
    let file = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == file)
        .unwrap_or_else(|| panic!("{file} not in {report:#}"));
    let object = file["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["object"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {file:#}"));
    object["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["status"].as_str().unwrap().to_string(),
                f["pointer"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const CERT_MANAGER_VIEW_RULE: &str = "      - toggle: install_cert_manager
        rules:
          - apiGroups: [cert-manager.io]
            resources: [certificates]
            verbs: [get, list, watch]
";
const ISTIO_VIEW_RULE: &str = "      - toggle: istio_gateways
        rules:
          - apiGroups: [networking.istio.io]
            resources: [gateways, virtualservices, destinationrules]
            verbs: [get, list, watch]
";

/// The 2023 fleet, committed, with `edit` applied to the rbac-rules chart's values.
fn rbac_edit(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = copy_project(&fleet_2023());
    commit_all(dir.path());
    let values = dir.path().join("charts/rbac-rules/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    write(&values, &edited);
    dir
}

#[test]
fn a_removed_middle_rule_is_one_removed_item() {
    let dir = rbac_edit(|t| t.replacen(CERT_MANAGER_VIEW_RULE, "", 1));
    let report = diff_json(dir.path(), "HEAD");
    // eqiad's view-additions: portforward, istio, cert-manager, flink: rules[2] goes.
    let fields = fields_of(&report, "golden/eqiad/rbac-rules.yaml", "view-additions");
    assert_eq!(fields, [("removed".to_string(), "/rules/2".to_string())]);
    let text = stdout(&kcc(dir.path(), &["diff", "--base", "HEAD"]));
    assert!(
        text.contains("  ~ ClusterRole view-additions  (line "),
        "{text}"
    );
    assert!(text.contains("      - rules[2]\n"), "{text}");
    assert!(!text.contains("rules[3]"), "{text}");
}

#[test]
fn a_reordering_is_a_move() {
    let both = format!("{ISTIO_VIEW_RULE}{CERT_MANAGER_VIEW_RULE}");
    let swapped = format!("{CERT_MANAGER_VIEW_RULE}{ISTIO_VIEW_RULE}");
    let dir = rbac_edit(|t| t.replacen(&both, &swapped, 1));
    let report = diff_json(dir.path(), "HEAD");
    let fields = fields_of(&report, "golden/eqiad/rbac-rules.yaml", "view-additions");
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].0, "moved");
    let md = stdout(&kcc(
        dir.path(),
        &["diff", "--base", "HEAD", "--format", "markdown"],
    ));
    assert!(md.contains("moved from rules["), "{md}");
}

#[test]
fn an_item_changed_in_place_is_compared_field_by_field() {
    let dir = rbac_edit(|t| {
        t.replacen(
            CERT_MANAGER_VIEW_RULE,
            &CERT_MANAGER_VIEW_RULE.replace("[get, list, watch]", "[get, list]"),
            1,
        )
    });
    let report = diff_json(dir.path(), "HEAD");
    let fields = fields_of(&report, "golden/eqiad/rbac-rules.yaml", "view-additions");
    assert_eq!(
        fields,
        [("removed".to_string(), "/rules/2/verbs/2".to_string())]
    );
}

/// A group says its diff is "the same in all" only when it is; otherwise it shows each.
#[test]
fn groups_hold_only_identical_changes_and_show_their_diffs() {
    let dir = rbac_edit(|t| t.replacen(CERT_MANAGER_VIEW_RULE, "", 1));
    let report = diff_json(dir.path(), "HEAD");
    for group in report["outline"]["groups"].as_array().unwrap() {
        let objects = group["objects"].as_array().unwrap().len();
        let covered: usize = group["diffs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["objects"].as_array().unwrap().len())
            .sum();
        assert_eq!(covered, objects, "{group:#}");
    }
    let md = stdout(&kcc(
        dir.path(),
        &["diff", "--base", "HEAD", "--format", "markdown"],
    ));
    // The rule sits among other rules in some clusters than in others: several diffs.
    assert!(
        md.contains("The same changes, among different lines:"),
        "{md}"
    );
    assert!(!md.contains("the same in all"), "{md}");
}

/// The visible text of CommonMark (GitHub's tables): text and code as shown, list items
/// marked `• `, HTML tags dropped and entities decoded; and the deepest list nesting.
fn visible(markdown: &str) -> (String, usize) {
    let mut out = String::new();
    let (mut depth, mut deepest) = (0, 0);
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::Html(t) | Event::InlineHtml(t) => {
                let mut in_tag = false;
                for c in t.chars() {
                    match c {
                        '<' => in_tag = true,
                        '>' => in_tag = false,
                        c if !in_tag => out.push(c),
                        _ => {}
                    }
                }
            }
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Start(Tag::List(_)) => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            Event::End(TagEnd::List(_)) => depth -= 1,
            Event::Start(Tag::Item) => out.push_str("• "),
            Event::Start(Tag::Strikethrough) => out.push_str("<STRIKE>"),
            Event::Start(Tag::Emphasis) | Event::Start(Tag::Strong) => out.push_str("<EM>"),
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::TableCell) => out.push('\n'),
            Event::End(TagEnd::TableRow | TagEnd::TableHead) => out.push('\n'),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    (out, deepest)
}

/// The demo fleet, committed, then: a label value full of markup, and its `extras` toggle
/// off (a release removed: a golden file removed).
fn demo_with_markup() -> tempfile::TempDir {
    let dir = copy_project(&fixture("demo"));
    let p = dir.path();
    commit_all(p);
    edit_file(
        &p.join("values/alpha/web-values.yaml"),
        "replicas: 3",
        "replicas: 3\nlabels:\n  tier: \"a|b <c> `d` *e* _f_ ~g~\"",
    );
    edit_file(&p.join("kcc.yaml"), "toggles: [extras]", "toggles: []");
    dir
}

const MARKUP_TITLE: &str = "~ Deployment: metadata.labels.tier front → a|b <c> `d` *e* _f_ ~g~ (Deployment apps/web in alpha)";

#[test]
fn markdown_renders_as_written_through_commonmark() {
    let dir = demo_with_markup();
    let out = kcc(
        dir.path(),
        &["diff", "--base", "HEAD", "--format", "markdown"],
    );
    assert_exit(&out, 1);
    let md = stdout(&out);
    let (text, deepest) = visible(&md);
    assert_eq!(deepest, 1, "a nested list:\n{md}");
    assert!(
        text.contains("• - golden/alpha/web-extras.yaml (removed: 3 objects)\n"),
        "{text}\n---\n{md}"
    );
    assert!(text.contains(MARKUP_TITLE), "{text}\n---\n{md}");
    assert!(text.contains("HEAD → working tree"), "{text}");
    assert!(
        !text.contains("<EM>") && !text.contains("<STRIKE>"),
        "{text}"
    );
    assert!(text.contains("alpha\n3\n0\n3\n1\n"), "the table: {text}");
}

#[test]
fn the_gerrit_message_renders_as_written_through_commonmark() {
    let dir = demo_with_markup();
    let out = kcc(
        dir.path(),
        &["diff", "--base", "HEAD", "--format", "gerrit"],
    );
    assert_exit(&out, 1);
    let review = json(&stdout(&out));
    let message = review["message"].as_str().unwrap();
    let (text, deepest) = visible(message);
    assert_eq!(deepest, 1, "a nested list:\n{message}");
    for line in [
        "kcc diff (HEAD → working tree): 3 files differ; objects: 1 changed, 0 added, 3 removed\n",
        "• alpha: 3 files, +0 -3 ~1\n",
        "• - golden/alpha/web-extras.yaml (removed: 3 objects)\n",
        &format!("• {MARKUP_TITLE}\n"),
    ] {
        assert!(
            text.contains(line),
            "{line:?} not in:\n{text}\n---\n{message}"
        );
    }
    assert!(
        !text.contains("<EM>") && !text.contains("<STRIKE>"),
        "{text}"
    );
}

/// Gerrit takes a comment only on a file the change modifies, at a line the file has: the
/// golden files of the change's revision, when they are the render.
#[test]
fn gerrit_comments_only_on_golden_files_the_revision_holds_as_rendered() {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    commit_all(p);
    edit_file(
        &p.join("values/eqiad/coredns-values.yaml"),
        "replicaCount: 4",
        "replicaCount: 5",
    );
    let review = |base: &str| {
        let out = kcc(p, &["diff", "--base", base, "--format", "gerrit"]);
        assert_exit(&out, 1);
        json(&stdout(&out))
    };
    // Not committed: the revision has none of it; everything is in the message.
    let r = review("HEAD");
    assert_eq!(r["comments"], json("{}"));
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("spec.replicas 4 → 5")
    );
    // Committed without `kcc update`: golden/ is stale, its lines are not the render's.
    git(p, &["commit", "-q", "-a", "-m", "replicas"]);
    let r = review("HEAD~1");
    assert_eq!(r["comments"], json("{}"));
    assert!(
        r["message"].as_str().unwrap().contains("run `kcc update`"),
        "{r}"
    );
    // Committed with golden/: a comment on the changed line of the file.
    assert_exit(&kcc(p, &["update"]), 0);
    git(p, &["commit", "-q", "-a", "-m", "golden"]);
    let r = review("HEAD~2");
    let comments = r["comments"].as_object().unwrap();
    let paths: Vec<&String> = comments.keys().collect();
    assert_eq!(paths, ["golden/eqiad/coredns.yaml"]);
    let golden = std::fs::read_to_string(p.join("golden/eqiad/coredns.yaml")).unwrap();
    let line = comments["golden/eqiad/coredns.yaml"][0]["line"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(golden.lines().nth(line - 1), Some("  replicas: 5"));
}

/// The 2023 fleet, committed, with CoreDNS's Deployment selector changed and golden/
/// updated (not committed).
fn coredns_selector_changed() -> tempfile::TempDir {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    commit_all(p);
    edit_file(
        &p.join("charts/coredns/templates/deployment.yaml"),
        "  selector:\n    matchLabels:\n      k8s-app: kube-dns\n",
        "  selector:\n    matchLabels:\n      k8s-app: kube-dns-v2\n",
    );
    assert_exit(&kcc(p, &["update"]), 0);
    dir
}

#[test]
fn an_immutable_selector_change_is_a_hazard_in_every_format_and_fails_check_base() {
    let dir = coredns_selector_changed();
    let p = dir.path();
    let report = diff_json(p, "HEAD");
    let hazards = report["hazards"].as_array().unwrap();
    let found: Vec<(&str, &str, &str, &str)> = hazards
        .iter()
        .map(|h| {
            (
                h["rule"].as_str().unwrap(),
                h["cluster"].as_str().unwrap(),
                h["object"]["name"].as_str().unwrap(),
                h["field"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        found.contains(&(
            "hazard/immutable-field",
            "eqiad",
            "coredns",
            "spec.selector"
        )),
        "{found:?}"
    );
    assert!(
        hazards[0]["message"]
            .as_str()
            .unwrap()
            .contains("field is immutable")
    );

    let text = stdout(&kcc(p, &["diff", "--base", "HEAD"]));
    assert!(
        text.starts_with(
            "! hazard/immutable-field in aux-k8s-eqiad: Deployment kube-system/coredns spec.selector"
        ),
        "{text}"
    );
    let md = stdout(&kcc(p, &["diff", "--base", "HEAD", "--format", "markdown"]));
    let hazard_at = md
        .find("hazard/immutable-field")
        .expect("hazard in markdown");
    assert!(hazard_at < md.find("<details>").unwrap(), "{md}");
    let review = json(&stdout(&kcc(
        p,
        &["diff", "--base", "HEAD", "--format", "gerrit"],
    )));
    let message = review["message"].as_str().unwrap();
    let hazards_at = message
        .find("Apply hazards:")
        .expect("hazards in the message");
    assert!(
        hazards_at < message.find("Changes by cause:").unwrap(),
        "{message}"
    );

    let out = kcc(p, &["check", "--base", "HEAD"]);
    assert_exit(&out, 1);
    let err = stdout(&out);
    assert!(err.contains("error[hazard/immutable-field]"), "{err}");
    assert!(
        err.contains(
            "Kcc-Accept-Hazard: hazard/immutable-field eqiad Deployment kube-system/coredns"
        ),
        "{err}"
    );
    // Without --base, check knows no old render: no hazard.
    assert_exit(&kcc(p, &["check"]), 0);
}

#[test]
fn a_hazard_is_accepted_only_by_a_trailer_of_the_change() {
    let dir = coredns_selector_changed();
    let p = dir.path();
    // A trailer for one cluster accepts it there only.
    git(
        p,
        &[
            "commit",
            "-q",
            "-a",
            "-m",
            "coredns: new selector\n\nKcc-Accept-Hazard: hazard/immutable-field eqiad Deployment kube-system/coredns",
        ],
    );
    let out = kcc(p, &["check", "--base", "HEAD~1"]);
    assert_exit(&out, 1);
    let err = stdout(&out);
    assert!(err.contains("warning[hazard/immutable-field]"), "{err}");
    assert!(
        err.contains("error[hazard/immutable-field]"),
        "codfw's is not accepted: {err}"
    );
    // `*` accepts it in every cluster; the diff says by which commit.
    git(
        p,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "accept\n\nKcc-Accept-Hazard: hazard/immutable-field * Deployment kube-system/coredns",
        ],
    );
    let out = kcc(p, &["check", "--base", "HEAD~2"]);
    assert_exit(&out, 0);
    let report = diff_json(p, "HEAD~2");
    for h in report["hazards"].as_array().unwrap() {
        assert!(h["acknowledgedBy"].is_string(), "{h}");
    }
    // The base's own commits accept nothing.
    assert_exit(&kcc(p, &["check", "--base", "HEAD"]), 0);
}

#[test]
fn removing_a_crd_whose_objects_exist_is_a_cascade_delete() {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    commit_all(p);
    // No cert-manager in eqiad: its cfssl-issuer CRDs and issuers go.
    edit_file(
        &p.join("kcc.yaml"),
        "name: eqiad\n    group: main\n    kubernetesVersion: \"1.23\"\n    toggles: [istio_gateways, install_cert_manager, namespace_certificates, install_flink_operator]",
        "name: eqiad\n    group: main\n    kubernetesVersion: \"1.23\"\n    toggles: [istio_gateways, namespace_certificates, install_flink_operator]",
    );
    let report = diff_json(p, "HEAD");
    let hazards = report["hazards"].as_array().unwrap();
    let crd = hazards
        .iter()
        .find(|h| h["object"]["name"] == "clusterissuers.cfssl-issuer.wikimedia.org")
        .unwrap_or_else(|| panic!("{hazards:#?}"));
    assert_eq!(crd["rule"], "hazard/cascade-delete");
    let message = crd["message"].as_str().unwrap();
    assert!(message.contains("every ClusterIssuer"), "{message}");
    assert!(message.contains("in release cfssl-issuer"), "{message}");
    // One cluster has it; a CRD with no objects of its kind is no hazard.
    assert!(
        hazards.iter().all(|h| h["cluster"] == "eqiad"),
        "{hazards:#?}"
    );
    assert_eq!(hazards.len(), 1, "{hazards:#?}");
}

#[test]
fn removing_a_namespace_with_objects_in_it_is_a_cascade_delete() {
    let dir = copy_project(&fleet_2023());
    let p = dir.path();
    commit_all(p);
    edit_file(
        &p.join("values/aux-k8s.yaml"),
        "\n  jaeger:\n    systemNamespace: true\n    allowCriticalPods: true\n    labels:\n      istio-injection: disabled",
        "",
    );
    let report = diff_json(p, "HEAD");
    let hazards = report["hazards"].as_array().unwrap();
    assert_eq!(hazards.len(), 1, "{hazards:#?}");
    let h = &hazards[0];
    assert_eq!(
        (
            h["rule"].as_str(),
            h["cluster"].as_str(),
            h["object"]["kind"].as_str()
        ),
        (
            Some("hazard/cascade-delete"),
            Some("aux-k8s-eqiad"),
            Some("Namespace")
        )
    );
    assert!(
        h["message"]
            .as_str()
            .unwrap()
            .contains("2 objects in golden/"),
        "{h}"
    );
}

#[test]
fn a_rename_is_one_change_and_a_hazard_for_kinds_that_hold_state() {
    let dir = copy_project(&fixture("demo"));
    let p = dir.path();
    write(
        &p.join("charts/web/templates/claim.yaml"),
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {{ release.name }}-data\n  namespace: {{ release.namespace }}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n",
    );
    commit_all(p);
    edit_file(
        &p.join("charts/web/templates/claim.yaml"),
        "{{ release.name }}-data",
        "{{ release.name }}-data-v2",
    );
    edit_file(
        &p.join("charts/web/templates/service.yaml"),
        "{{ release.name }}-info",
        "{{ release.name }}-details",
    );
    let report = diff_json(p, "HEAD");
    assert_eq!(report["counts"]["renamed"], 6, "{:#}", report["counts"]);
    assert_eq!(report["counts"]["added"], 0);
    assert_eq!(report["counts"]["removed"], 0);
    let hazards = report["hazards"].as_array().unwrap();
    // Three claims (alpha: web, web-extras; beta: web); the ConfigMaps hold no state.
    assert_eq!(hazards.len(), 3, "{hazards:#?}");
    assert!(hazards.iter().all(|h| h["rule"] == "hazard/rename"));
    assert!(
        hazards
            .iter()
            .all(|h| h["object"]["kind"] == "PersistentVolumeClaim")
    );
    let text = stdout(&kcc(p, &["diff", "--base", "HEAD"]));
    assert!(
        text.contains(
            "> PersistentVolumeClaim apps/web-data-v2 (renamed from PersistentVolumeClaim apps/web-data)"
        ),
        "{text}"
    );
    let md = stdout(&kcc(p, &["diff", "--base", "HEAD", "--format", "markdown"]));
    assert!(
        md.contains("renamed ConfigMap apps/web-info → ConfigMap apps/web-details"),
        "{md}"
    );
}
