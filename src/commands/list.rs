//! `kcc list`: the cluster × release matrix, installed or not and why.

use std::fmt::Write;

use crate::chart::{Chart, to_template};
use crate::diagnostic::Result;
use crate::render::{Fleet, Selection};

pub fn list(fleet: &Fleet, sel: &Selection) -> Result<String> {
    let pairs = fleet.select(sel)?;
    let width_c = pairs
        .iter()
        .map(|(c, _)| c.name.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let width_r = pairs
        .iter()
        .map(|(_, r)| r.name.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let inputs = pairs
        .iter()
        .map(|(c, r)| fleet.input(c, r, sel.private.as_deref()))
        .collect::<Result<Vec<_>>>()?;
    let width_v = inputs
        .iter()
        .map(|i| chart_label(&i.choice.chart).len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width_c$}  {:<width_r$}  {:<14}  {:<9}  {:<width_v$}  WHY",
        "CLUSTER", "RELEASE", "NAMESPACE", "INSTALLED", "CHART"
    );
    for ((cluster, release), input) in pairs.iter().zip(inputs) {
        let values = to_template(&input.values());
        let installed = fleet.installed(cluster, release, &values)?;
        let _ = writeln!(
            out,
            "{:<width_c$}  {:<width_r$}  {:<14}  {:<9}  {:<width_v$}  {}",
            cluster.name,
            release.name,
            release.namespace,
            if installed.yes { "yes" } else { "no" },
            chart_label(&input.choice.chart),
            installed.reason
        );
    }
    Ok(out)
}

/// `calico-0.5.2`: the chart and the version a cluster × release runs, spelt as helm's
/// `helm.sh/chart` label spells it (one word, so that the columns stay `awk`-able).
fn chart_label(chart: &Chart) -> String {
    format!("{}-{}", chart.name, chart.version)
}
