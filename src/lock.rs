//! One writer at a time: the exclusive lock `kcc update` takes on golden/ and `render --out`
//! takes beside its deploy directory. The lock is a file held with `flock`; the holder
//! removes it (while still holding it) when done or interrupted, so a lock file a killed
//! kcc left behind is only a file: the next run locks it and goes on.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Failure, Result};
use crate::interrupt;

/// A held lock; released, and its file removed, when dropped.
pub struct Lock {
    file: Option<File>,
    path: PathBuf,
}

impl Lock {
    /// Takes the lock at `path`, or fails with `busy` (exit 2) when another kcc holds it.
    /// The file is registered with [`interrupt`], so a signal removes it too.
    pub fn take(path: &Path, busy: &str) -> Result<Lock> {
        let mut held = interrupt::hold();
        let file = lock(path, busy)?;
        held.add_file(path);
        Ok(Lock {
            file: Some(file),
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let mut held = interrupt::hold();
        // Removed while still locked, so that no other kcc locks the file meanwhile.
        let _ = std::fs::remove_file(&self.path);
        held.forget(&self.path);
        drop(self.file.take());
    }
}

/// The exclusive lock at `path`, held until the returned file is dropped. The holder
/// removes the file before unlocking it, so a lock taken on a file that is no longer at
/// `path` is taken again on the new one.
fn lock(path: &Path, busy: &str) -> Result<File> {
    use std::os::unix::fs::MetadataExt;
    let cannot = |what: &str, e: std::io::Error| {
        Failure::Fatal(format!("cannot {what} {}: {e}", path.display()))
    };
    loop {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| cannot("open", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Failure::Fatal(busy.into())),
            Err(std::fs::TryLockError::Error(e)) => return Err(cannot("lock", e)),
        }
        let locked = file.metadata().map_err(|e| cannot("read", e))?;
        match std::fs::metadata(path) {
            Ok(now) if now.dev() == locked.dev() && now.ino() == locked.ino() => return Ok(file),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(cannot("read", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = Lock::take(&path, "busy").unwrap();
        match Lock::take(&path, "busy") {
            Err(Failure::Fatal(m)) => assert_eq!(m, "busy"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        drop(first);
        assert!(!path.exists());
        // A file left by a killed holder is no obstacle.
        std::fs::write(&path, "").unwrap();
        drop(Lock::take(&path, "busy").unwrap());
    }
}
