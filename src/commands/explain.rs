//! `kcc explain CLUSTER RELEASE PATH`: where a merged value came from.

use std::path::Path;

use crate::diagnostic::{Failure, Result};
use crate::render::Fleet;

pub fn explain(
    fleet: &Fleet,
    cluster: &str,
    release: &str,
    path: &str,
    private: Option<&Path>,
) -> Result<String> {
    let c = fleet
        .project
        .cluster(cluster)
        .ok_or_else(|| Failure::Fatal(format!("no cluster `{cluster}` in kcc.yaml")))?;
    let r = fleet
        .project
        .release(release)
        .ok_or_else(|| Failure::Fatal(format!("no release `{release}` in kcc.yaml")))?;
    let layers = fleet.layers(c, r, private)?;
    Ok(crate::values::explain(&layers, path))
}
