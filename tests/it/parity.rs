//! Parity with production: kcc's render of the frozen fleet snapshots (July 2023, April 2024,
//! August 2026) equals what real helm rendered for the clusters in their `reference/`,
//! object for object (2026: checksum annotations included).

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;
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

/// Which annotations a comparison leaves out besides the tool's labels.
#[derive(Clone, Copy)]
enum Checksums {
    /// `checksum/*` annotations are compared: they restart pods when they change.
    Compared,
    /// The 2023 and 2024 snapshots: production's checksums hashed Go structures kcc's charts
    /// of that time did not reproduce.
    Ignored,
}

/// Objects by identity, with the fields the comparison ignores removed.
fn objects(name: &str, text: &str, checksums: Checksums) -> BTreeMap<Identity, Node> {
    let mut out = objects_by_id(name, text);
    out.values_mut()
        .for_each(|o| strip_tool_metadata(o, checksums));
    out
}

/// Removes tool-only labels/annotations (and, when ignored, checksum annotations) at every
/// level (pod templates carry them too).
fn strip_tool_metadata(node: &mut Node, checksums: Checksums) {
    match &mut node.value {
        Value::Map(map) => {
            for (key, child) in map.iter_mut() {
                if (key == "labels" || key == "annotations")
                    && let Value::Map(entries) = &mut child.value
                {
                    let ignored_checksum = |k: &str| {
                        matches!(checksums, Checksums::Ignored) && k.starts_with("checksum/")
                    };
                    entries
                        .retain(|k, _| !(TOOL_KEYS.contains(&k.as_str()) || ignored_checksum(k)));
                }
                strip_tool_metadata(child, checksums);
            }
            // An emptied labels/annotations map is the same as none.
            map.retain(|k, v| {
                !((k == "labels" || k == "annotations")
                    && matches!(&v.value, Value::Map(m) if m.is_empty()))
            });
        }
        Value::Seq(items) => items
            .iter_mut()
            .for_each(|i| strip_tool_metadata(i, checksums)),
        _ => {}
    }
}

/// Compares kcc's render of `cluster` in the fixture fleet `fleet` with the fleet's
/// `reference/<cluster>/<release>.yaml`.
fn parity(fleet: &Path, cluster: &str) {
    parity_with(fleet, cluster, Checksums::Ignored);
}

fn parity_with(fleet: &Path, cluster: &str, checksums: Checksums) {
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
            checksums,
        );
        // The deploy directory: what helmfile syncs (stdout shows Secrets as digests).
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().to_str().unwrap();
        let out = kcc(
            fleet,
            &[
                "render",
                "-c",
                cluster,
                "-r",
                &release,
                "--fixture-secrets",
                "--out",
                out_dir,
            ],
        );
        assert_exit(&out, 0);
        let manifest = std::fs::read_to_string(dir.path().join(format!("{release}.yaml"))).unwrap();
        let actual = objects(&format!("kcc {release}"), &manifest, checksums);
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

#[test]
fn eqiad_matches_production_2026() {
    parity_with(&fleet_2026(), "eqiad", Checksums::Compared);
}

#[test]
fn ml_staging_codfw_matches_production_2026() {
    parity_with(&fleet_2026(), "ml-staging-codfw", Checksums::Compared);
}

#[test]
fn dse_k8s_codfw_matches_production_2026() {
    parity_with(&fleet_2026(), "dse-k8s-codfw", Checksums::Compared);
}

#[test]
fn aux_k8s_eqiad_matches_production_2026() {
    parity_with(&fleet_2026(), "aux-k8s-eqiad", Checksums::Compared);
}

/// The 2026 fixture as a whole: every cluster checks clean against its goldens, and the
/// fleet has production's 5,257 objects, two calico versions side by side.
#[test]
fn fleet_2026_checks_clean_with_production_object_count() {
    let out = kcc(&fleet_2026(), &["check"]);
    assert_exit(&out, 0);
    let out = kcc(&fleet_2026(), &["render"]);
    assert_exit(&out, 0);
    let count = stdout(&out)
        .lines()
        .filter(|l| l.starts_with("# Source:"))
        .count();
    assert_eq!(count, 5257, "objects in the August 2026 fleet");
    let out = kcc(&fleet_2026(), &["list", "-r", "calico"]);
    let list = stdout(&out);
    assert_eq!(list.matches("calico-0.5.2").count(), 4, "{list}");
    assert_eq!(list.matches("calico-0.4.0").count(), 7, "{list}");
}
