//! Output: files written so that a crash or an error never leaves a torn or half-written
//! tree, and whether the terminal wants colour.

use std::io::Write;
use std::path::Path;

use crate::diagnostic::{Failure, Result};

/// Writes `contents` to `path` through a temporary file in the same directory and a rename,
/// so readers see the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| Failure::Fatal(format!("cannot write {}: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(contents).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
pub fn color_wanted() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}
