//! Object-level and unified diffs of rendered manifests.

/// A short description of how two versions of a golden file differ.
pub fn summary(path: &str, old: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    diff.unified_diff()
        .context_radius(2)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}
