//! `kcc render`: canonical manifests to stdout, or one file per cluster and release.

use std::path::Path;

use crate::diagnostic::Result;
use crate::manifest::write_objects;
use crate::output::write_atomic;
use crate::render::{Fleet, ReleaseRender, Selection};

/// Renders the selection. With `out`, writes `out/<cluster>/<release>.yaml` (only once
/// everything rendered, so an error leaves nothing half-written) and returns a summary;
/// without, returns the manifests.
pub fn render(fleet: &Fleet, sel: &Selection, out: Option<&Path>) -> Result<String> {
    let renders = fleet.render(sel)?;
    let installed: Vec<&ReleaseRender> = renders.iter().filter(|r| r.installed.yes).collect();
    match out {
        None => {
            let several = installed.len() > 1;
            let mut text = String::new();
            for r in installed {
                if several {
                    text.push_str(&format!(
                        "# kcc: cluster {} release {}\n",
                        r.cluster, r.release
                    ));
                }
                text.push_str(&write_objects(&r.objects));
            }
            Ok(text)
        }
        Some(dir) => {
            let mut summary = String::new();
            for r in installed {
                let path = dir.join(&r.cluster).join(format!("{}.yaml", r.release));
                write_atomic(&path, write_objects(&r.objects).as_bytes())?;
                summary.push_str(&format!(
                    "wrote {} ({} objects)\n",
                    path.display(),
                    r.objects.len()
                ));
            }
            Ok(summary)
        }
    }
}
