//! Values files nothing reads and groups without a values file: errors at the file (or the
//! cluster's kcc.yaml entry) with a suggestion, instead of being ignored.

use crate::common::*;
use serde_json::Value;

fn with_rule<'a>(diagnostics: &'a [Value], rule: &str) -> Vec<&'a Value> {
    diagnostics.iter().filter(|d| d["rule"] == rule).collect()
}

#[test]
fn the_demo_fleet_reads_every_values_file() {
    let (_, diagnostics) = check_json(&fixture("demo"));
    assert!(with_rule(&diagnostics, "values/unread").is_empty());
    assert!(with_rule(&diagnostics, "values/missing-group").is_empty());
}

#[test]
fn a_misnamed_release_values_file_is_an_error_with_a_suggestion() {
    let project = copy_project(&fixture("demo"));
    let p = project.path();
    std::fs::rename(
        p.join("values/alpha/web-values.yaml"),
        p.join("values/alpha/web.yaml"),
    )
    .unwrap();
    let (out, diagnostics) = check_json(p);
    assert_exit(&out, 1);
    let found = with_rule(&diagnostics, "values/unread");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["file"], "values/alpha/web.yaml");
    assert_eq!(found[0]["line"], 1);
    let notes = found[0]["notes"].to_string();
    assert!(
        notes.contains("did you mean values/alpha/web-values.yaml?"),
        "{notes}"
    );
}

#[test]
fn values_of_an_unknown_cluster_are_an_error() {
    let project = copy_project(&fixture("demo"));
    let p = project.path();
    write(&p.join("values/alpah/values.yaml"), "replicas: 3\n");
    let (out, diagnostics) = check_json(p);
    assert_exit(&out, 1);
    let found = with_rule(&diagnostics, "values/unread");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["file"], "values/alpah/values.yaml");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("values/alpah/ (1 file(s)) belongs to no cluster"),
        "{message}"
    );
    let notes = found[0]["notes"].to_string();
    assert!(
        notes.contains("did you mean cluster `alpha` (values/alpha/)?"),
        "{notes}"
    );
}

#[test]
fn a_group_without_a_values_file_is_an_error_at_the_cluster() {
    let project = copy_project(&fixture("demo"));
    let p = project.path();
    edit_file(
        &p.join("kcc.yaml"),
        "  - name: beta\n    group: east\n",
        "  - name: beta\n    group: eats\n",
    );
    let (out, diagnostics) = check_json(p);
    assert_exit(&out, 1);
    let found = with_rule(&diagnostics, "values/missing-group");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["file"], "kcc.yaml");
    assert_eq!(found[0]["line"], line_of(p, "kcc.yaml", "name: beta"));
    let message = found[0]["message"].as_str().unwrap();
    assert!(message.contains("values/eats.yaml"), "{message}");
    let notes = found[0]["notes"].to_string();
    assert!(
        notes.contains("did you mean group `east` (values/east.yaml)?"),
        "{notes}"
    );
}

#[test]
fn a_misspelt_key_in_a_release_values_file_is_an_error_with_a_suggestion() {
    let project = copy_project(&fixture("demo"));
    let p = project.path();
    let file = "values/alpha/web-values.yaml";
    edit_file(&p.join(file), "replicas: 3\n", "replicsa: 3\n");
    let (out, diagnostics) = check_json(p);
    assert_exit(&out, 1);
    let found = with_rule(&diagnostics, "values/unknown-key");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["file"], file);
    assert_eq!(found[0]["line"], line_of(p, file, "replicsa"));
    let notes = found[0]["notes"].to_string();
    assert!(notes.contains("did you mean `replicas`?"), "{notes}");
}

#[test]
fn keys_read_only_by_a_template_are_known() {
    // `serviceCIDR` is in no defaults or schema, but service.yaml reads it.
    let project = copy_project(&fixture("demo"));
    let p = project.path();
    let file = "values/alpha/web-values.yaml";
    edit_file(
        &p.join(file),
        "replicas: 3\n",
        "replicas: 3\nserviceCIDR: 10.0.0.0/24\n",
    );
    let (_, diagnostics) = check_json(p);
    assert!(with_rule(&diagnostics, "values/unknown-key").is_empty());
    // Shared layers may hold keys of other releases: not reported.
    write(
        &p.join("values/alpha/values.yaml"),
        "istio: {enabled: true}\n",
    );
    let (_, diagnostics) = check_json(p);
    assert!(with_rule(&diagnostics, "values/unknown-key").is_empty());
}

#[test]
fn a_missing_group_is_reported_without_follow_on_noise() {
    let project = copy_project(&fixture("net"));
    let p = project.path();
    edit_file(&p.join("kcc.yaml"), "group: v6lab", "group: v6lba");
    let (out, diagnostics) = check_json(p);
    assert_exit(&out, 1);
    let rules: std::collections::BTreeSet<&str> = diagnostics
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    // The cluster's own checks wait for its group; drift still shows what changed.
    assert!(
        rules
            .iter()
            .all(|r| ["values/missing-group", "golden/drift"].contains(r)),
        "{diagnostics:#?}"
    );
    assert_eq!(with_rule(&diagnostics, "values/missing-group").len(), 1);
}

#[test]
fn a_null_that_breaks_a_namespace_entry_is_reported_at_the_null() {
    // A `oneOf` in the schema: kcc reports the closest alternative's errors, each at the
    // `~` that caused it, not the whole merged object at the namespace's key.
    let project = copy_project(&fleet_2023());
    let p = project.path();
    let file = "values/main.yaml";
    edit_file(
        &p.join(file),
        "  istio-system:\n    systemNamespace: true\n",
        "  istio-system:\n    systemNamespace: true\n    pspClusterRole: ~\n",
    );
    let (out, diagnostics) = check_json(p);
    assert_exit(&out, 1);
    let found = with_rule(&diagnostics, "values/schema");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["file"], file);
    assert_eq!(found[0]["line"], line_of(p, file, "pspClusterRole: ~"));
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("namespaces.istio-system.pspClusterRole: null is not of type"),
        "{message}"
    );
    assert!(!message.contains("systemNamespace"), "{message}");
}

#[test]
fn a_null_that_deletes_a_required_default_is_reported_at_the_null() {
    let project = copy_project(&fleet_2023());
    let p = project.path();
    let file = "values/eqiad/values.yaml";
    edit_file(
        &p.join(file),
        "kubernetesMasters:\n",
        "image: ~\nkubernetesMasters:\n",
    );
    let (out, diagnostics) = check_json(p);
    assert_exit(&out, 1);
    let found = with_rule(&diagnostics, "values/schema");
    // One cause, one diagnostic: at the `~`, naming every release it broke.
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["file"], file);
    assert_eq!(found[0]["line"], line_of(p, file, "image: ~"));
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("\"image\" is a required property"),
        "{:#}",
        found[0]
    );
    let notes = found[0]["notes"].to_string();
    assert!(notes.contains("calico, coredns, cfssl-issuer"), "{notes}");
}

#[test]
fn a_toggle_nothing_tests_is_an_error_at_its_line() {
    let project = copy_project(&fixture("demo"));
    let p = project.path();
    edit_file(
        &p.join("kcc.yaml"),
        "toggles: [extras]",
        "toggles: [extrsa]",
    );
    let (out, diagnostics) = check_json(p);
    assert_exit(&out, 1);
    let found = with_rule(&diagnostics, "project/toggle");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    assert_eq!(found[0]["file"], "kcc.yaml");
    assert_eq!(
        found[0]["line"],
        line_of(p, "kcc.yaml", "toggles: [extrsa]")
    );
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("toggle `extrsa` of cluster `alpha`"),
        "{message}"
    );
    // `extras` is tested by web-extras' condition, but no cluster has it any more.
    let notes = found[0]["notes"].to_string();
    assert!(!notes.contains("did you mean"), "{notes}");
}

#[test]
fn external_toggles_are_accepted() {
    let project = copy_project(&fixture("demo"));
    let p = project.path();
    edit_file(
        &p.join("kcc.yaml"),
        "toggles: []",
        "toggles: [install_istio]",
    );
    let (_, diagnostics) = check_json(p);
    assert_eq!(with_rule(&diagnostics, "project/toggle").len(), 1);
    edit_file(
        &p.join("kcc.yaml"),
        "clusters:\n",
        "externalToggles: [install_istio]\nclusters:\n",
    );
    let (_, diagnostics) = check_json(p);
    assert!(with_rule(&diagnostics, "project/toggle").is_empty());
}

#[test]
fn a_misspelt_toggle_gets_a_suggestion() {
    let project = copy_project(&fixture("demo"));
    let p = project.path();
    edit_file(&p.join("kcc.yaml"), "toggles: []", "toggles: [extrsa]");
    let (_, diagnostics) = check_json(p);
    let found = with_rule(&diagnostics, "project/toggle");
    assert_eq!(found.len(), 1, "{diagnostics:#?}");
    let notes = found[0]["notes"].to_string();
    assert!(notes.contains("did you mean `extras`?"), "{notes}");
}

#[test]
fn a_toggle_a_values_file_names_is_tested() {
    let project = copy_project(&fixture("demo"));
    let p = project.path();
    edit_file(&p.join("kcc.yaml"), "toggles: []", "toggles: [blue_green]");
    let (_, diagnostics) = check_json(p);
    assert_eq!(
        with_rule(&diagnostics, "project/toggle").len(),
        1,
        "{diagnostics:#?}"
    );
    // Named by a value (another tool tests it there): tested.
    let common = p.join("values/common.yaml");
    let text = std::fs::read_to_string(&common).unwrap();
    write(&common, &format!("{text}\ndeployStrategy: blue_green\n"));
    let (_, diagnostics) = check_json(p);
    assert!(
        with_rule(&diagnostics, "project/toggle").is_empty(),
        "{diagnostics:#?}"
    );
}
