//! Names for shell completion (`kcc render -c <TAB>`): the clusters and releases of the
//! project the command line being completed names (`--project DIR`), or of the nearest
//! kcc.yaml above the working directory. Completion must never fail loudly: a project that
//! does not load completes nothing.

use std::path::PathBuf;

use crate::project::{Project, find_root};

/// The project of the command line being completed: the shell passes its words after `--`.
fn project() -> Option<Project> {
    let args: Vec<String> = std::env::args().collect();
    let named = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--project=")
            .map(PathBuf::from)
            .or_else(|| (a == "--project").then(|| args.get(i + 1).map(PathBuf::from))?)
    });
    let root = match named {
        Some(dir) => dir,
        None => find_root(&std::env::current_dir().ok()?).ok()?,
    };
    Project::load(&root).ok()
}

/// The clusters of kcc.yaml, in its order.
pub fn cluster_names() -> Vec<String> {
    project()
        .map(|p| p.clusters.into_iter().map(|c| c.name).collect())
        .unwrap_or_default()
}

/// The releases of kcc.yaml, in its order.
pub fn release_names() -> Vec<String> {
    project()
        .map(|p| p.releases.into_iter().map(|r| r.name).collect())
        .unwrap_or_default()
}
