//! Merged values against their chart's values.schema.json, checked before rendering: an
//! error names the values file and line that set the offending value.

use std::sync::Arc;

use crate::chart::Chart;
use crate::diagnostic::Diagnostic;
use crate::schema::{self, node_at};
use crate::schema_errors::{Problem, problems};
use crate::source::Origin;
use crate::values::Layer;
use crate::yaml::{Node, Value};

/// Problems with `values` (merged for one release in one cluster, which the caller names),
/// or none if the chart has no values.schema.json. Values set by a file in `private_files`
/// (the secret overlay) are never quoted in a message.
/// `home` is the values file of this cluster × release (`values/<cluster>/<release>-values.yaml`),
/// which may not exist yet: a required value no layer sets is asked for there.
pub fn validate(
    chart: &Chart,
    values: &Node,
    layers: &[Arc<Layer>],
    private_files: &[&str],
    home: &str,
) -> Vec<Diagnostic> {
    let Some(schema_file) = &chart.schema else {
        return Vec::new();
    };
    let validator = match schema::values_validator(&schema_file.text) {
        Ok(v) => v,
        Err(e) => {
            // A JSON syntax error points at its line and column; other problems at the top.
            let (message, origin) =
                match serde_json::from_str::<serde_json::Value>(&schema_file.text) {
                    Err(syntax) if syntax.line() > 0 => (
                        format!(
                            "{} is not valid JSON: {}",
                            schema_file.path,
                            json_error_text(&syntax)
                        ),
                        Origin::new(schema_file, syntax.line(), syntax.column().max(1)),
                    ),
                    _ => (
                        format!("{} is not a usable JSON Schema: {e}", schema_file.path),
                        Origin::new(schema_file, 1, 1),
                    ),
                };
            return vec![Diagnostic::error("values/schema", message).at(Some(&origin))];
        }
    };
    let instance = values.to_json();
    let private = |pointer: &str| from_files(node_at(values, pointer), private_files);
    validator
        .iter_errors(&instance)
        .flat_map(|error| problems(&error, &private))
        .map(
            |Problem {
                 pointer,
                 message,
                 missing,
             }| {
                let at = node_at(values, &pointer);
                // A required value a layer deleted with `~`: the `~` is the place to fix.
                let deleted_at = missing
                    .as_ref()
                    .and_then(|key| deleting_null(layers, &pointer, key));
                let parent = schema::dotted(&pointer).replace("(object)", "(values)");
                if let (Some(key), None) = (&missing, &deleted_at) {
                    // Set nowhere: the cluster's own file for this release is where to write it.
                    return ask_for(&pointer, key, layers, home)
                        .note(format!("checked against {}", schema_file.path));
                }
                let origin = deleted_at.as_ref().or(at.origin.as_ref());
                let d = Diagnostic::error("values/schema", format!("{parent}: {message}"))
                    .at(origin)
                    .note(format!("checked against {}", schema_file.path));
                match deleted_at {
                    Some(_) => {
                        d.note("deleted here with `~` (null), which removes the chart's default")
                    }
                    None => d,
                }
            },
        )
        .collect()
}

/// A required value that no layer sets, asked for in `home` (the cluster × release values
/// file): at its parent key there if the file has it, else at the file's start — even when
/// the file does not exist yet — with the YAML to write.
fn ask_for(pointer: &str, key: &str, layers: &[Arc<Layer>], home: &str) -> Diagnostic {
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    let path: Vec<&str> = parts.iter().map(String::as_str).chain([key]).collect();
    let origin = match layers.iter().find(|l| l.file.path == home) {
        Some(layer) => layer
            .root
            .lookup(parts.iter().map(String::as_str))
            .and_then(|n| n.origin.clone())
            .unwrap_or_else(|| Origin::new(&layer.file, 1, 1)),
        None => Origin::new(&crate::source::SourceFile::new(home, ""), 1, 1),
    };
    let mut snippet = String::new();
    for (depth, part) in path.iter().enumerate() {
        let value = if depth + 1 == path.len() { " ..." } else { "" };
        snippet.push_str(&format!("\n    {}{part}:{value}", "  ".repeat(depth)));
    }
    Diagnostic::error(
        "values/schema",
        format!(
            "`{}` is required and no values file sets it: set it in {home}",
            path.join(".")
        ),
    )
    .at(Some(&origin))
    .note(format!("for example:{snippet}"))
}

/// The last `key: ~` under `pointer` in the value files (not the chart defaults, whose
/// nulls delete nothing) that deleted a value.
fn deleting_null(layers: &[Arc<Layer>], pointer: &str, key: &str) -> Option<Origin> {
    layers.iter().skip(1).rev().find_map(|layer| {
        let mut node = &layer.root;
        for part in pointer.split('/').skip(1) {
            node = node.lookup([part.replace("~1", "/").replace("~0", "~").as_str()])?;
        }
        let value = node.lookup([key])?;
        matches!(value.value, Value::Null)
            .then(|| value.origin.clone())
            .flatten()
    })
}

/// serde_json's message without its trailing " at line L column C" (the origin says it).
fn json_error_text(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// True if `node` or anything under it was set by one of `files`.
fn from_files(node: &Node, files: &[&str]) -> bool {
    if files.is_empty() {
        return false;
    }
    node.origin
        .as_ref()
        .is_some_and(|o| files.contains(&o.file.path.as_str()))
        || match &node.value {
            Value::Map(m) => m.values().any(|v| from_files(v, files)),
            Value::Seq(s) => s.iter().any(|v| from_files(v, files)),
            _ => false,
        }
}
