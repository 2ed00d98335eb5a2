//! CommonMark that renders as written: user text (paths, names, values) escaped or put in
//! code, so that a `-`, `|`, `<` or backquote in it shows as itself in Gerrit, GitLab or
//! GitHub.

use std::fmt::Write;

/// `text` as inline CommonMark that shows exactly `text`: ASCII punctuation that could
/// open emphasis, code, HTML, entities, tables or strikethrough is backslash-escaped, and
/// so is a first character that would start a list, heading, quote or link definition.
/// (Brackets elsewhere stay: kcc writes no link definitions for them to refer to.)
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    for (i, c) in text.chars().enumerate() {
        let special = matches!(c, '\\' | '`' | '*' | '_' | '<' | '>' | '&' | '|' | '~');
        let starts_block = i == 0 && matches!(c, '-' | '+' | '#' | '=' | '[');
        let ends_list_number = i == digits && digits > 0 && matches!(c, '.' | ')');
        if special || starts_block || ends_list_number {
            out.push('\\');
        }
        out.push(match c {
            '\n' | '\r' => ' ',
            c => c,
        });
    }
    out
}

/// `text` as a code span: delimited by more backquotes than it holds in a row, padded with
/// a space where it begins or ends with a backquote or space (the renderer strips it).
pub fn code(text: &str) -> String {
    let ticks = "`".repeat(longest_run(text, '`') + 1);
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!(
        "{ticks}{pad}{}{pad}{ticks}",
        text.replace(['\n', '\r'], " ")
    )
}

/// Text inside HTML (a `<summary>`): the renderer decodes the entities back.
pub fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A code fence longer than any run of backquotes in `text`.
pub fn fence(text: &str) -> String {
    "`".repeat(longest_run(text, '`').max(2) + 1)
}

/// A fenced code block holding `text` as it is.
pub fn code_block(out: &mut String, lang: &str, text: &str) {
    let f = fence(text);
    let _ = write!(out, "{f}{lang}\n{text}");
    if !text.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{f}");
}

fn longest_run(text: &str, of: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == of { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_would_be_markup() {
        assert_eq!(escape("- a_b *c* <d> | e"), r"\- a\_b \*c\* \<d\> \| e");
        assert_eq!(escape("1. x"), r"1\. x");
        assert_eq!(escape("golden/a-b.yaml"), "golden/a-b.yaml");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
    }
}
