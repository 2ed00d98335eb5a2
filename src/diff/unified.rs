//! Unified diff hunks of one object, numbered by the lines of the file it is in: a review
//! tool reading `@@ -170,7 +170,7 @@` can jump to the change.

use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

use super::CONTEXT;

pub struct Hunks {
    pub text: String,
    /// The first line of the new file the change touches (for a pure deletion: the line
    /// after it).
    pub first_change: Option<usize>,
}

/// The hunks between two texts that start at lines `old_start` and `new_start` of their
/// files.
pub fn hunks(old: &str, new: &str, old_start: usize, new_start: usize) -> Hunks {
    let diff = TextDiff::from_lines(old, new);
    let mut text = String::new();
    let mut first_change = None;
    for group in diff.grouped_ops(CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let _ = writeln!(
            text,
            "@@ -{} +{} @@",
            range(old_range.start, old_range.len(), old_start),
            range(new_range.start, new_range.len(), new_start)
        );
        for op in &group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                };
                if sign != ' ' && first_change.is_none() {
                    let index = change.new_index().unwrap_or(op.new_range().start);
                    first_change = Some(new_start + index);
                }
                let line = change.value();
                text.push(sign);
                text.push_str(line);
                if !line.ends_with('\n') {
                    text.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
    }
    Hunks { text, first_change }
}

/// `start,len` of a hunk side in file lines; an empty side names the line before it, as
/// `diff -u` does.
fn range(index: usize, len: usize, file_start: usize) -> String {
    let start = if len == 0 {
        file_start + index - 1
    } else {
        file_start + index
    };
    format!("{start},{len}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_headers_count_file_lines() {
        let old: String = (1..=20).map(|i| format!("l{i}\n")).collect();
        let new = old.replace("l10\n", "L10\n");
        // The text starts at line 161 of its file: its line 10 is the file's line 170.
        let h = hunks(&old, &new, 161, 161);
        assert!(
            h.text
                .starts_with("@@ -167,7 +167,7 @@\n l7\n l8\n l9\n-l10\n+L10\n"),
            "{}",
            h.text
        );
        assert_eq!(h.first_change, Some(170));
        // Only lines added: the old side is empty and names the line before.
        let h = hunks("", "a\n", 5, 5);
        assert_eq!(h.text, "@@ -4,0 +5,1 @@\n+a\n");
        assert_eq!(h.first_change, Some(5));
    }

    #[test]
    fn a_deletion_points_at_the_line_after_it() {
        let old = "a\nb\nc\n";
        let new = "a\nc\n";
        let h = hunks(old, new, 10, 10);
        assert_eq!(h.text, "@@ -10,3 +10,2 @@\n a\n-b\n c\n");
        assert_eq!(h.first_change, Some(11));
    }
}
