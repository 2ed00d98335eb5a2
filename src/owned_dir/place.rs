//! Where a deploy directory may be: never a symbolic link, and never inside, or holding,
//! a directory of the project kcc reads (charts/, values/, golden/, the private overlays):
//! `render --out charts` must not rewrite the charts, `--out golden/eqiad` must not put a
//! real secret into golden/.

use std::path::{Path, PathBuf};

/// Why `dir` (absolute, its parent's links resolved; `followed` is where it leads if it is
/// itself a link) may not be a deploy directory, or None. `protected` are the project's
/// directories, each named for the message.
pub fn refusal(dir: &Path, followed: &Path, protected: &[(String, PathBuf)]) -> Option<String> {
    for (label, path) in protected {
        let real = crate::tree::canonicalize(path).unwrap_or_else(|_| path.clone());
        for candidate in [dir, followed] {
            if candidate.starts_with(&real) {
                return Some(format!(
                    "--out {} is inside {label} ({}): kcc never writes a deploy directory into what it reads",
                    dir.display(),
                    real.display()
                ));
            }
            if real.starts_with(candidate) {
                return Some(format!(
                    "--out {} holds {label} ({}): kcc never writes a deploy directory over what it reads",
                    dir.display(),
                    real.display()
                ));
            }
        }
    }
    (dir != followed).then(|| {
        format!(
            "--out {} is a symbolic link (to {}): kcc writes a deploy directory only as a real directory, to keep every file it writes inside it",
            dir.display(),
            followed.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_over_or_linked_to_a_project_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let charts = root.join("project/charts");
        std::fs::create_dir_all(&charts).unwrap();
        let protected = [("charts/".to_string(), charts.clone())];
        let ok = root.join("project/deploy");
        assert_eq!(refusal(&ok, &ok, &protected), None);
        for bad in [charts.join("web"), charts.clone(), root.join("project")] {
            assert!(
                refusal(&bad, &bad, &protected).is_some(),
                "{}",
                bad.display()
            );
        }
        let linked = refusal(&ok, &charts, &protected).unwrap();
        assert!(linked.contains("inside charts/"), "{linked}");
        let elsewhere = refusal(&ok, &root.join("x"), &protected).unwrap();
        assert!(elsewhere.contains("is a symbolic link"), "{elsewhere}");
    }
}
