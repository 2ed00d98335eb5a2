//! Chart version changes between two sides of a diff, read from the helmfile.yaml kcc
//! writes per cluster (its `chart`/`chartVersion` labels, written for charts with several
//! versions): `calico 0.4.0 → 0.5.2 in ml-serve-eqiad` is one line a reviewer reads
//! before the hundreds of object changes it causes.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::source::SourceFile;
use crate::yaml::{Node, load_one};

/// One release whose chart version differs between the sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChartChange {
    pub cluster: String,
    pub release: String,
    pub chart: String,
    /// None when the old side did not install the release (or did not record a version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

impl ChartChange {
    /// `ml-serve-eqiad: calico 0.4.0 → 0.5.2 (release calico)`.
    pub fn describe(&self) -> String {
        let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        format!(
            "{}: {} {} → {} (release {})",
            self.cluster,
            self.chart,
            side(&self.old),
            side(&self.new),
            self.release
        )
    }
}

/// release → (chart, version) of a helmfile.yaml text, for releases that record one.
fn versions(path: &str, text: &str) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    let Ok(root) = load_one(&SourceFile::new(path, text.to_string())) else {
        return out;
    };
    for release in root
        .get("releases")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let label = |key: &str| {
            release
                .lookup(["labels", key])
                .and_then(Node::as_str)
                .map(str::to_string)
        };
        let name = release.get("name").and_then(Node::as_str);
        if let (Some(name), Some(chart), Some(version)) =
            (name, label("chart"), label("chartVersion"))
        {
            out.insert(name.to_string(), (chart, version));
        }
    }
    out
}

/// The chart version changes of one cluster's helmfile.yaml.
pub fn changes(
    cluster: &str,
    path: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Vec<ChartChange> {
    let old = old.map(|t| versions(path, t)).unwrap_or_default();
    let new = new.map(|t| versions(path, t)).unwrap_or_default();
    let releases: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    releases
        .into_iter()
        .filter_map(|release| {
            let (o, n) = (old.get(release), new.get(release));
            if o == n {
                return None;
            }
            let chart = n.or(o).map(|(c, _)| c.clone()).unwrap_or_default();
            Some(ChartChange {
                cluster: cluster.to_string(),
                release: release.clone(),
                chart,
                old: o.map(|(_, v)| v.clone()),
                new: n.map(|(_, v)| v.clone()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helmfile(version: &str) -> String {
        format!(
            "releases:\n  - name: calico\n    namespace: kube-system\n    chart: ./calico\n    labels:\n      chart: calico\n      chartVersion: {version}\n      name: calico\n  - name: coredns\n    chart: ./coredns\n    labels:\n      name: coredns\n"
        )
    }

    #[test]
    fn a_version_change_is_named_once() {
        let c = changes(
            "ml-serve-eqiad",
            "golden/ml-serve-eqiad/helmfile.yaml",
            Some(&helmfile("0.4.0")),
            Some(&helmfile("0.5.2")),
        );
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].describe(),
            "ml-serve-eqiad: calico 0.4.0 → 0.5.2 (release calico)"
        );
        let same = changes("c", "h", Some(&helmfile("0.4.0")), Some(&helmfile("0.4.0")));
        assert!(same.is_empty());
    }
}
