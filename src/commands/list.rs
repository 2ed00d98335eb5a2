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
        "{:<width_c$}  {:<width_r$}  {:<14}  {:<width_v$}  {:<9}  WHY",
        "CLUSTER", "RELEASE", "NAMESPACE", "CHART", "INSTALLED"
    );
    for ((cluster, release), input) in pairs.iter().zip(inputs) {
        let values = to_template(&input.values());
        let installed = fleet.installed(cluster, release, &values)?;
        let _ = writeln!(
            out,
            "{:<width_c$}  {:<width_r$}  {:<14}  {:<width_v$}  {:<9}  {}",
            cluster.name,
            release.name,
            release.namespace,
            chart_label(&input.choice.chart),
            if installed.yes { "yes" } else { "no" },
            installed.reason
        );
    }
    Ok(out)
}

/// `calico 0.5.2`: the chart and the version a cluster × release runs.
fn chart_label(chart: &Chart) -> String {
    format!("{} {}", chart.name, chart.version)
}
