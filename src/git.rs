//! A git revision's project tree, materialized in a temp dir for `kcc diff --base REV`.
//!
//! Read-only towards the repository: `git archive REV:<project dir> | tar -x` into a fresh
//! temp dir. The working tree, the index, HEAD and the user's checkout are never touched,
//! so uncommitted changes stay as they are. The project may be a subdirectory of the repo.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::diagnostic::{Failure, Result};

/// The project tree at a revision; the temp dir is removed when this is dropped, or if kcc
/// is interrupted.
pub struct Checkout {
    dir: tempfile::TempDir,
    root: PathBuf,
    /// The commit the revision resolved to.
    pub commit: String,
}

impl Checkout {
    /// The project root inside the temp dir (where kcc.yaml is, if REV has one).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The temp dir itself.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Checkout {
    /// Removes the temp dir under a hold, so that a signal meanwhile finds it removed or
    /// removes it itself.
    fn drop(&mut self) {
        let mut held = crate::interrupt::hold();
        let _ = std::fs::remove_dir_all(self.dir.path());
        held.forget(self.dir.path());
    }
}

/// Runs `git -C dir args...`; its trimmed stdout, or its stderr as the error.
fn git(dir: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The project directory relative to the top of its git repository: `""` at the top, else
/// `"sub/dir/"` (with the trailing slash). Fatal when `project_root` is not in a git repo.
pub fn prefix(project_root: &Path) -> Result<String> {
    git(project_root, &["rev-parse", "--show-prefix"]).map_err(|e| {
        Failure::Fatal(format!(
            "{} is not in a git repository ({e})",
            project_root.display()
        ))
    })
}

/// Writes the project tree at revision `rev` into a new temp dir.
pub fn materialize(project_root: &Path, rev: &str) -> Result<Checkout> {
    let prefix = prefix(project_root)?;
    // `git archive` in a subdirectory archives only that subdirectory: run it at the top.
    let top = git(project_root, &["rev-parse", "--show-toplevel"])
        .map(PathBuf::from)
        .map_err(|e| Failure::Fatal(format!("cannot find the top of the git repository: {e}")))?;
    let unknown = || Failure::Fatal(format!("unknown git revision `{rev}`"));
    if rev.is_empty() || rev.starts_with('-') {
        return Err(unknown());
    }
    let commit = git(
        project_root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|_| unknown())?;
    let tree = match prefix.trim_end_matches('/') {
        "" => format!("{commit}^{{tree}}"),
        dir => format!("{commit}:{dir}"),
    };
    let tree_id = git(project_root, &["rev-parse", "--verify", "--quiet", &tree]);
    if tree_id.is_err() {
        return Err(Failure::Fatal(format!(
            "the project directory `{prefix}` does not exist at `{rev}`"
        )));
    }
    let dir = {
        let mut held = crate::interrupt::hold();
        let dir = tempfile::Builder::new()
            .prefix("kcc-base-")
            .tempdir()
            .map_err(|e| Failure::Fatal(format!("cannot create a temp dir: {e}")))?;
        held.add_dir(dir.path());
        dir
    };
    extract(&top, &tree, dir.path())
        .map_err(|e| Failure::Fatal(format!("cannot check out `{rev}` into a temp dir: {e}")))?;
    Ok(Checkout {
        root: dir.path().to_path_buf(),
        dir,
        commit,
    })
}

/// `git archive --format=tar TREE -- . ':(exclude)golden' | tar -x -C dest`.
fn extract(repo_dir: &Path, tree: &str, dest: &Path) -> std::result::Result<(), String> {
    let mut archive = Command::new("git")
        .arg("-C")
        .arg(repo_dir)
        // golden/ is what the base render is compared instead of: never read, so not
        // written (in a large fleet it is most of the tree).
        .args([
            "archive",
            "--format=tar",
            tree,
            "--",
            ".",
            ":(exclude)golden",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let stdout = archive.stdout.take().expect("piped stdout");
    let untar = Command::new("tar")
        .args(["-x", "-f", "-", "-C"])
        .arg(dest)
        .stdin(Stdio::from(stdout))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let untar = match untar {
        Ok(child) => child.wait_with_output(),
        Err(e) => {
            let _ = archive.kill();
            let _ = archive.wait();
            return Err(format!("cannot run tar: {e}"));
        }
    };
    let archived = archive
        .wait_with_output()
        .map_err(|e| format!("git archive: {e}"))?;
    if !archived.status.success() {
        return Err(format!(
            "git archive: {}",
            String::from_utf8_lossy(&archived.stderr).trim()
        ));
    }
    let untar = untar.map_err(|e| format!("tar: {e}"))?;
    if !untar.status.success() {
        return Err(format!(
            "tar: {}",
            String::from_utf8_lossy(&untar.stderr).trim()
        ));
    }
    Ok(())
}
