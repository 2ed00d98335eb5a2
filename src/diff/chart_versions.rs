//! Chart version changes between two sides of a diff, read from the helmfile.yaml kcc
//! writes per cluster (its `chart`/`chartVersion` labels): `ml-serve-eqiad: calico 0.4.0 →
//! 0.5.2` is one line a reviewer reads before the hundreds of object changes it causes. A
//! release only one side installs is an added or removed file, not a version change.

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
    pub old: String,
    pub new: String,
}

impl ChartChange {
    /// `ml-serve-eqiad: calico 0.4.0 → 0.5.2 (release calico)`.
    pub fn describe(&self) -> String {
        format!(
            "{}: {} {} → {} (release {})",
            self.cluster, self.chart, self.old, self.new, self.release
        )
    }
}

/// The same version change in several clusters, told once.
pub struct ChartChangeGroup<'a> {
    pub change: &'a ChartChange,
    pub clusters: Vec<&'a str>,
}

impl ChartChangeGroup<'_> {
    /// `calico 0.4.0 → 0.5.2 (release calico) in ml-serve-eqiad`, or `... in 2 clusters:
    /// eqiad, codfw`.
    pub fn describe(&self) -> String {
        let c = self.change;
        let place = match self.clusters.as_slice() {
            [one] => (*one).to_string(),
            many => format!("{} clusters: {}", many.len(), many.join(", ")),
        };
        format!(
            "{} {} → {} (release {}) in {place}",
            c.chart, c.old, c.new, c.release
        )
    }
}

/// Changes grouped by (release, chart, old, new), in the order first seen.
pub fn grouped<'a>(changes: impl Iterator<Item = &'a ChartChange>) -> Vec<ChartChangeGroup<'a>> {
    let mut groups: Vec<ChartChangeGroup<'a>> = Vec::new();
    for change in changes {
        let same = |g: &&mut ChartChangeGroup<'a>| {
            let c = g.change;
            (&c.release, &c.chart, &c.old, &c.new)
                == (&change.release, &change.chart, &change.old, &change.new)
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(group) => group.clusters.push(&change.cluster),
            None => groups.push(ChartChangeGroup {
                change,
                clusters: vec![&change.cluster],
            }),
        }
    }
    groups
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
    old.iter()
        .filter_map(|(release, (old_chart, old_version))| {
            let (chart, version) = new.get(release)?;
            if (chart, version) == (old_chart, old_version) {
                return None;
            }
            // A chart replaced by another of a new name shows both names.
            let chart = if chart == old_chart {
                chart.clone()
            } else {
                format!("{old_chart} → {chart}")
            };
            Some(ChartChange {
                cluster: cluster.to_string(),
                release: release.clone(),
                chart,
                old: old_version.clone(),
                new: version.clone(),
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
        let other = changes(
            "other",
            "h",
            Some(&helmfile("0.4.0")),
            Some(&helmfile("0.5.2")),
        );
        let groups = grouped(c.iter().chain(&other));
        assert_eq!(groups.len(), 1);
        assert_eq!(
            groups[0].describe(),
            "calico 0.4.0 → 0.5.2 (release calico) in 2 clusters: ml-serve-eqiad, other"
        );
    }
}
