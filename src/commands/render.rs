//! `kcc render`: canonical manifests to stdout, or a directory per cluster that helmfile
//! can sync from.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Failure, Result};
use crate::golden;
use crate::helmfile;
use crate::manifest::{write_objects, write_objects_redacted};
use crate::owned_dir::DeployDir;
use crate::render::{Fleet, ReleaseRender, Selection};

pub struct Options<'a> {
    /// Write under this directory instead of printing.
    pub out: Option<&'a Path>,
    /// Refuse (exit 1, nothing written) if the render with fixtures differs from golden/.
    pub verify_golden: bool,
    /// Write the fixture overlay's private values into `out` (test deploys).
    pub fixture_secrets: bool,
}

pub fn render(fleet: &Fleet, sel: &Selection, opts: &Options) -> Result<String> {
    if opts.verify_golden {
        verify_golden(fleet, sel)?;
    }
    let renders = fleet.render(sel)?;
    match opts.out {
        None => Ok(to_stdout(&renders)),
        Some(dir) => {
            refuse_fixture_secrets(fleet, sel, &renders, opts)?;
            write_dir(fleet, sel, &renders, dir)
        }
    }
}

/// A deploy directory gets real secrets (`--private DIR`): one that would hold the fixture
/// overlay's stand-ins is refused, nothing written, unless asked for by name — on a deploy
/// host a forgotten flag must not ship fixture credentials.
fn refuse_fixture_secrets(
    fleet: &Fleet,
    sel: &Selection,
    renders: &[ReleaseRender],
    opts: &Options,
) -> Result<()> {
    if sel.private.is_some() || opts.fixture_secrets {
        return Ok(());
    }
    let using: Vec<String> = renders
        .iter()
        .filter(|r| r.installed.yes && r.private_values)
        .map(|r| format!("{} in {}", r.release, r.cluster))
        .collect();
    if using.is_empty() {
        return Ok(());
    }
    let fixture = fleet.project.private_fixture.as_deref().unwrap_or("");
    Err(crate::diagnostic::Diagnostic::error(
        "render/fixture-secrets",
        format!(
            "refusing to write fixture secrets into --out: without --private DIR the private values of {} come from the fixture overlay ({fixture}/)",
            using.join(", ")
        ),
    )
    .note("pass --private DIR with the real secrets; for a test deploy, --fixture-secrets writes the fixtures")
    .into())
}

fn to_stdout(renders: &[ReleaseRender]) -> String {
    let installed: Vec<&ReleaseRender> = renders.iter().filter(|r| r.installed.yes).collect();
    let several = installed.len() > 1;
    let mut text = String::new();
    for r in installed {
        if several {
            let _ = writeln!(text, "# kcc: cluster {} release {}", r.cluster, r.release);
        }
        // Printed output is read in logs: Secrets show as digests, as in golden/. Only a
        // deploy directory (--out) holds their values.
        text.push_str(&write_objects_redacted(&r.objects));
    }
    text
}

/// Per cluster: `<release>.yaml`, `helmfile.yaml`, and `<release>/` (a chart that installs
/// the manifest verbatim). With one cluster selected, DIR is that cluster's directory;
/// otherwise each cluster gets DIR/<cluster>/. Everything is rendered before anything is
/// written; the new tree is built beside DIR and switched in as a whole, files an earlier
/// render wrote and this one does not (an uninstalled release) left out (see [`crate::owned_dir`]).
fn write_dir(
    fleet: &Fleet,
    sel: &Selection,
    renders: &[ReleaseRender],
    dir: &Path,
) -> Result<String> {
    let mut clusters: Vec<_> = fleet.select(sel)?.into_iter().map(|(c, _)| c).collect();
    clusters.dedup_by(|a, b| a.name == b.name);
    let single = clusters.len() == 1;
    let mut deploy = DeployDir::begin(dir, &protected(fleet, sel))?;
    let mut summary = String::new();
    for cluster in clusters {
        let prefix = if single {
            String::new()
        } else {
            format!("{}/", cluster.name)
        };
        let mut write =
            |file: String, contents: &[u8]| deploy.write(&format!("{prefix}{file}"), contents);
        let of_cluster: Vec<&ReleaseRender> = renders
            .iter()
            .filter(|r| r.cluster == cluster.name)
            .collect();
        for r in of_cluster.iter().filter(|r| r.installed.yes) {
            let chart = &r.chart;
            let manifest = write_objects(&r.objects);
            write(format!("{}.yaml", r.release), manifest.as_bytes())?;
            let name = &r.release;
            let chart_yaml = helmfile::chart_yaml(name, chart);
            write(format!("{name}/Chart.yaml"), chart_yaml.as_bytes())?;
            let template = helmfile::VERBATIM_TEMPLATE.as_bytes();
            write(format!("{name}/templates/manifest.yaml"), template)?;
            write(
                format!("{name}/{}", helmfile::MANIFEST_FILE),
                manifest.as_bytes(),
            )?;
            let _ = writeln!(
                summary,
                "wrote {} ({} objects)",
                dir.join(format!("{prefix}{}.yaml", r.release)).display(),
                r.objects.len()
            );
        }
        let helmfile_text = helmfile::helmfile_yaml(fleet, cluster, &of_cluster, "./{release}");
        write("helmfile.yaml".into(), helmfile_text.as_bytes())?;
        let _ = writeln!(
            summary,
            "wrote {}",
            dir.join(format!("{prefix}helmfile.yaml")).display()
        );
    }
    for stale in deploy.commit()?.removed {
        let _ = writeln!(
            summary,
            "removed {} (no longer rendered)",
            dir.join(stale).display()
        );
    }
    Ok(summary)
}

/// The project's directories a deploy directory must keep out of (and off).
fn protected(fleet: &Fleet, sel: &Selection) -> Vec<(String, PathBuf)> {
    let project = &fleet.project;
    let root = &project.root;
    let mut dirs = vec![
        (
            "the project's charts/".to_string(),
            root.join(&project.charts_dir),
        ),
        ("the project's values/".to_string(), root.join("values")),
        (
            "the project's golden/".to_string(),
            root.join(golden::GOLDEN_DIR),
        ),
        ("the project's schemas/".to_string(), root.join("schemas")),
    ];
    if let Some(fixture) = &project.private_fixture {
        dirs.push(("the fixture secrets".to_string(), root.join(fixture)));
    }
    if let Some(private) = &sel.private {
        dirs.push(("--private".to_string(), private.clone()));
    }
    dirs
}

/// The render with fixture secrets must equal golden/ for the selected clusters: the
/// deploy host deploys only what was reviewed.
fn verify_golden(fleet: &Fleet, sel: &Selection) -> Result<()> {
    let reviewed = Selection {
        private: None,
        releases: Vec::new(),
        ..sel.clone()
    };
    let renders = fleet.render(&reviewed)?;
    let drift = golden::drift_of_rendered(fleet, &renders)?;
    if drift.is_empty() {
        return Ok(());
    }
    let diagnostics = drift
        .into_iter()
        .map(|d| d.note("refusing to write: deploy only what was reviewed (run `kcc update` and get it reviewed)"))
        .collect();
    Err(Failure::Config(diagnostics))
}
