//! A deploy directory kcc owns (`render --out DIR`), written as git writes a worktree:
//!
//! - DIR is a directory kcc made or marked (its marker, `.kcc-render`, lists the files kcc
//!   wrote), or an empty or absent one; never a link, never in or over a directory of the
//!   project ([`place`]). A non-empty directory without the marker is refused untouched.
//! - One render into DIR at a time: `DIR.kcc-lock` beside it ([`crate::lock`]).
//! - The new tree is built beside DIR and switched in as a whole ([`swap`]): a signal, a
//!   kill or a crash leaves DIR wholly old or wholly new, and the next run removes what a
//!   killed one left.
//! - Files in DIR that kcc did not write are carried into the new tree (hard links), so kcc
//!   never removes a file it did not write; those it wrote before and no longer writes (an
//!   uninstalled release's) are left out. Every path is resolved under an open directory
//!   without following links ([`confined`]); a link, FIFO, socket or device found under
//!   DIR is refused, nothing changed.

mod confined;
mod place;
mod swap;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use confined::{Confined, Kind};

use crate::diagnostic::{Failure, Result};
use crate::interrupt;
use crate::lock::Lock;

/// The marker: in DIR, the list of files `render --out` wrote there.
pub const MARKER: &str = ".kcc-render";

const HEADER: &str = "# Written by `kcc render --out`: the files it wrote here. The next render removes\n# those it no longer writes; nothing else in this directory is touched.\n";

/// A render into DIR in progress: DIR's lock, and the new tree being built beside it.
/// Dropped without [`DeployDir::commit`] (an error, a panic), it removes the new tree:
/// DIR stays as it was.
pub struct DeployDir {
    /// DIR as the user named it, for messages.
    shown: PathBuf,
    parent: OwnedFd,
    name: OsString,
    /// DIR now, if it exists, and the files its marker lists.
    old: Option<(Confined, BTreeSet<String>)>,
    staging: Option<Confined>,
    staging_name: OsString,
    written: BTreeSet<String>,
    _lock: Lock,
}

/// What a render put in DIR.
pub struct Outcome {
    /// Files the last render wrote and this one did not, now gone (relative to DIR).
    pub removed: Vec<String>,
}

impl DeployDir {
    /// Checks DIR, takes its lock, cleans what killed runs left beside it and starts the
    /// new tree. `protected` are the project directories DIR must keep out of, by label.
    pub fn begin(dir: &Path, protected: &[(String, PathBuf)]) -> Result<DeployDir> {
        let fatal = |m: String| Failure::Fatal(m);
        let cannot =
            |what: &Path, e: std::io::Error| fatal(format!("cannot write {}: {e}", what.display()));
        let absolute = std::path::absolute(dir).map_err(|e| cannot(dir, e))?;
        // `DIR/..` or `/`: name the directory it stands for.
        let absolute = match absolute.file_name() {
            Some(_) => absolute,
            None => crate::tree::canonicalize(&absolute).map_err(|e| cannot(dir, e))?,
        };
        let (Some(parent_path), Some(name)) = (absolute.parent(), absolute.file_name()) else {
            return Err(fatal(format!(
                "--out {}: not a directory kcc can replace",
                dir.display()
            )));
        };
        std::fs::create_dir_all(parent_path).map_err(|e| cannot(parent_path, e))?;
        let real_parent = std::fs::canonicalize(parent_path).map_err(|e| cannot(parent_path, e))?;
        let real = real_parent.join(name);
        let followed = std::fs::canonicalize(&real).unwrap_or_else(|_| real.clone());
        let protected: Vec<(String, PathBuf)> = protected
            .iter()
            .map(|(l, p)| {
                (
                    l.clone(),
                    std::path::absolute(p).unwrap_or_else(|_| p.clone()),
                )
            })
            .collect();
        if let Some(why) = place::refusal(&real, &followed, &protected) {
            return Err(fatal(why));
        }
        let parent: OwnedFd = std::fs::File::open(&real_parent)
            .map_err(|e| cannot(&real_parent, e))?
            .into();
        let mut lock_name = name.to_os_string();
        lock_name.push(".kcc-lock");
        let lock = Lock::take(
            &real_parent.join(&lock_name),
            &format!(
                "another kcc render is writing {} (it holds {})",
                dir.display(),
                real_parent.join(&lock_name).display()
            ),
        )?;
        let shown = dir.to_path_buf();
        let mut deploy = DeployDir {
            staging_name: swap::staging_name(name),
            shown,
            parent,
            name: name.to_os_string(),
            old: None,
            staging: None,
            written: BTreeSet::new(),
            _lock: lock,
        };
        deploy.clean_leftovers(&real_parent)?;
        deploy.old = deploy.current()?;
        deploy.start_staging(&real_parent)?;
        Ok(deploy)
    }

    /// Removes the trees killed runs left beside DIR, first putting back an old DIR that a
    /// kill between two renames left aside.
    fn clean_leftovers(&self, real_parent: &Path) -> Result<()> {
        let cannot = |e: std::io::Error| {
            Failure::Fatal(format!(
                "cannot clean up beside {}: {e}",
                self.shown.display()
            ))
        };
        let exists = rustix::fs::statat(
            &self.parent,
            &self.name,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .is_ok();
        let found = swap::leftovers(&self.parent, &self.name, exists).map_err(cannot)?;
        if let Some(old) = &found.restore {
            rustix::fs::renameat(&self.parent, old, &self.parent, &self.name)
                .map_err(|e| cannot(e.into()))?;
        }
        for stale in &found.stale {
            let path = real_parent.join(stale);
            // Only kcc's own trees: a directory with the marker, or an empty one (killed
            // before it wrote the marker). Removal never follows a link.
            let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())
                && (path.join(MARKER).is_file()
                    || std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none()));
            if ours {
                remove_tree(&path).map_err(cannot)?;
            }
        }
        Ok(())
    }

    /// DIR as it is now, and the files its marker lists; refused if it is not kcc's.
    fn current(&self) -> Result<Option<(Confined, BTreeSet<String>)>> {
        let shown = self.shown.display();
        let fatal = |m: String| Failure::Fatal(m);
        let dir = match Confined::open_in(&self.parent, &self.name, self.shown.clone()) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(_) => {
                return Err(fatal(format!(
                    "--out {shown} is not a directory (a file or a link): kcc replaces only a directory it wrote"
                )));
            }
        };
        let cannot = |e: std::io::Error| fatal(format!("cannot read {shown}: {e}"));
        let entries = dir.entries("").map_err(cannot)?;
        if entries.is_empty() {
            return Ok(Some((dir, BTreeSet::new())));
        }
        let marked =
            |rel: &str| -> Result<bool> { Ok(dir.kind(rel).map_err(cannot)? == Some(Kind::File)) };
        let listed = |rel: &str, prefix: &str| -> Result<Vec<String>> {
            let text = dir.read_file(rel).map_err(cannot)?;
            Ok(String::from_utf8_lossy(&text)
                .lines()
                .filter(|l| !l.starts_with('#') && is_plain_relative(l))
                .map(|l| format!("{prefix}{l}"))
                .collect())
        };
        if marked(MARKER)? {
            let before = listed(MARKER, "")?.into_iter().collect();
            return Ok(Some((dir, before)));
        }
        // Before kcc marked DIR itself, a render of several clusters marked each
        // DIR/<cluster>/: such a directory is kcc's too, markers included.
        let mut before = BTreeSet::new();
        for (name, kind) in &entries {
            let sub = format!("{name}/{MARKER}");
            if *kind != Kind::Dir || !marked(&sub)? {
                return Err(fatal(format!(
                    "--out {shown} holds files and no {MARKER}: kcc writes only into a directory it wrote, or an empty or new one (nothing was written)"
                )));
            }
            before.extend(listed(&sub, &format!("{name}/"))?);
            before.insert(sub);
        }
        Ok(Some((dir, before)))
    }

    /// Makes `DIR.kcc-new-<pid>`, registered for removal on a signal, with the marker
    /// first, so that the next run knows it for kcc's if this one is killed.
    fn start_staging(&mut self, real_parent: &Path) -> Result<()> {
        let path = real_parent.join(&self.staging_name);
        let cannot =
            |e: std::io::Error| Failure::Fatal(format!("cannot write {}: {e}", path.display()));
        {
            let mut held = interrupt::hold();
            rustix::fs::mkdirat(
                &self.parent,
                &self.staging_name,
                rustix::fs::Mode::from(0o777),
            )
            .map_err(|e| match e {
                rustix::io::Errno::EXIST => Failure::Fatal(format!(
                    "cannot write {}: it exists and is not kcc's (no {MARKER}); remove it",
                    path.display()
                )),
                e => cannot(e.into()),
            })?;
            held.add_file(&path);
        }
        let staging =
            Confined::open_in(&self.parent, &self.staging_name, path.clone()).map_err(cannot)?;
        // The new tree takes the old one's permissions.
        if let Some((old, _)) = &self.old {
            let mode = rustix::fs::fstat(old.fd())
                .map_err(|e| cannot(e.into()))?
                .st_mode;
            rustix::fs::fchmod(staging.fd(), rustix::fs::Mode::from_raw_mode(mode & 0o7777))
                .map_err(|e| cannot(e.into()))?;
        }
        staging
            .create_file(MARKER, HEADER.as_bytes())
            .map_err(cannot)?;
        self.staging = Some(staging);
        Ok(())
    }

    /// Writes the file `rel` (relative to DIR) of the new tree.
    pub fn write(&mut self, rel: &str, contents: &[u8]) -> Result<()> {
        let staging = self.staging.as_ref().expect("staging until commit");
        // Under a hold: a signal removing the staging tree waits for this file, and no file
        // is created after it (one created while it removes would leave a tree behind).
        let _held = interrupt::hold();
        staging.create_file(rel, contents).map_err(|e| {
            Failure::Fatal(format!(
                "cannot write {}: {e}",
                self.shown.join(rel).display()
            ))
        })?;
        self.written.insert(rel.to_string());
        Ok(())
    }

    /// Carries over the files kcc did not write, writes the marker, and switches the new
    /// tree in. Returns what was removed.
    pub fn commit(mut self) -> Result<Outcome> {
        // Still owned by `self` until the switch: an error here drops it with `self`.
        let staging = self.staging.as_ref().expect("staging until commit");
        let mut removed = Vec::new();
        if let Some((old, before)) = &self.old {
            self.carry_over(old, before, staging, "", &mut removed)?;
        }
        let mut marker = String::from(HEADER);
        for file in &self.written {
            marker.push_str(file);
            marker.push('\n');
        }
        let cannot = |what: &Path, e: std::io::Error| {
            Failure::Fatal(format!("cannot write {}: {e}", what.display()))
        };
        let held = interrupt::hold();
        staging
            .rewrite_file(MARKER, marker.as_bytes())
            .map_err(|e| cannot(staging.path(), e))?;
        drop(held);
        // Every new file reaches the disk before the tree is switched in.
        rustix::fs::syncfs(staging.fd()).map_err(|e| cannot(staging.path(), e.into()))?;
        let staging_path = staging.path().to_path_buf();
        let exists = self.old.is_some();
        self.old = None;
        {
            // A signal waits for the switch; it then removes whichever tree is left beside.
            // A failed switch returns with the new tree still in `self`, which removes it.
            let mut held = interrupt::hold();
            let aside = swap::switch(&self.parent, &self.staging_name, &self.name, exists)
                .map_err(|e| cannot(&self.shown, e))?;
            // Switched: what is left beside is the old tree (or nothing), not ours to drop.
            self.staging = None;
            held.forget(&staging_path);
            if let Some(aside) = &aside {
                held.add_file(&staging_path.with_file_name(aside));
            }
            drop(held);
            let _ = rustix::fs::fsync(&self.parent);
            if let Some(aside) = aside {
                let path = staging_path.with_file_name(&aside);
                let _ = remove_tree(&path);
                interrupt::hold().forget(&path);
            }
        }
        Ok(Outcome { removed })
    }

    /// Walks the old tree at `rel`: files and directories kcc did not write go into the new
    /// one, those it wrote and no longer writes are counted as removed, and anything that
    /// is neither a file nor a directory is refused.
    fn carry_over(
        &self,
        old: &Confined,
        before: &BTreeSet<String>,
        new: &Confined,
        rel: &str,
        removed: &mut Vec<String>,
    ) -> Result<()> {
        let shown = |p: &str| self.shown.join(p).display().to_string();
        let cannot = |p: &str, e: std::io::Error| {
            Failure::Fatal(format!("cannot carry over {}: {e}", shown(p)))
        };
        let entries = old.entries(rel).map_err(|e| cannot(rel, e))?;
        if entries.is_empty() && !rel.is_empty() {
            // A directory someone made and left empty stays.
            let _held = interrupt::hold();
            return new.create_dirs(rel).map_err(|e| cannot(rel, e));
        }
        for (name, kind) in entries {
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if path == MARKER {
                continue;
            }
            let refuse = |what: &str| {
                Failure::Fatal(format!(
                    "{} is {what}: kcc writes a deploy directory only as files and directories of its own, and never follows or replaces anything else there (nothing was written; remove it)",
                    shown(&path)
                ))
            };
            match kind {
                // A marker of the older layout: kcc's own, gone without a word.
                Kind::File if path.ends_with(&format!("/{MARKER}")) && before.contains(&path) => {}
                Kind::Symlink => return Err(refuse("a symbolic link")),
                Kind::Other(what) => return Err(refuse(what)),
                Kind::Dir => self.carry_over(old, before, new, &path, removed)?,
                Kind::File if self.written.contains(&path) => {}
                Kind::File if before.contains(&path) => removed.push(path),
                Kind::File => {
                    if new.kind(&path).map_err(|e| cannot(&path, e))?.is_some() {
                        return Err(refuse("in the way of a directory kcc writes"));
                    }
                    let _held = interrupt::hold();
                    new.take_file(old, &path).map_err(|e| cannot(&path, e))?;
                }
            }
        }
        Ok(())
    }
}

impl Drop for DeployDir {
    fn drop(&mut self) {
        if let Some(staging) = self.staging.take() {
            let path = staging.path().to_path_buf();
            drop(staging);
            let mut held = interrupt::hold();
            let _ = remove_tree(&path);
            held.forget(&path);
        }
    }
}

/// Removes the tree at `path` (never following a link), its marker last: a kill in the
/// middle leaves a tree the next run still knows for kcc's.
fn remove_tree(path: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        if entry.file_name() == MARKER {
            continue;
        }
        match entry.file_type()?.is_dir() {
            true => std::fs::remove_dir_all(entry.path())?,
            false => std::fs::remove_file(entry.path())?,
        }
    }
    match std::fs::remove_file(path.join(MARKER)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::remove_dir(path)
}

/// `a/b.yaml`, never `/etc/x`, `../x` or `./x`: a marker someone edited cannot make kcc
/// drop a file outside DIR (and only files found under DIR are ever left out anyway).
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}
