//! The versions of one chart. A fleet rolls a chart out cluster by cluster, so a chart
//! directory holds either one version (`charts/<chart>/Chart.yaml`) or several side by side
//! (`charts/<chart>/<version>/Chart.yaml`), and each cluster × release pins the one it runs.

use std::path::Path;
use std::sync::Arc;

use super::Chart;
use crate::diagnostic::{Diagnostic, Failure, Result};
use crate::tree;

/// One chart's versions, oldest first.
pub struct ChartVersions {
    /// Whether the chart is laid out as `<chart>/<version>/` (several versions, pinned per
    /// cluster) rather than as one chart directory.
    pub versioned: bool,
    versions: Vec<Arc<Chart>>,
}

impl ChartVersions {
    /// Reads `charts_dir/<name>`: one chart, or a directory of versions.
    pub fn load(charts_dir: &Path, shown: &str, name: &str) -> Result<ChartVersions> {
        let dir = charts_dir.join(name);
        // A name that climbs out (`../..`) is refused whole, before what lies there is
        // taken for versions.
        if tree::is_dir(&dir) {
            super::refuse_outside(&dir, charts_dir)?;
        }
        if tree::is_file(&dir.join("Chart.yaml")) || !has_version_dirs(&dir) {
            let chart = Chart::load(charts_dir, shown, name)?;
            return Ok(ChartVersions {
                versioned: false,
                versions: vec![Arc::new(chart)],
            });
        }
        let mut entries: Vec<String> = tree::read_dir(&dir)
            .map_err(|e| Failure::Fatal(format!("cannot list {}: {e}", dir.display())))?
            .into_iter()
            .filter(|p| tree::is_dir(p))
            .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
            .collect();
        entries.sort();
        let mut versions = Vec::new();
        let mut errors = Vec::new();
        for entry in entries {
            let rel = format!("{name}/{entry}");
            let chart = match Chart::load(charts_dir, shown, &rel) {
                Ok(chart) => chart,
                Err(Failure::Config(mut d)) => {
                    errors.append(&mut d);
                    continue;
                }
                Err(fatal) => return Err(fatal),
            };
            // The directory is the version a pin names: it must say the same as Chart.yaml.
            if chart.version != entry || semver::Version::parse(&entry).is_err() {
                errors.push(Diagnostic::error(
                    "chart/metadata",
                    format!(
                        "{shown}/{rel}/Chart.yaml says version `{}`: a version directory is named by its \
                         chart's version, a semantic version such as 0.5.2",
                        chart.version
                    ),
                ));
                continue;
            }
            versions.push(Arc::new(chart));
        }
        if !errors.is_empty() {
            return Err(Failure::Config(errors));
        }
        versions.sort_by_key(|c| semver_of(&c.version));
        Ok(ChartVersions {
            versioned: true,
            versions,
        })
    }

    /// Every version, oldest first.
    pub fn all(&self) -> &[Arc<Chart>] {
        &self.versions
    }

    /// The newest version: what an unpinned release runs.
    pub fn newest(&self) -> &Arc<Chart> {
        self.versions
            .last()
            .expect("a chart has at least one version")
    }

    /// The version named exactly, if the chart has it.
    pub fn get(&self, version: &str) -> Option<&Arc<Chart>> {
        self.versions.iter().find(|c| c.version == version)
    }

    /// The versions, for messages: `0.4.0, 0.5.2`.
    pub fn listed(&self) -> String {
        self.versions
            .iter()
            .map(|c| c.version.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether `dir` holds version directories (subdirectories with a Chart.yaml) rather than
/// a chart.
fn has_version_dirs(dir: &Path) -> bool {
    tree::read_dir(dir)
        .map(|entries| {
            entries
                .iter()
                .any(|p| tree::is_dir(p) && tree::is_file(&p.join("Chart.yaml")))
        })
        .unwrap_or(false)
}

/// A version for ordering; one that is not semver sorts first (load refuses those anyway).
fn semver_of(version: &str) -> Option<semver::Version> {
    semver::Version::parse(version).ok()
}

#[cfg(test)]
mod tests {
    use super::semver_of;

    #[test]
    fn versions_order_numerically_not_as_text() {
        assert!(semver_of("0.10.0") > semver_of("0.9.1"));
        assert!(semver_of("0.5.2") > semver_of("0.4.0"));
        assert!(semver_of("1.0.0") > semver_of("1.0.0-rc.1"));
    }
}
