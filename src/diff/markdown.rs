//! Markdown for a review comment: the headline, a cluster × added/removed/changed table,
//! one line per new or removed golden file or cluster directory, then each change by cause
//! in a `<details>` fold (its objects and one diff standing for all).

use std::fmt::Write;

use super::format::{code_block, whole_dir, whole_file};
use super::{ChangeGroup, FleetDiff};

/// Objects listed in a fold before "and N more" (the JSON format lists all).
const LISTED_OBJECTS: usize = 50;

pub fn render_markdown(d: &FleetDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n", d.headline());
    if d.is_empty() {
        return out;
    }
    out.push_str("| cluster | files | added | removed | changed |\n|---|---:|---:|---:|---:|\n");
    for (name, c) in d.cluster_rows() {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} |",
            c.files, c.added, c.removed, c.changed
        );
    }
    out.push('\n');
    let groups = d.chart_change_groups();
    if !groups.is_empty() {
        out.push_str("Chart versions:\n\n");
        for group in groups {
            let _ = writeln!(out, "- `{}`", group.describe());
        }
        out.push('\n');
    }
    let outline = d.outline();
    for dir in &outline.dirs {
        let _ = writeln!(out, "- {} `{}`", dir.status.sign(), whole_dir(dir));
    }
    for file in &outline.files {
        let _ = writeln!(out, "- {} `{}`", file.status.sign(), whole_file(file));
    }
    if !outline.dirs.is_empty() || !outline.files.is_empty() {
        out.push('\n');
    }
    for group in &outline.groups {
        write_group(&mut out, group);
    }
    for file in &outline.texts {
        let _ = writeln!(
            out,
            "<details><summary>~ {} ({})</summary>\n",
            html(&file.path),
            file.status.word()
        );
        code_block(&mut out, "diff", file.diff.as_deref().unwrap_or(""));
        out.push_str("\n</details>\n\n");
    }
    out
}

fn write_group(out: &mut String, group: &ChangeGroup) {
    let _ = writeln!(
        out,
        "<details><summary>{}</summary>\n",
        html(&group.title())
    );
    for m in group.objects.iter().take(LISTED_OBJECTS) {
        let line = m.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(out, "- `{}{line}` {}", m.file, m.object);
    }
    if group.objects.len() > LISTED_OBJECTS {
        let _ = writeln!(out, "- … and {} more", group.objects.len() - LISTED_OBJECTS);
    }
    if let Some(diff) = &group.diff {
        out.push('\n');
        if group.objects.len() > 1 {
            let _ = writeln!(
                out,
                "The diff of `{}`, the same in all:\n",
                group.objects[0].object
            );
        }
        code_block(out, "diff", diff);
    }
    out.push_str("\n</details>\n\n");
}

/// Text inside HTML (a `<summary>`): values may hold `<`, `&`.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
