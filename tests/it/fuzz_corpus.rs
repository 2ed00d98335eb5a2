//! Replays the fuzz corpora (`fuzz/corpus/<target>/`) and the inputs that once crashed a
//! target (`fuzz/regressions/<target>/`) through the fuzz targets' own checks, on stable
//! Rust and without libFuzzer: what the fuzzer learnt stays tested in every `cargo test`.
//! `scripts/fuzz.sh` runs the fuzzers themselves (nightly, cargo-fuzz).

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

type Check = fn(&[u8]);

const TARGETS: &[(&str, Check)] = &[
    ("yaml_load", harness::yaml_load),
    ("values_merge", harness::values_merge),
    ("manifest_parse", harness::manifest_parse),
];

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every file of `dir`, naming the file that panics; the number of files.
fn replay(dir: &Path, check: Check) -> usize {
    let files = inputs(dir);
    for file in &files {
        let data = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("{} panicked on {}", dir.display(), file.display());
        }
    }
    files.len()
}

#[test]
fn corpora_and_regressions_run_without_panics() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, check) in TARGETS {
        let corpus = replay(&fuzz.join("corpus").join(target), *check);
        assert!(corpus > 0, "fuzz/corpus/{target} is empty");
        replay(&fuzz.join("regressions").join(target), *check);
    }
}

#[test]
fn layers_split_at_document_markers() {
    assert_eq!(harness::split_layers("a: 1\n"), ["a: 1\n"]);
    assert_eq!(
        harness::split_layers("a: 1\n---\nb: 2\n---\r\n---\nc\n---\nd\n"),
        ["a: 1\n", "b: 2\n", "", "c\n---\nd\n"]
    );
    assert_eq!(harness::split_layers("---\nx\n"), ["", "x\n"]);
}
