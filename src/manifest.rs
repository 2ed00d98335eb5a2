//! Rendered text → Kubernetes objects: identity, Helm's install order, canonical YAML.

use std::cmp::Ordering;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::diagnostic::Diagnostic;
use crate::source::{Origin, SourceFile};
use crate::yaml::{Node, Value, emit_document, load_documents};

/// One rendered file of a chart, what manifests are parsed from: its `# Source:` name
/// (`<chart>/templates/x.yaml`) and text.
#[derive(Clone)]
pub struct RenderedFile {
    pub source: String,
    pub file: Arc<SourceFile>,
}

/// (apiVersion, kind, namespace, name): what makes an object the same object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Identity {
    /// The API group without its version (`""` for the core group).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

#[derive(Clone, Debug)]
pub struct Object {
    pub id: Identity,
    /// Shared: objects such as CRDs are the same in every cluster and never copied.
    pub body: Arc<Node>,
    /// `<chart>/templates/<file>` (or `<chart>/crds/<file>`).
    pub source: String,
    /// Where the document starts in the rendered text.
    pub origin: Option<Origin>,
    /// Its canonical YAML, emitted once and shared by every clone (an object many
    /// clusters render alike is emitted once). Reset when the body changes.
    pub canonical: Arc<OnceLock<String>>,
}

impl Object {
    /// The body's canonical YAML.
    pub fn canonical(&self) -> &str {
        self.canonical.get_or_init(|| emit_document(&self.body))
    }
}

/// Kinds of the Kubernetes API that are cluster-scoped (the rest are namespaced; a CRD says
/// for its own kinds).
pub const KUBERNETES_CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "SelfSubjectAccessReview",
    "SelfSubjectRulesReview",
    "StorageClass",
    "SubjectAccessReview",
    "TokenReview",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// Helm's install order of kinds (helm 3 `kind_sorter.go`); other kinds come after.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

fn kind_rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

/// Install order, then kind name (for kinds Helm does not list), namespace, name, source.
pub fn install_order(a: &Object, b: &Object) -> Ordering {
    kind_rank(&a.id.kind)
        .cmp(&kind_rank(&b.id.kind))
        .then_with(|| a.id.kind.cmp(&b.id.kind))
        .then_with(|| a.id.namespace.cmp(&b.id.namespace))
        .then_with(|| a.id.name.cmp(&b.id.name))
        .then_with(|| a.id.api_version.cmp(&b.id.api_version))
        .then_with(|| a.source.cmp(&b.source))
}

/// Splits a rendered file into objects. Empty documents are dropped, as helm does.
pub fn parse_objects(rendered: &RenderedFile) -> Result<Vec<Object>, Diagnostic> {
    parse(rendered, false)
}

/// Like `parse_objects`, but the `items` of a `kind: List` document are objects in their
/// own right (as kubectl and kubeconform read them).
pub fn parse_manifests(rendered: &RenderedFile) -> Result<Vec<Object>, Diagnostic> {
    parse(rendered, true)
}

fn parse(rendered: &RenderedFile, expand_lists: bool) -> Result<Vec<Object>, Diagnostic> {
    let docs = load_documents(&rendered.file)?;
    let mut objects = Vec::new();
    for doc in docs {
        if matches!(doc.value, Value::Null) {
            continue;
        }
        let is_list = doc.get("kind").and_then(Node::as_str) == Some("List");
        if expand_lists && is_list {
            let items = doc.get("items");
            let Some(seq) = items.and_then(Node::as_seq) else {
                return Err(Diagnostic::error(
                    "manifest/not-an-object",
                    match items {
                        Some(items) => format!(
                            "the `items` of a `kind: List` must be a list of objects, not {}",
                            items.a_type_name()
                        ),
                        None => "a `kind: List` needs `items`, a list of objects".to_string(),
                    },
                )
                .at(items.unwrap_or(&doc).origin.as_ref()));
            };
            for (i, item) in seq.iter().enumerate() {
                if item.get("kind").and_then(Node::as_str) == Some("List") {
                    return Err(Diagnostic::error(
                        "manifest/not-an-object",
                        format!(
                            "item {} of this `kind: List` is itself a `kind: List`: nested Lists are not expanded (kubectl does not either)",
                            i + 1
                        ),
                    )
                    .at(item.origin.as_ref())
                    .note("put the inner List's items in the outer List's `items`"));
                }
                objects.push(object_of(item.clone(), &rendered.source)?);
            }
            continue;
        }
        if is_list && doc.lookup(["metadata", "name"]).is_none() {
            // As `helm template` writes it, a List has no identity kcc can track.
            return Err(Diagnostic::error(
                "manifest/identity",
                "a chart must render each object as its own document, not a `kind: List`",
            )
            .at(doc.origin.as_ref())
            .note("write the items as documents separated by `---`"));
        }
        objects.push(object_of(doc, &rendered.source)?);
    }
    Ok(objects)
}

fn object_of(doc: Node, source: &str) -> Result<Object, Diagnostic> {
    if !matches!(doc.value, Value::Map(_)) {
        return Err(Diagnostic::error(
            "manifest/not-an-object",
            format!(
                "a rendered document must be a map, not {}",
                doc.a_type_name()
            ),
        )
        .at(doc.origin.as_ref()));
    }
    let text = |path: &[&str]| {
        doc.lookup(path.iter().copied())
            .and_then(Node::as_str)
            .map(str::to_string)
    };
    let missing = |what: &str| {
        Diagnostic::error(
            "manifest/identity",
            format!("rendered object has no {what}"),
        )
        .at(doc.origin.as_ref())
    };
    let id = Identity {
        api_version: text(&["apiVersion"]).ok_or_else(|| missing("apiVersion"))?,
        kind: text(&["kind"]).ok_or_else(|| missing("kind"))?,
        namespace: text(&["metadata", "namespace"]).unwrap_or_default(),
        name: text(&["metadata", "name"]).ok_or_else(|| missing("metadata.name"))?,
    };
    Ok(Object {
        id,
        origin: doc.origin.clone(),
        body: Arc::new(doc),
        source: source.to_string(),
        canonical: Arc::default(),
    })
}

/// The canonical text of a list of objects, already in install order.
pub fn write_objects(objects: &[Object]) -> String {
    let mut out = String::new();
    for object in objects {
        write_object(&mut out, object);
    }
    out
}

fn write_object(out: &mut String, object: &Object) {
    out.push_str("---\n# Source: ");
    out.push_str(&object.source);
    out.push('\n');
    out.push_str(object.canonical());
}

/// Like [`write_objects`], with Secret `data`/`stringData` values replaced by a stable
/// digest: what golden/ and diffs show, so a secret never lands in a file or a review.
pub fn write_objects_redacted(objects: &[Object]) -> String {
    let mut out = String::new();
    for object in objects {
        if object.id.kind == "Secret" {
            write_object(&mut out, &redact_secret(object));
        } else {
            write_object(&mut out, object);
        }
    }
    out
}

/// A Secret with every `data`/`stringData` value replaced by `sha256:<first 16 hex>` of
/// the value; other objects unchanged.
pub fn redact_secret(object: &Object) -> Object {
    let mut object = object.clone();
    if object.id.kind == "Secret" {
        redact_secret_values(Arc::make_mut(&mut object.body));
        object.canonical = Arc::default();
    }
    object
}

/// Replaces a Secret body's `data`/`stringData` values by their digests; values that
/// already are digests stay (so redacting twice changes nothing). True if some value was
/// not a digest yet.
pub fn redact_secret_values(body: &mut Node) -> bool {
    let mut replaced = false;
    if let Value::Map(map) = &mut body.value {
        for key in ["data", "stringData"] {
            if let Some(Node {
                value: Value::Map(entries),
                ..
            }) = map.get_mut(key)
            {
                for entry in entries.values_mut() {
                    let text = match &entry.value {
                        Value::Str(s) if is_secret_digest(s) => continue,
                        Value::Str(s) => s.clone(),
                        _ => crate::yaml::emit_value_block(entry),
                    };
                    entry.value = Value::Str(secret_digest(&text));
                    replaced = true;
                }
            }
        }
    }
    replaced
}

fn is_secret_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `sha256:` and the first 16 hex digits of the value's SHA-256: changes show, values don't.
pub fn secret_digest(value: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The workload controllers whose pod template becomes Pods, and where the template is.
pub fn pod_template_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Deployment"
        | "DaemonSet"
        | "StatefulSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => Some(&["spec", "template"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}
