//! Rewriting golden/ so that it is never silently half old, half new. An update takes a
//! lock (`golden/.kcc.lock`: a second update exits 2), writes every new file beside its
//! target (`.<name>.kcc-new`) before replacing any, records what it is about to replace in
//! `golden/.kcc-update`, renames, deletes, and removes the record last. A run killed at any
//! moment leaves either the old tree with stray `.kcc-new` files (removed by the next update)
//! or the record, which `kcc check` reports, naming the files, until an update completes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Change, Files, GOLDEN_DIR, remove_empty_dirs};
use crate::diagnostic::{Diagnostic, Failure, Result};
use crate::output::write_atomic;

const LOCK: &str = ".kcc.lock";
const RECORD: &str = ".kcc-update";
const STAGED: &str = ".kcc-new";

/// Applies `changes` to golden/ under `root` as one transaction (see the module comment).
pub fn apply(root: &Path, expected: &Files, changes: &[Change]) -> Result<()> {
    let golden = root.join(GOLDEN_DIR);
    let fail = |what: &Path, e: std::io::Error| {
        Failure::Fatal(format!("cannot write {}: {e}", what.display()))
    };
    std::fs::create_dir_all(&golden).map_err(|e| fail(&golden, e))?;
    let _lock = lock(&golden)?;
    remove_stale(&golden);
    if changes.is_empty() {
        return Ok(());
    }
    // Phase 1: every new text beside its target; on failure, nothing was replaced.
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    for change in changes {
        if let Change::Added(p) | Change::Changed(p) = change {
            let target = root.join(p);
            let tmp = staged_path(&target);
            let written = std::fs::create_dir_all(tmp.parent().unwrap_or(&golden))
                .and_then(|()| write_synced(&tmp, expected[p].as_bytes()));
            if let Err(e) = written {
                for (tmp, _) in &staged {
                    let _ = std::fs::remove_file(tmp);
                }
                let _ = std::fs::remove_file(&tmp);
                return Err(fail(&target, e));
            }
            staged.push((tmp, target));
        }
    }
    // The record: from here until it is removed, golden/ may mix old and new files.
    let record: String = changes.iter().map(|c| format!("{}\n", c.path())).collect();
    write_atomic(&golden.join(RECORD), record.as_bytes())?;
    // Phase 2: replace, then delete.
    for (tmp, target) in &staged {
        std::fs::rename(tmp, target).map_err(|e| fail(target, e))?;
    }
    for change in changes {
        if let Change::Removed(p) = change {
            let path = root.join(p);
            std::fs::remove_file(&path).or_else(|e| match e.kind() {
                // Already gone (removed by hand meanwhile): the goal is reached.
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(Failure::Fatal(format!(
                    "cannot remove {}: {e}",
                    path.display()
                ))),
            })?;
            remove_empty_dirs(root, path.parent());
        }
    }
    std::fs::remove_file(golden.join(RECORD)).map_err(|e| fail(&golden.join(RECORD), e))?;
    Ok(())
}

/// `golden/interrupted`: an update was killed between replacing its first file and its
/// last. The files it listed may be old or new; rerunning it makes them all new.
pub fn interrupted(root: &Path) -> Option<Diagnostic> {
    let record = std::fs::read_to_string(root.join(GOLDEN_DIR).join(RECORD)).ok()?;
    let files: Vec<&str> = record.lines().filter(|l| !l.is_empty()).collect();
    Some(
        Diagnostic::error(
            "golden/interrupted",
            format!(
                "a `kcc update` was interrupted while replacing {} file(s): golden/ may mix old and new files",
                files.len()
            ),
        )
        .note(format!("the files it was replacing: {}", files.join(", ")))
        .note("run `kcc update` again to finish it"),
    )
}

/// The exclusive lock of golden/, held until the returned file is dropped.
fn lock(golden: &Path) -> Result<File> {
    let path = golden.join(LOCK);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Failure::Fatal(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Failure::Fatal(
            "another kcc update is running on this golden/ (it holds golden/.kcc.lock)".into(),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(Failure::Fatal(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

/// `.<name>.kcc-new` beside `target`.
fn staged_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{STAGED}"))
}

fn write_synced(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Staged files a killed update left behind.
fn remove_stale(golden: &Path) {
    let stale = crate::source::files_under(golden, &|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(STAGED))
    });
    for path in stale {
        let _ = std::fs::remove_file(path);
    }
}
