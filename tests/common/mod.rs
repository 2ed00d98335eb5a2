//! Shared helpers for the integration tests: run the real `kcc` binary on real projects.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use kcc::chart::RenderedFile;
use kcc::manifest::{Identity, parse_objects};
use kcc::source::SourceFile;
use kcc::yaml::Node;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
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
