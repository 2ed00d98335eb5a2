//! `releases/needs`: a release installed in a cluster needs only releases installed there
//! too (helmfile would wait for, or fail on, a release that is not there).

use crate::check::ClusterView;
use crate::diagnostic::Diagnostic;
use crate::render::Fleet;

pub fn needs(fleet: &Fleet, view: &ClusterView) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for render in view.releases.iter().filter(|r| r.installed.yes) {
        let Some(release) = fleet.project.release(&render.release) else {
            continue;
        };
        for need in &release.needs {
            let targets: Vec<_> = fleet
                .project
                .needed(need)
                .filter_map(|t| view.release(&t.name))
                .collect();
            // Not rendered at all (a narrowed selection, or it failed): nothing to say.
            if targets.is_empty() || targets.iter().any(|t| t.installed.yes) {
                continue;
            }
            let why = &targets[0].installed.reason;
            out.push(
                Diagnostic::error(
                    "releases/needs",
                    format!(
                        "release `{}` is installed in cluster `{}` but needs `{}`, which is not installed there",
                        release.name,
                        view.cluster.name,
                        need.id()
                    ),
                )
                .at(Some(&need.origin))
                .note(format!("`{}` is not installed: {why}", need.name)),
            );
        }
    }
    out
}
