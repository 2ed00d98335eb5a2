//! Shared helpers for the integration tests: run the real `kcc` binary on real projects.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use kcc::manifest::RenderedFile;
use kcc::manifest::{Identity, parse_objects};
use kcc::source::SourceFile;
use kcc::yaml::Node;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

/// The frozen copy of the admin_ng fleet as of July 2023, with production's render of three
/// of its clusters in `reference/`: the realistic fleet the tool's tests run on (never the
/// live fleet at the repository root, which its operators change).
pub fn fleet_2023() -> PathBuf {
    fixture("admin_ng-2023-07")
}

/// The frozen copy of the admin_ng fleet as of April 2024, with production's render of the
/// same three clusters in `reference/`.
#[allow(dead_code)]
pub fn fleet_2024() -> PathBuf {
    fixture("admin_ng-2024-04")
}

/// The frozen copy of the admin_ng fleet as of August 2026 (11 clusters, two calico
/// versions), with production's render of four clusters in `reference/`.
#[allow(dead_code)]
pub fn fleet_2026() -> PathBuf {
    fixture("admin_ng-2026-08")
}

/// `kcc --project DIR args...`, with a clean environment for colours and threads.
pub fn kcc(project: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("kcc")
        .expect("kcc binary")
        .arg("--project")
        .arg(project)
        .args(args)
        .env_remove("RAYON_NUM_THREADS")
        .env("NO_COLOR", "1")
        .output()
        .expect("run kcc")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A copy of `src` in a fresh temp dir, for tests that edit a project.
pub fn copy_project(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(src, dir.path());
    dir
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let target = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() == "target" || entry.file_name() == ".git" {
                continue;
            }
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Replaces the one occurrence of `from` in the file at `path` by `to`. A test that edits a
/// fleet must not pass because its edit silently matched nothing (or matched twice).
#[track_caller]
pub fn edit_file(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = text.matches(from).count();
    assert_eq!(
        n,
        1,
        "`{from}` must occur once in {}, found {n}",
        path.display()
    );
    let edited = text.replacen(from, to, 1);
    write(path, &edited);
}

/// Asserts exit code `code`, printing both streams when it differs.
#[track_caller]
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        stdout(o),
        stderr(o)
    );
}

/// The objects of a multi-document YAML text by identity; `name` labels failures.
pub fn objects_by_id(name: &str, text: &str) -> std::collections::BTreeMap<Identity, Node> {
    let rendered = RenderedFile {
        source: name.to_string(),
        file: SourceFile::new(name, text),
    };
    let mut out = std::collections::BTreeMap::new();
    for object in parse_objects(&rendered).unwrap_or_else(|d| panic!("{name}: {d}")) {
        let id = object.id.clone();
        assert!(
            out.insert(id.clone(), (*object.body).clone()).is_none(),
            "{name}: {id} twice"
        );
    }
    out
}

/// The JSON objects of a `--format json` run, one per line of its stdout.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `kcc check --format json` on a project: its exit and one JSON object per diagnostic.
pub fn check_json(project: &Path) -> (Output, Vec<serde_json::Value>) {
    let out = kcc(project, &["check", "--format", "json"]);
    let diagnostics = json_lines(&out);
    (out, diagnostics)
}

/// The 1-based line of `file` (relative to `root`) holding `needle`, which must occur on
/// exactly one line.
#[track_caller]
pub fn line_of(root: &Path, file: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(root.join(file)).unwrap();
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "`{needle}` in {file}: {lines:?}");
    lines[0] as u64
}

/// helm and helmfile from $KCC_TOOLS_DIR or ~/.cache/kcc-tools/bin (installed by
/// scripts/install-helm-tools.sh; .ci/run installs them). Without them the interop tests
/// say they were skipped, unless KCC_REQUIRE_HELM=1 (CI) makes that a failure.
pub fn tools() -> Option<PathBuf> {
    let dir = std::env::var_os("KCC_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kcc-tools/bin"))
        })?;
    if dir.join("helm").is_file() && dir.join("helmfile").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("KCC_REQUIRE_HELM").as_deref() != Ok("1"),
        "KCC_REQUIRE_HELM=1 but helm/helmfile are not in {}",
        dir.display()
    );
    // Written to the real stderr, past the test harness's capture, so `cargo test` shows it.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED interop test: helm/helmfile not found in {} (run scripts/install-helm-tools.sh)",
        dir.display()
    );
    None
}

/// `git -C dir args...` with a fixed identity and no signing; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=kcc test",
            "-c",
            "user.email=kcc@example.org",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Makes `dir` a git repository with everything in it committed.
pub fn commit_all(dir: &Path) {
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
}
