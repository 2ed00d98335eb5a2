//! `policy/namespace-label`: the labels by which a namespace opts into admission policies
//! must be ones the cluster's ValidatingAdmissionPolicyBindings select on. Since
//! PodSecurityPolicy left Kubernetes (1.25), a namespace's pod security is its labels: a
//! `pod-security.wmf.org/profile: restrictd` (or a profile no binding names) leaves its pods
//! under no policy at all, silently. Where a cluster renders no bindings, there is nothing
//! to check against and the rule is silent.

use std::collections::{BTreeMap, BTreeSet};

use crate::check::ClusterView;
use crate::diagnostic::Diagnostic;
use crate::yaml::Node;

/// The label prefix of the policies' namespace selectors.
const PREFIX: &str = "pod-security.wmf.org/";

/// For each label key the bindings select namespaces on, the values they test.
fn selected(view: &ClusterView) -> BTreeMap<String, BTreeSet<String>> {
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let bindings = view
        .objects()
        .filter(|(_, o)| o.id.kind == "ValidatingAdmissionPolicyBinding");
    for (_, binding) in bindings {
        let Some(selector) = binding
            .body
            .lookup(["spec", "matchResources", "namespaceSelector"])
        else {
            continue;
        };
        if let Some(labels) = selector.get("matchLabels").and_then(Node::as_map) {
            for (key, value) in labels {
                let entry = keys.entry(key.clone()).or_default();
                entry.extend(value.as_str().map(str::to_string));
            }
        }
        for expression in selector
            .get("matchExpressions")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let Some(key) = expression.get("key").and_then(Node::as_str) else {
                continue;
            };
            let values = expression
                .get("values")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .map(str::to_string);
            keys.entry(key.to_string()).or_default().extend(values);
        }
    }
    keys
}

pub fn namespace_labels(view: &ClusterView) -> Vec<Diagnostic> {
    let selected = selected(view);
    if selected.is_empty() {
        return Vec::new();
    }
    let known_keys = selected.keys().map(String::as_str);
    let mut out = Vec::new();
    for (release, namespace) in view.objects().filter(|(_, o)| o.id.kind == "Namespace") {
        let Some(labels) = namespace
            .body
            .lookup(["metadata", "labels"])
            .and_then(Node::as_map)
        else {
            continue;
        };
        for (key, value) in labels.iter().filter(|(k, _)| k.starts_with(PREFIX)) {
            let value = value.as_str().unwrap_or_default();
            let problem = match selected.get(key) {
                None => Some((
                    format!(
                        "Namespace `{}` has label `{key}`, on which no admission policy binding selects namespaces",
                        namespace.id.name
                    ),
                    crate::suggest::closest(key, known_keys.clone())
                        .map(|k| format!("did you mean `{k}`?")),
                )),
                Some(values) if !values.contains(value) => Some((
                    format!(
                        "Namespace `{}` has `{key}: {value}`, a value no admission policy binding tests: no policy applies to its pods through it",
                        namespace.id.name
                    ),
                    Some(format!(
                        "the bindings test {}",
                        values.iter().cloned().collect::<Vec<_>>().join(", ")
                    )),
                )),
                Some(_) => None,
            };
            let Some((message, hint)) = problem else {
                continue;
            };
            // The values line that set the label, where the namespaces chart took it from
            // `namespaces.<name>.labels`; else the rendered object.
            let origin = release
                .values
                .lookup(["namespaces", namespace.id.name.as_str(), "labels", key])
                .and_then(|n| n.origin.as_ref())
                .or_else(|| {
                    namespace
                        .body
                        .lookup(["metadata", "labels", key.as_str()])
                        .and_then(|n| n.origin.as_ref())
                })
                .or(namespace.origin.as_ref());
            let mut d = Diagnostic::error("policy/namespace-label", message)
                .at(origin)
                .in_release(&view.cluster.name, &release.release);
            if let Some(hint) = hint {
                d = d.note(hint);
            }
            out.push(d);
        }
    }
    out
}
