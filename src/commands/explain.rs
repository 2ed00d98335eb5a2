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
    // Before the merged value, which stays last: scripts read it with `tail -n 1`.
    let readers = who_reads(fleet, (c, r), &crate::values::path_parts(path), private);
    let at = text.rfind("  = merged value\n").unwrap_or(text.len());
    text.insert_str(at, &readers);
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

/// What reads the value at `parts` in this cluster × release: the templates (at the lines
/// that read it or a map holding it), the `installed` condition, kcc itself; or nothing.
fn who_reads(
    fleet: &Fleet,
    (cluster, release): (&crate::project::Cluster, &crate::project::Release),
    parts: &[&str],
    private: Option<&Path>,
) -> String {
    use crate::chart::{READER_INSTALLED, READER_KCC};
    let Ok(render) = fleet.render_release(cluster, release, private, None) else {
        return "  read by: not known, as the release does not render (see `kcc check`)\n".into();
    };
    let Some(read) = render.reads.find(parts) else {
        return "  read by: nothing in this cluster × release (no template reads it, nor does kcc)\n".into();
    };
    let sites = render.chart.read_sites();
    let mut lines = Vec::new();
    let mut readers = read.readers.clone();
    readers.sort_unstable();
    for reader in readers {
        match reader {
            READER_INSTALLED => lines.push(format!(
                "kcc.yaml `installed` of release `{}`",
                release.name
            )),
            READER_KCC => lines.push(
                "kcc itself (network facts, chart version pins, kcc.yaml `externalValues`)".into(),
            ),
            index => {
                let Some(template) = render.chart.templates.get(usize::from(index)) else {
                    continue;
                };
                // The lines of that template, or of a helper it may call, that read the
                // path or a map holding it.
                let related = |s: &&crate::chart::ReadSite| {
                    let n = s.path.len().min(parts.len());
                    s.path[..n]
                        .iter()
                        .map(String::as_str)
                        .eq(parts[..n].iter().copied())
                        && (s.file == *template
                            || s.file
                                .rsplit('/')
                                .next()
                                .is_some_and(|f| f.starts_with('_')))
                };
                let found: Vec<String> = sites
                    .iter()
                    .filter(related)
                    .map(|s| format!("{}:{}  values.{}", s.shown, s.line, s.path.join(".")))
                    .collect();
                if found.is_empty() {
                    lines.push(format!(
                        "{}/{template} (through a variable or macro)",
                        render.chart.name
                    ));
                } else {
                    lines.extend(found);
                }
            }
        }
    }
    lines.dedup();
    let whole = if read.whole {
        " (whole: iterated, printed or serialized)"
    } else {
        ""
    };
    let mut out = format!("  read by{whole}:\n");
    for line in lines {
        out.push_str(&format!("    {line}\n"));
    }
    out
}
