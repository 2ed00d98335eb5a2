//! Files kcc is in the middle of writing — staged golden files and the golden lock, the
//! staging directory and lock of `render --out` — are registered here. On SIGINT,
//! SIGTERM or SIGHUP, a listener thread removes them and kcc exits 128 + the signal (130,
//! 143, 129); when kcc stops for memory ([`crate::memory`]) they are removed too. Only an
//! uncatchable end (SIGKILL, power loss) leaves them, for the next run to clean up.
//!
//! Work done while the registry is [held](hold) is never cut in half by a signal: the
//! listener waits for it. Creating a file and registering it happen under one hold, so no
//! file is ever on disk unregistered.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

static REGISTRY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static LISTENER: Once = Once::new();

/// Starts the listener thread (once; later calls do nothing). Until it runs, signals end
/// kcc the default way, which is fine while nothing is registered.
pub fn listen() {
    LISTENER.call_once(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("kcc-signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    // Waits for any work in progress under a hold, and keeps the registry
                    // (so that no new file is created) until the process is gone.
                    let mut registry = registry();
                    let removed = remove(&mut registry);
                    let name = match signal {
                        SIGINT => "SIGINT",
                        SIGTERM => "SIGTERM",
                        _ => "SIGHUP",
                    };
                    eprintln!(
                        "kcc: interrupted ({name}); removed {removed} file(s) it was writing"
                    );
                    // SAFETY: ends the process at once; no output buffer is flushed.
                    unsafe { libc::_exit(128 + signal) }
                }
            });
    });
}

fn registry() -> MutexGuard<'static, Vec<PathBuf>> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes every registered file (a directory with all it holds, links not followed); how
/// many there were.
fn remove(registry: &mut Vec<PathBuf>) -> usize {
    let n = registry.len();
    for path in registry.drain(..).rev() {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => drop(std::fs::remove_dir_all(&path)),
            _ => drop(std::fs::remove_file(&path)),
        }
    }
    n
}

/// Removes the registered files now, unless the registry is in use (then the next run
/// cleans up): for when kcc must stop at once.
pub fn remove_now() {
    if let Ok(mut registry) = REGISTRY.try_lock() {
        remove(&mut registry);
    }
}

/// Exclusive use of the registry; a signal waits until it is dropped.
pub struct Held(MutexGuard<'static, Vec<PathBuf>>);

/// Holds the registry (see [`Held`]), starting the listener if it is not running.
pub fn hold() -> Held {
    listen();
    Held(registry())
}

impl Held {
    /// Removes `path` (a file, or a directory and all it holds) if kcc is interrupted.
    pub fn add_file(&mut self, path: &Path) {
        self.0.push(path.to_path_buf());
    }

    /// `path` is done with (renamed into place, or removed): no longer removed on a signal.
    pub fn forget(&mut self, path: &Path) {
        self.0.retain(|p| p != path);
    }
}
