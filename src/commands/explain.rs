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
    let layers = fleet.layers(c, r, private)?;
    // Like `git config --get`: exit 1 when there is no such value, so scripts can tell.
    let explained = crate::values::explain(&layers, path);
    Ok(Report {
        text: explained.text,
        failed: !explained.set,
    })
}
