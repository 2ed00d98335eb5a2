//! TAP version 14: a plan, one test point per diagnostic (`not ok` for an error, `ok` for a
//! warning) with a YAML block saying where and which rule, then one `ok` per subject no
//! error is about.

use std::fmt::Write;

use super::{Place, Run, one_line, severity_word};

pub fn tap(run: &Run) -> String {
    let passed: Vec<_> = run.passed().collect();
    let mut out = String::from("TAP version 14\n");
    let _ = writeln!(out, "1..{}", run.diagnostics.len() + passed.len());
    let mut n = 0;
    for d in run.diagnostics {
        n += 1;
        let ok = match d.severity {
            crate::Severity::Error => "not ok",
            crate::Severity::Warning => "ok",
        };
        let description = format!(
            "{}[{}] {}",
            severity_word(d.severity),
            d.rule,
            one_line(d, run.path_prefix)
        );
        let _ = writeln!(out, "{ok} {n} - {}", description_text(&description));
        out.push_str("  ---\n");
        let _ = writeln!(out, "  severity: {}", severity_word(d.severity));
        let _ = writeln!(out, "  rule: {}", yaml_string(d.rule));
        let _ = writeln!(out, "  message: {}", yaml_string(&d.message));
        if let Some(place) = Place::of(d, run.path_prefix) {
            let _ = writeln!(out, "  file: {}", yaml_string(&place.file));
            let _ = writeln!(out, "  line: {}", place.line);
            let _ = writeln!(out, "  column: {}", place.col);
        }
        let notes = d.all_notes();
        if !notes.is_empty() {
            out.push_str("  notes:\n");
            for note in notes {
                let _ = writeln!(out, "    - {}", yaml_string(&note));
            }
        }
        out.push_str("  ...\n");
    }
    for subject in passed {
        n += 1;
        let _ = writeln!(out, "ok {n} - {}", description_text(&subject.name));
    }
    for note in run.notes {
        let _ = writeln!(out, "# {}", note.replace('\n', " "));
    }
    let _ = writeln!(out, "# {}", run.summary);
    out
}

/// A test point's description: one line, `#` and `\` escaped (TAP 14: an unescaped `#`
/// starts a directive).
fn description_text(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
        .replace('\\', "\\\\")
        .replace('#', "\\#")
}

/// A YAML double-quoted scalar: JSON's string syntax, which YAML reads the same.
fn yaml_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}
