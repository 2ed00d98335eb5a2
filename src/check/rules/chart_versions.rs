//! `chart/unused-version`: a version of a chart (`charts/<chart>/<version>/`) that no
//! cluster × release runs any more — left behind after a rollout, or a pin that was meant to
//! name it — is reported, as unread values files are. Charts a fleet borrows from another
//! (`charts: ../../charts`) are not its to prune.

use std::collections::BTreeSet;

use crate::check::ClusterFacts;
use crate::diagnostic::Diagnostic;
use crate::render::Fleet;
use crate::source::{Origin, SourceFile};

pub fn unused(fleet: &Fleet, facts: &[ClusterFacts]) -> Vec<Diagnostic> {
    // Only a check of every cluster, each rendered whole, knows what no cluster uses; and
    // charts shared from another fleet (kcc.yaml `charts: ../..`) are that fleet's to prune.
    let whole = facts.len() == fleet.project.clusters.len() && facts.iter().all(|f| f.complete);
    let shared = fleet.project.charts_dir.starts_with("..")
        || std::path::Path::new(&fleet.project.charts_dir).is_absolute();
    if !whole || shared {
        return Vec::new();
    }
    let used: BTreeSet<(&str, &str)> = facts
        .iter()
        .flat_map(|f| f.charts.iter())
        .map(|(chart, version)| (chart.as_str(), version.as_str()))
        .collect();
    let mut out = Vec::new();
    for (name, versions) in fleet.charts.iter().filter(|(_, v)| v.versioned) {
        for chart in versions.all() {
            if used.contains(&(chart.name.as_str(), chart.version.as_str())) {
                continue;
            }
            let shown = format!(
                "{}/{name}/{}/Chart.yaml",
                fleet.project.charts_dir, chart.version
            );
            let path = fleet
                .project
                .charts_path()
                .join(name)
                .join(&chart.version)
                .join("Chart.yaml");
            let text = crate::confine::read_inside(&path, fleet.root()).unwrap_or_default();
            let origin = Origin::new(&SourceFile::new(shown.as_str(), text), 1, 1);
            out.push(
                Diagnostic::error(
                    "chart/unused-version",
                    format!(
                        "chart `{name}` version {} is run by no cluster: every release of it pins another version",
                        chart.version
                    ),
                )
                .at(Some(&origin))
                .note(format!(
                    "remove {}/{name}/{}/ once no cluster needs it, or pin a cluster to it (`{}`)",
                    fleet.project.charts_dir,
                    chart.version,
                    fleet.project.chart_pins.path(name).join(".")
                )),
            );
        }
    }
    out
}
