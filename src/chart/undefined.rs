//! What an undefined value in a template was: the key that is missing and, when one is
//! close, the key that was probably meant. Helm says `map has no entry for key "x"`;
//! minijinja only says "undefined value", so kcc walks the failing expression itself.

use minijinja::value::{Value as Mj, ValueKind};

/// The missing key of `expression` (a dotted path such as `values.service.clusterIP`,
/// as written in the template) looked up in `context`: a message naming the key and
/// the path to it, and a close existing key if there is one. None when the expression is
/// not a plain dotted path from the context (a loop variable, a subscript, a call).
pub fn explain(expression: &str, context: &Mj) -> Option<(String, Option<String>)> {
    let segments: Vec<&str> = expression.trim().split('.').map(str::trim).collect();
    if segments.iter().any(|s| !is_identifier(s)) {
        return None;
    }
    let mut current = context.clone();
    for (i, segment) in segments.iter().enumerate() {
        let next = current.get_attr(segment).ok().filter(|v| !v.is_undefined());
        match next {
            Some(value) => current = value,
            None if i == 0 => return None, // a template-local variable
            None => {
                let parent = segments[..i].join(".");
                let keys = map_keys(&current);
                let message = if current.kind() == ValueKind::Map {
                    format!("map has no entry for key \"{segment}\" (in `{parent}`)")
                } else {
                    format!(
                        "`{parent}` is {}, not a map: it has no key \"{segment}\"",
                        describe(&current)
                    )
                };
                return Some((message, closest(segment, &keys)));
            }
        }
    }
    None
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn map_keys(value: &Mj) -> Vec<String> {
    if value.kind() != ValueKind::Map {
        return Vec::new();
    }
    value
        .try_iter()
        .map(|keys| {
            keys.filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn describe(value: &Mj) -> &'static str {
    match value.kind() {
        ValueKind::None => "null",
        ValueKind::Seq => "a list",
        ValueKind::String => "a string",
        ValueKind::Number => "a number",
        ValueKind::Bool => "a boolean",
        _ => "not a map",
    }
}

fn closest(key: &str, keys: &[String]) -> Option<String> {
    keys.iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&key.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Mj {
        minijinja::context! {
            values => minijinja::context! {
                replicaCount => 4,
                service => minijinja::context! { clusterIP => "10.0.0.3" },
                image => (),
            },
        }
    }

    #[test]
    fn names_the_missing_key_and_a_close_one() {
        let (message, near) = explain("values.replicaCont", &context()).unwrap();
        assert_eq!(
            message,
            "map has no entry for key \"replicaCont\" (in `values`)"
        );
        assert_eq!(near.as_deref(), Some("replicaCount"));
        let (message, near) = explain("values.service.clusterIp", &context()).unwrap();
        assert!(
            message.contains("\"clusterIp\" (in `values.service`)"),
            "{message}"
        );
        assert_eq!(near.as_deref(), Some("clusterIP"));
    }

    #[test]
    fn a_null_parent_is_said_to_be_null() {
        let (message, near) = explain("values.image.tag", &context()).unwrap();
        assert_eq!(
            message,
            "`values.image` is null, not a map: it has no key \"tag\""
        );
        assert_eq!(near, None);
    }

    #[test]
    fn leaves_local_variables_and_complex_expressions_alone() {
        assert_eq!(explain("peer.asNumber", &context()), None);
        assert_eq!(explain("values[\"x\"]", &context()), None);
        assert_eq!(explain("values.replicaCount", &context()), None);
    }
}
