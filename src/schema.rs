//! Object schemas: the vendored Kubernetes 1.23–1.33 "local-strict" schemas (embedded in
//! the binary, each distinct definition stored once) and CRD openAPIV3Schemas, each
//! compiled once per process and shared.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::Validator;
use serde_json::{Map, Value as Json, json};

use crate::yaml::{Node, Value};

/// Every distinct definition of every vendored minor: `<digest>\t<JSON>` lines.
const STORE: &str = include_str!("../schemas/kubernetes/definitions.tsv");

/// The supported minors and their definition maps, oldest first.
const VERSIONS: &[(&str, &str)] = &[
    ("1.23", include_str!("../schemas/kubernetes/v1.23.json")),
    ("1.24", include_str!("../schemas/kubernetes/v1.24.json")),
    ("1.25", include_str!("../schemas/kubernetes/v1.25.json")),
    ("1.26", include_str!("../schemas/kubernetes/v1.26.json")),
    ("1.27", include_str!("../schemas/kubernetes/v1.27.json")),
    ("1.28", include_str!("../schemas/kubernetes/v1.28.json")),
    ("1.29", include_str!("../schemas/kubernetes/v1.29.json")),
    ("1.30", include_str!("../schemas/kubernetes/v1.30.json")),
    ("1.31", include_str!("../schemas/kubernetes/v1.31.json")),
    ("1.32", include_str!("../schemas/kubernetes/v1.32.json")),
    ("1.33", include_str!("../schemas/kubernetes/v1.33.json")),
];

/// The version `kcc validate` uses outside a project.
pub const DEFAULT_VERSION: &str = "1.23";

/// The supported Kubernetes minors, oldest first (`1.23`, ...).
pub fn supported_versions() -> impl Iterator<Item = &'static str> {
    VERSIONS.iter().map(|(v, _)| *v)
}

/// `version` as one of the supported minors: `1.29`, `v1.29` and `1.29.3` are all 1.29.
pub fn supported_version(version: &str) -> Option<&'static str> {
    let v = version.trim().trim_start_matches('v');
    let mut parts = v.split('.');
    let minor = format!("{}.{}", parts.next()?, parts.next()?);
    if parts.next().is_some_and(|p| p.parse::<u32>().is_err()) || parts.next().is_some() {
        return None;
    }
    supported_versions().find(|s| *s == minor)
}

/// One schema problem in an object: where (JSON pointer into the object) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub pointer: String,
    pub message: String,
}

/// One minor: definition name → digest, `apiVersion/kind` → definition name.
#[derive(serde::Deserialize)]
struct Minor {
    definitions: HashMap<String, String>,
    kinds: BTreeMap<String, String>,
}

/// The store's lines by digest, unparsed: a definition is parsed only when a kind used
/// reaches it.
fn store() -> &'static HashMap<&'static str, &'static str> {
    static STORE_INDEX: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    STORE_INDEX.get_or_init(|| STORE.lines().filter_map(|l| l.split_once('\t')).collect())
}

fn minor(version: &str) -> Option<&'static Minor> {
    static MINORS: OnceLock<Vec<OnceLock<Minor>>> = OnceLock::new();
    let all = MINORS.get_or_init(|| VERSIONS.iter().map(|_| OnceLock::new()).collect());
    let i = VERSIONS.iter().position(|(v, _)| *v == version)?;
    Some(
        all[i].get_or_init(|| {
            serde_json::from_str(VERSIONS[i].1).expect("vendored version map parses")
        }),
    )
}

/// Whether the Kubernetes `version` (a supported minor) serves `apiVersion/kind`.
pub fn has_kind(version: &str, api_version: &str, kind: &str) -> bool {
    minor(version).is_some_and(|m| m.kinds.contains_key(&format!("{api_version}/{kind}")))
}

/// The apiVersions under which `version` serves `kind`.
pub fn api_versions_of(version: &str, kind: &str) -> Vec<String> {
    let Some(m) = minor(version) else {
        return Vec::new();
    };
    m.kinds
        .keys()
        .filter_map(|k| k.rsplit_once('/'))
        .filter(|(_, k)| *k == kind)
        .map(|(api, _)| api.to_string())
        .collect()
}

/// Where `apiVersion/kind` stands in the supported minors relative to `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Served by `version` and every later supported minor.
    Served,
    /// Served by `version`, not by `removed_in` (the first later minor without it).
    Deprecated { removed_in: &'static str },
    /// Not served by `version`, but by an earlier minor; gone since `removed_in`.
    Removed { removed_in: &'static str },
    /// Not served by `version`, only by later minors (from `added_in`).
    NotYet { added_in: &'static str },
    /// No supported minor serves it.
    Unknown,
}

/// Computed from the schemas themselves: which minors have the kind.
pub fn availability(version: &str, api_version: &str, kind: &str) -> Availability {
    let versions: Vec<&str> = supported_versions().collect();
    let Some(at) = versions.iter().position(|v| *v == version) else {
        return Availability::Unknown;
    };
    let has = |v: &str| has_kind(v, api_version, kind);
    if has(version) {
        return match versions[at + 1..].iter().find(|v| !has(v)) {
            Some(removed_in) => Availability::Deprecated { removed_in },
            None => Availability::Served,
        };
    }
    if let Some(last) = versions[..at].iter().rposition(|v| has(v)) {
        return Availability::Removed {
            removed_in: versions[last + 1],
        };
    }
    match versions[at + 1..].iter().find(|v| has(v)) {
        Some(added_in) => Availability::NotYet { added_in },
        None => Availability::Unknown,
    }
}

/// The apiVersion to use instead of `api_version` for `kind` in `version`: the same kind
/// under another group/version, the most stable first (v1 over v1beta1 over v1alpha1),
/// the same group first.
pub fn replacement(version: &str, api_version: &str, kind: &str) -> Option<String> {
    let group = |a: &str| {
        a.rsplit_once('/')
            .map(|(g, _)| g.to_string())
            .unwrap_or_default()
    };
    let rank = |a: &str| {
        let v = a.rsplit('/').next().unwrap_or(a);
        let stability = if v.contains("alpha") {
            2
        } else if v.contains("beta") {
            1
        } else {
            0
        };
        (
            group(a) != group(api_version),
            stability,
            std::cmp::Reverse(v.to_string()),
        )
    };
    api_versions_of(version, kind)
        .into_iter()
        .filter(|a| a != api_version)
        .min_by_key(|a| rank(a))
}

/// A validator compiled at most once: threads asking for the same key wait for the first.
type Slot = Arc<OnceLock<Result<Arc<Validator>, String>>>;

/// Compiled validators by cache key: `k8s:<root> <name>=<digest>...` (the content of a
/// Kubernetes kind's schema), `crd:<digest of schema>` or `values:<digest of schema>`.
fn cache() -> &'static Mutex<HashMap<String, Slot>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cached(key: String, build: impl FnOnce() -> Json) -> Result<Arc<Validator>, String> {
    cached_with(key, Some(jsonschema::Draft::Draft4), build)
}

/// Compiles (once per key and process) with `draft`, or the draft the schema's `$schema`
/// names.
fn cached_with(
    key: String,
    draft: Option<jsonschema::Draft>,
    build: impl FnOnce() -> Json,
) -> Result<Arc<Validator>, String> {
    let slot = Arc::clone(
        cache()
            .lock()
            .expect("schema cache poisoned")
            .entry(key)
            .or_default(),
    );
    slot.get_or_init(|| {
        let schema = build();
        let mut options = jsonschema::options().should_validate_formats(true);
        if let Some(draft) = draft {
            options = options.with_draft(draft);
        }
        options
            .build(&schema)
            .map(Arc::new)
            .map_err(|e| format!("schema does not compile: {e}"))
    })
    .clone()
}

/// The built-in Kubernetes validator for `apiVersion/kind` in Kubernetes `version` (a
/// supported minor), or None if that version has no such kind. Compiled on first use; a
/// kind whose definitions are the same in several minors is compiled once for all.
pub fn kubernetes_validator(
    version: &str,
    api_version: &str,
    kind: &str,
) -> Option<Arc<Validator>> {
    type ByKind = Mutex<HashMap<String, Option<Arc<Validator>>>>;
    static BY_KIND: OnceLock<ByKind> = OnceLock::new();
    let by_kind = BY_KIND.get_or_init(Default::default);
    let key = format!("{version}:{api_version}/{kind}");
    if let Some(hit) = by_kind.lock().expect("poisoned").get(&key) {
        return hit.clone();
    }
    let validator = closure_of(version, api_version, kind).and_then(|(name, needed)| {
        // The cache key is the content: the root name and every (name, digest) reached.
        let mut content_key = format!("k8s:{name}");
        for (n, d) in &needed {
            content_key.push_str(&format!(" {n}={d}"));
        }
        let store = store();
        // The files declare 2020-12, but use only draft-4 keywords (a `$ref`'s siblings are
        // descriptions), and draft 4 validates the fleet markedly faster.
        cached_with(content_key, Some(jsonschema::Draft::Draft4), || {
            let definitions: Map<String, Json> = needed
                .iter()
                .map(|(n, d)| {
                    let text = store.get(d).expect("vendored digest in store");
                    let mut def = serde_json::from_str(text).expect("vendored definition parses");
                    bound_integer_formats(&mut def);
                    (n.clone(), def)
                })
                .collect();
            json!({ "$ref": format!("#/definitions/{name}"), "definitions": definitions })
        })
        .ok()
    });
    by_kind
        .lock()
        .expect("poisoned")
        .insert(key, validator.clone());
    validator
}

/// Kubernetes' integers are `format: int32` or `int64`, which JSON Schema does not check
/// for numbers: the bounds are added, so `replicas: 3000000000` is refused as the API
/// server refuses it.
fn bound_integer_formats(schema: &mut Json) {
    match schema {
        Json::Object(map) => {
            let bounds = match map.get("format").and_then(Json::as_str) {
                Some("int32") => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
                Some("int64") => Some((i64::MIN, i64::MAX)),
                _ => None,
            };
            // `"integer"`, or `["integer", "null"]` for optional fields.
            let integer = match map.get("type") {
                Some(Json::String(t)) => t == "integer",
                Some(Json::Array(ts)) => ts.iter().any(|t| t == "integer"),
                _ => false,
            };
            if let Some((min, max)) = bounds
                && integer
            {
                map.entry("minimum").or_insert(json!(min));
                map.entry("maximum").or_insert(json!(max));
            }
            map.values_mut().for_each(bound_integer_formats);
        }
        Json::Array(items) => items.iter_mut().for_each(bound_integer_formats),
        _ => {}
    }
}

/// The root definition name of a kind and every (name, digest) it reaches, sorted.
fn closure_of(
    version: &str,
    api_version: &str,
    kind: &str,
) -> Option<(String, Vec<(String, &'static str)>)> {
    let m = minor(version)?;
    let name = m.kinds.get(&format!("{api_version}/{kind}"))?.clone();
    let store = store();
    let mut seen: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut todo = vec![name.clone()];
    while let Some(n) = todo.pop() {
        if seen.contains_key(&n) {
            continue;
        }
        let Some(digest) = m.definitions.get(&n) else {
            continue;
        };
        let Some((&d, &text)) = store.get_key_value(digest.as_str()) else {
            continue;
        };
        seen.insert(n, d);
        // The stored text is compact JSON: refs read as `"$ref":"#/definitions/NAME"`.
        const REF: &str = "\"$ref\":\"#/definitions/";
        for (at, _) in text.match_indices(REF) {
            let rest = &text[at + REF.len()..];
            if let Some(end) = rest.find('"') {
                todo.push(rest[..end].to_string());
            }
        }
    }
    Some((name, seen.into_iter().collect()))
}

/// The keys that identify the items of a list field of a built-in kind, as its schema
/// declares them (`x-kubernetes-list-map-keys`, else `x-kubernetes-patch-merge-key`):
/// `["name"]` for a pod's containers, `["containerPort", "protocol"]` for their ports.
/// `path` is the field's map keys from the object's root, list indexes left out
/// (`["spec", "template", "spec", "containers", "env"]`). The newest supported minor that
/// serves the kind is read. `None`: the kind or field is unknown; `Some([])`: a list whose
/// items have no identity (an atomic list or a set).
pub fn list_keys(api_version: &str, kind: &str, path: &[&str]) -> Option<Vec<String>> {
    type ByField = Mutex<HashMap<String, Option<Vec<String>>>>;
    static BY_FIELD: OnceLock<ByField> = OnceLock::new();
    let by_field = BY_FIELD.get_or_init(Default::default);
    let key = format!("{api_version}/{kind} {}", path.join("\u{1f}"));
    if let Some(hit) = by_field.lock().expect("poisoned").get(&key) {
        return hit.clone();
    }
    let keys = VERSIONS
        .iter()
        .rev()
        .map(|(v, _)| *v)
        .find(|v| has_kind(v, api_version, kind))
        .and_then(|v| list_keys_in(v, api_version, kind, path));
    by_field.lock().expect("poisoned").insert(key, keys.clone());
    keys
}

fn list_keys_in(
    version: &str,
    api_version: &str,
    kind: &str,
    path: &[&str],
) -> Option<Vec<String>> {
    let m = minor(version)?;
    let definition = |name: &str| -> Option<Json> {
        let text = store().get(m.definitions.get(name)?.as_str())?;
        serde_json::from_str(text).ok()
    };
    // A `$ref` resolved; an array's items entered: where the next key's properties are.
    let resolve = |mut node: Json| -> Option<Json> {
        for _ in 0..32 {
            if let Some(name) = node
                .get("$ref")
                .and_then(Json::as_str)
                .and_then(|r| r.strip_prefix("#/definitions/"))
            {
                node = definition(name)?;
            } else if let Some(items) = node.get("items") {
                node = items.clone();
            } else {
                return Some(node);
            }
        }
        None
    };
    let mut node = definition(m.kinds.get(&format!("{api_version}/{kind}"))?)?;
    for key in path {
        node = resolve(node)?.get("properties")?.get(*key)?.clone();
    }
    // The list's own schema carries the keys, beside its `items`.
    if let Some(keys) = node
        .get("x-kubernetes-list-map-keys")
        .and_then(Json::as_array)
    {
        return Some(
            keys.iter()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect(),
        );
    }
    if let Some(key) = node
        .get("x-kubernetes-patch-merge-key")
        .and_then(Json::as_str)
    {
        return Some(vec![key.to_string()]);
    }
    node.get("items").map(|_| Vec::new())
}

/// CRD versions: `group/version/Kind` → the version's openAPIV3Schema, from a
/// CustomResourceDefinition object.
pub fn crd_schemas(crd: &Node) -> Vec<(String, Json, Option<crate::source::Origin>)> {
    let text = |path: &[&str]| {
        crd.lookup(path.iter().copied())
            .and_then(Node::as_str)
            .map(str::to_string)
    };
    let (Some(group), Some(kind)) = (text(&["spec", "group"]), text(&["spec", "names", "kind"]))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for version in crd
        .lookup(["spec", "versions"])
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let (Some(name), Some(schema)) = (
            version.get("name").and_then(Node::as_str),
            version.lookup(["schema", "openAPIV3Schema"]),
        ) else {
            continue;
        };
        out.push((
            format!("{group}/{name}/{kind}"),
            strict_openapi(schema.to_json()),
            schema.origin.clone(),
        ));
    }
    out
}

/// An openAPIV3Schema as strict JSON Schema: `nullable` becomes a null type, and objects
/// that list properties reject unknown fields unless they preserve them (the API server
/// would silently prune them; kcc reports them, as kubeconform's strict mode does).
fn strict_openapi(mut schema: Json) -> Json {
    fn walk(v: &mut Json) {
        match v {
            Json::Object(m) => {
                if m.get("nullable") == Some(&Json::Bool(true))
                    && let Some(Json::String(t)) = m.get("type").cloned()
                {
                    m.insert("type".into(), json!([t, "null"]));
                }
                let preserves =
                    m.get("x-kubernetes-preserve-unknown-fields") == Some(&Json::Bool(true));
                if m.contains_key("properties")
                    && !m.contains_key("additionalProperties")
                    && !preserves
                {
                    m.insert("additionalProperties".into(), Json::Bool(false));
                }
                m.values_mut().for_each(walk);
            }
            Json::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    // Every object has these, whatever the CRD lists.
    if let Some(Json::Object(props)) = schema.get_mut("properties") {
        for key in ["apiVersion", "kind"] {
            props.entry(key).or_insert(json!({ "type": "string" }));
        }
        props
            .entry("metadata")
            .or_insert(json!({ "type": "object" }));
    }
    schema
}

/// The validator for a CRD version's schema (compiled once per distinct schema).
pub fn crd_validator(schema: &Json) -> Result<Arc<Validator>, String> {
    use sha2::{Digest, Sha256};
    let text = schema.to_string();
    let digest: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    cached(format!("crd:{digest}"), || schema.clone())
}

/// The validator of a chart's values.schema.json (compiled once per process and chart).
pub fn values_validator(schema_text: &str) -> Result<Arc<Validator>, String> {
    use sha2::{Digest, Sha256};
    let schema: Json =
        serde_json::from_str(schema_text).map_err(|e| format!("not valid JSON: {e}"))?;
    // By content: two versions of a chart (side by side, or the two sides of `diff
    // --base`) have schemas of their own under one chart name.
    let digest = Sha256::digest(schema_text.as_bytes());
    let key: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    cached_with(format!("values:{key}"), None, || schema)
}

/// Validates an object; values are left out of messages for Secrets.
pub fn violations(validator: &Validator, object: &Node, secret: bool) -> Vec<Violation> {
    let instance = json_without_nulls(object);
    let mut out: Vec<Violation> = validator
        .iter_errors(&instance)
        .flat_map(|e| crate::schema_errors::problems(&e, &|_| secret))
        .map(|p| Violation {
            pointer: p.pointer,
            message: p.message,
        })
        .collect();
    out.sort_by(|a, b| {
        a.pointer
            .cmp(&b.pointer)
            .then_with(|| a.message.cmp(&b.message))
    });
    out.dedup();
    out
}

/// The API server treats an explicit null like an absent field (`creationTimestamp: null`
/// in generated CRDs); the strict schemas allow no nulls, so drop them first.
fn json_without_nulls(node: &Node) -> Json {
    match &node.value {
        Value::Map(m) => Json::Object(
            m.iter()
                .filter(|(_, v)| !matches!(v.value, Value::Null))
                .map(|(k, v)| (k.clone(), json_without_nulls(v)))
                .collect(),
        ),
        Value::Seq(s) => Json::Array(s.iter().map(json_without_nulls).collect()),
        _ => node.to_json(),
    }
}

/// Follows a JSON pointer (`/spec/containers/0/image`) into a node, as far as it goes.
pub fn node_at<'a>(root: &'a Node, pointer: &str) -> &'a Node {
    let mut node = root;
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        match node.lookup([part.as_str()]) {
            Some(n) => node = n,
            None => break,
        }
    }
    node
}

/// A JSON pointer as a dotted path for messages: `/spec/ports/0/port` → `spec.ports[0].port`.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        if part.parse::<usize>().is_ok() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part.replace("~1", "/").replace("~0", "~"));
        }
    }
    if out.is_empty() {
        "(object)".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::yaml::load_one;

    fn node(text: &str) -> Node {
        load_one(&SourceFile::new("t", text)).unwrap()
    }

    #[test]
    fn kubernetes_kinds_validate_strictly() {
        let v = kubernetes_validator("1.23", "v1", "Namespace").unwrap();
        assert!(
            violations(
                &v,
                &node("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"),
                false
            )
            .is_empty()
        );
        let bad = violations(
            &v,
            &node("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labelz: {}}\n"),
            false,
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].pointer, "/metadata");
        assert!(kubernetes_validator("1.23", "v1", "Nope").is_none());
        assert!(kubernetes_validator("1.25", "policy/v1beta1", "PodSecurityPolicy").is_none());
        assert_eq!(
            availability("1.25", "policy/v1beta1", "PodDisruptionBudget"),
            Availability::Removed { removed_in: "1.25" }
        );
        assert_eq!(
            replacement("1.25", "policy/v1beta1", "PodDisruptionBudget").as_deref(),
            Some("policy/v1")
        );
        assert_eq!(
            availability("1.23", "policy/v1beta1", "PodSecurityPolicy"),
            Availability::Deprecated { removed_in: "1.25" }
        );
        assert_eq!(
            replacement("1.25", "policy/v1beta1", "PodSecurityPolicy"),
            None
        );
        assert_eq!(supported_version("v1.29.3"), Some("1.29"));
        assert_eq!(supported_version("1.22"), None);
    }

    #[test]
    fn pointers_read_as_paths() {
        assert_eq!(dotted("/spec/ports/0/port"), "spec.ports[0].port");
        assert_eq!(dotted(""), "(object)");
    }
}
