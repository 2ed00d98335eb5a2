//! `kcc explain CLUSTER RELEASE PATH`: where a merged value came from; exit 1 if it is not
//! set.

use std::path::Path;

use crate::commands::check::Report;
use crate::diagnostic::Result;
use crate::render::Fleet;

pub fn explain(
    fleet: &Fleet,
    cluster: &str,
    release: &str,
    path: &str,
    private: Option<&Path>,
) -> Result<Report> {
    let c = fleet.project.named_cluster(cluster)?;
    let r = fleet.project.named_release(release)?;
    let input = fleet.input(c, r, private)?;
    // Like `git config --get`: exit 1 when there is no such value, so scripts can tell.
    let explained = crate::values::explain(&input.layers, path);
    let mut text = explained.text;
    // A value of a release the cluster does not install changes nothing there.
    let values = crate::chart::to_template(&input.values());
    let installed = fleet.installed(c, r, &values)?;
    if !installed.yes {
        text.push_str(&format!(
            "note: release `{}` is not installed in cluster `{}` ({}): its values render nothing there\n",
            r.name, c.name, installed.reason
        ));
    }
    // A chart with several versions: which one this cluster runs, and the pin that says so.
    if fleet.charts.get(&r.chart).is_some_and(|v| v.versioned) {
        text = format!(
            "chart {} {}\n{text}",
            input.choice.chart.name,
            input.choice.describe()
        );
    }
    Ok(Report {
        text,
        failed: !explained.set,
    })
}
