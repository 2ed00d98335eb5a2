//! `kcc explain`: the merged value at a path, and every layer that set or overrode it.

use std::fmt::Write;
use std::sync::Arc;

use super::{Layer, merge_layers};
use crate::yaml::{Node, Value, emit_value_block};

/// A report like hiera's `lookup --explain`: each layer in precedence order, what it says
/// at `path` (if anything) and where, then the merged result.
pub fn explain(layers: &[Arc<Layer>], path: &str) -> String {
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    let mut out = String::new();
    let _ = writeln!(out, "{path}");
    let width = layers
        .iter()
        .map(|l| l.role.chars().count())
        .max()
        .unwrap_or(0);
    for (i, layer) in layers.iter().enumerate() {
        let found = find(&layer.root, &parts);
        let _ = write!(
            out,
            "  {}. {:<width$}  {}",
            i + 1,
            layer.role,
            layer.file.path
        );
        match found {
            Found::Set(node) => {
                let at = node
                    .origin
                    .as_ref()
                    .map(|o| format!(":{}:{}", o.line, o.col))
                    .unwrap_or_default();
                let verb = if matches!(node.value, Value::Null) {
                    "deletes (null)"
                } else {
                    "sets"
                };
                let _ = writeln!(out, "{at}  {verb}");
                if !matches!(node.value, Value::Null) {
                    write_indented(&mut out, &emit_value_block(node), 8);
                }
            }
            Found::DeletedAbove(node) => {
                let at = node
                    .origin
                    .as_ref()
                    .map(|o| format!(":{}:{}", o.line, o.col))
                    .unwrap_or_default();
                let _ = writeln!(out, "{at}  deletes a parent (null)");
            }
            Found::Absent => {
                let _ = writeln!(out, "  (not set here)");
            }
        }
    }
    let merged = merge_layers(layers);
    let _ = writeln!(out, "  = merged value");
    match merged.lookup(parts.iter().copied()) {
        Some(node) => write_indented(&mut out, &emit_value_block(node), 8),
        None => {
            let _ = writeln!(out, "        (not set)");
        }
    }
    out
}

enum Found<'a> {
    Set(&'a Node),
    DeletedAbove(&'a Node),
    Absent,
}

fn find<'a>(root: &'a Node, parts: &[&str]) -> Found<'a> {
    let mut node = root;
    for part in parts {
        if matches!(node.value, Value::Null) && !std::ptr::eq(node, root) {
            return Found::DeletedAbove(node);
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
