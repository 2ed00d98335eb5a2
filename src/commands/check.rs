//! `kcc check`: render the whole fleet, run every check, and compare with golden/.
//!
//! A release that fails to render does not stop the others: its errors are reported with
//! everything else found in what did render, drift included.

use std::fmt::Write;

use crate::check;
use crate::diagnostic::{Diagnostic, Result, Severity};
use crate::golden;
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
pub fn run(fleet: &Fleet, format: Format, target: Option<check::Target<'_>>) -> Result<Report> {
    if let Some(t) = target {
        // Unknown names are usage errors, with a suggestion, as for render.
        fleet.select(&Selection {
            clusters: t.clusters.to_vec(),
            ..Selection::default()
        })?;
    }
    let partial = fleet.render_partial(&Selection::default())?;
    // Render errors are findings like any other: print them in the chosen format.
    let mut diagnostics = partial.errors;
    diagnostics.extend(check::check(
        fleet,
        &partial.renders,
        &partial.failed,
        target,
    )?);
    diagnostics.extend(golden::drift(
        fleet,
        &partial.renders,
        golden::Scope::Fleet,
        &partial.failed,
    )?);
    let mut notes = Vec::new();
    if !partial.failed.is_empty() {
        let skipped = golden::not_compared(&partial.failed);
        notes.push(format!(
            "note: {} golden file(s) not compared, as their release did not render: {}",
            skipped.len(),
            skipped.join(", ")
        ));
    }
    let summary = format!("kcc check: {} clusters", fleet.project.clusters.len());
    Ok(format_report(diagnostics, format, &notes, &summary))
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
