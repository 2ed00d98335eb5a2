//! Markdown for a review comment (CommonMark with GitHub's tables and `<details>`): the
//! headline, a cluster × added/removed/changed table, the apply hazards, the chart version
//! changes, one line per new or removed golden file or cluster directory, then each change
//! by cause in a `<details>` fold (its objects and its diffs). User text is escaped or in
//! code (see [`markup`](super::markup)), so it renders as written.

use std::fmt::Write;

use super::format::{whole_dir, whole_file};
use super::markup::{code, code_block, escape, html};
use super::{ACKNOWLEDGE_TRAILER, ChangeGroup, FleetDiff, Hazard};

/// Objects listed in a fold before "and N more" (the JSON format lists all).
const LISTED_OBJECTS: usize = 50;
/// Diff variants shown in a fold before "and N more".
const LISTED_VARIANTS: usize = 5;

pub fn render_markdown(d: &FleetDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n", escape(&d.headline()));
    if d.is_empty() {
        return out;
    }
    let renamed = d.counts().renamed > 0;
    out.push_str("| cluster | files | added | removed | changed |");
    out.push_str(if renamed { " renamed |\n" } else { "\n" });
    out.push_str("|---|---:|---:|---:|---:|");
    out.push_str(if renamed { "---:|\n" } else { "\n" });
    for (name, c) in d.cluster_rows() {
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} |",
            escape(&name),
            c.files,
            c.added,
            c.removed,
            c.changed
        );
        if renamed {
            let _ = write!(out, " {} |", c.renamed);
        }
        out.push('\n');
    }
    out.push('\n');
    write_hazards(&mut out, &d.hazards);
    let groups = d.chart_change_groups();
    if !groups.is_empty() {
        out.push_str("Chart versions:\n\n");
        for group in groups {
            let _ = writeln!(out, "- {}", code(&group.describe()));
        }
        out.push('\n');
    }
    let outline = d.outline();
    for dir in &outline.dirs {
        let _ = writeln!(
            out,
            "- {}",
            escape(&format!("{} {}", dir.status.sign(), whole_dir(dir)))
        );
    }
    for file in &outline.files {
        let _ = writeln!(
            out,
            "- {}",
            escape(&format!("{} {}", file.status.sign(), whole_file(file)))
        );
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

/// The hazards first: what the apply would break, and how to accept each. Bulleted with
/// `*`, so that the list of files after it stays a list of its own.
fn write_hazards(out: &mut String, hazards: &[Hazard]) {
    if hazards.is_empty() {
        return;
    }
    let open = hazards
        .iter()
        .filter(|h| h.acknowledged_by.is_none())
        .count();
    let _ = writeln!(
        out,
        "**Apply hazards: {} ({open} not accepted)**\n",
        hazards.len()
    );
    for h in hazards {
        let field = h
            .field
            .as_ref()
            .map(|f| format!(" {}", code(f)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "* **{}** in {}: {}{field}: {}",
            escape(h.rule),
            escape(&h.cluster),
            code(&h.object.to_string()),
            escape(&h.message)
        );
        match &h.acknowledged_by {
            Some(commit) => {
                let _ = writeln!(out, " (accepted in {})", code(commit));
            }
            None => {
                let _ = writeln!(
                    out,
                    "; to accept: {}",
                    code(&format!("{ACKNOWLEDGE_TRAILER}: {}", h.acknowledgement))
                );
            }
        }
    }
    out.push('\n');
}

fn write_group(out: &mut String, group: &ChangeGroup) {
    let _ = writeln!(
        out,
        "<details><summary>{}</summary>\n",
        html(&group.title())
    );
    for m in group.objects.iter().take(LISTED_OBJECTS) {
        let line = m.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "- {} {}",
            code(&format!("{}{line}", m.file)),
            escape(&m.object.to_string())
        );
    }
    if group.objects.len() > LISTED_OBJECTS {
        let _ = writeln!(out, "- … and {} more", group.objects.len() - LISTED_OBJECTS);
    }
    let many = group.objects.len() > 1;
    match group.diffs.as_slice() {
        [] => {}
        [one] => {
            out.push('\n');
            if many {
                let _ = writeln!(
                    out,
                    "The diff of {}, the same in all {} objects (at their own lines):\n",
                    code(&group.objects[0].object.to_string()),
                    group.objects.len()
                );
            }
            code_block(out, "diff", &one.diff);
        }
        variants => {
            let _ = writeln!(
                out,
                "\nThe same changes, among different lines: {} diffs.\n",
                variants.len()
            );
            for v in variants.iter().take(LISTED_VARIANTS) {
                let first = &group.objects[v.objects[0]];
                let others = match v.objects.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                let _ = writeln!(
                    out,
                    "The diff of {} in {}{others}:\n",
                    code(&first.object.to_string()),
                    code(&first.file)
                );
                code_block(out, "diff", &v.diff);
                out.push('\n');
            }
            if variants.len() > LISTED_VARIANTS {
                let _ = writeln!(
                    out,
                    "… and {} more diffs (`kcc diff --format json` has them all).",
                    variants.len() - LISTED_VARIANTS
                );
            }
        }
    }
    out.push_str("\n</details>\n\n");
}
