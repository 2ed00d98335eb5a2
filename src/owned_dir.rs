//! A deploy directory kcc owns: `render --out` records the files it wrote in a marker file,
//! and on the next render into the same directory removes those it no longer writes (a
//! release uninstalled from the cluster), so the directory is exactly the render. kcc
//! removes only files its marker lists: nothing in a directory it did not write, nothing a
//! person added to one it did.

use std::collections::BTreeSet;
use std::path::{Component, Path};

use crate::diagnostic::{Failure, Result};
use crate::output::write_atomic;

/// The marker: in each directory `render --out` writes, the list of files it wrote there.
pub const MARKER: &str = ".kcc-render";

const HEADER: &str = "# Written by `kcc render --out`: the files it wrote here. The next render removes\n# those it no longer writes; nothing else in this directory is touched.\n";

/// The files the last render wrote into `dir`, as paths relative to it (empty if kcc never
/// rendered into it). Entries that are not plain relative paths are ignored.
pub fn previous(dir: &Path) -> Result<BTreeSet<String>> {
    let text = match std::fs::read_to_string(dir.join(MARKER)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => {
            return Err(Failure::Fatal(format!(
                "cannot read {}: {e}",
                dir.join(MARKER).display()
            )));
        }
    };
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && is_plain_relative(l))
        .map(str::to_string)
        .collect())
}

/// `a/b.yaml`, never `/etc/x`, `../x` or `./x`: a marker someone edited cannot make kcc
/// delete outside its directory.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// After writing `written` into `dir`: removes what the previous render wrote and this one
/// did not (and directories that leaves empty), then records `written`. Returns the paths
/// removed, relative to `dir`.
pub fn finish(
    dir: &Path,
    before: &BTreeSet<String>,
    written: &BTreeSet<String>,
) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for stale in before.difference(written) {
        let path = dir.join(stale);
        // Only a regular file: never follow a link someone put in its place.
        let is_file = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        if !is_file {
            continue;
        }
        std::fs::remove_file(&path)
            .map_err(|e| Failure::Fatal(format!("cannot remove {}: {e}", path.display())))?;
        removed.push(stale.clone());
        remove_empty_parents(dir, &path);
    }
    let mut marker = String::from(HEADER);
    for file in written {
        marker.push_str(file);
        marker.push('\n');
    }
    write_atomic(&dir.join(MARKER), marker.as_bytes())?;
    Ok(removed)
}

/// Removes the directories between `file` and `dir` that are now empty.
fn remove_empty_parents(dir: &Path, file: &Path) {
    let mut parent = file.parent();
    while let Some(p) = parent {
        if p == dir || !p.starts_with(dir) || std::fs::remove_dir(p).is_err() {
            break;
        }
        parent = p.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn removes_only_what_it_wrote_before() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "a.yaml",
            "b.yaml",
            "b/Chart.yaml",
            "b/templates/m.yaml",
            "b/notes.txt",
            "mine.txt",
        ] {
            std::fs::create_dir_all(d.join(f).parent().unwrap()).unwrap();
            std::fs::write(d.join(f), "x").unwrap();
        }
        // Never rendered here: nothing to remove.
        assert!(previous(d).unwrap().is_empty());
        let first = set(&["a.yaml", "b.yaml", "b/Chart.yaml", "b/templates/m.yaml"]);
        assert!(finish(d, &BTreeSet::new(), &first).unwrap().is_empty());
        assert_eq!(previous(d).unwrap(), first);

        let removed = finish(d, &first, &set(&["a.yaml"])).unwrap();
        assert_eq!(removed, ["b.yaml", "b/Chart.yaml", "b/templates/m.yaml"]);
        // A file kcc did not write stays, and so does its directory.
        assert!(d.join("b/notes.txt").exists() && d.join("mine.txt").exists());
        assert!(!d.join("b/templates").exists());
        assert_eq!(previous(d).unwrap(), set(&["a.yaml"]));
    }

    #[test]
    fn an_edited_marker_cannot_reach_outside() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), "x").unwrap();
        let escape = format!(
            "../{}/keep",
            outside.path().file_name().unwrap().to_str().unwrap()
        );
        let text = format!("{}\n/etc/passwd\n./x\n", escape);
        std::fs::write(dir.path().join(MARKER), text).unwrap();
        assert!(previous(dir.path()).unwrap().is_empty());
        assert!(outside.path().join("keep").exists());
    }
}
