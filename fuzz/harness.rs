//! What each fuzz target checks, as plain functions of the input bytes: shared by the
//! cargo-fuzz targets (`fuzz/fuzz_targets/`, nightly) and by `tests/it/fuzz_corpus.rs`, which
//! replays the committed corpora and regressions in every `cargo test` (stable).
//!
//! Each function must return for any input without panicking; errors from kcc are fine.
//! Where kcc promises an invariant (the canonical writer's round trip), it is asserted.

// Each fuzz target uses one of these functions.
#![allow(dead_code)]

use std::sync::Arc;

use kcc::Diagnostic;
use kcc::manifest::RenderedFile;
use kcc::manifest::{
    Object, install_order, parse_manifests, parse_objects, write_objects, write_objects_redacted,
};
use kcc::source::SourceFile;
use kcc::values::{Layer, explain, merge_layers, origin_of, parse_layer};
use kcc::yaml::{Node, Value, emit_document, emit_value_block, load_documents, load_one};

/// At most this many layers in `values_merge` (chart defaults and up to three files).
pub const MAX_LAYERS: usize = 4;

/// At most this many paths `values_merge` asks `explain` about, to keep executions fast.
const MAX_EXPLAINED: usize = 16;

/// Arbitrary bytes → the YAML loader, then the writer and JSON view of what it loaded.
pub fn yaml_load(data: &[u8]) {
    // kcc reads files as UTF-8 (anything else is refused before the loader sees it).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = SourceFile::new("fuzz.yaml", text);
    match load_documents(&file) {
        Ok(docs) => {
            for doc in &docs {
                let _ = emit_document(doc);
                let _ = doc.to_json();
                let _ = doc.type_name();
            }
        }
        Err(e) => report(&e),
    }
    if let Err(e) = load_one(&file) {
        report(&e);
    }
}

/// An error as the user sees it: its source line quoted with a caret, and as JSON.
fn report(error: &Diagnostic) {
    let _ = error.render();
    let _ = error.render_styled(true);
    let _ = error.to_json();
}

/// The input split into 2 to 4 values layers at lines `---` (one part is used as both the
/// chart's defaults and a values file), merged as the renderer merges them, then
/// explained at some of the merged paths.
pub fn values_merge(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = split_layers(text);
    if parts.len() == 1 {
        parts.push(parts[0]);
    }
    let mut layers = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let (role, path) = if i == 0 {
            (
                "chart defaults".to_string(),
                "chart/values.yaml".to_string(),
            )
        } else {
            (format!("layer {i}"), format!("values/layer{i}.yaml"))
        };
        match parse_layer(&role, SourceFile::new(path, *part)) {
            Ok(layer) => layers.push(Arc::new(layer)),
            Err(e) => return report(&e),
        }
    }
    let merged = merge_layers(&layers);
    assert!(
        matches!(merged.value, Value::Map(_)),
        "merged values are not a map"
    );
    // Every origin in the merge points into one of the layers.
    check_origins(&merged, &layers);
    // Merged values are written with the canonical writer (`to_yaml`): it must read back.
    assert_round_trip(&emit_document(&merged));
    let _ = merged.to_json();

    let mut paths = Vec::new();
    collect_paths(&merged, &mut String::new(), &mut paths);
    for layer in &layers[1..] {
        collect_paths(&layer.root, &mut String::new(), &mut paths);
    }
    paths.sort();
    paths.dedup();
    for path in paths.iter().take(MAX_EXPLAINED) {
        let parts: Vec<&str> = path.split('.').collect();
        let _ = origin_of(&merged, &parts);
        let report = explain(&layers, path).text;
        assert!(report.starts_with(path.as_str()), "explain lost its path");
    }
    let _ = explain(&layers, "");
}

/// The parts of `text` between lines that are exactly `---`, at most [`MAX_LAYERS`] (the
/// last part keeps any further separators, and so fails to load as one layer).
pub fn split_layers(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if parts.len() + 1 < MAX_LAYERS && line.trim_end_matches(['\n', '\r']) == "---" {
            parts.push(&text[start..at]);
            start = at + line.len();
        }
        at += line.len();
    }
    parts.push(&text[start..]);
    parts
}

fn check_origins(node: &Node, layers: &[Arc<Layer>]) {
    if let Some(origin) = &node.origin {
        assert!(
            layers.iter().any(|l| Arc::ptr_eq(&l.file, &origin.file)),
            "a merged value's origin is in no layer"
        );
    }
    match &node.value {
        Value::Map(m) => m.values().for_each(|n| check_origins(n, layers)),
        Value::Seq(s) => s.iter().for_each(|n| check_origins(n, layers)),
        _ => {}
    }
}

/// Dotted paths of maps' keys, as `kcc explain` takes them.
fn collect_paths(node: &Node, prefix: &mut String, out: &mut Vec<String>) {
    if out.len() >= 4 * MAX_EXPLAINED {
        return;
    }
    if let Value::Map(m) = &node.value {
        for (key, value) in m {
            let len = prefix.len();
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(key);
            out.push(prefix.clone());
            collect_paths(value, prefix, out);
            prefix.truncate(len);
        }
    }
}

/// Arbitrary bytes as a template's rendered output → objects, as the renderer
/// (`parse_objects`) and `kcc validate` (`parse_manifests`) read it. What parses is
/// written canonically, and the canonical text must read back to the same bytes.
pub fn manifest_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rendered = rendered("fuzz/templates/input.yaml", text);
    if let Err(e) = parse_manifests(&rendered) {
        report(&e);
    }
    let mut objects = match parse_objects(&rendered) {
        Ok(objects) => objects,
        Err(e) => return report(&e),
    };
    objects.sort_by(install_order);
    for object in &objects {
        let _ = object.id.to_string();
        let _ = object.id.group();
    }
    let canonical = write_objects(&objects);
    let again = reparse(&canonical, &objects);
    assert_eq!(
        write_objects(&again),
        canonical,
        "canonical text did not read back to itself"
    );
    // What golden/ holds: redacted once, it stays the same when read back and redacted again.
    let redacted = write_objects_redacted(&objects);
    let again = reparse(&redacted, &objects);
    assert_eq!(
        write_objects_redacted(&again),
        redacted,
        "redacted text changed on a second redaction"
    );
}

fn rendered(source: &str, text: &str) -> RenderedFile {
    RenderedFile {
        source: source.to_string(),
        file: SourceFile::new(source, text),
    }
}

/// Canonical text kcc wrote for `objects`, read back: it must parse into the same objects.
fn reparse(text: &str, objects: &[Object]) -> Vec<Object> {
    let again = match parse_objects(&rendered("fuzz/templates/input.yaml", text)) {
        Ok(again) => again,
        Err(e) => panic!("canonical text does not parse: {}\n{text}", e.message),
    };
    let ids = |o: &[Object]| o.iter().map(|o| o.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(objects), "objects changed identity");
    again
}

/// A canonical document read back and written again is the same bytes.
fn assert_round_trip(text: &str) {
    let node = match load_one(&SourceFile::new("canonical.yaml", text)) {
        Ok(node) => node,
        Err(e) => panic!("canonical text does not parse: {}\n{text}", e.message),
    };
    assert_eq!(
        emit_document(&node),
        text,
        "canonical text did not read back to itself"
    );
    let _ = emit_value_block(&node);
}
