//! `kcc check`: render the whole fleet, run every check, and compare with golden/.
//!
//! A release that fails to render does not stop the others: its errors are reported with
//! everything else found in what did render, drift included.

use std::fmt::Write;

use crate::check;
use crate::diagnostic::{Diagnostic, Result, Severity};
use crate::golden;
use crate::project::Cluster;
use crate::render::{Fleet, Selection};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// What `check` found, printed in `format`. Failure::Config when there is an error.
pub struct Report {
    pub text: String,
    pub failed: bool,
}

/// `target`: a Kubernetes minor (and the clusters to try it on) whose breakages to report
/// as `schema/upgrade` errors.
///
/// Clusters are checked as a stream: each is rendered, checked and compared with its
/// golden/ directory on its own, and only its diagnostics and what the fleet-wide rules need
/// are kept, so memory stays that of the clusters in flight, not of the whole fleet.
pub fn run(fleet: &Fleet, format: Format, target: Option<check::Target<'_>>) -> Result<Report> {
    use rayon::prelude::*;
    if let Some(t) = target {
        // Unknown names are usage errors, with a suggestion, as for render.
        fleet.select(&Selection {
            clusters: t.clusters.to_vec(),
            ..Selection::default()
        })?;
    }
    let checker = check::Checker::new(fleet, target)?;
    let outcomes = fleet
        .project
        .clusters
        .par_iter()
        .map(|cluster| check_cluster(fleet, &checker, cluster))
        .collect::<Result<Vec<_>>>()?;
    // An interrupted update first: it explains whatever drift follows.
    let mut diagnostics: Vec<Diagnostic> = golden::interrupted(fleet.root()).into_iter().collect();
    let mut failed = Vec::new();
    let mut facts = Vec::new();
    for outcome in outcomes {
        diagnostics.extend(outcome.diagnostics);
        failed.extend(outcome.failed);
        facts.push(outcome.facts);
    }
    diagnostics.extend(checker.fleet(&facts));
    diagnostics.extend(golden::drift_outside_clusters(fleet)?);
    let diagnostics = crate::diagnostic::dedup(diagnostics);
    let mut notes = Vec::new();
    if !failed.is_empty() {
        let skipped = golden::not_compared(&failed);
        notes.push(format!(
            "note: {} golden file(s) not compared, as their release did not render: {}",
            skipped.len(),
            skipped.join(", ")
        ));
    }
    let summary = format!("kcc check: {} clusters", fleet.project.clusters.len());
    Ok(format_report(diagnostics, format, &notes, &summary))
}

/// What checking one cluster leaves behind once its renders are dropped.
struct ClusterOutcome {
    diagnostics: Vec<Diagnostic>,
    /// Its (cluster, release) pairs that did not render.
    failed: Vec<(String, String)>,
    facts: check::ClusterFacts,
}

/// Renders one cluster, checks it and compares it with its golden/ directory.
fn check_cluster(
    fleet: &Fleet,
    checker: &check::Checker,
    cluster: &Cluster,
) -> Result<ClusterOutcome> {
    let partial = fleet.render_partial(&Selection {
        clusters: vec![cluster.name.clone()],
        ..Selection::default()
    })?;
    let mut diagnostics = partial.errors;
    let views = check::ClusterView::group(fleet, &partial.renders, &partial.failed);
    let facts = match views.first() {
        Some(view) => {
            let (found, facts) = checker.cluster(view);
            diagnostics.extend(found);
            facts
        }
        None => check::ClusterFacts::none(&cluster.name),
    };
    diagnostics.extend(golden::drift_of_cluster(
        fleet,
        &cluster.name,
        &partial.renders,
        &partial.failed,
    )?);
    Ok(ClusterOutcome {
        diagnostics,
        failed: partial.failed,
        facts,
    })
}

/// Diagnostics in `format`, errors first; `failed` if any is an error. Text ends with
/// `notes` (lines about the run as a whole) and the summary.
pub fn format_report(
    mut diagnostics: Vec<Diagnostic>,
    format: Format,
    notes: &[String],
    summary: &str,
) -> Report {
    diagnostics.sort_by_key(|d| std::cmp::Reverse(d.severity));
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let mut text = String::new();
    match format {
        Format::Json => {
            for d in &diagnostics {
                let _ = writeln!(text, "{}", d.to_json());
            }
        }
        Format::Text => {
            let color = crate::output::color_wanted();
            for d in &diagnostics {
                text.push_str(&d.render_styled(color));
            }
            for note in notes {
                let _ = writeln!(text, "{note}");
            }
            let _ = writeln!(text, "{summary}, {errors} error(s), {warnings} warning(s)");
        }
    }
    Report {
        text,
        failed: errors > 0,
    }
}
