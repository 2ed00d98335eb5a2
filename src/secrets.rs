//! Secrets as a taint: every string of the private overlay is marked when its file is
//! loaded, and kcc never prints a marked value. Each value is known in the forms it can be
//! printed in (as written, base64-encoded as a Secret's `data` holds it, JSON-escaped), so
//! it is found wherever kcc would print it: [`mask`] replaces it by `(private: sha256:…)`.
//!
//! Two places use this: every byte kcc prints passes [`mask`] (main.rs), and
//! [`crate::render::secret_flow`] refuses a render that writes a marked value anywhere but a
//! Secret's `data`/`stringData`, so it never reaches golden/, diffs or deploy directories.

use std::borrow::Cow;
use std::sync::RwLock;

use base64::Engine;

use crate::manifest::secret_digest;
use crate::yaml::{Node, Value};

/// Shorter strings (and booleans, numbers) in the private overlay are not treated as
/// secrets: masking `true` or `10` everywhere would garble every message.
pub const MIN_SECRET_CHARS: usize = 6;

/// One private value and the forms it can appear in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secret {
    /// As written, then base64 (standard, padded: `b64encode`), then JSON-escaped if that
    /// differs; longest first within the value so a longer form is replaced whole.
    forms: Vec<String>,
    /// What is printed instead.
    pub mask: String,
    /// Where the private overlay sets it (`issuers.discovery.authSecret.key`): a key is
    /// not a secret, and it tells the reader which value leaked.
    pub key: String,
}

impl Secret {
    pub fn new(plain: &str, key: &str) -> Secret {
        let mut forms = vec![
            plain.to_string(),
            base64::engine::general_purpose::STANDARD.encode(plain),
        ];
        let json = serde_json::to_string(plain).expect("a string serialises");
        let json = &json[1..json.len() - 1];
        if json != plain {
            forms.push(json.to_string());
        }
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        Secret {
            forms,
            mask: format!("(private: {})", secret_digest(plain)),
            key: key.to_string(),
        }
    }

    /// Whether some form of this value appears in `text`.
    pub fn found_in(&self, text: &str) -> bool {
        self.forms.iter().any(|f| text.contains(f.as_str()))
    }
}

/// The marked strings of a values tree (a private overlay file).
pub fn of_tree(root: &Node) -> Vec<Secret> {
    let mut out = Vec::new();
    collect(root, "", &mut out);
    out.sort_by(|a, b| a.forms.cmp(&b.forms));
    out.dedup();
    out
}

fn collect(node: &Node, key: &str, out: &mut Vec<Secret>) {
    let child = |k: &dyn std::fmt::Display| {
        if key.is_empty() {
            k.to_string()
        } else {
            format!("{key}.{k}")
        }
    };
    match &node.value {
        Value::Str(s) if s.chars().count() >= MIN_SECRET_CHARS => out.push(Secret::new(s, key)),
        Value::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                collect(n, &format!("{key}[{i}]"), out);
            }
        }
        Value::Map(entries) => {
            for (k, n) in entries {
                collect(n, &child(k), out);
            }
        }
        _ => {}
    }
}

/// Every secret this process has loaded: what output is masked with.
static LOADED: RwLock<Vec<Secret>> = RwLock::new(Vec::new());

/// Marks the private values of an overlay file (`Layer::secrets`), for every output of
/// this process.
pub fn register(found: &[Secret]) {
    if found.is_empty() {
        return;
    }
    let mut loaded = LOADED.write().unwrap_or_else(|e| e.into_inner());
    for secret in found {
        if !loaded.contains(secret) {
            loaded.push(secret.clone());
        }
    }
}

/// `text` with every form of every loaded secret replaced by its mask.
pub fn mask(text: &str) -> Cow<'_, str> {
    let loaded = LOADED.read().unwrap_or_else(|e| e.into_inner());
    mask_with(&loaded, text)
}

/// `text` with every form of `secrets` replaced by its mask. Longer forms go first, so a
/// secret that contains another is masked whole.
pub fn mask_with<'a>(secrets: &[Secret], text: &'a str) -> Cow<'a, str> {
    let mut forms: Vec<(&str, &str)> = secrets
        .iter()
        .flat_map(|s| s.forms.iter().map(|f| (f.as_str(), s.mask.as_str())))
        .filter(|(form, _)| text.contains(form))
        .collect();
    if forms.is_empty() {
        return Cow::Borrowed(text);
    }
    forms.sort_by_key(|(form, _)| std::cmp::Reverse(form.len()));
    let mut out = text.to_string();
    for (form, mask) in forms {
        out = out.replace(form, mask);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_is_masked() {
        let secrets = vec![Secret::new("hunter2-\"quoted\"", "k")];
        let b64 = base64::engine::general_purpose::STANDARD.encode("hunter2-\"quoted\"");
        let text = format!("a hunter2-\"quoted\" b {b64} c {{\"k\":\"hunter2-\\\"quoted\\\"\"}}");
        let masked = mask_with(&secrets, &text);
        assert!(!masked.contains("hunter2"), "{masked}");
        assert!(!masked.contains(&b64), "{masked}");
        assert_eq!(masked.matches("(private: sha256:").count(), 3, "{masked}");
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        let secrets = vec![
            Secret::new("secret", "a"),
            Secret::new("secret-longer", "b"),
        ];
        let masked = mask_with(&secrets, "x secret-longer y");
        assert_eq!(
            masked,
            format!("x {} y", Secret::new("secret-longer", "b").mask)
        );
    }

    #[test]
    fn short_strings_and_non_strings_are_not_secrets() {
        let file = crate::source::SourceFile::private(
            "p.yaml",
            "a: true\nb: abc\nc: 123456\nd: long-enough\n",
        );
        let root = crate::yaml::load_one(&file).unwrap();
        let secrets = of_tree(&root);
        assert_eq!(secrets, vec![Secret::new("long-enough", "d")]);
    }

    #[test]
    fn text_without_secrets_is_borrowed() {
        let secrets = vec![Secret::new("hunter22", "k")];
        assert!(matches!(
            mask_with(&secrets, "nothing here"),
            Cow::Borrowed(_)
        ));
    }
}
