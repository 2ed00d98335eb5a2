//! `kcc update`: rewrite golden/ from the render, atomically, and say what changed.

use std::fmt::Write;

use crate::diagnostic::Result;
use crate::golden::{self, Change};
use crate::render::{Fleet, Selection};

pub fn update(fleet: &Fleet) -> Result<String> {
    let renders = fleet.render(&Selection::default())?;
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
