//! `secret/flow`: a value of the private overlay may be written only into a Secret's
//! `data` or `stringData`. Anywhere else (a ConfigMap, an annotation, an Issuer's URL, a
//! Secret's name) it would reach golden/, review diffs and logs in plain text.

use crate::diagnostic::Diagnostic;
use crate::manifest::Object;
use crate::secrets::Secret;
use crate::yaml::{Node, Value};

/// One error per object field that holds a marked value, at the template line that wrote
/// it. The value itself is never part of the message.
pub fn check(objects: &[Object], secrets: &[Secret]) -> Vec<Diagnostic> {
    if secrets.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    for object in objects {
        let Value::Map(fields) = &object.body.value else {
            continue;
        };
        for (key, node) in fields {
            let secret_data = object.id.kind == "Secret" && (key == "data" || key == "stringData");
            if !secret_data {
                walk(
                    node,
                    &format!(".{key}"),
                    secrets,
                    &mut |path, node, secret| {
                        found.push(leak(object, path, node, secret));
                    },
                );
            }
        }
    }
    found
}

fn walk(node: &Node, path: &str, secrets: &[Secret], report: &mut dyn FnMut(&str, &Node, &Secret)) {
    let in_text = |text: &str| secrets.iter().find(|s| s.found_in(text));
    match &node.value {
        Value::Str(text) => {
            if let Some(secret) = in_text(text) {
                report(path, node, secret);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), secrets, report);
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries {
                // A key that holds the value is named by its mask.
                let path = format!("{path}.{}", crate::secrets::mask_with(secrets, key));
                match in_text(key) {
                    Some(secret) => report(&path, value, secret),
                    None => walk(value, &path, secrets, report),
                }
            }
        }
        _ => {}
    }
}

fn leak(object: &Object, path: &str, node: &Node, secret: &Secret) -> Diagnostic {
    let origin = node.origin.as_ref().or(object.origin.as_ref());
    Diagnostic::error(
        "secret/flow",
        format!(
            "{} writes the private value `{}` into `{path}`: only a Secret's data or stringData may hold it",
            object.id, secret.key
        ),
    )
    .at(origin)
    .note(format!("the value is shown as {}; kcc refuses to render this release, so it cannot reach golden/, diffs or deploy directories", secret.mask))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::manifest::Identity;

    fn object(kind: &str, yaml: &str) -> Object {
        let file = crate::source::SourceFile::new("t.yaml", yaml);
        Object {
            id: Identity {
                api_version: "v1".into(),
                kind: kind.into(),
                namespace: "n".into(),
                name: "o".into(),
            },
            body: Arc::new(crate::yaml::load_one(&file).unwrap()),
            source: "c/templates/t.yaml".into(),
            origin: None,
            canonical: Arc::default(),
        }
    }

    #[test]
    fn only_secret_data_may_hold_a_private_value() {
        let secrets = [Secret::new("hunter2-key", "auth.key")];
        let allowed = object(
            "Secret",
            "data:\n  k: aHVudGVyMi1rZXk=\nstringData:\n  s: hunter2-key\n",
        );
        assert!(check(&[allowed], &secrets).is_empty());

        let leaks = check(
            &[
                object("ConfigMap", "data:\n  k: prefix-hunter2-key\n"),
                object("ConfigMap", "data:\n  k: aHVudGVyMi1rZXk=\n"),
                object("Secret", "metadata:\n  annotations:\n    hunter2-key: x\n"),
            ],
            &secrets,
        );
        let messages: Vec<String> = leaks.iter().map(|d| d.message.clone()).collect();
        assert_eq!(leaks.len(), 3, "{messages:?}");
        assert!(
            messages[0].contains("`auth.key` into `.data.k`"),
            "{}",
            messages[0]
        );
        assert!(
            messages[2].contains(".metadata.annotations.(private: sha256:"),
            "{}",
            messages[2]
        );
        assert!(
            messages.iter().all(|m| !m.contains("hunter2")),
            "{messages:?}"
        );
        assert!(leaks.iter().all(|d| d.rule == "secret/flow"));
        let rendered = leaks[0].render();
        assert!(rendered.contains("t.yaml:2:"), "{rendered}");
    }
}
