//! Rewriting golden/ so that it is never silently half old, half new. An update takes a
//! lock (`golden/.kcc.lock`: a second update exits 2), writes every new file beside its
//! target (`.<name>.kcc-new`) before replacing any, records what it is about to replace in
//! `golden/.kcc-update`, renames, deletes, and removes the record, then the lock.
//!
//! An update that fails, panics or gets SIGINT/SIGTERM/SIGHUP while staging removes its
//! staged files and lock: golden/ is wholly old. A signal while it replaces waits for the
//! replacing to finish (it only renames): golden/ is wholly new. Killed outright (SIGKILL),
//! it leaves either the old tree with stray `.kcc-new` files and lock (removed by the next
//! update) or the record, which `kcc check` reports, naming the files, until an update
//! completes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Change, Files, GOLDEN_DIR, remove_empty_dirs};
use crate::diagnostic::{Diagnostic, Failure, Result};
use crate::interrupt::{self, Held};
use crate::lock::Lock;

const LOCK: &str = ".kcc.lock";
const RECORD: &str = ".kcc-update";
const STAGED: &str = ".kcc-new";

/// Applies `changes` to golden/ under `root` as one transaction (see the module comment).
pub fn apply(root: &Path, expected: &Files, changes: &[Change]) -> Result<()> {
    let mut update = Update::begin(root)?;
    for change in changes {
        if let Change::Added(p) | Change::Changed(p) = change {
            update.stage(p, &expected[p])?;
        }
    }
    update.commit(changes)
}

/// An update of golden/ that stages files as they are rendered (so a fleet's texts need
/// not all be held at once) and replaces them all in [`Update::commit`]. Dropped without
/// a commit (an error, a panic), it removes what it staged and its lock: golden/ stays old.
pub struct Update {
    root: PathBuf,
    tx: Transaction,
}

impl Update {
    /// Takes golden/'s lock (a second update exits 2) and removes what a killed update
    /// left behind.
    pub fn begin(root: &Path) -> Result<Update> {
        let golden = root.join(GOLDEN_DIR);
        std::fs::create_dir_all(&golden).map_err(|e| cannot_write(&golden, e))?;
        let tx = Transaction::begin(&golden)?;
        remove_stale(&golden);
        Ok(Update {
            root: root.to_path_buf(),
            tx,
        })
    }

    /// Writes the new text of `path` (relative to the root) beside it; nothing is replaced
    /// yet.
    pub fn stage(&mut self, path: &str, text: &str) -> Result<()> {
        let target = self.root.join(path);
        self.tx
            .stage(&target, text.as_bytes())
            .map_err(|e| cannot_write(&target, e))
    }

    /// Replaces and removes what `changes` say, every added or changed file having been
    /// staged. Phase 2, which a signal waits for: the record (from here until it is
    /// removed, golden/ may mix old and new files), replace, delete, remove the record.
    pub fn commit(mut self, changes: &[Change]) -> Result<()> {
        let root = self.root.clone();
        let golden = root.join(GOLDEN_DIR);
        if changes.is_empty() {
            // golden/ is the render already: an update killed after its last replacement
            // but before removing its record is finished, and the record goes.
            return match std::fs::remove_file(golden.join(RECORD)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(cannot_write(&golden.join(RECORD), e))
                }
                _ => Ok(()),
            };
        }
        // The staged texts reach the disk before any of them replaces a file.
        sync_dir_fs(&golden).map_err(|e| cannot_write(&golden, e))?;
        let mut held = interrupt::hold();
        let record_path = golden.join(RECORD);
        let record: String = changes.iter().map(|c| format!("{}\n", c.path())).collect();
        let record_tmp = self
            .tx
            .stage_held(&mut held, &record_path, record.as_bytes())
            .map_err(|e| cannot_write(&record_path, e))?;
        std::fs::rename(&record_tmp, &record_path).map_err(|e| cannot_write(&record_path, e))?;
        File::open(&record_path)
            .and_then(|f| f.sync_all())
            .map_err(|e| cannot_write(&record_path, e))?;
        for (tmp, target) in &self.tx.staged {
            std::fs::rename(tmp, target).map_err(|e| cannot_write(target, e))?;
            held.forget(tmp);
        }
        self.tx.staged.clear();
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
                remove_empty_dirs(&root, path.parent());
            }
        }
        std::fs::remove_file(&record_path).map_err(|e| cannot_write(&record_path, e))?;
        Ok(())
    }
}

fn cannot_write(what: &Path, e: std::io::Error) -> Failure {
    Failure::Fatal(format!("cannot write {}: {e}", what.display()))
}

/// Flushes the file system `dir` is on: one sync for every staged file, instead of one per
/// file (thousands of them in a large fleet).
fn sync_dir_fs(dir: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let handle = File::open(dir)?;
    // SAFETY: syncfs takes a file descriptor that stays open for the call.
    match unsafe { libc::syncfs(handle.as_raw_fd()) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// An update in progress: golden/'s lock and the files staged so far. Dropping it (done, an
/// error, a panic) removes the staged files that were not moved into place, then the lock;
/// a signal removes them through [`interrupt`].
struct Transaction {
    /// golden/'s lock, released after the staged files are removed.
    lock: Option<Lock>,
    /// (staged file, its target), not yet renamed.
    staged: Vec<(PathBuf, PathBuf)>,
}

impl Transaction {
    /// Takes golden/'s lock.
    fn begin(golden: &Path) -> Result<Transaction> {
        let lock = Lock::take(
            &golden.join(LOCK),
            "another kcc update is running on this golden/ (it holds golden/.kcc.lock)",
        )?;
        Ok(Transaction {
            lock: Some(lock),
            staged: Vec::new(),
        })
    }

    /// Writes `contents` beside `target`, to be renamed over it.
    fn stage(&mut self, target: &Path, contents: &[u8]) -> std::io::Result<()> {
        let mut held = interrupt::hold();
        let tmp = self.stage_held(&mut held, target, contents)?;
        self.staged.push((tmp, target.to_path_buf()));
        Ok(())
    }

    /// [`Transaction::stage`] under a hold the caller has: the staged file's path.
    fn stage_held(
        &mut self,
        held: &mut Held,
        target: &Path,
        contents: &[u8],
    ) -> std::io::Result<PathBuf> {
        let tmp = staged_path(target);
        if let Some(dir) = tmp.parent() {
            std::fs::create_dir_all(dir)?;
        }
        held.add_file(&tmp);
        let written = write_file(&tmp, contents);
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
            held.forget(&tmp);
        }
        written.map(|()| tmp)
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        let mut held = interrupt::hold();
        for (tmp, _) in self.staged.drain(..) {
            let _ = std::fs::remove_file(&tmp);
            held.forget(&tmp);
        }
        drop(held);
        drop(self.lock.take());
    }
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

/// `.<name>.kcc-new` beside `target`.
fn staged_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{STAGED}"))
}

/// Written, not synced: [`Update::commit`] syncs them all at once before any rename.
fn write_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(contents)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_staging_removes_the_staged_files_and_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let golden = dir.path().join(GOLDEN_DIR);
        std::fs::create_dir_all(golden.join("eqiad")).unwrap();
        let target = golden.join("eqiad/coredns.yaml");
        std::fs::write(&target, "old\n").unwrap();
        let panicked = std::panic::catch_unwind(|| {
            let mut tx = Transaction::begin(&golden).unwrap();
            tx.stage(&target, b"new\n").unwrap();
            assert!(staged_path(&target).exists());
            assert!(golden.join(LOCK).exists());
            panic!("a bug while staging");
        });
        assert!(panicked.is_err());
        assert!(!staged_path(&target).exists());
        assert!(!golden.join(LOCK).exists());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
    }
}
