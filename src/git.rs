//! A git revision's project tree, for `kcc diff --base REV`: mounted in memory (`tree`),
//! its files read from git's object store when kcc first reads them; and the files that
//! differ between a revision and the working tree, for `kcc check --since REV`.
//!
//! Read-only towards the repository: `git ls-tree` lists the revision's tree and
//! `git cat-file --batch` gives the contents. The working tree, the index, HEAD and the
//! user's checkout are never touched, and nothing is written anywhere, so an interrupted
//! diff leaves nothing behind. The project may be a subdirectory of the repo.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use crate::diagnostic::{Failure, Result};
use crate::tree::{Blobs, Entry, MemTree, Mount};

/// The project tree at a revision, mounted until this is dropped.
pub struct Checkout {
    mount: Mount,
    /// The revision as the user named it.
    rev: String,
    /// The commit the revision resolved to.
    pub commit: String,
}

impl Checkout {
    /// The project root (where kcc.yaml is, if REV has one): a path that exists only in
    /// kcc's reads (`tree`), never on disk.
    pub fn root(&self) -> &Path {
        self.mount.root()
    }

    /// `message` with paths in the mounted tree written as git does (`REV:values/a.yaml`),
    /// and its root as "the tree of `REV`".
    pub fn shown(&self, message: &str) -> String {
        let root = self.root().display().to_string();
        message
            .replace(&format!("{root}/"), &format!("{}:", self.rev))
            .replace(&root, &format!("the tree of `{}`", self.rev))
    }
}

/// Runs `git -C dir args...`; its stdout, or its stderr as the error.
fn git_bytes(dir: &Path, args: &[&str]) -> std::result::Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Runs `git -C dir args...`; its trimmed stdout, or its stderr as the error.
fn git(dir: &Path, args: &[&str]) -> std::result::Result<String, String> {
    git_bytes(dir, args).map(|out| String::from_utf8_lossy(&out).trim().to_string())
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

/// The values of the trailer `key` (`Key: value` lines at the end of a commit message) in
/// the commits `base..HEAD`, each with its commit (abbreviated), newest first: what a
/// change under review says about itself.
pub fn trailers(project_root: &Path, base: &str, key: &str) -> Result<Vec<(String, String)>> {
    let format = format!("--format=%h%n%(trailers:key={key},valueonly,unfold)");
    let out = git(
        project_root,
        &["log", "-z", &format, &format!("{base}..HEAD"), "--"],
    )
    .map_err(|e| {
        Failure::Fatal(format!(
            "cannot read the commit messages since `{base}`: {e}"
        ))
    })?;
    let mut found = Vec::new();
    for record in out.split('\0') {
        let mut lines = record.trim().lines();
        let Some(commit) = lines.next() else {
            continue;
        };
        for value in lines.map(str::trim).filter(|v| !v.is_empty()) {
            found.push((commit.to_string(), value.to_string()));
        }
    }
    Ok(found)
}

/// The commit `rev` names; a usage error (exit 2) when it names none.
fn commit_of(project_root: &Path, rev: &str) -> Result<String> {
    let unknown = || Failure::Fatal(format!("unknown git revision `{rev}`"));
    // An option is not a revision: `--since --help` must not reach git as one.
    if rev.is_empty() || rev.starts_with('-') {
        return Err(unknown());
    }
    git(
        project_root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|_| unknown())
}

/// What differs between a revision and the working tree.
pub struct Changes {
    /// The commit the revision resolved to.
    pub commit: String,
    /// Absolute paths of the files that differ (added, changed or deleted; untracked and
    /// ignored files count, as kcc reads them too). An untracked directory is one entry,
    /// ending in `/`, for the caller to look into.
    pub paths: Vec<String>,
}

/// The files of the whole repository that differ between `rev` and the working tree.
/// Whole repository, not the project directory: a fleet may take its charts from outside
/// it (kcc.yaml `charts: ../../charts`).
pub fn changed_since(project_root: &Path, rev: &str) -> Result<Changes> {
    prefix(project_root)?;
    let commit = commit_of(project_root, rev)?;
    let fail =
        |e: String| Failure::Fatal(format!("cannot compare `{rev}` with the working tree: {e}"));
    let top = git(project_root, &["rev-parse", "--show-toplevel"]).map_err(fail)?;
    // Paths relative to the top of the repository, whatever the directory git runs in.
    let tracked = git_z(
        project_root,
        &["diff", "--name-only", "-z", "--no-renames", &commit, "--"],
    )
    .map_err(fail)?;
    // `--directory`: an untracked directory (target/, a new cluster's values/) is one
    // entry, not walked; no `--exclude-standard`: an ignored file kcc reads is an input.
    let untracked = git_z(
        project_root,
        &[
            "ls-files",
            "-z",
            "--others",
            "--directory",
            "--no-empty-directory",
            "--full-name",
            "--",
            ":/",
        ],
    )
    .map_err(fail)?;
    let paths = tracked
        .into_iter()
        .chain(untracked)
        .map(|p| format!("{top}/{p}"))
        .collect();
    Ok(Changes { commit, paths })
}

/// The absolute paths of the symbolic links git tracks in the whole repository: a link
/// whose target changed feeds what the link feeds.
pub fn symlinks(project_root: &Path) -> Result<Vec<String>> {
    let top = git(project_root, &["rev-parse", "--show-toplevel"]).map_err(Failure::Fatal)?;
    let entries = git_z(
        project_root,
        &["ls-files", "-s", "-z", "--full-name", "--", ":/"],
    )
    .map_err(Failure::Fatal)?;
    // `<mode> <id> <stage>\t<path>`; 120000 is a link.
    Ok(entries
        .iter()
        .filter(|e| e.starts_with("120000 "))
        .filter_map(|e| e.split_once('\t'))
        .map(|(_, path)| format!("{top}/{path}"))
        .collect())
}

/// The text of `path` (relative to the project root) at `commit`, None if it has none.
pub fn file_at(project_root: &Path, commit: &str, path: &str) -> Result<Option<String>> {
    let prefix = prefix(project_root)?;
    let spec = format!("{commit}:{prefix}{path}");
    if git(project_root, &["cat-file", "-e", &spec]).is_err() {
        return Ok(None);
    }
    let out = Command::new("git")
        .arg("-C")
        .arg(project_root)
        .args(["cat-file", "blob", &spec])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure::Fatal(format!("cannot run git: {e}")))?;
    Ok(out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// Runs `git -C dir args...` whose output is NUL-separated paths.
fn git_z(dir: &Path, args: &[&str]) -> std::result::Result<Vec<String>, String> {
    Ok(git_bytes(dir, args)?
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// Mounts the project tree at revision `rev`.
pub fn revision(project_root: &Path, rev: &str) -> Result<Checkout> {
    let prefix = prefix(project_root)?;
    let commit = commit_of(project_root, rev)?;
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
    // `COMMIT:DIR` names the project's tree wherever in the repository git runs.
    let listing = list_tree(project_root, &tree)
        .map_err(|e| Failure::Fatal(format!("cannot read `{rev}` from git: {e}")))?;
    let blobs = CatFile {
        repo: project_root.to_path_buf(),
        process: Mutex::new(None),
    };
    // Not a path on disk: what lies there is only the revision's tree.
    let root = PathBuf::from(format!("/.kcc-git-revision/{commit}"));
    Ok(Checkout {
        mount: Mount::new(root, MemTree::new(listing, Box::new(blobs))),
        rev: rev.to_string(),
        commit,
    })
}

/// Every entry of `tree` (`git ls-tree -r -z --long`), by path relative to it.
fn list_tree(repo: &Path, tree: &str) -> std::result::Result<Vec<(String, Entry)>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        // Paths relative to `tree`, wherever in the repository git runs.
        .args(["ls-tree", "-r", "-z", "--long", "--full-tree", tree])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git ls-tree: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut entries = Vec::new();
    for record in out.stdout.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let record = String::from_utf8_lossy(record);
        // `<mode> SP <type> SP <id> SP+ <size> TAB <path>`
        let (meta, path) = record
            .split_once('\t')
            .ok_or_else(|| format!("git ls-tree: unexpected line `{record}`"))?;
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [mode, _kind, id, size] = fields[..] else {
            return Err(format!("git ls-tree: unexpected line `{record}`"));
        };
        let entry = match mode {
            "100644" | "100755" => Entry::File {
                id: id.to_string(),
                size: size.parse().unwrap_or(u64::MAX),
            },
            "120000" => Entry::Symlink {
                id: id.to_string(),
                size: size.parse().unwrap_or(u64::MAX),
            },
            _ => Entry::Other,
        };
        entries.push((path.to_string(), entry));
    }
    Ok(entries)
}

/// Blob contents from one long-running `git cat-file --batch`, started at the first read.
struct CatFile {
    repo: PathBuf,
    process: Mutex<Option<(Child, ChildStdin, BufReader<ChildStdout>)>>,
}

impl Blobs for CatFile {
    fn read(&self, id: &str) -> io::Result<Vec<u8>> {
        let mut process = self.process.lock().expect("git cat-file poisoned");
        if process.is_none() {
            let mut child = Command::new("git")
                .arg("-C")
                .arg(&self.repo)
                .args(["cat-file", "--batch"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()?;
            let stdin = child.stdin.take().expect("piped stdin");
            let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
            *process = Some((child, stdin, stdout));
        }
        let (_, stdin, stdout) = process.as_mut().expect("started above");
        writeln!(stdin, "{id}")?;
        stdin.flush()?;
        // `<id> blob <size>` then the contents and a newline, or `<id> missing`.
        let mut header = String::new();
        stdout.read_line(&mut header)?;
        let size = match header.split_whitespace().collect::<Vec<_>>()[..] {
            [_, "blob", size] => size
                .parse::<usize>()
                .map_err(|_| io::Error::other(format!("git cat-file: `{}`", header.trim())))?,
            _ => {
                return Err(io::Error::other(format!(
                    "git cat-file: `{}`",
                    header.trim()
                )));
            }
        };
        let mut bytes = vec![0; size + 1];
        stdout.read_exact(&mut bytes)?;
        bytes.pop();
        Ok(bytes)
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        if let Some((mut child, stdin, _)) = self.process.get_mut().ok().and_then(Option::take) {
            drop(stdin); // EOF: git exits
            let _ = child.wait();
        }
    }
}
