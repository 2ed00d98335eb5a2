//! golden/: the committed, reviewed output. kcc computes what golden/ should hold, compares
//! it with what is there, and rewrites it atomically.

use std::path::{Path, PathBuf};

mod transaction;

pub use transaction::{Update, interrupted};

use crate::diagnostic::{Diagnostic, Failure, Result};
use crate::helmfile;
use crate::manifest::write_objects_redacted;
use crate::render::{Fleet, ReleaseRender};
use crate::source::{Origin, SourceFile};

pub const GOLDEN_DIR: &str = "golden";

/// Golden file contents by path relative to the project root
/// (`golden/<cluster>/<release>.yaml`, `golden/<cluster>/helmfile.yaml`). Secret values
/// are digests, never the values. What `diff` compares.
pub use crate::diff::Files;

/// What golden/ should hold for these renders.
pub fn expected(fleet: &Fleet, renders: &[ReleaseRender]) -> Files {
    use rayon::prelude::*;
    let mut files: Files = renders
        .par_iter()
        .filter(|r| r.installed.yes)
        .map(|r| {
            (
                format!("{GOLDEN_DIR}/{}/{}.yaml", r.cluster, r.release),
                write_objects_redacted(&r.objects),
            )
        })
        .collect();
    for cluster in &fleet.project.clusters {
        let of_cluster: Vec<&ReleaseRender> = renders
            .iter()
            .filter(|r| r.cluster == cluster.name)
            .collect();
        if !of_cluster.is_empty() {
            files.insert(
                format!("{GOLDEN_DIR}/{}/helmfile.yaml", cluster.name),
                helmfile::helmfile_yaml(fleet, cluster, &of_cluster, "./{release}"),
            );
        }
    }
    files
}

/// What golden/ holds now (every .yaml file under it).
pub fn current(root: &Path) -> Result<Files> {
    read_golden(root, "", &|_| false)
}

/// What one cluster's directory of golden/ holds now.
pub fn current_of_cluster(root: &Path, cluster: &str) -> Result<Files> {
    read_golden(root, cluster, &|_| false)
}

/// Every .yaml file under `golden/<sub>` (all of golden/ when `sub` is empty), except in
/// the directories directly under it that `skip` names: those are not even read.
fn read_golden(root: &Path, sub: &str, skip: &dyn Fn(&str) -> bool) -> Result<Files> {
    let mut files = Files::new();
    let top = root.join(GOLDEN_DIR).join(sub);
    if !top.is_dir() {
        return Ok(files);
    }
    let mut stack = vec![top.clone()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| Failure::Fatal(format!("cannot list {}: {e}", d.display())))?;
        for entry in entries {
            let path = entry.map_err(|e| Failure::Fatal(e.to_string()))?.path();
            let is_yaml = path.extension().is_some_and(|e| e == "yaml");
            if path.is_dir() && is_yaml {
                // Not "missing": what is in its place must go before kcc can write it.
                return Err(Diagnostic::error(
                    "input/path",
                    format!(
                        "{} is a directory, where kcc keeps a golden file",
                        path.strip_prefix(root).unwrap_or(&path).display()
                    ),
                )
                .note("remove it, then run `kcc update`")
                .into());
            }
            if path.is_dir() {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                if d != top || !skip(&name) {
                    stack.push(path);
                }
            } else if is_yaml {
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(rel, crate::confine::read_inside(&path, root)?);
            }
        }
    }
    Ok(files)
}

/// A change to golden/: a file added, changed or removed.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    Added(String),
    Changed(String),
    Removed(String),
}

/// The changes that turn `current` into `expected`.
pub fn changes(current: &Files, expected: &Files) -> Vec<Change> {
    let mut out = Vec::new();
    for (path, text) in expected {
        match current.get(path) {
            None => out.push(Change::Added(path.clone())),
            Some(old) if old != text => out.push(Change::Changed(path.clone())),
            Some(_) => {}
        }
    }
    for path in current.keys().filter(|p| !expected.contains_key(*p)) {
        out.push(Change::Removed(path.clone()));
    }
    out
}

/// Applies changes to golden/ as one transaction: see [`transaction`].
pub fn apply(root: &Path, expected: &Files, changes: &[Change]) -> Result<()> {
    transaction::apply(root, expected, changes)
}

fn remove_empty_dirs(root: &Path, mut dir: Option<&Path>) {
    let golden = root.join(GOLDEN_DIR);
    while let Some(d) = dir {
        if d == golden || !d.starts_with(&golden) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

impl Change {
    pub fn path(&self) -> &str {
        match self {
            Change::Added(p) | Change::Changed(p) | Change::Removed(p) => p,
        }
    }
}

/// The golden files a render cannot be compared with when the (cluster, release) pairs
/// `failed` did not render: their release files, and their clusters' helmfile.yaml (which
/// lists the releases installed). In the order of `failed`, each cluster's helmfile.yaml
/// after its first release.
pub fn not_compared(failed: &[(String, String)]) -> Vec<String> {
    let mut paths = Vec::new();
    for (cluster, release) in failed {
        paths.push(format!("{GOLDEN_DIR}/{cluster}/{release}.yaml"));
        let helmfile = format!("{GOLDEN_DIR}/{cluster}/helmfile.yaml");
        if !paths.contains(&helmfile) {
            paths.push(helmfile);
        }
    }
    paths
}

/// One `golden/drift` error per file of the rendered clusters' directories of golden/
/// that differs from the render, with the object-level diff, an interrupted update first
/// (it explains whatever drift follows). For a deploy of some clusters; `kcc check` takes
/// the clusters one by one ([`drift_of_cluster`]).
pub fn drift_of_rendered(fleet: &Fleet, renders: &[ReleaseRender]) -> Result<Vec<Diagnostic>> {
    let mut out: Vec<Diagnostic> = interrupted(fleet.root()).into_iter().collect();
    // Renders come cluster by cluster, in kcc.yaml order.
    for of_cluster in renders.chunk_by(|a, b| a.cluster == b.cluster) {
        out.extend(drift_of_cluster(
            fleet,
            &of_cluster[0].cluster,
            of_cluster,
            &[],
        )?);
    }
    Ok(out)
}

/// `golden/drift` errors of one cluster's directory of golden/, for its renders. The files
/// of `failed` (cluster, release) pairs are not compared: a release that did not render has
/// not changed, it is broken, and its error says so. An interrupted update is the caller's
/// to report (see [`interrupted`]).
pub fn drift_of_cluster(
    fleet: &Fleet,
    cluster: &str,
    renders: &[ReleaseRender],
    failed: &[(String, String)],
) -> Result<Vec<Diagnostic>> {
    let skipped = not_compared(failed);
    let mut expected = expected(fleet, renders);
    expected.retain(|path, _| !skipped.contains(path));
    let mut current = current_of_cluster(fleet.root(), cluster)?;
    current.retain(|path, _| !skipped.contains(path));
    Ok(compare(&current, &expected))
}

/// What [`drift_of_cluster`] of every cluster leaves out: the golden files outside the
/// directory of any cluster of kcc.yaml (a cluster removed). Those directories are not read.
pub fn drift_outside_clusters(fleet: &Fleet) -> Result<Vec<Diagnostic>> {
    Ok(compare(&outside_clusters(fleet)?, &Files::new()))
}

/// The golden files outside the directory of any cluster of kcc.yaml (those directories
/// are not read).
pub fn outside_clusters(fleet: &Fleet) -> Result<Files> {
    let is_cluster = |dir: &str| fleet.project.cluster(dir).is_some();
    read_golden(fleet.root(), "", &is_cluster)
}

/// One `golden/drift` error per file that differs.
fn compare(current: &Files, expected: &Files) -> Vec<Diagnostic> {
    changes(current, expected)
        .iter()
        .map(|change| {
            let path = change.path();
            let what = match change {
                Change::Added(_) => "is missing from golden/",
                Change::Changed(_) => "differs from the render",
                Change::Removed(_) => "is no longer rendered",
            };
            let old = current.get(path).map(String::as_str).unwrap_or("");
            let new = expected.get(path).map(String::as_str).unwrap_or("");
            // At the golden file, on its first line that the render changes.
            let file = SourceFile::new(path, old);
            let at = Origin::new(&file, first_changed_line(old, new), 1);
            Diagnostic::error("golden/drift", format!("{path} {what}"))
                .at(Some(&at))
                .note(crate::diff::summary(path, old, new))
                .note("run `kcc update` to rewrite golden/, then review the diff")
        })
        .collect()
}

/// The first line of `old` that `new` does not have in its place (1-based); when `new` only
/// adds lines at its end, `old`'s last line; line 1 for an empty (or missing) `old`.
fn first_changed_line(old: &str, new: &str) -> usize {
    let mut new_lines = new.lines();
    let mut count = 0;
    for (i, line) in old.lines().enumerate() {
        if new_lines.next() != Some(line) {
            return i + 1;
        }
        count = i + 1;
    }
    count.max(1)
}

/// The path of a release's golden file.
pub fn release_path(cluster: &str, release: &str) -> PathBuf {
    PathBuf::from(GOLDEN_DIR)
        .join(cluster)
        .join(format!("{release}.yaml"))
}

#[cfg(test)]
mod tests {
    use super::first_changed_line;

    #[test]
    fn drift_points_at_the_first_changed_line() {
        assert_eq!(first_changed_line("a\nb\nc\n", "a\nB\nc\n"), 2);
        assert_eq!(first_changed_line("a\nb\n", "a\nb\nc\n"), 2);
        assert_eq!(first_changed_line("a\nb\nc\n", "a\n"), 2);
        assert_eq!(first_changed_line("", "a\n"), 1);
        assert_eq!(first_changed_line("a\n", ""), 1);
    }
}
