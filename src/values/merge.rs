//! Helm's merge of value layers: maps merge deeply, lists and scalars replace, and an
//! explicit null deletes the key it overrides.

use crate::yaml::{Node, Value};

/// Lays `overlay` over `base`. Leaves keep the origin of the layer that set them.
pub fn merge(base: Node, overlay: &Node) -> Node {
    match (base.value, &overlay.value) {
        (Value::Map(mut map), Value::Map(over)) => {
            for (key, value) in over {
                match (map.remove(key), &value.value) {
                    // null over an existing key deletes it
                    (Some(_), Value::Null) => {}
                    (Some(existing), _) => {
                        map.insert(key.clone(), merge(existing, value));
                    }
                    (None, _) => {
                        map.insert(key.clone(), value.clone());
                    }
                }
            }
            Node::new(Value::Map(map), overlay.origin.clone())
        }
        _ => overlay.clone(),
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

    fn merged(layers: &[(&str, &str)]) -> Node {
        layers
            .iter()
            .map(|(n, t)| layer(n, t))
            .fold(Node::null(), |acc, l| merge(acc, &l))
    }

    #[test]
    fn maps_merge_deeply() {
        let m = merged(&[("a", "x: {a: 1, b: 2}\n"), ("b", "x: {b: 3, c: 4}\n")]);
        assert_eq!(emit_document(&m), "x:\n  a: 1\n  b: 3\n  c: 4\n");
    }

    #[test]
    fn lists_and_scalars_replace() {
        let m = merged(&[("a", "l: [1, 2, 3]\ns: x\n"), ("b", "l: [9]\ns: {m: 1}\n")]);
        assert_eq!(emit_document(&m), "l:\n  - 9\ns:\n  m: 1\n");
    }

    #[test]
    fn null_deletes_the_key_it_overrides() {
        let m = merged(&[
            ("defaults", "limits: {memory: 1Gi, cpu: 1}\n"),
            ("cluster", "limits: {memory: ~}\nfresh: ~\n"),
        ]);
        assert_eq!(emit_document(&m), "fresh: null\nlimits:\n  cpu: 1\n");
    }

    #[test]
    fn leaves_remember_their_layer() {
        let m = merged(&[
            ("a.yaml", "x:\n  a: 1\n  b: 2\n"),
            ("b.yaml", "x:\n  b: 3\n"),
        ]);
        let a = m.lookup(["x", "a"]).unwrap().origin.clone().unwrap();
        let b = m.lookup(["x", "b"]).unwrap().origin.clone().unwrap();
        assert_eq!((a.file.path.as_str(), a.line), ("a.yaml", 2));
        assert_eq!((b.file.path.as_str(), b.line), ("b.yaml", 2));
    }

    #[test]
    fn maps_replace_scalars_and_back() {
        let m = merged(&[("a", "x: 1\nz: {a: 1}\n"), ("b", "x: {a: 1}\nz: 2\n")]);
        assert_eq!(emit_document(&m), "x:\n  a: 1\nz: 2\n");
    }
}
