//! Parity with production: kcc's render of the frozen fleet snapshots (July 2023, April 2024)
//! equals what real helm rendered for eqiad, ml-staging-codfw and dse-k8s-eqiad, object for
//! object.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use kcc::manifest::Identity;
use kcc::yaml::{Node, Value};

/// Labels and annotations that only name the tool or the chart package.
const TOOL_KEYS: &[&str] = &[
    "helm.sh/chart",
    "chart",
    "heritage",
    "release",
    "app.kubernetes.io/managed-by",
];

/// Objects by identity, with the fields the comparison ignores removed.
fn objects(name: &str, text: &str) -> BTreeMap<Identity, Node> {
    let mut out = objects_by_id(name, text);
    out.values_mut().for_each(strip_tool_metadata);
    out
}

/// Removes tool-only labels/annotations and checksum annotations at every level (pod
/// templates carry them too).
fn strip_tool_metadata(node: &mut Node) {
    match &mut node.value {
        Value::Map(map) => {
            for (key, child) in map.iter_mut() {
                if (key == "labels" || key == "annotations")
                    && let Value::Map(entries) = &mut child.value
                {
                    entries.retain(|k, _| {
                        !TOOL_KEYS.contains(&k.as_str()) && !k.starts_with("checksum/")
                    });
                }
                strip_tool_metadata(child);
            }
            // An emptied labels/annotations map is the same as none.
            map.retain(|k, v| {
                !((k == "labels" || k == "annotations")
                    && matches!(&v.value, Value::Map(m) if m.is_empty()))
            });
        }
        Value::Seq(items) => items.iter_mut().for_each(strip_tool_metadata),
        _ => {}
    }
}

/// Compares kcc's render of `cluster` in the fixture fleet `fleet` with the fleet's
/// `reference/<cluster>/<release>.yaml`.
fn parity(fleet: &Path, cluster: &str) {
    let reference_dir = fleet.join("reference").join(cluster);
    let mut failures = Vec::new();
    let mut releases: Vec<_> = std::fs::read_dir(&reference_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    releases.sort();
    for path in releases {
        let release = path.file_stem().unwrap().to_str().unwrap().to_string();
        let expected = objects(
            &format!("reference {release}"),
            &std::fs::read_to_string(&path).unwrap(),
        );
        // The deploy directory: what helmfile syncs (stdout shows Secrets as digests).
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().to_str().unwrap();
        let out = kcc(
            fleet,
            &["render", "-c", cluster, "-r", &release, "--out", out_dir],
        );
        assert_exit(&out, 0);
        let manifest = std::fs::read_to_string(dir.path().join(format!("{release}.yaml"))).unwrap();
        let actual = objects(&format!("kcc {release}"), &manifest);
        for (id, want) in &expected {
            match actual.get(id) {
                None => failures.push(format!("{cluster}/{release}: missing {id}")),
                Some(got) if got != want => failures.push(format!(
                    "{cluster}/{release}: {id} differs\n--- reference\n{}--- kcc\n{}",
                    kcc::yaml::emit_document(want),
                    kcc::yaml::emit_document(got)
                )),
                Some(_) => {}
            }
        }
        for id in actual.keys().filter(|id| !expected.contains_key(*id)) {
            failures.push(format!("{cluster}/{release}: extra {id}"));
        }
        assert!(!expected.is_empty(), "{release}: empty reference");
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn eqiad_matches_production() {
    parity(&fleet_2023(), "eqiad");
}

#[test]
fn ml_staging_codfw_matches_production() {
    parity(&fleet_2023(), "ml-staging-codfw");
}

#[test]
fn dse_k8s_eqiad_matches_production() {
    parity(&fleet_2023(), "dse-k8s-eqiad");
}

#[test]
fn eqiad_matches_production_2024() {
    parity(&fleet_2024(), "eqiad");
}

#[test]
fn ml_staging_codfw_matches_production_2024() {
    parity(&fleet_2024(), "ml-staging-codfw");
}

#[test]
fn dse_k8s_eqiad_matches_production_2024() {
    parity(&fleet_2024(), "dse-k8s-eqiad");
}

/// The 2024 fixture as a whole: every cluster checks clean against its goldens, and the
/// fleet has production's 3,184 objects (2023: 2,379).
#[test]
fn fleet_2024_checks_clean_with_production_object_count() {
    let out = kcc(&fleet_2024(), &["check"]);
    assert_exit(&out, 0);
    let out = kcc(&fleet_2024(), &["render"]);
    assert_exit(&out, 0);
    let count = stdout(&out)
        .lines()
        .filter(|l| l.starts_with("# Source:"))
        .count();
    assert_eq!(count, 3184, "objects in the April 2024 fleet");
}
