//! `kcc check`: render the whole fleet, run every check, and compare with golden/.
//!
//! A release that fails to render does not stop the others: its errors are reported with
//! everything else found in what did render, drift included.

use std::fmt::Write;

use crate::check;
use crate::diagnostic::{Diagnostic, Result, Severity};
use crate::diff::{ACKNOWLEDGE_TRAILER, Hazard};
use crate::golden;
use crate::project::Cluster;
use crate::render::{Fleet, Selection};
use crate::report::{self, Subject};
use crate::source::{Origin, SourceFile};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// JUnit XML (Jenkins, GitLab)
    Junit,
    /// SARIF 2.1.0 (GitHub code scanning)
    Sarif,
    /// TAP version 14
    Tap,
    /// GitHub Actions workflow commands (annotations)
    Github,
}

impl Format {
    /// The formats CI systems read, whose paths are relative to the repository.
    fn for_ci(self) -> bool {
        !matches!(self, Format::Text | Format::Json)
    }
}

/// What a run covered, for the formats that say so: the command, what it checked, the
/// project directory within its repository, notes about the run and its summary line.
pub struct Context {
    pub command: &'static str,
    pub subjects: Vec<Subject>,
    pub path_prefix: String,
    pub notes: Vec<String>,
    pub summary: String,
}

/// What `check` found, printed in `format`. Failure::Config when there is an error.
pub struct Report {
    pub text: String,
    pub failed: bool,
}

/// Clusters that already run a version newer than `--target-version`: an error for a
/// cluster named with `-c` (or when every cluster is newer: nothing would be checked), a
/// note naming the ones left out otherwise — never silently nothing.
fn target_newer_clusters(fleet: &Fleet, target: check::Target<'_>) -> Result<Vec<String>> {
    let rank = |v: &str| crate::schema::supported_versions().position(|s| s == v);
    let newer: Vec<&crate::project::Cluster> = fleet
        .project
        .clusters
        .iter()
        .filter(|c| target.clusters.is_empty() || target.clusters.contains(&c.name))
        .filter(|c| rank(c.kubernetes_minor) > rank(target.version))
        .collect();
    let named = |cs: &[&crate::project::Cluster]| {
        cs.iter()
            .map(|c| format!("`{}` ({})", c.name, c.kubernetes_minor))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let all_newer = newer.len() == fleet.project.clusters.len();
    if !newer.is_empty() && (!target.clusters.is_empty() || all_newer) {
        return Err(crate::Failure::Fatal(format!(
            "--target-version {} is older than the Kubernetes version of cluster {}: an upgrade target must be newer than what a cluster runs",
            target.version,
            named(&newer)
        )));
    }
    Ok(match newer.is_empty() {
        true => Vec::new(),
        false => vec![format!(
            "note: --target-version {}: not checked for cluster {}, which already run(s) a newer version",
            target.version,
            named(&newer)
        )],
    })
}

/// `target`: a Kubernetes minor (and the clusters to try it on) whose breakages to report
/// as `schema/upgrade` errors. `base`: a git revision whose render the working tree's is
/// compared with, its apply hazards reported (`hazard/*`: errors, warnings once accepted).
///
/// `since`: check only the clusters a change since that git revision reaches
/// ([`check::since::Scope`]); the others are not rendered, and their facts still reach the
/// fleet-wide rules.
///
/// Clusters are checked as a stream: each is rendered, checked and compared with its
/// golden/ directory on its own, and only its diagnostics and what the fleet-wide rules need
/// are kept, so memory stays that of the clusters in flight, not of the whole fleet.
pub fn run(
    fleet: &Fleet,
    format: Format,
    target: Option<check::Target<'_>>,
    base: Option<&str>,
    since: Option<&str>,
) -> Result<Report> {
    use rayon::prelude::*;
    let mut notes = Vec::new();
    // Before anything is rendered: a bad revision is a usage error, at once.
    let scope = since
        .map(|rev| check::since::Scope::since(fleet, rev))
        .transpose()?;
    let checked = |i: usize| scope.as_ref().is_none_or(|s| s.clusters.contains(&i));
    if let Some(t) = target {
        // Unknown names are usage errors, with a suggestion, as for render.
        fleet.select(&Selection {
            clusters: t.clusters.to_vec(),
            ..Selection::default()
        })?;
        notes.extend(target_newer_clusters(fleet, t)?);
    }
    let checker = check::Checker::new(fleet, target)?;
    let judged = check::rules::Judged::all_but(&fleet.project, checked);
    let (outcomes, files) = checker.beside_file_rules(&judged, || {
        fleet
            .project
            .clusters
            .par_iter()
            .enumerate()
            .map(|(i, cluster)| match checked(i) {
                true => check_cluster(fleet, &checker, cluster),
                false => Ok(ClusterOutcome {
                    diagnostics: Vec::new(),
                    failed: Vec::new(),
                    facts: checker.facts_unrendered(cluster),
                }),
            })
            .collect::<Result<Vec<_>>>()
    });
    let outcomes = outcomes?;
    // An interrupted update first: it explains whatever drift follows.
    let mut diagnostics: Vec<Diagnostic> = golden::interrupted(fleet.root()).into_iter().collect();
    let mut failed = Vec::new();
    let mut facts = Vec::new();
    for outcome in outcomes {
        diagnostics.extend(outcome.diagnostics);
        failed.extend(outcome.failed);
        facts.push(outcome.facts);
    }
    diagnostics.extend(checker.fleet(&facts, files));
    diagnostics.extend(golden::drift_outside_clusters(fleet)?);
    if let Some(rev) = base {
        let compared = super::diff::compare(fleet.root(), Some(rev), false)?;
        diagnostics.extend(compared.diff.hazards.iter().map(hazard_diagnostic));
    }
    let diagnostics = crate::diagnostic::dedup(diagnostics);
    if !failed.is_empty() {
        let skipped = golden::not_compared(&failed);
        notes.push(format!(
            "note: {} golden file(s) not compared, as their release did not render: {}",
            skipped.len(),
            skipped.join(", ")
        ));
    }
    let context = Context {
        command: "kcc check",
        subjects: fleet
            .project
            .clusters
            .iter()
            .enumerate()
            .filter(|(i, _)| checked(*i))
            .map(|(_, c)| Subject::cluster(&c.name))
            .collect(),
        // CI annotates files by their path in the repository.
        path_prefix: match format.for_ci() {
            true => crate::git::prefix(fleet.root()).unwrap_or_default(),
            false => String::new(),
        },
        notes,
        summary: summary(fleet, scope.as_ref()),
    };
    Ok(format_report(diagnostics, format, &context))
}

/// `kcc check: 11 clusters`; with `--since`, also how many pairs were skipped.
fn summary(fleet: &Fleet, scope: Option<&check::since::Scope>) -> String {
    let clusters = fleet.project.clusters.len();
    let Some(scope) = scope else {
        return format!("kcc check: {clusters} clusters");
    };
    let releases = fleet.project.releases.len();
    let skipped = (clusters - scope.clusters.len()) * releases;
    format!(
        "kcc check: {} of {clusters} clusters, {skipped} of {} cluster × release pairs skipped as unchanged since {}",
        scope.clusters.len(),
        clusters * releases,
        scope.rev
    )
}

/// A hazard as a diagnostic at its golden file (and line of the new render): an error, or
/// a warning once a `Kcc-Accept-Hazard:` trailer accepts it.
fn hazard_diagnostic(h: &Hazard) -> Diagnostic {
    let field = h
        .field
        .as_ref()
        .map(|f| format!(" {f}"))
        .unwrap_or_default();
    let message = format!("{}{field}: {}", h.object, h.message);
    let file = SourceFile::new(&h.file, "");
    let at = Origin::new(&file, h.line.unwrap_or(1), 1);
    let d = match &h.acknowledged_by {
        None => Diagnostic::error(h.rule, message).note(format!(
            "to accept it, add this line to the commit message: {ACKNOWLEDGE_TRAILER}: {}",
            h.acknowledgement
        )),
        Some(commit) => Diagnostic::warning(h.rule, message).note(format!(
            "accepted by {ACKNOWLEDGE_TRAILER} in commit {commit}"
        )),
    };
    d.at(Some(&at)).in_cluster(&h.cluster)
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
    let checked = checker.render_and_check(cluster)?;
    let partial = checked.partial;
    let mut diagnostics = checked.diagnostics;
    diagnostics.extend(golden::drift_of_cluster(
        fleet,
        &cluster.name,
        &partial.renders,
        &partial.failed,
    )?);
    Ok(ClusterOutcome {
        diagnostics,
        failed: partial.failed,
        facts: checked.facts,
    })
}

/// Diagnostics in `format`, errors first; `failed` if any is an error. Text ends with the
/// context's notes (lines about the run as a whole) and its summary.
pub fn format_report(
    mut diagnostics: Vec<Diagnostic>,
    format: Format,
    context: &Context,
) -> Report {
    // Errors first; among them drift last, so that a new cluster's many drifting files do
    // not push the errors that explain them off the screen.
    diagnostics.sort_by_key(|d| (std::cmp::Reverse(d.severity), d.rule == "golden/drift"));
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let summary = format!(
        "{}, {errors} error(s), {warnings} warning(s)",
        context.summary
    );
    let run = report::Run {
        command: context.command,
        diagnostics: &diagnostics,
        subjects: &context.subjects,
        path_prefix: &context.path_prefix,
        notes: &context.notes,
        summary: &summary,
    };
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
            for note in &context.notes {
                let _ = writeln!(text, "{note}");
            }
            let _ = writeln!(text, "{summary}");
        }
        Format::Junit => text = report::junit(&run),
        Format::Sarif => text = report::sarif(&run),
        Format::Tap => text = report::tap(&run),
        Format::Github => text = report::github(&run),
    }
    Report {
        text,
        failed: errors > 0,
    }
}
