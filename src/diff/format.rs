//! A fleet diff as text (optionally coloured) or JSON, and the helpers the review formats
//! share.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::{Counts, FileDiff, FleetDiff, Outline, Status, WholeDir, WholeFile, diff_file};

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
    let outline = d.outline();
    let mut out = String::new();
    // What the apply would break first; then a chart version change: it is the cause of
    // the object changes below.
    for h in &d.hazards {
        let code = if h.acknowledged_by.is_some() {
            "33"
        } else {
            "1;31"
        };
        let _ = writeln!(out, "{}", paint.paint(code, &format!("! {}", h.describe())));
        if h.acknowledged_by.is_none() {
            let _ = writeln!(
                out,
                "    to accept: {}: {}",
                super::ACKNOWLEDGE_TRAILER,
                h.acknowledgement
            );
        }
    }
    for group in d.chart_change_groups() {
        let line = format!("~ chart {}", group.describe());
        let _ = writeln!(out, "{}", paint.paint("1", &line));
    }
    for dir in &outline.dirs {
        let line = format!("{} {}", dir.status.sign(), whole_dir(dir));
        let _ = writeln!(out, "{}", paint.paint("1", &line));
    }
    for file in &outline.files {
        let line = format!("{} {}", file.status.sign(), whole_file(file));
        let _ = writeln!(out, "{}", paint.paint("1", &line));
    }
    for file in d.files.iter().filter(|f| f.status == Status::Changed) {
        write_file_text(&mut out, file, &paint, true);
    }
    let _ = writeln!(out, "{}", d.headline());
    out
}

/// `golden/test-k8s-codfw/ (new: 9 files, 407 objects)`.
pub(super) fn whole_dir(dir: &WholeDir) -> String {
    format!(
        "{} ({}: {} files, {} objects)",
        dir.path,
        whole_word(dir.status),
        dir.files,
        dir.objects
    )
}

/// `golden/eqiad/istio.yaml (new: 47 objects)`.
pub(super) fn whole_file(file: &WholeFile) -> String {
    format!(
        "{} ({}: {} objects)",
        file.path,
        whole_word(file.status),
        file.objects
    )
}

fn whole_word(status: Status) -> &'static str {
    match status {
        Status::Added => "new",
        _ => "removed",
    }
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
            Status::Changed | Status::Moved | Status::Renamed => "33",
        };
        let line = o.line.map(|l| format!("  (line {l})")).unwrap_or_default();
        let from = o
            .from
            .as_ref()
            .map(|f| format!(" (renamed from {f})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}{line}",
            paint.paint(color, &format!("{} {}{from}", o.status.sign(), o.object))
        );
        for f in &o.fields {
            let from = f
                .from_path
                .as_ref()
                .map(|p| format!(" (from {p})"))
                .unwrap_or_default();
            let _ = writeln!(out, "      {} {}{from}", f.status.sign(), f.path);
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
        clusters: BTreeMap<String, Counts>,
        hazards: &'a [super::Hazard],
        #[serde(rename = "chartVersions")]
        chart_versions: Vec<&'a super::ChartChange>,
        outline: Outline<'a>,
        files: &'a [FileDiff],
    }
    let report = Report {
        old: &d.old,
        new: &d.new,
        differs: !d.is_empty(),
        counts: d.counts(),
        clusters: d.by_cluster(),
        hazards: &d.hazards,
        chart_versions: d.chart_changes().collect(),
        outline: d.outline(),
        files: &d.files,
    };
    let mut text = serde_json::to_string_pretty(&report).expect("plain data serializes");
    text.push('\n');
    text
}

/// A short description of how two versions of a golden file differ: its changed objects
/// and fields, with unified diffs (plain text; secret values only as digests).
pub fn summary(path: &str, old: &str, new: &str) -> String {
    // A file new or gone as a whole: one line, not a line per object.
    if old.is_empty() || new.is_empty() {
        let (status, text) = if old.is_empty() {
            (Status::Added, new)
        } else {
            (Status::Removed, old)
        };
        let objects = diff_file(path, None, Some(text)).map_or(0, |f| f.objects.len());
        let file = WholeFile {
            path: path.to_string(),
            status,
            objects,
        };
        return format!("{}\n", whole_file(&file));
    }
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
    use crate::diff::Files;
    use crate::diff::diff;
    use crate::diff::tests::OLD;

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
