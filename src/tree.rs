//! The files kcc reads: the disk, or a file tree held in memory and mounted at a path that
//! does not exist on disk (a git revision, for `kcc diff --base REV`).
//!
//! Writing a revision's tree into a temp dir cost more than rendering it (file creation
//! is ~1 ms per file on these machines' ext4) and left files for a signal to clean up. A
//! mounted tree is only a listing; contents are fetched when first read, so a revision
//! costs what kcc reads of it. Every read on the load and render path goes through here,
//! so one code path reads either kind of tree, with the same confinement: a link in a
//! mounted tree resolves inside it, and a link out of it resolves to a path outside the
//! mount, which `confine` refuses as it refuses one on disk.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// What is at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// Anything else: a device, a socket, a git submodule.
    Other,
}

/// Fetches the contents of a mounted tree's files by their id (a git blob id).
pub trait Blobs: Send + Sync {
    fn read(&self, id: &str) -> io::Result<Vec<u8>>;
}

/// One entry of a mounted tree.
#[derive(Clone, Debug)]
pub enum Entry {
    File {
        id: String,
        size: u64,
    },
    /// Its id names the blob that holds the link's target, of `size` bytes.
    Symlink {
        id: String,
        size: u64,
    },
    Other,
}

/// A file tree held in memory: paths (relative, `/`-separated) to entries. Directories are
/// the parents of the entries.
pub struct MemTree {
    entries: HashMap<String, Entry>,
    /// Each directory's entry names ("" is the root), sorted.
    dirs: HashMap<String, Vec<String>>,
    blobs: Box<dyn Blobs>,
    /// Contents already fetched: values files are read once per release.
    fetched: Mutex<HashMap<String, Arc<Vec<u8>>>>,
}

/// The largest number of links followed in one path, as Linux's ELOOP limit.
const MAX_LINKS: usize = 40;

/// The longest link target read, as Linux's PATH_MAX.
const MAX_LINK_BYTES: u64 = 4096;

/// Where a path inside a mounted tree leads.
enum Resolved {
    /// A path relative to the tree's root ("" for the root), links resolved.
    Inside(String),
    /// A link or `..` led out of the tree: this path, which kcc never reads.
    Outside(PathBuf),
    Missing,
}

impl MemTree {
    pub fn new(files: impl IntoIterator<Item = (String, Entry)>, blobs: Box<dyn Blobs>) -> Self {
        let mut entries = HashMap::new();
        let mut dirs: HashMap<String, BTreeMap<String, ()>> = HashMap::new();
        dirs.entry(String::new()).or_default();
        for (path, entry) in files {
            let mut parent = String::new();
            let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            for (i, part) in parts.iter().enumerate() {
                dirs.entry(parent.clone())
                    .or_default()
                    .insert(part.to_string(), ());
                if !parent.is_empty() {
                    parent.push('/');
                }
                parent.push_str(part);
                if i + 1 < parts.len() {
                    dirs.entry(parent.clone()).or_default();
                }
            }
            entries.insert(parent, entry);
        }
        MemTree {
            entries,
            dirs: dirs
                .into_iter()
                .map(|(d, names)| (d, names.into_keys().collect()))
                .collect(),
            blobs,
            fetched: Mutex::new(HashMap::new()),
        }
    }

    fn kind(&self, rel: &str) -> Option<Kind> {
        if self.dirs.contains_key(rel) {
            return Some(Kind::Dir);
        }
        self.entries.get(rel).map(|e| match e {
            Entry::File { .. } => Kind::File,
            Entry::Symlink { .. } => Kind::Symlink,
            Entry::Other => Kind::Other,
        })
    }

    fn blob(&self, id: &str) -> io::Result<Arc<Vec<u8>>> {
        if let Some(hit) = self.fetched.lock().expect("blob cache poisoned").get(id) {
            return Ok(Arc::clone(hit));
        }
        let bytes = Arc::new(self.blobs.read(id)?);
        self.fetched
            .lock()
            .expect("blob cache poisoned")
            .insert(id.to_string(), Arc::clone(&bytes));
        Ok(bytes)
    }

    /// Resolves `rel` (relative to the tree's `root`) component by component, following
    /// links (the last one only with `follow_last`).
    fn resolve(&self, root: &Path, rel: &Path, follow_last: bool) -> io::Result<Resolved> {
        let mut queue: VecDeque<String> = VecDeque::new();
        for c in rel.components() {
            match c {
                Component::Normal(s) => queue.push_back(s.to_string_lossy().into_owned()),
                Component::ParentDir => queue.push_back("..".to_string()),
                _ => {}
            }
        }
        let mut done: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(part) = queue.pop_front() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    if done.pop().is_none() {
                        let out = root.parent().unwrap_or(Path::new("/"));
                        return Ok(Resolved::Outside(
                            out.join(queue.iter().collect::<PathBuf>()),
                        ));
                    }
                    continue;
                }
                _ => {}
            }
            done.push(part);
            let path = done.join("/");
            let last = queue.is_empty();
            match (self.kind(&path), self.entries.get(&path)) {
                (None, _) => return Ok(Resolved::Missing),
                (Some(Kind::Symlink), Some(Entry::Symlink { id, size }))
                    if follow_last || !last =>
                {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    // A link is a path: a larger "target" is hostile input, never fetched.
                    if *size > MAX_LINK_BYTES {
                        return Err(io::Error::other(format!(
                            "{path}: a symbolic link whose target is {size} bytes long"
                        )));
                    }
                    let target = String::from_utf8_lossy(&self.blob(id)?).into_owned();
                    done.pop();
                    if target.starts_with('/') {
                        let mut out = PathBuf::from(target);
                        out.extend(queue.iter());
                        return Ok(Resolved::Outside(out));
                    }
                    for t in target.split('/').rev() {
                        queue.push_front(t.to_string());
                    }
                }
                (Some(Kind::Dir), _) => {}
                (Some(_), _) if !last => return Ok(Resolved::Missing),
                _ => {}
            }
        }
        Ok(Resolved::Inside(done.join("/")))
    }
}

/// The trees mounted now, by mount point.
static MOUNTS: RwLock<Vec<(PathBuf, Arc<MemTree>)>> = RwLock::new(Vec::new());

/// A mounted tree; unmounted when dropped.
pub struct Mount {
    root: PathBuf,
}

impl Mount {
    /// Mounts `tree` at `root`, which should not exist on disk (the disk there is hidden).
    pub fn new(root: PathBuf, tree: MemTree) -> Mount {
        MOUNTS
            .write()
            .expect("mounts poisoned")
            .push((root.clone(), Arc::new(tree)));
        Mount { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        MOUNTS
            .write()
            .expect("mounts poisoned")
            .retain(|(root, _)| root != &self.root);
    }
}

/// True when `path` lies in a mounted tree, not on disk.
pub fn is_mounted(path: &Path) -> bool {
    let mounts = MOUNTS.read().expect("mounts poisoned");
    mounts.iter().any(|(root, _)| path.starts_with(root))
}

/// The mounted tree `path` lies in, its mount point and the path relative to it.
fn mounted(path: &Path) -> Option<(Arc<MemTree>, PathBuf, PathBuf)> {
    let mounts = MOUNTS.read().expect("mounts poisoned");
    mounts.iter().find_map(|(root, tree)| {
        let rel = path.strip_prefix(root).ok()?;
        Some((Arc::clone(tree), root.clone(), rel.to_path_buf()))
    })
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file", path.display()),
    )
}

/// The mounted file at `path` (links followed), or why there is none.
fn mounted_file(tree: &MemTree, root: &Path, rel: &Path, path: &Path) -> io::Result<Entry> {
    match tree.resolve(root, rel, true)? {
        Resolved::Inside(rel) => match tree.entries.get(&rel) {
            Some(e @ Entry::File { .. }) => Ok(e.clone()),
            _ if tree.dirs.contains_key(&rel) => Err(io::Error::other(format!(
                "{} is a directory",
                path.display()
            ))),
            _ => Err(io::Error::other(format!(
                "{} is not a file",
                path.display()
            ))),
        },
        _ => Err(not_found(path)),
    }
}

/// What is at `path` itself (a link is a link), or None; as `symlink_metadata`.
pub fn kind_no_follow(path: &Path) -> Option<Kind> {
    kind_at(path, false)
}

/// What `path` leads to, links followed, or None.
fn kind(path: &Path) -> Option<Kind> {
    kind_at(path, true)
}

fn kind_at(path: &Path, follow: bool) -> Option<Kind> {
    if let Some((tree, root, rel)) = mounted(path) {
        return match tree.resolve(&root, &rel, follow).ok()? {
            Resolved::Inside(rel) => tree.kind(&rel),
            _ => None,
        };
    }
    let meta = match follow {
        true => std::fs::metadata(path),
        false => std::fs::symlink_metadata(path),
    };
    let t = meta.ok()?.file_type();
    Some(if t.is_symlink() {
        Kind::Symlink
    } else if t.is_dir() {
        Kind::Dir
    } else if t.is_file() {
        Kind::File
    } else {
        Kind::Other
    })
}

/// As `Path::is_file` (links followed).
pub fn is_file(path: &Path) -> bool {
    kind(path) == Some(Kind::File)
}

/// As `Path::is_dir` (links followed).
pub fn is_dir(path: &Path) -> bool {
    kind(path) == Some(Kind::Dir)
}

/// As `std::fs::canonicalize`: `path` with every link resolved. In a mounted tree, a link
/// out of it resolves to the path it names outside, never read.
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    if let Some((tree, root, rel)) = mounted(path) {
        return match tree.resolve(&root, &rel, true)? {
            Resolved::Inside(rel) if rel.is_empty() => Ok(root),
            Resolved::Inside(rel) => Ok(root.join(rel)),
            Resolved::Outside(out) => Ok(out),
            Resolved::Missing => Err(not_found(path)),
        };
    }
    std::fs::canonicalize(path)
}

/// The entries of the directory `path`, as `path.join(name)`, in no particular order.
pub fn read_dir(path: &Path) -> io::Result<Vec<PathBuf>> {
    if let Some((tree, root, rel)) = mounted(path) {
        return match tree.resolve(&root, &rel, true)? {
            Resolved::Inside(rel) => match tree.dirs.get(&rel) {
                Some(names) => Ok(names.iter().map(|n| path.join(n)).collect()),
                None => Err(io::Error::other(format!(
                    "{} is not a directory",
                    path.display()
                ))),
            },
            _ => Err(not_found(path)),
        };
    }
    std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect()
}

/// The bytes of the file at `path` (links followed). Whatever is found there is opened
/// without blocking and read only if it is a regular file: a FIFO put where a file was
/// checked a moment before must not hang kcc.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    // No file holds more than u64::MAX bytes: never `Err(size)`.
    read_at_most(path, u64::MAX).map(|read| read.unwrap_or_default())
}

/// As [`read`], but the bytes only when there are at most `max` of them; else
/// `Err(size)`, without reading them. One open, for the size and the bytes.
pub fn read_at_most(path: &Path, max: u64) -> io::Result<Result<Vec<u8>, u64>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some((tree, root, rel)) = mounted(path) {
        return match mounted_file(&tree, &root, &rel, path)? {
            Entry::File { size, .. } if size > max => Ok(Err(size)),
            Entry::File { id, .. } => Ok(Ok(tree.blob(&id)?.as_ref().clone())),
            _ => Err(not_found(path)),
        };
    }
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    let t = meta.file_type();
    if !t.is_file() {
        return Err(io::Error::other(format!(
            "it is {}, not a file",
            type_name(&t)
        )));
    }
    if meta.len() > max {
        return Ok(Err(meta.len()));
    }
    // A file that grew since is cut at `max` + 1 bytes, which the caller sees as too long.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Ok(Err(bytes.len() as u64));
    }
    Ok(Ok(bytes))
}

/// What a file type is, in words: "a FIFO (named pipe)", "a character device", ...
pub fn type_name(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_file() {
        "a file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "of an unknown type"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blobs whose id is their content.
    struct Literal;
    impl Blobs for Literal {
        fn read(&self, id: &str) -> io::Result<Vec<u8>> {
            Ok(id.as_bytes().to_vec())
        }
    }

    fn file(text: &str) -> Entry {
        Entry::File {
            id: text.to_string(),
            size: text.len() as u64,
        }
    }

    fn link(target: &str) -> Entry {
        Entry::Symlink {
            id: target.to_string(),
            size: target.len() as u64,
        }
    }

    #[test]
    fn a_mounted_tree_reads_like_a_directory_with_links_kept_inside() {
        let root = PathBuf::from("/nonexistent-kcc-test-mount");
        let tree = MemTree::new(
            [
                ("kcc.yaml".to_string(), file("clusters: []")),
                ("values/common.yaml".to_string(), file("a: 1")),
                ("values/alias.yaml".to_string(), link("common.yaml")),
                ("values/up.yaml".to_string(), link("../kcc.yaml")),
                ("values/out.yaml".to_string(), link("/etc/passwd")),
                ("values/escape.yaml".to_string(), link("../../etc/passwd")),
                ("values/loop.yaml".to_string(), link("loop.yaml")),
                ("charts".to_string(), link("values")),
                (
                    "values/huge.yaml".to_string(),
                    Entry::Symlink {
                        id: "x".repeat(5000),
                        size: 5000,
                    },
                ),
            ],
            Box::new(Literal),
        );
        let mount = Mount::new(root.clone(), tree);
        let at = |p: &str| mount.root().join(p);
        assert!(is_dir(&root) && is_dir(&at("values")) && is_dir(&at("charts")));
        assert!(is_file(&at("kcc.yaml")) && !is_file(&at("values")));
        assert_eq!(read(&at("values/alias.yaml")).unwrap(), b"a: 1");
        assert_eq!(read(&at("charts/common.yaml")).unwrap(), b"a: 1");
        assert_eq!(read_at_most(&at("values/up.yaml"), 11).unwrap(), Err(12));
        assert_eq!(
            read_at_most(&at("values/up.yaml"), 12)
                .unwrap()
                .unwrap()
                .len(),
            12
        );
        assert_eq!(
            kind_no_follow(&at("values/alias.yaml")),
            Some(Kind::Symlink)
        );
        assert_eq!(kind_no_follow(&at("values/nope.yaml")), None);
        assert_eq!(
            canonicalize(&at("values/alias.yaml")).unwrap(),
            at("values/common.yaml")
        );
        assert_eq!(
            canonicalize(&at("values/out.yaml")).unwrap(),
            PathBuf::from("/etc/passwd")
        );
        assert!(
            !canonicalize(&at("values/escape.yaml"))
                .unwrap()
                .starts_with(&root)
        );
        assert!(read(&at("values/out.yaml")).is_err());
        assert!(read(&at("values/loop.yaml")).is_err());
        assert!(read(&at("values")).is_err());
        assert!(canonicalize(&at("values/huge.yaml")).is_err());
        let mut names = read_dir(&at("values")).unwrap();
        names.sort();
        assert_eq!(names.len(), 7);
        assert_eq!(names[0], at("values/alias.yaml"));
        drop(mount);
        assert!(!is_dir(&root));
    }
}
