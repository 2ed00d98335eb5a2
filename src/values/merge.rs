//! Helm's merge of value layers, as `helm template -f a.yaml -f b.yaml` does it (helm 3.15;
//! tests/it/helm_values.rs checks it against the real binary on random layer stacks).
//!
//! Helm merges in two steps, with different rules, and kcc copies both because they differ
//! exactly where users rely on `~`:
//!
//! 1. [`overlay`]: the values files are laid over each other, a later file over an earlier
//!    one (helm's `mergeMaps`). Maps merge deeply; anything else replaces what was below,
//!    and a null is just such a value: it deletes nothing yet.
//! 2. [`coalesce`]: the result is coalesced with the chart's defaults, its `values.yaml`
//!    (helm's `coalesceValues`). A key the files do not set takes its default; a key the
//!    files set to null loses its default (it is deleted); maps merge deeply; otherwise the
//!    files' value wins, whatever its type.
//!
//! So a null deletes a key only from the chart's defaults. A null over a key that only an
//! earlier values file set, or over nothing at all, stays in the values as a null (that the
//! chart's schema may reject), and `~` written twice deletes a default as once does.

use crate::yaml::{Node, Value};

/// Lays the values file `over` on the values files merged so far. Leaves keep the origin of
/// the layer that set them; a map keeps the origin of the last layer that wrote it.
pub fn overlay(base: Node, over: &Node) -> Node {
    match (base.value, &over.value) {
        (Value::Map(mut map), Value::Map(entries)) => {
            for (key, value) in entries {
                match map.get_mut(key) {
                    Some(below) => *below = overlay(std::mem::replace(below, Node::null()), value),
                    None => {
                        map.insert(key.clone(), value.clone());
                    }
                }
            }
            Node::new(Value::Map(map), over.origin.clone())
        }
        _ => over.clone(),
    }
}

/// Fills in the chart's `defaults` under the merged values files `values`: nulls in `values`
/// delete the default they stand on, and otherwise `values` wins.
pub fn coalesce(values: Node, defaults: &Node) -> Node {
    let Node { value, origin } = values;
    match (value, &defaults.value) {
        (Value::Map(mut map), Value::Map(entries)) => {
            for (key, default) in entries {
                match map.get_mut(key) {
                    None => {
                        map.insert(key.clone(), default.clone());
                    }
                    Some(set) if matches!(set.value, Value::Null) => {
                        map.remove(key);
                    }
                    Some(set) => *set = coalesce(std::mem::replace(set, Node::null()), default),
                }
            }
            Node::new(Value::Map(map), origin)
        }
        // A scalar or list over a default map, or a map over a default scalar: helm warns
        // and keeps the values files' side.
        (value, _) => Node::new(value, origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::yaml::{emit_document, load_one};

    fn layer(name: &str, text: &str) -> Node {
        load_one(&SourceFile::new(name, text)).unwrap()
    }

    /// The chart's defaults, then values files in `-f` order.
    fn merged(defaults: &str, files: &[&str]) -> Node {
        let values = files
            .iter()
            .enumerate()
            .map(|(i, t)| layer(&format!("f{i}.yaml"), t))
            .fold(Node::new(Value::Map(Default::default()), None), |acc, l| {
                overlay(acc, &l)
            });
        coalesce(values, &layer("values.yaml", defaults))
    }

    fn yaml(defaults: &str, files: &[&str]) -> String {
        emit_document(&merged(defaults, files))
    }

    #[test]
    fn maps_merge_deeply() {
        assert_eq!(
            yaml("x: {a: 1, b: 2}\n", &["x: {b: 3, c: 4}\n"]),
            "x:\n  a: 1\n  b: 3\n  c: 4\n"
        );
        assert_eq!(
            yaml("{}\n", &["x: {a: 1, b: 2}\n", "x: {b: 3, c: 4}\n"]),
            "x:\n  a: 1\n  b: 3\n  c: 4\n"
        );
    }

    #[test]
    fn lists_and_scalars_replace() {
        assert_eq!(
            yaml("l: [1, 2, 3]\ns: x\n", &["l: [9]\ns: {m: 1}\n"]),
            "l:\n  - 9\ns:\n  m: 1\n"
        );
        // Lists of maps are not merged item by item.
        assert_eq!(
            yaml("l: [{a: 1, b: 1}]\n", &["l: [{a: 2}]\n"]),
            "l:\n  - a: 2\n"
        );
        assert_eq!(yaml("l: [1]\n", &["l: []\n"]), "l: []\n");
    }

    /// helm: a null deletes the chart's default; over nothing it stays a null.
    #[test]
    fn null_deletes_the_key_it_overrides() {
        assert_eq!(
            yaml(
                "limits: {memory: 1Gi, cpu: 1}\n",
                &["limits: {memory: ~}\nfresh: ~\n"]
            ),
            "fresh: null\nlimits:\n  cpu: 1\n"
        );
    }

    /// The bug of issue 9: the second `~` came out as a literal null, which schemas reject.
    #[test]
    fn a_key_deleted_twice_stays_deleted() {
        assert_eq!(
            yaml("a: {b: 1}\n", &["a: {b: ~}\n", "a: {b: ~}\n"]),
            "a: {}\n"
        );
        assert_eq!(yaml("a: 1\nx: 1\n", &["a: ~\n", "a: ~\n"]), "x: 1\n");
    }

    /// Between values files a null is a value like any other: it replaces what an earlier
    /// file set and deletes nothing, so it stays in the values.
    #[test]
    fn null_over_an_earlier_file_stays_null() {
        assert_eq!(
            yaml("x: 1\n", &["a: {b: 2}\n", "a: {b: ~}\n"]),
            "a:\n  b: null\nx: 1\n"
        );
        assert_eq!(yaml("x: 1\n", &["f: ~\n", "f: ~\n"]), "f: null\nx: 1\n");
        // ... and a later file replaces the null: the default was never deleted.
        assert_eq!(
            yaml("a: {b: 1}\n", &["a: {b: ~}\n", "a: {b: 2}\n"]),
            "a:\n  b: 2\n"
        );
    }

    /// A later null over an earlier file's map still deletes the chart's default below both.
    #[test]
    fn null_over_a_file_and_a_default_deletes() {
        assert_eq!(yaml("a: {c: 1}\n", &["a: {b: 1}\n", "a: ~\n"]), "{}\n");
        // A null, then a map: the map merges with the default.
        assert_eq!(
            yaml("a: {c: 1}\n", &["a: ~\n", "a: {b: 1}\n"]),
            "a:\n  b: 1\n  c: 1\n"
        );
    }

    #[test]
    fn nulls_in_the_chart_defaults_stay() {
        assert_eq!(yaml("a: ~\nb: {c: ~}\n", &[]), "a: null\nb:\n  c: null\n");
        assert_eq!(
            yaml("a: {b: ~, c: 1}\n", &["a: {d: 1}\n"]),
            "a:\n  b: null\n  c: 1\n  d: 1\n"
        );
        // A null over a null default deletes it.
        assert_eq!(yaml("a: ~\nb: {c: ~}\n", &["a: ~\nb: {c: ~}\n"]), "b: {}\n");
        // A map over a null default is kept whole, nulls and all.
        assert_eq!(yaml("a: ~\n", &["a: {b: ~}\n"]), "a:\n  b: null\n");
    }

    #[test]
    fn nested_nulls_delete_only_defaults() {
        assert_eq!(
            yaml("a: {b: {c: 1, d: 1}}\n", &["a: {b: {c: ~, e: ~}}\n"]),
            "a:\n  b:\n    d: 1\n    e: null\n"
        );
        // Nulls under a key the defaults lack, or inside lists, are plain values.
        assert_eq!(
            yaml("a: [1, 2]\n", &["a: [1, ~, {b: ~}]\nm: {k: ~}\n"]),
            "a:\n  - 1\n  - null\n  - b: null\nm:\n  k: null\n"
        );
    }

    #[test]
    fn empty_maps_merge_and_empty_lists_replace() {
        assert_eq!(yaml("a: {b: 1}\n", &["a: {}\n"]), "a:\n  b: 1\n");
        assert_eq!(yaml("a: {b: 1}\n", &["a: {}\n", "a: {b: ~}\n"]), "a: {}\n");
        assert_eq!(yaml("a: 1\n", &["a: {}\n"]), "a: {}\n");
        assert_eq!(yaml("a: [1]\n", &["a: []\n"]), "a: []\n");
    }

    /// Where a file and the defaults disagree on the type, the file wins (helm warns).
    #[test]
    fn types_change_between_layers() {
        assert_eq!(
            yaml("x: 1\nz: {a: 1}\n", &["x: {a: 1}\nz: 2\n"]),
            "x:\n  a: 1\nz: 2\n"
        );
        assert_eq!(yaml("a: {b: {c: 1}}\n", &["a: {b: 5}\n"]), "a:\n  b: 5\n");
        assert_eq!(
            yaml("a: {b: 5}\n", &["a: {b: {c: 1}}\n"]),
            "a:\n  b:\n    c: 1\n"
        );
        assert_eq!(yaml("a: [1]\n", &["a: {b: 1}\n"]), "a:\n  b: 1\n");
        // Between files, the later one wins; a map after a scalar merges with the default.
        assert_eq!(yaml("a: {c: 1}\n", &["a: {b: 1}\n", "a: 5\n"]), "a: 5\n");
        assert_eq!(
            yaml("a: {c: 1}\n", &["a: 5\n", "a: {b: 1}\n"]),
            "a:\n  b: 1\n  c: 1\n"
        );
    }

    #[test]
    fn leaves_remember_their_layer() {
        let m = merged("x:\n  a: 1\n  b: 2\n", &["x:\n  b: 3\n", "y: ~\n"]);
        let origin = |path: [&str; 2]| {
            let o = m.lookup(path).unwrap().origin.clone().unwrap();
            (o.file.path.clone(), o.line)
        };
        assert_eq!(origin(["x", "a"]), ("values.yaml".into(), 2));
        assert_eq!(origin(["x", "b"]), ("f0.yaml".into(), 2));
        let y = m.get("y").unwrap().origin.clone().unwrap();
        assert_eq!((y.file.path.as_str(), y.line), ("f1.yaml", 1));
    }
}
