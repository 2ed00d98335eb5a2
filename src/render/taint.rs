//! `secret/flow` by provenance: a template that read a private value (one of the private
//! overlay, recorded as it renders) is rendered again with every private value changed —
//! each letter and digit rotated, numbers moved, booleans flipped, the length and shape
//! kept. Whatever differs between the two renders depends on a private value, whatever
//! filters it went through (`upper`, slicing, `replace`, `join`, `to_json`, `b64encode`,
//! `nindent`, arithmetic): it may only be the *values* of a Secret's `data` or
//! `stringData`. A key, a name, an annotation, a ConfigMap, a document written or not
//! because of a private value: an error at the template line that wrote it. Reading a
//! private value only to test whether it is set changes nothing, and is allowed.
//!
//! Matching the value's spelling in the output (`secret_flow`) stays as a second line.

use std::collections::{BTreeMap, BTreeSet};

use crate::chart::Chart;
use crate::diagnostic::Diagnostic;
use crate::manifest::{Object, RenderedFile, parse_objects};
use crate::yaml::{Node, Value};

/// `values` with every scalar of the private overlay changed, nothing else.
pub fn variant(values: &Node) -> Node {
    let private = values.origin.as_ref().is_some_and(|o| o.file.private);
    let value = match &values.value {
        Value::Map(map) => Value::Map(map.iter().map(|(k, v)| (k.clone(), variant(v))).collect()),
        Value::Seq(items) => Value::Seq(items.iter().map(variant).collect()),
        scalar if !private => scalar.clone(),
        Value::Str(s) => Value::Str(rotate(s)),
        Value::Int(i) => Value::Int(i.wrapping_add(7919)),
        Value::Float(f) => Value::Float(f + 7919.5),
        Value::Bool(b) => Value::Bool(!b),
        Value::Null => Value::Null,
    };
    Node::new(value, values.origin.clone())
}

/// Every ASCII letter and digit of `text` moved (rot13, rot5), everything else kept: a
/// value of the same length and shape (base64 stays base64, a PEM keeps its lines), with
/// no run of characters in common with the original.
fn rotate(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' => (b'a' + (c as u8 - b'a' + 13) % 26) as char,
            'A'..='Z' => (b'A' + (c as u8 - b'A' + 13) % 26) as char,
            '0'..='9' => (b'0' + (c as u8 - b'0' + 5) % 10) as char,
            other => other,
        })
        .collect()
}

/// Compares each template that read private values (`private`: template index → the
/// private paths it read) as rendered (`real`, in template order) with its render in
/// `variant_context`.
pub fn check(
    chart: &Chart,
    variant_context: &minijinja::Value,
    real: &[RenderedFile],
    private: &BTreeMap<u16, BTreeSet<String>>,
) -> Vec<Diagnostic> {
    let templates = private
        .keys()
        .copied()
        .filter(|i| usize::from(*i) < real.len());
    let rendered = match chart.render_some(variant_context, templates) {
        Ok(rendered) => rendered,
        Err(error) => {
            return vec![
                Diagnostic::error(
                    "secret/flow",
                    format!(
                        "chart `{}` fails to render when its private values change: what it writes depends on them in a way kcc cannot check",
                        chart.name
                    ),
                )
                .at(error.origin.as_ref())
                // Its message may quote the changed value, which is the private one
                // rotated: not shown.
                .note("the render with the private values changed fails here (its message is not shown: it may quote them)"),
            ];
        }
    };
    let mut out = Vec::new();
    for (index, file) in rendered {
        let original = &real[usize::from(index)];
        if original.file.text == file.file.text {
            continue;
        }
        let names = private[&index]
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.extend(compare(original, &file, &names));
    }
    out
}

/// Where two renders of one template differ, outside Secret data values.
fn compare(real: &RenderedFile, variant: &RenderedFile, names: &str) -> Vec<Diagnostic> {
    let whole_file = || {
        Diagnostic::error(
            "secret/flow",
            format!(
                "{} writes other documents when the private value {names} changes: a private value may decide nothing visible",
                real.source
            ),
        )
        .at(Some(&crate::source::Origin::new(
            real.file.template.as_ref().unwrap_or(&real.file),
            1,
            1,
        )))
        .note("a template may test whether a private value is set (`if values.x`), and write it into a Secret's data or stringData, nothing else")
    };
    let (Ok(a), Ok(b)) = (parse_objects(real), parse_objects(variant)) else {
        return vec![whole_file()];
    };
    if a.len() != b.len() {
        return vec![whole_file()];
    }
    let mut out = Vec::new();
    for (x, y) in a.iter().zip(&b) {
        if let Some((path, node)) = first_difference(x, y) {
            // An identity that changed with the private value would print it.
            let object = if x.id == y.id {
                x.id.to_string()
            } else if x.id.kind == y.id.kind {
                format!("a {} whose name depends on a private value", x.id.kind)
            } else {
                "an object whose kind depends on a private value".to_string()
            };
            out.push(
                Diagnostic::error(
                    "secret/flow",
                    format!(
                        "{object} writes a value that depends on the private value {names} into `{path}`: only a Secret's data or stringData values may",
                    ),
                )
                .at(node.origin.as_ref().or(x.origin.as_ref()))
                .note("found by rendering again with the private values changed: this field changed with them, whatever filters they went through"),
            );
        }
    }
    out
}

/// The first field where two renders of an object differ, ignoring a Secret's
/// `data`/`stringData` values (not their keys).
fn first_difference<'a>(real: &'a Object, variant: &Object) -> Option<(String, &'a Node)> {
    let secret = real.id.kind == "Secret";
    let (Value::Map(a), Value::Map(b)) = (&real.body.value, &variant.body.value) else {
        return (real.body.value != variant.body.value).then(|| (String::from("."), &*real.body));
    };
    if a.len() != b.len() || a.keys().ne(b.keys()) {
        return Some((String::from("."), &*real.body));
    }
    for (key, node) in a {
        let other = &b[key];
        if secret && (key == "data" || key == "stringData") {
            let (Value::Map(x), Value::Map(y)) = (&node.value, &other.value) else {
                if node != other {
                    return Some((format!(".{key}"), node));
                }
                continue;
            };
            // The values are the Secret's to hold; its keys are not (a key may be the
            // value itself, so the path names none).
            if x.len() != y.len() || x.keys().ne(y.keys()) {
                return Some((format!(".{key} (its keys)"), node));
            }
            continue;
        }
        if let Some(path) = differs(node, other, &format!(".{key}")) {
            return Some(path);
        }
    }
    None
}

fn differs<'a>(a: &'a Node, b: &Node, path: &str) -> Option<(String, &'a Node)> {
    match (&a.value, &b.value) {
        (Value::Map(x), Value::Map(y)) => {
            if x.len() != y.len() || x.keys().ne(y.keys()) {
                // The keys themselves differ: the path stops here, as the key may be the
                // value.
                return Some((format!("{path} (its keys)"), a));
            }
            x.iter()
                .find_map(|(k, n)| differs(n, &y[k], &format!("{path}.{k}")))
        }
        (Value::Seq(x), Value::Seq(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (n, m))| differs(n, m, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some((path.to_string(), a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_shape_and_shares_no_letter_or_digit() {
        assert_eq!(rotate("Hello-42/x=="), "Uryyb-97/k==");
        let s = "fixture-secret-key";
        assert_eq!(rotate(&rotate(s)), s);
        assert!(
            s.chars()
                .zip(rotate(s).chars())
                .all(|(a, b)| a != b || !a.is_ascii_alphanumeric())
        );
    }

    fn file(text: &str) -> RenderedFile {
        let template = crate::source::SourceFile::new("charts/c/templates/t.yaml", text);
        RenderedFile {
            source: "c/templates/t.yaml".into(),
            file: crate::source::SourceFile::rendered(
                "c/templates/t.yaml (rendered)",
                text,
                &template,
            ),
        }
    }

    fn differences(a: &str, b: &str) -> Vec<String> {
        compare(&file(a), &file(b), "`k`")
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn only_secret_data_values_may_differ() {
        let secret = |key: &str, value: &str, name: &str| {
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ndata:\n  {key}: {value}\n"
            )
        };
        assert!(differences(&secret("k", "abc", "s"), &secret("k", "nop", "s")).is_empty());
        let keys = differences(&secret("abc", "x", "s"), &secret("nop", "x", "s"));
        assert!(keys[0].contains("into `.data (its keys)`"), "{keys:?}");
        let name = differences(&secret("k", "x", "abc"), &secret("k", "x", "nop"));
        assert!(name[0].contains("into `.metadata.name`"), "{name:?}");
        let config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: ";
        let data = differences(&format!("{config}abc\n"), &format!("{config}nop\n"));
        assert!(data[0].contains("into `.data.k`"), "{data:?}");
        let gone = differences(&format!("{config}abc\n"), "");
        assert!(gone[0].contains("writes other documents"), "{gone:?}");
    }

    #[test]
    fn the_variant_changes_private_scalars_only() {
        let private = crate::yaml::load_one(&crate::source::SourceFile::private(
            "p.yaml",
            "s: ab1\nn: 1\nb: true",
        ))
        .unwrap();
        let public =
            crate::yaml::load_one(&crate::source::SourceFile::new("v.yaml", "p: ab1")).unwrap();
        let merged = crate::values::coalesce(private, &public);
        let changed = variant(&merged);
        let get = |n: &Node, k: &str| n.get(k).unwrap().value.clone();
        assert_eq!(get(&changed, "s"), Value::Str("no6".into()));
        assert_eq!(get(&changed, "n"), Value::Int(7920));
        assert_eq!(get(&changed, "b"), Value::Bool(false));
        assert_eq!(get(&changed, "p"), Value::Str("ab1".into()));
    }
}
