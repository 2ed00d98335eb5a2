//! JUnit XML as Jenkins and GitLab read it (Jenkins' junit-4.xsd): one `<testsuite>` per
//! rule that occurs, one `<testcase>` per diagnostic — an error has a `<failure>` whose
//! `type` is the rule and whose `message` is `file:line:col: message` and the notes; a
//! warning passes, with that text in `<system-out>` — and a suite named after the command
//! holding one passing test case per subject (cluster, input file) that no error is about.

use std::fmt::Write;

use super::{Run, one_line, severity_word};
use crate::diagnostic::{Diagnostic, Severity};

pub fn junit(run: &Run) -> String {
    let passed: Vec<_> = run.passed().collect();
    let errors = run.errors();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{errors}\" errors=\"0\">",
        escape(run.command),
        run.diagnostics.len() + passed.len(),
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"0\" errors=\"0\">",
        escape(run.command),
        passed.len()
    );
    for subject in &passed {
        let _ = writeln!(
            out,
            "    <testcase name=\"{}\" classname=\"{}\"/>",
            escape(&subject.name),
            escape(run.command)
        );
    }
    let mut about_run = run.notes.join("\n");
    if !about_run.is_empty() {
        about_run.push('\n');
    }
    about_run.push_str(run.summary);
    let _ = writeln!(
        out,
        "    <system-out>{}</system-out>",
        escape_text(&about_run)
    );
    out.push_str("  </testsuite>\n");
    let mut rules: Vec<&str> = Vec::new();
    for d in run.diagnostics {
        if !rules.contains(&d.rule) {
            rules.push(d.rule);
        }
    }
    for rule in rules {
        let of_rule: Vec<&Diagnostic> = run.diagnostics.iter().filter(|d| d.rule == rule).collect();
        let failures = of_rule
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
            escape(rule),
            of_rule.len()
        );
        for d in of_rule {
            test_case(&mut out, d, run.path_prefix);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn test_case(out: &mut String, d: &Diagnostic, prefix: &str) {
    let _ = writeln!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\">",
        escape(&one_line(d, prefix)),
        escape(d.rule)
    );
    // The whole finding in one text: `file:line:col: message`, then the notes.
    let mut text = one_line(d, prefix);
    for note in d.all_notes() {
        text.push('\n');
        text.push_str(note.trim_end());
    }
    match d.severity {
        // In the attribute, which Jenkins shows as the error message and GitLab as the
        // failure; the element stays empty.
        Severity::Error => {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\"/>",
                escape(&text),
                escape(d.rule)
            );
        }
        Severity::Warning => {
            let _ = writeln!(
                out,
                "      <system-out>{}[{}] {}</system-out>",
                severity_word(d.severity),
                escape_text(d.rule),
                escape_text(&text)
            );
        }
    }
    out.push_str("    </testcase>\n");
}

/// An XML attribute value: see [`escape_text`]; line breaks and tabs too, as character
/// references, so that the attribute keeps them.
pub fn escape(text: &str) -> String {
    escape_xml(text, true)
}

/// Element text: markup characters as entities, and characters XML 1.0 cannot hold (other
/// control characters) as U+FFFD.
pub fn escape_text(text: &str) -> String {
    escape_xml(text, false)
}

fn escape_xml(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' if !attribute => out.push(c),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            super::escape("a<b & \"c\"\n\u{1b}[1m"),
            "a&lt;b &amp; &quot;c&quot;&#10;\u{fffd}[1m"
        );
        assert_eq!(super::escape_text("a\n\tb&"), "a\n\tb&amp;");
    }
}
