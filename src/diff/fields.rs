//! Which fields of an object changed, as readable paths and as the JSON patch that turns
//! the old object into the new one.

use std::collections::BTreeSet;

use serde::Serialize;

use super::list_keys::list_keys;
use super::lists;
use super::{FieldChange, Status};
use crate::yaml::{Node, Value};

/// A whole value as compact JSON text: what a JSON patch `add` or `replace` sets. Text, so
/// that changes can be ordered and grouped; written out as JSON.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JsonText(String);

impl JsonText {
    fn of(node: &Node) -> JsonText {
        JsonText(node.to_json().to_string())
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).expect("JsonText holds JSON")
    }
}

impl Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// The fields that differ between two versions of an object, in the order a JSON patch
/// applies them: map keys by name; list items matched by identity ([`lists`]: the list's
/// merge key, else equal content), so that one item removed, added or moved is one change,
/// and matched items compared field by field. A field whose type or scalar value changed
/// is `changed`. Each carries its JSON pointer, a short form of its old and new values
/// and the whole new value.
pub fn field_changes(old: &Node, new: &Node) -> Vec<FieldChange> {
    let text = |key: &str| old.get(key).and_then(Node::as_str).unwrap_or_default();
    let kind = (text("apiVersion"), text("kind"));
    let mut out = Vec::new();
    walk(kind, &At::default(), old, new, &mut out);
    out
}

/// Where a field is: its readable path, its JSON pointer and the map keys leading to it
/// (list indexes left out: how schemas name a field).
#[derive(Default)]
struct At {
    path: String,
    pointer: String,
    keys: Vec<String>,
}

impl At {
    fn key(&self, key: &str) -> At {
        let mut keys = self.keys.clone();
        keys.push(key.to_string());
        At {
            path: field_path(&self.path, key),
            pointer: format!(
                "{}/{}",
                self.pointer,
                key.replace('~', "~0").replace('/', "~1")
            ),
            keys,
        }
    }

    fn index(&self, i: usize) -> At {
        At {
            path: format!("{}[{i}]", self.path),
            pointer: format!("{}/{i}", self.pointer),
            keys: self.keys.clone(),
        }
    }

    fn shown_path(&self) -> String {
        if self.path.is_empty() {
            ".".to_string()
        } else {
            self.path.clone()
        }
    }
}

/// A field added, removed or changed at `at`.
fn change(at: &At, old: Option<&Node>, new: Option<&Node>) -> FieldChange {
    let status = match (old, new) {
        (None, _) => Status::Added,
        (_, None) => Status::Removed,
        _ => Status::Changed,
    };
    FieldChange {
        path: at.shown_path(),
        pointer: at.pointer.clone(),
        status,
        old: old.map(short_value),
        new: new.map(short_value),
        value: new.map(JsonText::of),
        old_value: old.map(JsonText::of),
        from: None,
        from_path: None,
    }
}

fn walk(kind: (&str, &str), at: &At, old: &Node, new: &Node, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    match (&old.value, &new.value) {
        (Value::Map(a), Value::Map(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let sub = at.key(key);
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => walk(kind, &sub, x, y, out),
                    (x, y) => out.push(change(&sub, x, y)),
                }
            }
        }
        (Value::Seq(a), Value::Seq(b)) => {
            let path: Vec<&str> = at.keys.iter().map(String::as_str).collect();
            let plan = lists::plan(a, b, &list_keys(kind.0, kind.1, &path));
            for &i in &plan.removed {
                out.push(change(&at.index(i), Some(&a[i]), None));
            }
            for &(from, to, i) in &plan.moved {
                let (from, to) = (at.index(from), at.index(to));
                out.push(FieldChange {
                    path: to.shown_path(),
                    pointer: to.pointer,
                    status: Status::Moved,
                    old: None,
                    new: None,
                    value: None,
                    // What moved: the same move of another item is another change.
                    old_value: Some(JsonText::of(&a[i])),
                    from: Some(from.pointer),
                    from_path: Some(from.path),
                });
            }
            for &j in &plan.added {
                out.push(change(&at.index(j), None, Some(&b[j])));
            }
            for &(i, j) in &plan.pairs {
                walk(kind, &at.index(j), &a[i], &b[j], out);
            }
        }
        _ => out.push(change(at, Some(old), Some(new))),
    }
}

/// Longest value shown whole; longer ones are cut with `…`.
const SHORT_VALUE_CHARS: usize = 60;

/// A value on one line: scalars as they read in YAML, maps and lists as compact JSON.
fn short_value(node: &Node) -> String {
    let text = match &node.value {
        Value::Map(_) | Value::Seq(_) => node.to_json().to_string(),
        _ => crate::yaml::emit_value_block(node),
    };
    let text = text.replace('\n', "⏎");
    if text.chars().count() <= SHORT_VALUE_CHARS {
        text
    } else {
        let cut: String = text.chars().take(SHORT_VALUE_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// `parent.key`, or `parent["key"]` when the key is not a plain identifier
/// (`metadata.labels["app.kubernetes.io/name"]`).
fn field_path(parent: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !plain {
        let quoted = serde_json::to_string(key).expect("a string serializes");
        format!("{parent}[{quoted}]")
    } else if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::tests::node;

    fn paths(old: &str, new: &str) -> Vec<(String, Status)> {
        field_changes(&node(old), &node(new))
            .into_iter()
            .map(|f| (f.path, f.status))
            .collect()
    }

    #[test]
    fn field_paths_follow_keys_and_indexes() {
        let old = "spec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: a:1\n";
        let new = "spec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: a:2\n";
        assert_eq!(
            paths(old, new),
            [(
                "spec.template.spec.containers[0].image".to_string(),
                Status::Changed
            )]
        );
    }

    #[test]
    fn field_paths_report_added_and_removed_keys_and_items() {
        let old = "metadata:\n  labels:\n    app: x\n    old: y\nlist: [1, 2]\n";
        let new = "metadata:\n  labels:\n    app: z\n    new: y\nlist: [1, 2, 3]\n";
        assert_eq!(
            paths(old, new),
            [
                ("list[2]".to_string(), Status::Added),
                ("metadata.labels.app".to_string(), Status::Changed),
                ("metadata.labels.new".to_string(), Status::Added),
                ("metadata.labels.old".to_string(), Status::Removed),
            ]
        );
    }

    #[test]
    fn field_paths_quote_keys_that_are_not_identifiers() {
        let old = "metadata:\n  labels:\n    app.kubernetes.io/name: a\n";
        let new = "metadata:\n  labels:\n    app.kubernetes.io/name: b\n";
        assert_eq!(
            paths(old, new),
            [(
                r#"metadata.labels["app.kubernetes.io/name"]"#.to_string(),
                Status::Changed
            )]
        );
    }

    #[test]
    fn changes_carry_pointers_and_short_values() {
        let old = "metadata:\n  labels:\n    a/b: x\nspec: {limits: [{max: {memory: 8Gi}}]}\n";
        let new = "metadata:\n  labels:\n    a/b: z\nspec: {limits: [{max: {memory: 16Gi}}], extra: {k: [1, 2]}}\n";
        let changes = field_changes(&node(old), &node(new));
        let got: Vec<(&str, Option<&str>, Option<&str>)> = changes
            .iter()
            .map(|f| (f.pointer.as_str(), f.old.as_deref(), f.new.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("/metadata/labels/a~1b", Some("x"), Some("z")),
                ("/spec/extra", None, Some(r#"{"k":[1,2]}"#)),
                ("/spec/limits/0/max/memory", Some("8Gi"), Some("16Gi")),
            ]
        );
        let long = format!("a: {}\n", "x".repeat(100));
        let cut = field_changes(&node("a: 1\n"), &node(&long));
        assert_eq!(
            cut[0].new.as_ref().unwrap().chars().count(),
            SHORT_VALUE_CHARS
        );
    }

    #[test]
    fn field_paths_of_a_type_change_and_equal_trees() {
        assert_eq!(
            paths("a: {b: 1}\n", "a: [1]\n"),
            [("a".to_string(), Status::Changed)]
        );
        assert!(paths("a: {b: [1, {c: d}]}\n", "a: {b: [1, {c: d}]}\n").is_empty());
    }
}
