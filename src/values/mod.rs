//! Value layers: loading them with positions, merging them with Helm's rules, and
//! explaining where a merged value came from.

mod explain;
mod merge;
mod reads;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

pub use explain::{Explained, explain, path_parts};
pub use merge::{coalesce, overlay};
pub use reads::{ReadTree, Unread, unread};

use crate::diagnostic::{Diagnostic, Failure, Result};
use crate::source::{Origin, SourceFile};
use crate::yaml::{Node, Value, load_one};

/// One values file, loaded. A file with no content is an empty map.
#[derive(Debug)]
pub struct Layer {
    /// What the layer is in the hierarchy: `chart defaults`, `common`, `group main`, ...
    pub role: String,
    pub file: Arc<SourceFile>,
    pub root: Node,
    /// sha256 of the file's text, computed when first asked for.
    digest: OnceLock<Vec<u8>>,
    /// The private values of a private layer, found when first asked for.
    secrets: OnceLock<Vec<crate::secrets::Secret>>,
}

impl Layer {
    /// The values of a private layer that output must never show (none for other layers):
    /// found once per file, for output masking and for every release's `secret/flow` check.
    pub fn secrets(&self) -> &[crate::secrets::Secret] {
        self.secrets.get_or_init(|| {
            if self.file.private {
                crate::secrets::of_tree(&self.root)
            } else {
                Vec::new()
            }
        })
    }

    /// sha256 of the file's text: two layers with the same role and digest give the same
    /// values.
    pub fn digest(&self) -> &[u8] {
        self.digest.get_or_init(|| {
            use sha2::{Digest, Sha256};
            Sha256::digest(self.file.text.as_bytes()).to_vec()
        })
    }
}

/// Parses a values file: a map at the top, or nothing at all.
pub fn parse_layer(role: &str, file: Arc<SourceFile>) -> Result<Layer, Diagnostic> {
    let mut root = load_one(&file)?;
    match root.value {
        Value::Map(_) => {}
        Value::Null => root.value = Value::Map(Default::default()),
        _ => {
            return Err(Diagnostic::error(
                "values/not-a-map",
                format!(
                    "a values file must be a map at the top, not {}",
                    root.a_type_name()
                ),
            )
            .at(root.origin.as_ref()));
        }
    }
    if let Some(bad) = non_finite(&root) {
        // helm reads values through JSON, which has no infinity or NaN: it refuses the file.
        return Err(Diagnostic::error(
            "values/number",
            "helm cannot read `.inf` or `.nan` in a values file (values are JSON numbers)",
        )
        .at(bad.origin.as_ref()));
    }
    Ok(Layer {
        role: role.to_string(),
        file,
        root,
        digest: OnceLock::new(),
        secrets: OnceLock::new(),
    })
}

fn non_finite(node: &Node) -> Option<&Node> {
    match &node.value {
        Value::Float(f) if !f.is_finite() => Some(node),
        Value::Seq(items) => items.iter().find_map(non_finite),
        Value::Map(entries) => entries.values().find_map(non_finite),
        _ => None,
    }
}

/// Values files read from disk at most once per process, shared by every cluster and release.
#[derive(Default)]
pub struct LayerCache {
    loaded: Mutex<HashMap<PathBuf, Option<Arc<Layer>>>>,
}

impl LayerCache {
    /// The layer at `path` (shown to the user as `display`), or None if there is no such file.
    /// The file must lie under `inside` (the project, or the private directory).
    pub fn get(
        &self,
        path: &Path,
        display: &str,
        role: &str,
        inside: &Path,
    ) -> Result<Option<Arc<Layer>>> {
        if let Some(hit) = self.loaded.lock().expect("layer cache poisoned").get(path) {
            return Ok(hit.as_ref().map(|l| relabel(l, role)));
        }
        let layer = if let Some(text) = crate::confine::read_optional_inside(path, inside)? {
            let file = if role.starts_with("private") {
                SourceFile::private(display, text)
            } else {
                SourceFile::new(display, text)
            };
            let layer = parse_layer(role, file).map_err(Failure::from)?;
            if layer.file.private {
                crate::secrets::register(layer.secrets());
            }
            Some(Arc::new(layer))
        } else {
            None
        };
        self.loaded
            .lock()
            .expect("layer cache poisoned")
            .insert(path.to_path_buf(), layer.clone());
        Ok(layer.map(|l| relabel(&l, role)))
    }
}

/// The same file can play different roles (a cluster file is never also a group file, but
/// keep the role honest anyway).
fn relabel(layer: &Arc<Layer>, role: &str) -> Arc<Layer> {
    if layer.role == role {
        Arc::clone(layer)
    } else {
        Arc::new(Layer {
            role: role.to_string(),
            file: Arc::clone(&layer.file),
            root: layer.root.clone(),
            digest: layer.digest.clone(),
            secrets: layer.secrets.clone(),
        })
    }
}

/// Merges a release's layers as `helm template -f` does: the first layer is the chart's
/// defaults (its values.yaml), the others are values files, lowest precedence first.
pub fn merge_layers(layers: &[Arc<Layer>]) -> Node {
    let Some((defaults, files)) = layers.split_first() else {
        return Node::new(Value::Map(Default::default()), None);
    };
    coalesce(merge_files(files), &defaults.root)
}

/// The first step of helm's merge: values files over each other, a later one winning
/// (`null` is a value like any other here).
pub fn merge_files(files: &[Arc<Layer>]) -> Node {
    let empty = Node::new(Value::Map(Default::default()), None);
    files.iter().fold(empty, |acc, l| overlay(acc, &l.root))
}

/// The top-level `keys` of a values root (a map), with the root's origin: merging these
/// cut-down roots gives what merging the whole roots gives under those keys, at the cost of
/// those keys only.
pub fn only_keys(root: &Node, keys: &[&str]) -> Node {
    let map = match &root.value {
        Value::Map(map) => keys
            .iter()
            .filter_map(|k| map.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect(),
        _ => Default::default(),
    };
    Node::new(Value::Map(map), root.origin.clone())
}

/// [`merge_files`] under the top-level `keys` only.
pub fn merge_files_keys(files: &[Arc<Layer>], keys: &[&str]) -> Node {
    let empty = Node::new(Value::Map(Default::default()), None);
    files
        .iter()
        .fold(empty, |acc, l| overlay(acc, &only_keys(&l.root, keys)))
}

/// Where a merged leaf came from, for messages about rendered objects.
pub fn origin_of<'a>(values: &'a Node, path: &[&str]) -> Option<&'a Origin> {
    values.lookup(path.iter().copied())?.origin.as_ref()
}
