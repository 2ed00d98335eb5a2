//! A fleet diff as text (optionally coloured), JSON, markdown or a Gerrit ReviewInput.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::{Counts, FieldChange, FileDiff, FleetDiff, Status, diff_file};

/// ANSI colours, or none.
struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// A unified diff, each line indented by `indent`, `+` green, `-` red, `@@` cyan.
    fn diff(&self, out: &mut String, diff: &str, indent: &str) {
        for line in diff.lines() {
            let code = if line.starts_with("+++ b/") || line.starts_with("--- a/") {
                "1"
            } else if line.starts_with('+') {
                "32"
            } else if line.starts_with('-') {
                "31"
            } else if line.starts_with("@@") {
                "36"
            } else {
                ""
            };
            let text = if code.is_empty() {
                line.to_string()
            } else {
                self.paint(code, line)
            };
            let _ = writeln!(out, "{indent}{text}");
        }
    }
}

/// Human text; `color` adds ANSI colours (the caller decides: a terminal, no NO_COLOR).
pub fn render_text(d: &FleetDiff, color: bool) -> String {
    let paint = Paint { on: color };
    let mut out = String::new();
    for file in &d.files {
        write_file_text(&mut out, file, &paint, true);
    }
    let _ = writeln!(out, "{}", d.headline());
    out
}

/// A file's objects, fields and diffs; `header`: first a line with its path and status.
fn write_file_text(out: &mut String, file: &FileDiff, paint: &Paint, header: bool) {
    if header {
        let title = format!(
            "{} {} ({})",
            file.status.sign(),
            file.path,
            file.status.word()
        );
        let _ = writeln!(out, "{}", paint.paint("1", &title));
    }
    for o in &file.objects {
        let color = match o.status {
            Status::Added => "32",
            Status::Removed => "31",
            Status::Changed => "33",
        };
        let line = o.line.map(|l| format!("  (line {l})")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}{line}",
            paint.paint(color, &format!("{} {}", o.status.sign(), o.object))
        );
        for f in &o.fields {
            let _ = writeln!(out, "      {} {}", f.status.sign(), f.path);
        }
        if let Some(diff) = &o.diff {
            paint.diff(out, diff, "    ");
        }
    }
    if let Some(diff) = &file.diff {
        paint.diff(out, diff, "    ");
    }
}

/// The whole diff as one JSON document; keys in a fixed order.
pub fn render_json(d: &FleetDiff) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        old: &'a str,
        new: &'a str,
        differs: bool,
        counts: Counts,
        files: &'a [FileDiff],
    }
    let report = Report {
        old: &d.old,
        new: &d.new,
        differs: !d.is_empty(),
        counts: d.counts(),
        files: &d.files,
    };
    let mut text = serde_json::to_string_pretty(&report).expect("plain data serializes");
    text.push('\n');
    text
}

/// A code fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat(longest.max(2) + 1)
}

fn code_block(out: &mut String, lang: &str, text: &str) {
    let f = fence(text);
    let _ = write!(out, "{f}{lang}\n{text}");
    if !text.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{f}");
}

/// `fields` as inline code, comma-separated.
fn field_list(fields: &[FieldChange]) -> String {
    fields
        .iter()
        .map(|f| match f.status {
            Status::Changed => format!("`{}`", f.path),
            s => format!("`{}` ({})", f.path, s.word()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Markdown for a review: a heading, a table of changed objects per file, diffs in blocks.
pub fn render_markdown(d: &FleetDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n", d.headline());
    for file in &d.files {
        let _ = writeln!(out, "### `{}` ({})\n", file.path, file.status.word());
        if !file.objects.is_empty() {
            out.push_str("| | object | fields |\n|---|---|---|\n");
            for o in &file.objects {
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} |",
                    o.status.word(),
                    o.object,
                    field_list(&o.fields)
                );
            }
            out.push('\n');
            for o in file.objects.iter().filter(|o| o.diff.is_some()) {
                let _ = writeln!(out, "`{}`:\n", o.object);
                code_block(&mut out, "diff", o.diff.as_deref().unwrap_or(""));
                out.push('\n');
            }
        }
        if let Some(diff) = &file.diff {
            code_block(&mut out, "diff", diff);
            out.push('\n');
        }
    }
    out
}

/// A Gerrit ReviewInput (`{"message", "comments"}`), posted as is by CI. Comments are on
/// `prefix` + the golden path (`prefix`: the project directory within the repository, e.g.
/// `"admin_ng/"`). A changed or added object gets a comment on the line where its document
/// starts in the new file; an added file gets one comment on line 1; removed objects and
/// removed files get file-level comments (no line).
pub fn render_gerrit(d: &FleetDiff, prefix: &str) -> String {
    #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
    struct Comment {
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
        message: String,
    }
    #[derive(Serialize)]
    struct ReviewInput {
        message: String,
        comments: BTreeMap<String, Vec<Comment>>,
    }
    let mut message = d.headline();
    let mut comments: BTreeMap<String, Vec<Comment>> = BTreeMap::new();
    for file in &d.files {
        let _ = write!(message, "\n\n{} ({})", file.path, file.status.word());
        for o in &file.objects {
            let _ = write!(message, "\n{} {}", o.status.sign(), o.object);
            if !o.fields.is_empty() {
                let paths: Vec<&str> = o.fields.iter().map(|f| f.path.as_str()).collect();
                let _ = write!(message, ": {}", paths.join(", "));
            }
        }
        let mut list = Vec::new();
        match file.status {
            Status::Added if !file.objects.is_empty() => {
                let mut m = String::from("New file; objects:\n");
                for o in &file.objects {
                    let _ = write!(m, "\n* {}", o.object);
                }
                list.push(Comment {
                    line: Some(1),
                    message: m,
                });
            }
            Status::Removed if !file.objects.is_empty() => {
                let mut m = String::from("No longer rendered; removed objects:\n");
                for o in &file.objects {
                    let _ = write!(m, "\n* {}", o.object);
                }
                list.push(Comment {
                    line: None,
                    message: m,
                });
            }
            _ => {
                for o in &file.objects {
                    let mut m = format!("{} {}", o.object, o.status.word());
                    if !o.fields.is_empty() {
                        m.push_str(": ");
                        m.push_str(&field_list(&o.fields));
                    }
                    if let Some(diff) = &o.diff {
                        m.push_str("\n\n");
                        code_block(&mut m, "diff", diff);
                    }
                    list.push(Comment {
                        line: o.line,
                        message: m.trim_end().to_string(),
                    });
                }
            }
        }
        if let Some(diff) = &file.diff {
            let mut m = format!("{} {}\n\n", file.path, file.status.word());
            code_block(&mut m, "diff", diff);
            list.push(Comment {
                line: file.line,
                message: m.trim_end().to_string(),
            });
        }
        list.sort();
        comments.insert(format!("{prefix}{}", file.path), list);
    }
    let review = ReviewInput { message, comments };
    let mut text = serde_json::to_string_pretty(&review).expect("plain data serializes");
    text.push('\n');
    text
}

/// A short description of how two versions of a golden file differ: its changed objects
/// and fields, with unified diffs (plain text; secret values only as digests).
pub fn summary(path: &str, old: &str, new: &str) -> String {
    match diff_file(path, Some(old), Some(new)) {
        Some(file) => {
            let mut out = String::new();
            write_file_text(&mut out, &file, &Paint { on: false }, false);
            out
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::diff;
    use crate::diff::tests::OLD;
    use crate::golden::Files;

    #[test]
    fn text_is_coloured_only_when_asked() {
        let new = OLD.replace("k: v", "k: w");
        let d = diff(
            &Files::from([("golden/c/x.yaml".to_string(), OLD.to_string())]),
            &Files::from([("golden/c/x.yaml".to_string(), new)]),
        );
        assert!(render_text(&d, true).contains("\x1b[32m+  k: w\x1b[0m"));
        assert!(!render_text(&d, false).contains('\x1b'));
    }
}
