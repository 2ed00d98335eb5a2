//! Object schemas: every rendered object against the Kubernetes 1.23 schemas, or, for a
//! custom resource, the openAPIV3Schema of its CRD (rendered in the same cluster, or a CRD
//! file under schemas/crds/). A kind with no schema is an error, not a silent pass.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value as Json;

use super::{ClusterView, trace_key, trace_value};
use crate::diagnostic::{Diagnostic, Failure, Result, read_file};
use crate::manifest::Object;
use crate::schema::{self, crd_schemas, node_at};
use crate::source::SourceFile;
use crate::yaml::{Node, load_documents};

/// CRD schemas by `group/version/Kind`.
#[derive(Default, Clone)]
pub struct Crds(pub BTreeMap<String, Arc<CrdSchema>>);

/// A CRD version's schema and, once needed, its compiled validator.
pub struct CrdSchema {
    json: Json,
    validator: OnceLock<Result<Arc<jsonschema::Validator>, String>>,
}

impl CrdSchema {
    fn new(json: Json) -> Arc<CrdSchema> {
        Arc::new(CrdSchema {
            json,
            validator: OnceLock::new(),
        })
    }

    fn validator(&self) -> Result<Arc<jsonschema::Validator>, String> {
        self.validator
            .get_or_init(|| schema::crd_validator(&self.json))
            .clone()
    }
}

impl Crds {
    pub fn add_crd(&mut self, crd: &Node) {
        for (key, schema) in crd_schemas(crd) {
            self.0.insert(key, CrdSchema::new(schema));
        }
    }

    /// Every CRD in the YAML files of `dir` (schemas/crds/ of a project), if it exists.
    pub fn load_dir(dir: &Path) -> Result<Crds> {
        let mut crds = Crds::default();
        if !dir.is_dir() {
            return Ok(crds);
        }
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| Failure::Fatal(format!("cannot list {}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        paths.sort();
        for path in paths {
            crds.add_file(&path)?;
        }
        Ok(crds)
    }

    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let file = SourceFile::new(path.display().to_string(), read_file(path)?);
        for doc in load_documents(&file)? {
            if doc.get("kind").and_then(Node::as_str) == Some("CustomResourceDefinition") {
                self.add_crd(&doc);
            }
        }
        Ok(())
    }
}

/// Checks every object of a cluster; CRDs the cluster renders join `extra`.
pub fn check(view: &ClusterView, extra: &Crds, shared: &Shared) -> Vec<Diagnostic> {
    let mut crds = extra.clone();
    for (_, object) in view.objects() {
        if object.id.kind == "CustomResourceDefinition" {
            for (key, schema) in shared.crd_schemas(object) {
                crds.0.insert(key, schema);
            }
        }
    }
    view.objects()
        .flat_map(|(release, object)| {
            let found = if Arc::strong_count(&object.body) > 1
                && object.id.kind == "CustomResourceDefinition"
            {
                shared.validate(object, &crds)
            } else {
                validate(object, &crds, Some(&release.values))
            };
            found
                .into_iter()
                .map(|d| d.in_release(&view.cluster.name, &release.release))
        })
        // The CRD of a custom resource may be in a release that did not render.
        .filter(|d| !(view.incomplete && d.rule == "schema/unknown-kind"))
        .collect()
}

/// A CRD's versions: `group/version/Kind` and its schema.
type CrdVersions = Vec<(String, Arc<CrdSchema>)>;

/// Work on objects that every cluster shares (a chart's CRDs are one `Arc` in all of
/// them), done once per check instead of once per cluster. Keys are the shared bodies'
/// addresses, valid while the renders live.
#[derive(Default)]
pub struct Shared {
    schemas: Mutex<HashMap<usize, CrdVersions>>,
    diagnostics: Mutex<HashMap<usize, Vec<Diagnostic>>>,
}

impl Shared {
    fn key(object: &Object) -> usize {
        Arc::as_ptr(&object.body) as usize
    }

    fn crd_schemas(&self, crd: &Object) -> CrdVersions {
        let key = Self::key(crd);
        if let Some(hit) = self.schemas.lock().expect("poisoned").get(&key) {
            return hit.clone();
        }
        let schemas: Vec<_> = crd_schemas(&crd.body)
            .into_iter()
            .map(|(k, s)| (k, CrdSchema::new(s)))
            .collect();
        self.schemas
            .lock()
            .expect("poisoned")
            .insert(key, schemas.clone());
        schemas
    }

    /// A CRD object is checked against the built-in CustomResourceDefinition schema, the
    /// same in every cluster.
    fn validate(&self, object: &Object, crds: &Crds) -> Vec<Diagnostic> {
        let key = Self::key(object);
        if let Some(hit) = self.diagnostics.lock().expect("poisoned").get(&key) {
            return hit.clone();
        }
        let found = validate(object, crds, None);
        self.diagnostics
            .lock()
            .expect("poisoned")
            .insert(key, found.clone());
        found
    }
}

/// Validates one object; `values` (the release's merged values) lets an error point at
/// the values line that set the offending value.
pub fn validate(object: &Object, crds: &Crds, values: Option<&Node>) -> Vec<Diagnostic> {
    let id = &object.id;
    let secret = id.kind == "Secret";
    let (validator, rule) = match schema::kubernetes_validator(&id.api_version, &id.kind) {
        Some(v) => (Ok(v), "schema/kubernetes"),
        None => match crds.0.get(&format!("{}/{}", id.api_version, id.kind)) {
            Some(s) => (s.validator(), "schema/crd"),
            None => {
                return vec![
                    Diagnostic::error(
                        "schema/unknown-kind",
                        format!("no schema for {} {}: not a Kubernetes 1.23 kind, and no CRD defines it", id.api_version, id.kind),
                    )
                    .at(object.origin.as_ref())
                    .note(format!("in {} ({})", id, object.source))
                    .note("render its CustomResourceDefinition in the same cluster, or add the CRD file under schemas/crds/ (kcc validate: --crds FILE)"),
                ];
            }
        },
    };
    let validator = match validator {
        Ok(v) => v,
        Err(e) => {
            return vec![
                Diagnostic::error(
                    "schema/crd",
                    format!("the CRD schema for {id} is invalid: {e}"),
                )
                .at(object.origin.as_ref()),
            ];
        }
    };
    schema::violations(&validator, &object.body, secret)
        .into_iter()
        .map(|v| {
            let mut at = node_at(&object.body, &v.pointer);
            // "Additional properties are not allowed ('x' was unexpected)": point at `x`.
            let unexpected = unexpected_key(&v.message);
            if let Some(child) = unexpected.and_then(|k| at.get(k)) {
                at = child;
            }
            let traced = match (&at.value, values) {
                _ if secret => None,
                (_, Some(values)) if unexpected.is_some() => {
                    trace_key(values, unexpected.unwrap_or_default())
                }
                (crate::yaml::Value::Str(s), Some(values)) => trace_value(values, s),
                (crate::yaml::Value::Int(i), Some(values)) => trace_value(values, &i.to_string()),
                _ => None,
            };
            let mut d = Diagnostic::error(
                rule,
                format!("{id}: {}: {}", schema::dotted(&v.pointer), v.message),
            )
            .at(traced.or(at.origin.as_ref()).or(object.origin.as_ref()));
            if traced.is_some() {
                d = d.note(format!("rendered by {}", object.source));
            }
            d
        })
        .collect()
}

/// The first key named in a jsonschema "additional properties" message.
fn unexpected_key(message: &str) -> Option<&str> {
    let rest = message.split_once("('")?.1;
    Some(rest.split_once('\'')?.0)
}
