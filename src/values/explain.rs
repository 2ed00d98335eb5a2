//! `kcc explain`: the merged value at a path, and every layer that set, overrode or
//! deleted it.

use std::fmt::Write;
use std::sync::Arc;

use super::{Layer, merge_layers};
use crate::manifest::secret_digest;
use crate::yaml::{Node, Value, emit_value_block};

/// The keys and list indexes of a path: `a.b[0].c` → `a`, `b`, `0`, `c`.
pub fn path_parts(path: &str) -> Vec<&str> {
    path.split('.')
        .flat_map(|segment| segment.split(['[', ']']))
        .filter(|p| !p.is_empty())
        .collect()
}

/// What [`explain`] found.
pub struct Explained {
    pub text: String,
    /// Whether the merged value at the path exists.
    pub set: bool,
}

/// A report like hiera's `lookup --explain`: each layer in precedence order, what it says
/// at `path` (`a.b[0].c`; if anything) and where, then the merged result.
pub fn explain(layers: &[Arc<Layer>], path: &str) -> Explained {
    let parts = path_parts(path);
    let mut out = String::new();
    let _ = writeln!(out, "{path}");
    let width = layers
        .iter()
        .map(|l| l.role.chars().count())
        .max()
        .unwrap_or(0);
    let merged = merge_layers(layers);
    let result = merged.lookup(parts.iter().copied());
    for (i, layer) in layers.iter().enumerate() {
        let _ = write!(
            out,
            "  {}. {:<width$}  {}",
            i + 1,
            layer.role,
            layer.file.path
        );
        // A null deletes only a chart default (see merge.rs), so whether this one deleted
        // anything shows in the result: the key is gone. The chart's own nulls are values.
        let deleted =
            |depth: usize| i > 0 && merged.lookup(parts[..depth].iter().copied()).is_none();
        match find(&layer.root, &parts) {
            Found::Set(node) => {
                let verb = match node.value {
                    Value::Null if deleted(parts.len()) => "deletes (null)",
                    Value::Null => "sets null",
                    _ => "sets",
                };
                let _ = writeln!(out, "{}  {verb}", at(node));
                if !matches!(node.value, Value::Null) {
                    write_indented(&mut out, &emit_value_block(&shown(node)), 8);
                }
            }
            Found::NullAbove(node, depth) => {
                let verb = if deleted(depth) {
                    "deletes a parent (null)"
                } else {
                    "sets a parent to null"
                };
                let _ = writeln!(out, "{}  {verb}", at(node));
            }
            Found::Absent => {
                let _ = writeln!(out, "  (not set here)");
            }
        }
    }
    let _ = writeln!(out, "  = merged value");
    match result {
        Some(node) => {
            write_indented(&mut out, &emit_value_block(&shown(node)), 8);
            let from_a_file = node.origin.as_ref().is_some_and(|o| {
                layers
                    .first()
                    .is_some_and(|d| !Arc::ptr_eq(&o.file, &d.file))
            });
            if matches!(node.value, Value::Null) && from_a_file {
                let _ = writeln!(
                    out,
                    "        (as in helm, a null deletes a key only from the chart's values.yaml)"
                );
            }
        }
        None => {
            let _ = writeln!(out, "        (not set)");
            if let Some(near) = near_path(&merged, &parts) {
                let _ = writeln!(out, "        did you mean `{near}`?");
            }
        }
    }
    Explained {
        text: out,
        set: result.is_some(),
    }
}

/// For a path that is not set: the same path with its first missing key replaced by the
/// most similar key set at that level (`replicas` → `replicaCount`), if one is close.
fn near_path(merged: &Node, parts: &[&str]) -> Option<String> {
    let mut node = merged;
    for (depth, part) in parts.iter().enumerate() {
        match node.get(part) {
            Some(child) => node = child,
            None => {
                let keys = node.as_map()?.keys().map(String::as_str);
                let near = crate::suggest::similar_key(part, keys)?;
                let mut fixed: Vec<&str> = parts.to_vec();
                fixed[depth] = near;
                return Some(fixed.join("."));
            }
        }
    }
    None
}

/// The node as explain prints it: every value of the private overlay replaced by its
/// digest, whatever its type or length.
fn shown(node: &Node) -> Node {
    let value = match &node.value {
        _ if node.origin.as_ref().is_some_and(|o| o.file.private) && is_scalar(node) => {
            let text = match &node.value {
                Value::Str(s) => s.clone(),
                _ => emit_value_block(node).trim_end().to_string(),
            };
            Value::Str(format!("(private: {})", secret_digest(&text)))
        }
        Value::Seq(items) => Value::Seq(items.iter().map(shown).collect()),
        Value::Map(entries) => {
            Value::Map(entries.iter().map(|(k, v)| (k.clone(), shown(v))).collect())
        }
        other => other.clone(),
    };
    Node::new(value, node.origin.clone())
}

fn is_scalar(node: &Node) -> bool {
    !matches!(node.value, Value::Seq(_) | Value::Map(_) | Value::Null)
}

fn at(node: &Node) -> String {
    node.origin
        .as_ref()
        .map(|o| format!(":{}:{}", o.line, o.col))
        .unwrap_or_default()
}

enum Found<'a> {
    Set(&'a Node),
    /// A null at the first `depth` parts of the path, above the key asked about.
    NullAbove(&'a Node, usize),
    Absent,
}

fn find<'a>(root: &'a Node, parts: &[&str]) -> Found<'a> {
    let mut node = root;
    for (depth, part) in parts.iter().enumerate() {
        if matches!(node.value, Value::Null) && depth > 0 {
            return Found::NullAbove(node, depth);
        }
        node = match &node.value {
            Value::Map(m) => match m.get(*part) {
                Some(n) => n,
                None => return Found::Absent,
            },
            Value::Seq(s) => match part.parse::<usize>().ok().and_then(|i| s.get(i)) {
                Some(n) => n,
                None => return Found::Absent,
            },
            _ => return Found::Absent,
        };
    }
    Found::Set(node)
}

fn write_indented(out: &mut String, text: &str, indent: usize) {
    for line in text.lines() {
        let _ = writeln!(out, "{:indent$}{line}", "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::values::parse_layer;

    /// `kcc explain` over the chart's defaults and values files `f1.yaml`, `f2.yaml`, ...
    fn explained(defaults: &str, files: &[&str], path: &str) -> String {
        let mut layers = vec![Arc::new(
            parse_layer("chart defaults", SourceFile::new("values.yaml", defaults)).unwrap(),
        )];
        for (i, text) in files.iter().enumerate() {
            let name = format!("f{}.yaml", i + 1);
            let file = SourceFile::new(name.clone(), *text);
            layers.push(Arc::new(parse_layer(&name, file).unwrap()));
        }
        explain(&layers, path).text
    }

    #[test]
    fn a_key_deleted_twice_is_deleted_by_both() {
        let text = explained("a: {b: 1}\n", &["a: {b: ~}\n", "a: {b: ~}\n"], "a.b");
        assert_eq!(
            text,
            "a.b\n\
             \x20 1. chart defaults  values.yaml:1:5  sets\n\
             \x20       1\n\
             \x20 2. f1.yaml         f1.yaml:1:5  deletes (null)\n\
             \x20 3. f2.yaml         f2.yaml:1:5  deletes (null)\n\
             \x20 = merged value\n\
             \x20       (not set)\n"
        );
    }

    /// helm deletes with null only what the chart's values.yaml has: the rest stays null.
    #[test]
    fn a_null_that_deletes_nothing_is_set() {
        let text = explained("x: 1\n", &["a: {b: 2}\n", "a: {b: ~}\n"], "a.b");
        assert!(text.contains("f2.yaml:1:5  sets null\n"), "{text}");
        assert!(
            text.ends_with(
                "  = merged value\n        null\n        \
                 (as in helm, a null deletes a key only from the chart's values.yaml)\n"
            ),
            "{text}"
        );
        // The chart's own nulls are values too, and need no explaining.
        let text = explained("a: ~\n", &[], "a");
        assert!(text.contains("values.yaml:1:1  sets null\n"), "{text}");
        assert!(!text.contains("as in helm"), "{text}");
    }

    #[test]
    fn private_values_are_shown_as_digests() {
        let defaults = parse_layer(
            "chart defaults",
            SourceFile::new("values.yaml", "a: {b: x, n: 1}\n"),
        );
        let private = parse_layer(
            "private",
            SourceFile::private("p.yaml", "a: {b: hunter2, n: 7}\n"),
        );
        let layers = [Arc::new(defaults.unwrap()), Arc::new(private.unwrap())];
        for path in ["a", "a.b", "a.n"] {
            let text = explain(&layers, path).text;
            assert!(!text.contains("hunter2") && !text.contains(": 7"), "{text}");
            assert!(text.contains("(private: sha256:"), "{text}");
        }
        let text = explain(&layers, "a").text;
        assert!(text.contains("b: \"(private: sha256:"), "{text}");
    }

    #[test]
    fn list_items_are_addressed_by_index() {
        assert_eq!(path_parts("a.b[0].c"), ["a", "b", "0", "c"]);
        assert_eq!(path_parts("a[1][2]"), ["a", "1", "2"]);
        let text = explained(
            "a: {b: [{c: 1}, {c: 2}]}\n",
            &["a: {b: [{c: 3}]}\n"],
            "a.b[0].c",
        );
        assert!(text.contains("f1.yaml:1:10  sets\n        3\n"), "{text}");
        assert!(text.ends_with("  = merged value\n        3\n"), "{text}");
    }

    #[test]
    fn a_null_parent() {
        let text = explained("a: {b: 1}\n", &["a: ~\n"], "a.b");
        assert!(
            text.contains("f1.yaml:1:1  deletes a parent (null)\n"),
            "{text}"
        );
        let text = explained("x: 1\n", &["a: {b: 1}\n", "a: ~\n"], "a.b");
        assert!(
            text.contains("f2.yaml:1:1  sets a parent to null\n"),
            "{text}"
        );
        assert!(text.ends_with("        (not set)\n"), "{text}");
    }
}
