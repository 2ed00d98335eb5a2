//! Value read tracking (tests/fixtures/reads): `values/unused` at the line of a value
//! nothing reads, at any depth, in every kind of layer; no report for what a template
//! reads whole (`to_yaml`), reads in one cluster's branch of an `if`, or what kcc.yaml
//! `externalValues` declares. And the nested typo of the 2026 fleet's CoreDNS limits,
//! which the chart passes through whole: `objects/resource-name` at its values line.

use std::path::Path;

use crate::common::*;
use serde_json::Value;

fn reads() -> std::path::PathBuf {
    fixture("reads")
}

/// A copy of the reads fixture with `text` appended to `file`, checked.
fn with_lines(file: &str, text: &str) -> (tempfile::TempDir, Vec<Value>) {
    let project = copy_project(&reads());
    let path = project.path().join(file);
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    write(&path, &format!("{old}{text}"));
    let (out, diagnostics) = check_json(project.path());
    assert_exit(&out, 1);
    (project, diagnostics)
}

/// The one `values/unused` diagnostic: at `file`, on the line holding `needle`, naming
/// `path` and suggesting `near`.
#[track_caller]
fn assert_unused(
    root: &Path,
    diagnostics: &[Value],
    file: &str,
    needle: &str,
    path: &str,
    near: Option<&str>,
) {
    let found: Vec<&Value> = diagnostics
        .iter()
        .filter(|d| d["rule"] == "values/unused")
        .collect();
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    let d = found[0];
    assert_eq!(d["file"], file, "{d:#}");
    assert_eq!(d["line"], line_of(root, file, needle), "{d:#}");
    let message = d["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("`{path}` is read by nothing")),
        "{message}"
    );
    let notes = d["notes"].to_string();
    match near {
        Some(near) => assert!(
            notes.contains(&format!("did you mean `{near}`?")),
            "{notes}"
        ),
        None => assert!(!notes.contains("did you mean"), "{notes}"),
    }
}

#[test]
fn the_fixture_is_clean_with_whole_reads_branches_and_external_values() {
    // labels (read whole by to_yaml), onlyA.flag (read only in cluster a's branch, set in
    // common.yaml for both), deployTool.helm.version (externalValues) are not reported.
    let (out, diagnostics) = check_json(&reads());
    assert_exit(&out, 0);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
}

/// The reads fixture with `line` added after `after` in `file`: exactly one
/// `values/unused`, at the added line's `needle`, naming `path`, suggesting `near`.
#[track_caller]
fn assert_typo(file: &str, after: &str, line: &str, needle: &str, path: &str, near: &str) {
    let project = copy_project(&reads());
    edit_file(&project.path().join(file), after, &format!("{after}{line}"));
    let (out, d) = check_json(project.path());
    assert_exit(&out, 1);
    assert_unused(project.path(), &d, file, needle, path, Some(near));
}

#[test]
fn a_typo_in_common_at_depth_three() {
    let (after, line) = ("    memory: 200Mi\n", "    memroy: 1Gi\n");
    assert_typo(
        "values/common.yaml",
        after,
        line,
        "memroy",
        "settings.limits.memroy",
        "memory",
    );
}

#[test]
fn a_typo_in_a_group_file_at_depth_two() {
    let (after, line) = ("  name: demo\n", "  nmae: other\n");
    assert_typo(
        "values/g.yaml",
        after,
        line,
        "nmae",
        "settings.nmae",
        "name",
    );
}

#[test]
fn a_typo_in_a_cluster_file_at_depth_four() {
    let (after, line) = ("      port: 8081\n", "      prot: 8082\n");
    let path = "settings.probe.http.prot";
    assert_typo("values/a/values.yaml", after, line, "prot", path, "port");
}

#[test]
fn a_whole_unknown_subtree_in_a_cluster_release_file_is_reported_once() {
    let (after, line) = ("settings:\n", "  limitz:\n    memory: 1Gi\n    cpu: 1\n");
    let file = "values/a/app-values.yaml";
    assert_typo(file, after, line, "limitz", "settings.limitz", "limits");
}

#[test]
fn a_typo_in_the_private_overlay_names_its_line_not_its_value() {
    let file = "fixtures/private/app-values.yaml";
    let (p, d) = with_lines(file, "tokne: do-not-print-me\n");
    assert_unused(p.path(), &d, file, "tokne", "tokne", Some("token"));
    assert!(
        !serde_json::to_string(&d)
            .unwrap()
            .contains("do-not-print-me")
    );
}

#[test]
fn a_value_read_only_in_another_clusters_branch_is_unused_where_it_is_set() {
    // Cluster b's template never takes the branch that reads onlyA.flag.
    let file = "values/b/values.yaml";
    let (p, d) = with_lines(file, "onlyA:\n  flag: false\n");
    assert_unused(p.path(), &d, file, "onlyA", "onlyA", None);
}

#[test]
fn values_other_tools_read_are_reported_until_declared() {
    let project = copy_project(&reads());
    edit_file(
        &project.path().join("kcc.yaml"),
        "externalValues: [deployTool.*.version]\n",
        "",
    );
    let (out, d) = check_json(project.path());
    assert_exit(&out, 1);
    assert_unused(
        project.path(),
        &d,
        "values/common.yaml",
        "deployTool",
        "deployTool",
        None,
    );
}

#[test]
fn a_check_of_some_clusters_does_not_judge() {
    // Only a whole-fleet check knows what no cluster reads.
    let project = copy_project(&reads());
    let file = project.path().join("values/b/values.yaml");
    write(&file, "labels:\n  site: b\nonlyA:\n  flag: false\n");
    let out = kcc(project.path(), &["check", "-c", "b", "--format", "json"]);
    assert!(
        json_lines(&out)
            .iter()
            .all(|d| d["rule"] != "values/unused")
    );
}

#[test]
fn the_coredns_memory_limit_misspelt_is_reported_at_its_values_line() {
    let project = copy_project(&fleet_2026());
    let file = "values/eqiad/coredns-values.yaml";
    let text = std::fs::read_to_string(project.path().join(file)).unwrap();
    let fixed = text.replacen(
        "  limits:\n    memory: 500Mi",
        "  limits:\n    memroy: 500Mi",
        1,
    );
    assert_ne!(fixed, text);
    write(&project.path().join(file), &fixed);
    let (out, d) = check_json(project.path());
    assert_exit(&out, 1);
    let found: Vec<&Value> = d
        .iter()
        .filter(|d| d["rule"] == "objects/resource-name")
        .collect();
    assert_eq!(found.len(), 1, "{d:#?}");
    assert_eq!(found[0]["file"], file);
    assert_eq!(found[0]["line"], line_of(project.path(), file, "memroy"));
    assert!(
        found[0]["notes"]
            .to_string()
            .contains("did you mean `memory`?")
    );
}

#[test]
fn explain_names_the_template_lines_that_read_a_value_or_says_nothing_does() {
    let root = reads();
    let template = "charts/app/templates/configmap.yaml";
    let out = kcc(&root, &["explain", "a", "app", "settings.probe.http.port"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let line = line_of(&root, template, "values.settings.probe.http.port");
    assert!(
        text.contains(&format!(
            "  read by:\n    {template}:{line}  values.settings.probe.http.port\n"
        )),
        "{text}"
    );
    // Read whole by to_yaml: the line that reads the map.
    let text = stdout(&kcc(&root, &["explain", "a", "app", "labels.team"]));
    let line = line_of(&root, template, "values.labels");
    assert!(
        text.contains("read by (whole: iterated, printed or serialized):"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{template}:{line}  values.labels")),
        "{text}"
    );
    // Cluster b never takes the branch that reads it.
    let text = stdout(&kcc(&root, &["explain", "b", "app", "onlyA.flag"]));
    assert!(
        text.contains("read by: nothing in this cluster × release"),
        "{text}"
    );
}
