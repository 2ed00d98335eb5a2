//! `kcc update`: rewrite golden/ from the render, atomically, and say what changed.
//!
//! Goldens are what reviewers read: they are written only from a fleet with no errors, so
//! update runs the checks first (not the drift: that is what it fixes) and refuses, writing
//! nothing, while any error remains.

use std::fmt::Write;

use crate::check;
use crate::diagnostic::{Failure, Result, Severity};
use crate::golden::{self, Change};
use crate::render::{Fleet, Selection};

pub fn update(fleet: &Fleet) -> Result<String> {
    let partial = fleet.render_partial(&Selection::default())?;
    let mut errors = partial.errors;
    errors.extend(
        check::check(fleet, &partial.renders, &partial.failed, None)?
            .into_iter()
            .filter(|d| d.severity == Severity::Error),
    );
    if !errors.is_empty() {
        return Err(Failure::Refused {
            diagnostics: errors,
            undone: "golden/ not updated: fix them (`kcc check`), then run `kcc update`".into(),
        });
    }
    let renders = partial.renders;
    let expected = golden::expected(fleet, &renders);
    let current = golden::current(fleet.root())?;
    let changes = golden::changes(&current, &expected);
    golden::apply(fleet.root(), &expected, &changes)?;
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
