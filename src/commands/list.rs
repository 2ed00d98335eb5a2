//! `kcc list`: the cluster × release matrix, installed or not and why.

use std::fmt::Write;

use crate::chart::to_template;
use crate::diagnostic::Result;
use crate::render::{Fleet, Selection};
use crate::values::merge_layers;

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
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width_c$}  {:<width_r$}  {:<14}  {:<9}  WHY",
        "CLUSTER", "RELEASE", "NAMESPACE", "INSTALLED"
    );
    for (cluster, release) in pairs {
        let layers = fleet.layers(cluster, release, sel.private.as_deref())?;
        let values = to_template(&merge_layers(&layers));
        let installed = fleet.installed(cluster, release, &values)?;
        let _ = writeln!(
            out,
            "{:<width_c$}  {:<width_r$}  {:<14}  {:<9}  {}",
            cluster.name,
            release.name,
            release.namespace,
            if installed.yes { "yes" } else { "no" },
            installed.reason
        );
    }
    Ok(out)
}
