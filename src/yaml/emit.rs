//! The canonical YAML writer: block style, 2-space indent, keys sorted (maps are sorted by
//! construction), and every string that a YAML 1.1 or 1.2 reader could take for another
//! type quoted. Same tree, same bytes.

use std::fmt::Write;

use super::scalar::needs_quotes;
use super::{Node, Value};

/// A whole document: the node at column 0, ending in a newline.
pub fn emit_document(node: &Node) -> String {
    let mut out = emit_value_block(node);
    out.push('\n');
    out
}

/// Block YAML of a node at column 0, without a trailing newline (what `to_yaml` gives).
pub fn emit_value_block(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(m) if !m.is_empty() => write_map(&mut out, node, 0),
        Value::Seq(s) if !s.is_empty() => write_seq(&mut out, node, 0),
        _ => write_inline(&mut out, node, 0),
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// The longest key written `key: value`: YAML readers (saphyr, libyaml and so Go's) refuse
/// a longer implicit key, so a longer one is written as an explicit `? key`.
const MAX_IMPLICIT_KEY: usize = 1024;

/// Writes `key: value` lines of a non-empty map, each starting at `indent`.
fn write_map(out: &mut String, node: &Node, indent: usize) {
    let Value::Map(map) = &node.value else { return };
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        let start = out.len();
        write_key(out, key);
        if out[start..].chars().count() > MAX_IMPLICIT_KEY {
            out.insert_str(start, "? ");
            out.push('\n');
            pad(out, indent);
        }
        out.push(':');
        write_after_key(out, value, indent);
    }
}

/// Writes `- item` lines of a non-empty sequence, each starting at `indent`.
fn write_seq(out: &mut String, node: &Node, indent: usize) {
    let Value::Seq(items) = &node.value else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push('-');
        match &item.value {
            Value::Map(m) if !m.is_empty() => {
                out.push(' ');
                write_map(out, item, indent + 2);
            }
            Value::Seq(s) if !s.is_empty() => {
                out.push(' ');
                write_seq(out, item, indent + 2);
            }
            _ => {
                out.push(' ');
                write_inline(out, item, indent + 2);
            }
        }
    }
}

/// After `key:` — a nested block on the next lines, or ` scalar` on the same line.
fn write_after_key(out: &mut String, value: &Node, indent: usize) {
    match &value.value {
        Value::Map(m) if !m.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            write_map(out, value, indent + 2);
        }
        Value::Seq(s) if !s.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            write_seq(out, value, indent + 2);
        }
        _ => {
            out.push(' ');
            write_inline(out, value, indent + 2);
        }
    }
}

/// A scalar or an empty collection, then a newline. Multi-line strings become literal
/// blocks indented at `indent`.
fn write_inline(out: &mut String, node: &Node, indent: usize) {
    match &node.value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => write_float(out, *f),
        Value::Str(s) => write_string(out, s, indent),
        Value::Seq(_) => out.push_str("[]"),
        Value::Map(_) => out.push_str("{}"),
    }
    out.push('\n');
}

fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str(".nan");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { ".inf" } else { "-.inf" });
    } else {
        // Debug keeps a `.0` on whole numbers, so the value stays a float when read back.
        let _ = write!(out, "{f:?}");
    }
}

/// A map key is always on one line: a literal block there would be read as the key's value.
fn write_key(out: &mut String, key: &str) {
    if needs_quotes(key) {
        write_double_quoted(out, key);
    } else {
        out.push_str(key);
    }
}

fn write_string(out: &mut String, s: &str, indent: usize) {
    if s.contains('\n') && can_be_literal(s) {
        write_literal(out, s, indent);
    } else if needs_quotes(s) {
        write_double_quoted(out, s);
    } else {
        out.push_str(s);
    }
}

/// A literal block keeps text as is, except control characters and trailing spaces on
/// lines, which it cannot show faithfully enough for review.
fn can_be_literal(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() && c != '\n')
        && !s.lines().any(|l| l.ends_with(' '))
        && !s.starts_with('\n')
}

fn write_literal(out: &mut String, s: &str, indent: usize) {
    out.push('|');
    if s.starts_with(' ') {
        out.push('2');
    }
    let body = s.trim_end_matches('\n');
    match s.len() - body.len() {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
    }
    // write_inline adds the final newline.
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::yaml::load_one;

    fn roundtrip(text: &str) -> String {
        let node = load_one(&SourceFile::new("t", text)).unwrap();
        let out = emit_document(&node);
        let again = load_one(&SourceFile::new("t", out.as_str())).unwrap();
        assert_eq!(node, again, "round trip changed the data:\n{out}");
        out
    }

    #[test]
    fn sorted_keys_and_block_style() {
        let out = roundtrip("b: 1\na:\n  z: [1, 2]\n  x: {}\nc: []\n\"y\": n\n");
        assert_eq!(
            out,
            "a:\n  x: {}\n  z:\n    - 1\n    - 2\nb: 1\nc: []\n\"y\": \"n\"\n"
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        let out = roundtrip("a: 'yes'\nb: '0755'\nc: '1.23'\nd: '~'\ne: '*'\nf: plain\ng: \"8\"\n");
        assert_eq!(
            out,
            "a: \"yes\"\nb: \"0755\"\nc: \"1.23\"\nd: \"~\"\ne: \"*\"\nf: plain\ng: \"8\"\n"
        );
    }

    #[test]
    fn sequences_of_maps() {
        let out = roundtrip("l:\n- b: 2\n  a: 1\n- [x, z]\n- 3.0\n");
        assert_eq!(out, "l:\n  - a: 1\n    b: 2\n  - - x\n    - z\n  - 3.0\n");
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        let out = roundtrip(
            "a: \"line1\\nline2\\n\"\nb: \"x\\ny\"\nc: \"  lead\\nz\\n\"\nd: \"e\\n\\n\"\n",
        );
        assert_eq!(
            out,
            "a: |\n  line1\n  line2\nb: |-\n  x\n  y\nc: |2\n    lead\n  z\nd: |+\n  e\n\n"
        );
    }

    /// A key is never a literal block: `a\nb: 1` written as `|-` read back as a string.
    #[test]
    fn multi_line_keys_are_quoted() {
        let out = roundtrip("m:\n  \"a\\nb\": \"x\\ny\"\n  \"c\\n\": 1\n");
        assert_eq!(out, "m:\n  \"a\\nb\": |-\n    x\n    y\n  \"c\\n\": 1\n");
    }

    /// A key too long for `key: value` (escapes count) is written `? key` then `: value`.
    #[test]
    fn long_keys_are_explicit() {
        let key = "k".repeat(1025);
        let del = "\u{7f}".repeat(200);
        let out = roundtrip(&format!(
            "l:\n  - ? {key}\n    : {{a: 1}}\n    \"{del}\": x\n"
        ));
        let escaped = "\\u007f".repeat(200);
        assert_eq!(
            out,
            format!("l:\n  - ? {key}\n    :\n      a: 1\n    ? \"{escaped}\"\n    : x\n")
        );
        let fits = "k".repeat(1024);
        assert_eq!(roundtrip(&format!("{fits}: 1\n")), format!("{fits}: 1\n"));
    }

    #[test]
    fn control_characters_are_escaped() {
        let out = roundtrip("a: \"tab\\there \\u0001\"\n");
        assert_eq!(out, "a: \"tab\\there \\u0001\"\n");
    }
}
