//! Output: files written so that a crash or an error never leaves a torn or half-written
//! tree, and whether the terminal wants colour.

use std::io::Write;
use std::path::Path;

use crate::diagnostic::{Failure, Result};
use crate::interrupt;

/// Writes `contents` to `path` through a temporary file in the same directory and a rename,
/// so readers see the old file or the new one, never a mix. The temporary file is removed
/// on an error and, if kcc is interrupted, by [`interrupt`].
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| Failure::Fatal(format!("cannot write {}: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut tmp = {
        let mut held = interrupt::hold();
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
        held.add_file(tmp.path());
        tmp
    };
    let tmp_path = tmp.path().to_path_buf();
    let written = tmp
        .write_all(contents)
        .and_then(|()| tmp.as_file().sync_all());
    let mut held = interrupt::hold();
    let done = match written {
        Ok(()) => tmp.persist(path).map(drop).map_err(|e| e.error),
        // Dropping `tmp` removes it.
        Err(e) => Err(e),
    };
    held.forget(&tmp_path);
    done.map_err(fail)
}

/// Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
pub fn color_wanted() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}
