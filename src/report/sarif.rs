//! SARIF 2.1.0 (OASIS), as GitHub code scanning reads it: one run, the rules that occur in
//! `tool.driver.rules`, one result per diagnostic at its file, line and column.

use serde_json::{Value, json};

use super::{Place, Run, full_message, severity_word};

pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub fn sarif(run: &Run) -> String {
    // The rules in order of first appearance; results refer to them by index.
    let mut rules: Vec<&str> = Vec::new();
    for d in run.diagnostics {
        if !rules.contains(&d.rule) {
            rules.push(d.rule);
        }
    }
    let rule_objects: Vec<Value> = rules
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "shortDescription": {"text": super::description(id)},
            })
        })
        .collect();
    let results: Vec<Value> = run
        .diagnostics
        .iter()
        .map(|d| {
            let mut result = json!({
                "ruleId": d.rule,
                "ruleIndex": rules.iter().position(|r| *r == d.rule),
                "level": severity_word(d.severity),
                "message": {"text": full_message(d)},
            });
            if let Some(place) = Place::of(d, run.path_prefix) {
                result["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&place.file)},
                        "region": {"startLine": place.line, "startColumn": place.col},
                    }
                }]);
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kcc",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_objects,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).expect("JSON values serialize");
    text.push('\n');
    text
}

/// A relative path as a URI reference: each byte outside RFC 3986's unreserved characters
/// and `/` percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_become_uri_references() {
        assert_eq!(super::uri("golden/a b/c%.yaml"), "golden/a%20b/c%25.yaml");
        assert_eq!(super::uri("<stdin>"), "%3Cstdin%3E");
    }
}
