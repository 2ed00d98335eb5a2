//! Switching a deploy directory as a whole. The new tree is built beside DIR, in
//! `DIR.kcc-new-<pid>`, then exchanged with DIR by one `renameat2(RENAME_EXCHANGE)`: DIR is
//! at every moment wholly old or wholly new. Where the file system cannot exchange, DIR is
//! renamed to `DIR.kcc-old-<pid>` and the new tree renamed in; a kill between the two
//! renames leaves no DIR, and the next run puts the old one back before anything else.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use rustix::fs::RenameFlags;
use rustix::io::Errno;

const NEW: &str = ".kcc-new-";
const OLD: &str = ".kcc-old-";

/// `DIR.kcc-new-<pid>`: where this process builds the new tree.
pub fn staging_name(name: &OsStr) -> OsString {
    suffixed(name, NEW, std::process::id())
}

fn suffixed(name: &OsStr, what: &str, pid: u32) -> OsString {
    let mut s = name.to_os_string();
    s.push(format!("{what}{pid}"));
    s
}

/// What runs killed before this one left in `parent` beside `name`: staging trees (old or
/// new) to remove, and, if DIR is missing, the old tree to put back. Called under the lock,
/// so no other run is using any of them.
pub struct Leftovers {
    pub stale: Vec<OsString>,
    pub restore: Option<OsString>,
}

pub fn leftovers(parent: impl AsFd, name: &OsStr, dir_exists: bool) -> io::Result<Leftovers> {
    let mut stale = Vec::new();
    let mut restore = None;
    for entry in rustix::fs::Dir::read_from(&parent)? {
        let entry = entry?;
        let found = OsStr::from_bytes(entry.file_name().to_bytes());
        let Some(rest) = found
            .as_encoded_bytes()
            .strip_prefix(name.as_encoded_bytes())
        else {
            continue;
        };
        let rest = String::from_utf8_lossy(rest);
        let pid = |prefix: &str| {
            rest.strip_prefix(prefix)
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        if pid(OLD) && !dir_exists && restore.is_none() {
            restore = Some(found.to_os_string());
        } else if pid(NEW) || pid(OLD) {
            stale.push(found.to_os_string());
        }
    }
    stale.sort();
    Ok(Leftovers { stale, restore })
}

/// Puts the tree at `staging` in place of `name`, both in `parent`. Returns the name that
/// now holds the old tree, to be removed (None when there was no DIR).
pub fn switch(
    parent: impl AsFd,
    staging: &OsStr,
    name: &OsStr,
    dir_exists: bool,
) -> io::Result<Option<OsString>> {
    let parent = parent.as_fd();
    if !dir_exists {
        match rustix::fs::renameat_with(parent, staging, parent, name, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(None),
            Err(Errno::INVAL | Errno::NOSYS) => {}
            Err(e) => return Err(e.into()),
        }
        rustix::fs::renameat(parent, staging, parent, name)?;
        return Ok(None);
    }
    match rustix::fs::renameat_with(parent, staging, parent, name, RenameFlags::EXCHANGE) {
        Ok(()) => return Ok(Some(staging.to_os_string())),
        // The file system cannot exchange: two renames (see the module comment).
        Err(Errno::INVAL | Errno::NOSYS) => {}
        Err(e) => return Err(e.into()),
    }
    let old = suffixed(name, OLD, std::process::id());
    rustix::fs::renameat(parent, name, parent, &old)?;
    rustix::fs::renameat(parent, staging, parent, name)?;
    Ok(Some(old))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchanges_or_moves_in_and_finds_what_killed_runs_left() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        let parent = std::fs::File::open(p).unwrap();
        let name = OsStr::new("deploy");
        std::fs::create_dir(p.join("deploy.kcc-new-1")).unwrap();
        std::fs::write(p.join("deploy.kcc-new-1/f"), "new").unwrap();
        // No DIR yet: moved in.
        assert_eq!(
            switch(&parent, OsStr::new("deploy.kcc-new-1"), name, false).unwrap(),
            None
        );
        assert_eq!(std::fs::read(p.join("deploy/f")).unwrap(), b"new");
        std::fs::create_dir(p.join("deploy.kcc-new-2")).unwrap();
        std::fs::write(p.join("deploy.kcc-new-2/f"), "newer").unwrap();
        let old = switch(&parent, OsStr::new("deploy.kcc-new-2"), name, true)
            .unwrap()
            .unwrap();
        assert_eq!(std::fs::read(p.join("deploy/f")).unwrap(), b"newer");
        assert_eq!(std::fs::read(p.join(&old).join("f")).unwrap(), b"new");

        std::fs::create_dir(p.join("deploy.kcc-old-7")).unwrap();
        std::fs::create_dir(p.join("deploy.kcc-new-x")).unwrap();
        std::fs::create_dir(p.join("deployed.kcc-new-3")).unwrap();
        let found = leftovers(&parent, name, true).unwrap();
        assert_eq!(found.stale, ["deploy.kcc-new-2", "deploy.kcc-old-7"]);
        assert_eq!(found.restore, None);
        let found = leftovers(&parent, name, false).unwrap();
        assert_eq!(
            found.restore.as_deref(),
            Some(OsStr::new("deploy.kcc-old-7"))
        );
    }
}
