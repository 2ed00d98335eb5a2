//! Reading only inside the project. kcc runs on CI for changes written by anyone: a
//! symbolic link in values/, charts/ or golden/ pointing at /etc/passwd must not make kcc
//! print that file in a render, an error excerpt or a diff. A file is read only if its real
//! path (links resolved) lies under the directory it belongs to; a directory or other
//! non-file where a file is expected is an error too, never silently skipped.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Failure, Result, read_file};
use crate::tree::{self, Kind};

/// The text of the file at `path`, which must resolve to a file under `root`.
pub fn read_inside(path: &Path, root: &Path) -> Result<String> {
    match read_optional_inside(path, root)? {
        Some(text) => Ok(text),
        None => Err(Failure::Fatal(format!(
            "cannot read {}: no such file",
            path.display()
        ))),
    }
}

/// Where `path` really lies (links resolved) when that is outside the real path of `root`;
/// None when it is inside. A path that does not resolve counts as itself.
pub fn outside(path: &Path, root: &Path) -> Option<PathBuf> {
    let real = |p: &Path| tree::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let real_path = real(path);
    (!real_path.starts_with(real(root))).then_some(real_path)
}

/// Like [`read_inside`], but None when nothing is at `path`.
pub fn read_optional_inside(path: &Path, root: &Path) -> Result<Option<String>> {
    let Some(kind) = tree::kind_no_follow(path) else {
        return Ok(None);
    };
    // The common case: a file, not a link, in a directory already resolved. Its real path
    // is its directory's plus its name, without resolving every component again (a
    // --since check of 1,000 clusters reads 9,000 files).
    if kind == Kind::File
        && !tree::is_mounted(path)
        && let (Some(dir), Some(name)) = (path.parent(), path.file_name())
        && let (Some(real_dir), Some(real_root)) = (real_dir(dir), real_dir(root))
        && real_dir.starts_with(&real_root)
    {
        return read_file(&real_dir.join(name)).map(Some);
    }
    let refuse = |message: String| {
        Err(Failure::Config(vec![Diagnostic::error(
            "input/path",
            message,
        )]))
    };
    let real = match tree::canonicalize(path) {
        Ok(real) => real,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return refuse(format!(
                "{} is a symbolic link loop (too many levels of links, ELOOP)",
                path.display()
            ));
        }
        // A dangling link: nothing to read, but not silently nothing either.
        Err(_) if kind == Kind::Symlink => {
            return refuse(format!("{} is a symbolic link to nothing", path.display()));
        }
        Err(e) => {
            return Err(Failure::Fatal(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let real_root = tree::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    if !real.starts_with(&real_root) {
        return refuse(format!(
            "{} resolves to {}, outside {}: kcc reads nothing outside the project",
            path.display(),
            real.display(),
            root.display()
        ));
    }
    if !tree::is_file(&real) {
        return refuse(format!(
            "{} is {}, where kcc expects a file",
            path.display(),
            match std::fs::metadata(&real) {
                Ok(m) => tree::type_name(&m.file_type()),
                Err(_) if tree::is_dir(&real) => "a directory",
                Err(_) => "not a regular file",
            }
        ));
    }
    read_file(&real).map(Some)
}

/// A directory's real path, resolved once per run: every values file of a cluster lies in
/// one directory. None when it does not resolve (the caller then takes the slow path, which
/// says why).
fn real_dir(dir: &Path) -> Option<PathBuf> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static REAL: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    let cache = REAL.get_or_init(Default::default);
    if let Some(hit) = cache.lock().expect("real dirs poisoned").get(dir) {
        return Some(hit.clone());
    }
    let real = std::fs::canonicalize(dir).ok()?;
    cache
        .lock()
        .expect("real dirs poisoned")
        .insert(dir.to_path_buf(), real.clone());
    Some(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_out_of_the_root_and_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        std::fs::create_dir_all(root.join("values/sub")).unwrap();
        std::fs::write(dir.path().join("secret"), "outside").unwrap();
        std::fs::write(root.join("values/a.yaml"), "a: 1").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("values/out.yaml"))
            .unwrap();
        std::os::unix::fs::symlink(root.join("values/a.yaml"), root.join("values/in.yaml"))
            .unwrap();
        let read = |name: &str| read_optional_inside(&root.join(name), &root);
        assert_eq!(read("values/a.yaml").unwrap().as_deref(), Some("a: 1"));
        assert_eq!(read("values/in.yaml").unwrap().as_deref(), Some("a: 1"));
        assert!(read("values/missing.yaml").unwrap().is_none());
        // A file that is no link, in a directory that links out.
        std::fs::create_dir(dir.path().join("elsewhere")).unwrap();
        std::fs::write(dir.path().join("elsewhere/b.yaml"), "b: 2").unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), root.join("values/linked"))
            .unwrap();
        for bad in ["values/out.yaml", "values/sub", "values/linked/b.yaml"] {
            match read(bad) {
                Err(Failure::Config(d)) => assert_eq!(d[0].rule, "input/path"),
                other => panic!("{bad}: {:?}", other.map(|_| ())),
            }
        }
    }
}
