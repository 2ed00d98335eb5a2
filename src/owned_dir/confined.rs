//! A directory kcc writes into, held open, with every path under it resolved one component
//! at a time from that handle (`openat` with `O_NOFOLLOW`): no symbolic link, at any
//! component, is ever followed, so nothing kcc writes, links or lists can land outside it,
//! whatever someone puts under it meanwhile. A path is plain and relative (`a/b.yaml`):
//! `..`, `/x` and `./x` are refused before any system call.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// What an entry is, links not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device.
    Other(&'static str),
}

/// An open directory and the path it was opened at (for messages only).
pub struct Confined {
    fd: OwnedFd,
    path: PathBuf,
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl Confined {
    /// Opens the directory `name` in `parent` (itself not followed if a link).
    pub fn open_in(parent: impl AsFd, name: &OsStr, path: PathBuf) -> io::Result<Confined> {
        let fd = rustix::fs::openat(parent, name, DIR_FLAGS, Mode::empty()).map_err(refusal)?;
        Ok(Confined { fd, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// What is at `rel`, or None; links are reported, never followed.
    pub fn kind(&self, rel: &str) -> io::Result<Option<Kind>> {
        let (dir, name) = self.parent_of(rel, false)?;
        let Some(dir) = dir else { return Ok(None) };
        match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(kind_of(FileType::from_raw_mode(st.st_mode)))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates the file `rel` (and the directories before it) with `contents`. The file
    /// must not exist: kcc fills a directory it has just made.
    pub fn create_file(&self, rel: &str, contents: &[u8]) -> io::Result<()> {
        let (dir, name) = self.parent_of(rel, true)?;
        let dir = dir.expect("created");
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
        // Owner only: a deploy directory holds the real secrets.
        let fd = rustix::fs::openat(&dir, name, flags | OFlags::CLOEXEC, Mode::from(0o600))
            .map_err(refusal)?;
        let mut file = std::fs::File::from(fd);
        io::Write::write_all(&mut file, contents)
    }

    /// Replaces the file `rel` with `contents` (no atomicity: for a directory no one reads
    /// yet).
    pub fn rewrite_file(&self, rel: &str, contents: &[u8]) -> io::Result<()> {
        let (dir, name) = self.parent_of(rel, true)?;
        let dir = dir.expect("created");
        match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        self.create_file(rel, contents)
    }

    /// The contents of the regular file `rel`.
    pub fn read_file(&self, rel: &str) -> io::Result<Vec<u8>> {
        let (dir, name) = self.parent_of(rel, false)?;
        let Some(dir) = dir else {
            return Err(Errno::NOENT.into());
        };
        let fd = rustix::fs::openat(
            &dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        )
        .map_err(refusal)?;
        if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::RegularFile {
            return Err(io::Error::other("not a regular file"));
        }
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut std::fs::File::from(fd), &mut bytes)?;
        Ok(bytes)
    }

    /// Creates the directory `rel` and those before it, if missing.
    pub fn create_dirs(&self, rel: &str) -> io::Result<()> {
        self.walk(rel, true).map(drop)
    }

    /// Puts the regular file `rel` of `from` at `rel` here: a hard link (no copy, no
    /// read), or a copy where the file system refuses the link.
    pub fn take_file(&self, from: &Confined, rel: &str) -> io::Result<()> {
        let (src, name) = from.parent_of(rel, false)?;
        let src = src.ok_or(Errno::NOENT)?;
        let (dst, _) = self.parent_of(rel, true)?;
        let dst = dst.expect("created");
        match rustix::fs::linkat(&src, name, &dst, name, AtFlags::empty()) {
            Ok(()) => Ok(()),
            Err(Errno::XDEV | Errno::PERM | Errno::MLINK) => {
                let bytes = from.read_file(rel)?;
                self.create_file(rel, &bytes)
            }
            Err(e) => Err(refusal(e)),
        }
    }

    /// The names in the directory `rel` ("" for this one) and what each is.
    pub fn entries(&self, rel: &str) -> io::Result<Vec<(String, Kind)>> {
        let dir = self.walk(rel, false)?.ok_or(Errno::NOENT)?;
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = OsStr::from_bytes(name);
            // d_type may be unknown on some file systems: ask the inode.
            let st = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
            let kind = kind_of(FileType::from_raw_mode(st.st_mode));
            let name = name.to_str().ok_or_else(|| {
                io::Error::other(format!(
                    "{} holds a file whose name is not UTF-8",
                    self.path.join(rel).display()
                ))
            })?;
            out.push((name.to_string(), kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The directory holding `rel` (None if missing and not `create`) and `rel`'s last name.
    fn parent_of<'a>(
        &self,
        rel: &'a str,
        create: bool,
    ) -> io::Result<(Option<OwnedFd>, &'a OsStr)> {
        let path = Path::new(rel);
        check_plain(path)?;
        let name = path.file_name().expect("checked");
        let parent = path.parent().and_then(Path::to_str).unwrap_or("");
        Ok((self.walk(parent, create)?, name))
    }

    /// Opens the directory `rel` component by component, never following a link (a link
    /// is an error, `ELOOP` or `ENOTDIR`); missing directories are made with `create`.
    fn walk(&self, rel: &str, create: bool) -> io::Result<Option<OwnedFd>> {
        let path = Path::new(rel);
        if !rel.is_empty() {
            check_plain(path)?;
        }
        let mut dir = rustix::io::dup(&self.fd)?;
        for part in path.components() {
            let name = part.as_os_str();
            let next = match rustix::fs::openat(&dir, name, DIR_FLAGS, Mode::empty()) {
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&dir, name, Mode::from(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    rustix::fs::openat(&dir, name, DIR_FLAGS, Mode::empty())
                }
                Err(Errno::NOENT) => return Ok(None),
                other => other,
            };
            dir = next.map_err(refusal)?;
        }
        Ok(Some(dir))
    }
}

fn kind_of(t: FileType) -> Kind {
    match t {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        FileType::Fifo => Kind::Other("a FIFO (named pipe)"),
        FileType::Socket => Kind::Other("a socket"),
        FileType::CharacterDevice => Kind::Other("a character device"),
        FileType::BlockDevice => Kind::Other("a block device"),
        FileType::Unknown => Kind::Other("of an unknown type"),
    }
}

/// `a/b`, never `/a`, `../a`, `./a` or "".
fn check_plain(path: &Path) -> io::Result<()> {
    let plain = !path.as_os_str().is_empty()
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a plain relative path", path.display()),
        ))
    }
}

/// `O_NOFOLLOW` meeting a link answers `ELOOP` (or `ENOTDIR` with `O_DIRECTORY`): say so.
fn refusal(e: Errno) -> io::Error {
    match e {
        Errno::LOOP | Errno::NOTDIR => io::Error::other(
            "a symbolic link or a file is where kcc expects a directory or file of its own; kcc does not follow links in a deploy directory",
        ),
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> Confined {
        let parent = std::fs::File::open(dir.parent().unwrap()).unwrap();
        Confined::open_in(&parent, dir.file_name().unwrap(), dir.to_path_buf()).unwrap()
    }

    #[test]
    fn writes_and_reads_inside_and_never_through_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("f"), "outside").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        std::os::unix::fs::symlink(outside.join("f"), root.join("file-link")).unwrap();
        let c = open(&root);

        c.create_file("a/b/c.yaml", b"x").unwrap();
        assert_eq!(std::fs::read(root.join("a/b/c.yaml")).unwrap(), b"x");
        assert_eq!(c.read_file("a/b/c.yaml").unwrap(), b"x");
        assert_eq!(c.kind("a/b").unwrap(), Some(Kind::Dir));
        assert_eq!(c.kind("link").unwrap(), Some(Kind::Symlink));
        assert_eq!(c.kind("nope/x").unwrap(), None);

        // A link at any component, or as the file itself, is refused.
        assert!(c.create_file("link/new", b"x").is_err());
        assert!(c.create_file("link/sub/new", b"x").is_err());
        assert!(c.read_file("link/f").is_err());
        assert!(c.read_file("file-link").is_err());
        assert!(c.rewrite_file("link/f", b"x").is_err());
        assert!(c.entries("link").is_err());
        assert!(c.create_file("file-link", b"x").is_err());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
        assert_eq!(std::fs::read(outside.join("f")).unwrap(), b"outside");

        // Paths that are not plain never reach the file system.
        for bad in ["../outside/f", "/etc/passwd", "./a", "", "a/../../x"] {
            assert!(c.create_file(bad, b"x").is_err(), "{bad}");
            assert!(c.read_file(bad).is_err(), "{bad}");
        }
        let names: Vec<_> = c.entries("").unwrap();
        assert_eq!(
            names,
            [
                ("a".to_string(), Kind::Dir),
                ("file-link".to_string(), Kind::Symlink),
                ("link".to_string(), Kind::Symlink)
            ]
        );
    }

    #[test]
    fn takes_files_from_another_directory_by_link() {
        let tmp = tempfile::tempdir().unwrap();
        for d in ["old", "new"] {
            std::fs::create_dir(tmp.path().join(d)).unwrap();
        }
        std::fs::create_dir_all(tmp.path().join("old/x")).unwrap();
        std::fs::write(tmp.path().join("old/x/mine.txt"), "mine").unwrap();
        std::fs::File::create(tmp.path().join("old/fifo")).unwrap();
        let (old, new) = (open(&tmp.path().join("old")), open(&tmp.path().join("new")));
        new.take_file(&old, "x/mine.txt").unwrap();
        assert_eq!(
            std::fs::read(tmp.path().join("new/x/mine.txt")).unwrap(),
            b"mine"
        );
        assert!(new.take_file(&old, "missing").is_err());
    }
}
