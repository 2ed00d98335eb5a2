//! `policy/admission` in `kcc check`: each cluster's rendered ValidatingAdmissionPolicies
//! and bindings decide, as its API server would on CREATE, every object the cluster renders,
//! with the labels of its own Namespaces. A workload controller is also judged by the Pod
//! its template would create ("pods of Deployment kube-system/calico-typha would be denied
//! by ..."): that is what the API server refuses when the controller acts, long after the
//! apply succeeded. A denial is reported at the template line that wrote the offending
//! field where kcc can tell which, else at the pod template.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::ClusterView;
use crate::diagnostic::Diagnostic;
use crate::manifest::{Identity, Object};
use crate::policy::{Action, Admission, Cluster, Decision};
use crate::render::{Fleet, ReleaseRender};
use crate::source::Origin;
use crate::yaml::{Node, Value};

/// Compiled policies, by the content of the policy and binding objects: clusters that
/// render the same policies share one compilation.
#[derive(Default)]
pub struct Compiled {
    by_content: Mutex<HashMap<Vec<u8>, Arc<Policies>>>,
}

/// A set of policies compiled, with what compiling them found.
type Policies = (Admission, Vec<Diagnostic>);

impl Compiled {
    fn of(&self, policies: &[&Object]) -> Arc<Policies> {
        let mut hasher = Sha256::new();
        for object in policies {
            let text = object.canonical();
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        let key = hasher.finalize().to_vec();
        if let Some(hit) = self.by_content.lock().expect("poisoned").get(&key) {
            return Arc::clone(hit);
        }
        let compiled = Arc::new(Admission::from_objects(policies.iter().copied()));
        self.by_content
            .lock()
            .expect("poisoned")
            .entry(key)
            .or_insert(compiled)
            .clone()
    }
}

/// The Pod a controller's template would create in its namespace (the template's nodes
/// keep their origins: a finding points into the chart's template).
fn pod_of(controller: &Object, release_namespace: &str) -> Option<Object> {
    let template = controller.body.lookup(
        crate::manifest::pod_template_path(&controller.id.kind)?
            .iter()
            .copied(),
    )?;
    let namespace = match controller.id.namespace.as_str() {
        "" => release_namespace,
        ns => ns,
    };
    let text = |s: &str| Node::new(Value::Str(s.to_string()), None);
    let mut metadata = match template.get("metadata").map(|m| &m.value) {
        Some(Value::Map(m)) => m.clone(),
        _ => Default::default(),
    };
    metadata.insert("namespace".into(), text(namespace));
    metadata.insert("name".into(), text(&controller.id.name));
    let mut body = std::collections::BTreeMap::new();
    body.insert("apiVersion".to_string(), text("v1"));
    body.insert("kind".to_string(), text("Pod"));
    body.insert(
        "metadata".to_string(),
        Node::new(Value::Map(metadata), None),
    );
    body.insert("spec".to_string(), template.get("spec")?.clone());
    Some(Object {
        id: Identity {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: namespace.to_string(),
            name: controller.id.name.clone(),
        },
        body: Arc::new(Node::new(Value::Map(body), template.origin.clone())),
        source: controller.source.clone(),
        origin: template
            .origin
            .clone()
            .or_else(|| controller.origin.clone()),
        canonical: Default::default(),
    })
}

/// The findings of a cluster's admission policies on every object it renders (and the
/// pods of its workload controllers).
pub fn check(fleet: &Fleet, view: &ClusterView, compiled: &Compiled) -> Vec<Diagnostic> {
    let objects: Vec<(&ReleaseRender, &Object)> = view.objects().collect();
    let policies: Vec<&Object> = objects
        .iter()
        .map(|(_, o)| *o)
        .filter(|o| {
            o.id.group() == "admissionregistration.k8s.io"
                && matches!(
                    o.id.kind.as_str(),
                    "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding"
                )
        })
        .collect();
    if policies.is_empty() {
        return Vec::new();
    }
    let compiled = compiled.of(&policies);
    let (admission, problems) = &*compiled;
    let mut out: Vec<Diagnostic> = problems.clone();
    if admission.is_empty() {
        return out;
    }
    let cluster = Cluster::new(objects.iter().map(|(_, o)| *o));
    for (release, object) in &objects {
        for decision in admission.decide(object, &cluster) {
            out.push(finding(view, release, object, None, &decision));
        }
        let namespace = fleet
            .project
            .release(&release.release)
            .map_or("default", |r| r.namespace.as_str());
        if let Some(pod) = pod_of(object, namespace) {
            for decision in admission.decide(&pod, &cluster) {
                out.push(finding(view, release, object, Some(&pod), &decision));
            }
        }
    }
    out
}

/// A decision as a diagnostic of the cluster and release.
fn finding(
    view: &ClusterView,
    release: &ReleaseRender,
    object: &Object,
    pod: Option<&Object>,
    decision: &Decision,
) -> Diagnostic {
    // Named where it lands: a template that writes no namespace gets the release's.
    let subject = match pod {
        Some(pod) => {
            let mut id = object.id.clone();
            id.namespace = pod.id.namespace.clone();
            format!("pods of {id}")
        }
        None => object.id.to_string(),
    };
    let verb = match decision.action {
        Action::Deny => "would be denied",
        Action::Warn => "would get a warning",
        Action::Audit => "would be audited",
    };
    let message = format!(
        "{subject} {verb} by ValidatingAdmissionPolicy `{}` (binding `{}`): {}",
        decision.policy, decision.binding, decision.message
    );
    let judged = pod.unwrap_or(object);
    let at = offending_field(judged, decision).or_else(|| judged.origin.clone());
    let d = match decision.action {
        Action::Deny => Diagnostic::error("policy/admission", message),
        Action::Warn | Action::Audit => Diagnostic::warning("policy/admission", message),
    };
    let mut d = d.at(at.as_ref());
    if let Some(expression) = &decision.origin {
        d = d.note(format!("the policy's expression is at {expression}"));
    }
    if decision.error {
        d = d.note(
            "the expression failed to evaluate; the policy's failurePolicy made it a decision",
        );
    }
    d.in_release(&view.cluster.name, &release.release)
}

/// Words of a CEL expression that are not fields of a pod: variables, macros, functions.
const NOT_FIELDS: &[&str] = &[
    "object",
    "oldObject",
    "params",
    "request",
    "namespaceObject",
    "variables",
    "spec",
    "metadata",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "orValue",
    "hasValue",
    "value",
    "has",
    "size",
    "startsWith",
    "endsWith",
    "contains",
    "matches",
    "in",
    "true",
    "false",
    "null",
];

/// Where in the object the failing expression looks, as far as its field names tell: the
/// last field it names that the object holds, most specific first (`privileged` before
/// `securityContext`). None when no named field is in the object.
fn offending_field(object: &Object, decision: &Decision) -> Option<Origin> {
    let origin = decision.origin.as_ref()?;
    let fields = expression_fields(&expression_text(origin));
    fields
        .iter()
        .rev()
        .find_map(|field| find_key(&object.body, field))
}

/// The expression at `origin`: its line and the more-indented lines that follow (a YAML
/// block scalar), or the rest of its line.
fn expression_text(origin: &Origin) -> String {
    let lines: Vec<&str> = origin.file.text.lines().collect();
    let Some(first) = lines.get(origin.line.saturating_sub(1)) else {
        return String::new();
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = indent(first);
    let mut text = first.to_string();
    for line in lines.iter().skip(origin.line) {
        if line.trim().is_empty() || indent(line) < base {
            break;
        }
        text.push('\n');
        text.push_str(line);
    }
    text
}

/// The field names an expression selects (`.name` and `.?name`), in order, without the
/// names that are not fields.
fn expression_fields(expression: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes: Vec<char> = expression.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == '.' {
            let mut j = i + 1;
            if j < bytes.len() && bytes[j] == '?' {
                j += 1;
            }
            let start = j;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == '_') {
                j += 1;
            }
            let word: String = bytes[start..j].iter().collect();
            if !word.is_empty()
                && !word.chars().next().is_some_and(|c| c.is_ascii_digit())
                && !NOT_FIELDS.contains(&word.as_str())
            {
                out.push(word);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// The origin of the first node under a key named `key` (depth first, in key order).
fn find_key(node: &Node, key: &str) -> Option<Origin> {
    match &node.value {
        Value::Map(map) => {
            if let Some(found) = map.get(key)
                && let Some(origin) = key_origin(found)
            {
                return Some(origin);
            }
            map.values().find_map(|child| find_key(child, key))
        }
        Value::Seq(items) => items.iter().find_map(|item| find_key(item, key)),
        _ => None,
    }
}

/// A node's origin, or that of its first descendant with one.
fn key_origin(node: &Node) -> Option<Origin> {
    node.origin.clone().or_else(|| match &node.value {
        Value::Map(map) => map.values().find_map(key_origin),
        Value::Seq(items) => items.iter().find_map(key_origin),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::expression_fields;

    #[test]
    fn an_expressions_fields_are_the_names_it_selects() {
        let fields = expression_fields(
            "variables.allContainers.all(container,\n  container.?securityContext.privileged.orValue(false) == false)",
        );
        assert_eq!(fields, ["allContainers", "securityContext", "privileged"]);
        assert_eq!(
            expression_fields("!has(object.spec.hostNetwork) || object.spec.hostNetwork == false"),
            ["hostNetwork", "hostNetwork"]
        );
    }
}
