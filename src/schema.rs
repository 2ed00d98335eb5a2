//! Object schemas: the vendored Kubernetes 1.23 "local-strict" schemas (embedded in the
//! binary) and CRD openAPIV3Schemas, each compiled once per process and shared.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::Validator;
use serde_json::{Map, Value as Json, json};

use crate::yaml::{Node, Value};

const DEFINITIONS: &str = include_str!("../schemas/kubernetes/v1.23/_definitions.json");
const INDEX: &str = include_str!("../schemas/kubernetes/v1.23/index.json");

/// One schema problem in an object: where (JSON pointer into the object) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub pointer: String,
    pub message: String,
}

struct Kubernetes {
    definitions: Map<String, Json>,
    /// `apiVersion/kind` → definition name.
    index: BTreeMap<String, String>,
}

fn kubernetes() -> &'static Kubernetes {
    static K8S: OnceLock<Kubernetes> = OnceLock::new();
    K8S.get_or_init(|| {
        let mut defs: Json =
            serde_json::from_str(DEFINITIONS).expect("vendored _definitions.json parses");
        let definitions = match defs.get_mut("definitions").map(Json::take) {
            Some(Json::Object(m)) => m,
            _ => panic!("vendored _definitions.json has no definitions"),
        };
        let index = serde_json::from_str(INDEX).expect("vendored index.json parses");
        Kubernetes { definitions, index }
    })
}

/// Compiled validators by cache key: `k8s:<apiVersion/kind>` or `crd:<digest of schema>`.
fn cache() -> &'static Mutex<HashMap<String, Arc<Validator>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Validator>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cached(key: String, build: impl FnOnce() -> Json) -> Result<Arc<Validator>, String> {
    cached_with(key, Some(jsonschema::Draft::Draft4), build)
}

/// Compiles (once per key) with `draft`, or the draft the schema's `$schema` names.
fn cached_with(
    key: String,
    draft: Option<jsonschema::Draft>,
    build: impl FnOnce() -> Json,
) -> Result<Arc<Validator>, String> {
    if let Some(v) = cache().lock().expect("schema cache poisoned").get(&key) {
        return Ok(Arc::clone(v));
    }
    let schema = build();
    let mut options = jsonschema::options().should_validate_formats(true);
    if let Some(draft) = draft {
        options = options.with_draft(draft);
    }
    let validator = options
        .build(&schema)
        .map_err(|e| format!("schema does not compile: {e}"))?;
    let validator = Arc::new(validator);
    cache()
        .lock()
        .expect("schema cache poisoned")
        .insert(key, Arc::clone(&validator));
    Ok(validator)
}

/// The built-in Kubernetes validator for `apiVersion/kind`, or None if Kubernetes 1.23 has
/// no such kind.
pub fn kubernetes_validator(api_version: &str, kind: &str) -> Option<Arc<Validator>> {
    let k8s = kubernetes();
    let name = k8s.index.get(&format!("{api_version}/{kind}"))?;
    cached(format!("k8s:{api_version}/{kind}"), || {
        // Only the definitions reachable from this kind: small schemas compile fast.
        let mut needed = BTreeMap::new();
        collect_refs(name, &k8s.definitions, &mut needed);
        json!({ "$ref": format!("#/definitions/{name}"), "definitions": needed })
    })
    .ok()
}

fn collect_refs(name: &str, all: &Map<String, Json>, needed: &mut BTreeMap<String, Json>) {
    if needed.contains_key(name) {
        return;
    }
    let Some(def) = all.get(name) else { return };
    needed.insert(name.to_string(), def.clone());
    let mut refs = Vec::new();
    find_refs(def, &mut refs);
    for r in refs {
        collect_refs(&r, all, needed);
    }
}

fn find_refs(value: &Json, out: &mut Vec<String>) {
    match value {
        Json::Object(m) => {
            if let Some(Json::String(r)) = m.get("$ref")
                && let Some(name) = r.strip_prefix("#/definitions/")
            {
                out.push(name.to_string());
            }
            m.values().for_each(|v| find_refs(v, out));
        }
        Json::Array(a) => a.iter().for_each(|v| find_refs(v, out)),
        _ => {}
    }
}

/// CRD versions: `group/version/Kind` → the version's openAPIV3Schema, from a
/// CustomResourceDefinition object.
pub fn crd_schemas(crd: &Node) -> Vec<(String, Json)> {
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
pub fn values_validator(chart: &str, schema_text: &str) -> Result<Arc<Validator>, String> {
    let schema: Json =
        serde_json::from_str(schema_text).map_err(|e| format!("not valid JSON: {e}"))?;
    cached_with(format!("values:{chart}"), None, || schema)
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
        let v = kubernetes_validator("v1", "Namespace").unwrap();
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
        assert!(kubernetes_validator("v1", "Nope").is_none());
    }

    #[test]
    fn pointers_read_as_paths() {
        assert_eq!(dotted("/spec/ports/0/port"), "spec.ports[0].port");
        assert_eq!(dotted(""), "(object)");
    }
}
