//! Which fields of an object changed, as readable paths.

use std::collections::BTreeSet;

use super::{FieldChange, Status};
use crate::yaml::{Node, Value};

/// The fields that differ between two versions of an object: map keys by name, list items
/// by index; a field whose value changed type or scalar value is `changed`.
pub fn field_changes(old: &Node, new: &Node) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(String::new(), old, new, &mut out);
    out
}

fn walk(path: String, old: &Node, new: &Node, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    let push = |out: &mut Vec<FieldChange>, path: String, status| {
        let path = if path.is_empty() {
            ".".to_string()
        } else {
            path
        };
        out.push(FieldChange { path, status });
    };
    match (&old.value, &new.value) {
        (Value::Map(a), Value::Map(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let sub = field_path(&path, key);
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => walk(sub, x, y, out),
                    (Some(_), None) => push(out, sub, Status::Removed),
                    (None, Some(_)) => push(out, sub, Status::Added),
                    (None, None) => unreachable!("key from one of the maps"),
                }
            }
        }
        (Value::Seq(a), Value::Seq(b)) => {
            for i in 0..a.len().max(b.len()) {
                let sub = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => walk(sub, x, y, out),
                    (Some(_), None) => push(out, sub, Status::Removed),
                    (None, Some(_)) => push(out, sub, Status::Added),
                    (None, None) => unreachable!("index below the longer length"),
                }
            }
        }
        _ => push(out, path, Status::Changed),
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
    fn field_paths_of_a_type_change_and_equal_trees() {
        assert_eq!(
            paths("a: {b: 1}\n", "a: [1]\n"),
            [("a".to_string(), Status::Changed)]
        );
        assert!(paths("a: {b: [1, {c: d}]}\n", "a: {b: [1, {c: d}]}\n").is_empty());
    }
}
