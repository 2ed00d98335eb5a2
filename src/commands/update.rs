//! `kcc update`: rewrite golden/ from the render, atomically, and say what changed.
//!
//! Goldens are what reviewers read: they are written only from a fleet with no errors, so
//! update runs the checks first (not the drift: that is what it fixes) and refuses, writing
//! nothing, while any error remains.

use std::fmt::Write;
use std::sync::Mutex;

use crate::check;
use crate::diagnostic::{Diagnostic, Failure, Result, Severity};
use crate::golden::{self, Change, Files};
use crate::project::Cluster;
use crate::render::Fleet;

pub fn update(fleet: &Fleet) -> Result<String> {
    use rayon::prelude::*;
    let checker = check::Checker::new(fleet, None)?;
    // Locked from the start; each cluster's new files are staged as soon as it is rendered,
    // so only one cluster's texts are held at a time. Dropped on an error: golden/ stays old.
    let staging = Mutex::new(golden::Update::begin(fleet.root())?);
    let (outcomes, files) = checker.beside_file_rules(&Default::default(), || {
        fleet
            .project
            .clusters
            .par_iter()
            .map(|cluster| update_cluster(fleet, &checker, cluster, &staging))
            .collect::<Result<Vec<_>>>()
    });
    let outcomes = outcomes?;
    let mut errors = Vec::new();
    let mut facts = Vec::new();
    let mut changes = Vec::new();
    for outcome in outcomes {
        errors.extend(outcome.errors);
        facts.push(outcome.facts);
        changes.extend(outcome.changes);
    }
    errors.extend(checker.fleet(&facts, files));
    errors.retain(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(Failure::Refused {
            diagnostics: crate::diagnostic::dedup(errors),
            undone: "golden/ not updated: fix them (`kcc check`), then run `kcc update`".into(),
        });
    }
    // Clusters no longer in kcc.yaml: their files go.
    let orphans = golden::outside_clusters(fleet)?;
    changes.extend(golden::changes(&orphans, &Files::new()));
    // New and changed files first, then removed ones, each in path order.
    changes.sort_by(|a, b| {
        let removed = |c: &Change| matches!(c, Change::Removed(_));
        (removed(a), a.path()).cmp(&(removed(b), b.path()))
    });
    let staging = staging.into_inner().unwrap_or_else(|e| e.into_inner());
    staging.commit(&changes)?;
    let mut out = String::new();
    for change in &changes {
        let _ = match change {
            Change::Added(p) => writeln!(out, "added    {p}"),
            Change::Changed(p) => writeln!(out, "changed  {p}"),
            Change::Removed(p) => writeln!(out, "removed  {p}"),
        };
    }
    let _ = writeln!(out, "kcc update: {} file(s) changed", changes.len());
    Ok(out)
}

/// What updating one cluster leaves behind once its renders are dropped: its errors (then
/// nothing of it is staged), its facts for the fleet rules, and the changes to its golden/
/// directory, whose new texts are staged.
struct ClusterUpdate {
    errors: Vec<Diagnostic>,
    facts: check::ClusterFacts,
    changes: Vec<Change>,
}

fn update_cluster(
    fleet: &Fleet,
    checker: &check::Checker,
    cluster: &Cluster,
    staging: &Mutex<golden::Update>,
) -> Result<ClusterUpdate> {
    let checked = checker.render_and_check(cluster)?;
    let (partial, facts) = (checked.partial, checked.facts);
    let mut errors = checked.diagnostics;
    errors.retain(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Ok(ClusterUpdate {
            errors,
            facts,
            changes: Vec::new(),
        });
    }
    let expected = golden::expected(fleet, &partial.renders);
    let current = golden::current_of_cluster(fleet.root(), &cluster.name)?;
    let changes = golden::changes(&current, &expected);
    let mut staging = staging.lock().unwrap_or_else(|e| e.into_inner());
    for change in &changes {
        if let Change::Added(path) | Change::Changed(path) = change {
            staging.stage(path, &expected[path])?;
        }
    }
    Ok(ClusterUpdate {
        errors,
        facts,
        changes,
    })
}
