//! `kcc check`: render the whole fleet, run every check, and compare with golden/.

use std::fmt::Write;

use crate::check;
use crate::diagnostic::{Diagnostic, Failure, Result, Severity};
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

pub fn run(fleet: &Fleet, format: Format) -> Result<Report> {
    let sel = Selection::default();
    let diagnostics = match fleet.render(&sel) {
        Ok(renders) => {
            let mut d = check::check(fleet, &renders)?;
            d.extend(golden::drift(fleet, &renders, golden::Scope::Fleet)?);
            d
        }
        // Render errors are findings like any other: print them in the chosen format.
        Err(Failure::Config(d)) => d,
        Err(fatal) => return Err(fatal),
    };
    let summary = format!("kcc check: {} clusters", fleet.project.clusters.len());
    Ok(format_report(diagnostics, format, &summary))
}

/// Diagnostics in `format`, errors first; `failed` if any is an error.
pub fn format_report(mut diagnostics: Vec<Diagnostic>, format: Format, summary: &str) -> Report {
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
            let _ = writeln!(text, "{summary}, {errors} error(s), {warnings} warning(s)");
        }
    }
    Report {
        text,
        failed: errors > 0,
    }
}
