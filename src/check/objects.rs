//! Object schemas: every rendered object against the Kubernetes 1.23 schemas, or, for a
//! custom resource, the openAPIV3Schema of its CRD (rendered in the same cluster, or a CRD
//! file under schemas/crds/). A kind with no schema is an error, not a silent pass.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

use super::{ClusterView, trace_key, trace_value};
use crate::diagnostic::{Diagnostic, Failure, Result, read_file};
use crate::manifest::Object;
use crate::schema::{self, crd_schemas, node_at};
use crate::source::SourceFile;
use crate::yaml::{Node, load_documents};

/// CRD schemas by `group/version/Kind`.
#[derive(Default, Clone)]
pub struct Crds(pub BTreeMap<String, Json>);

impl Crds {
    pub fn add_crd(&mut self, crd: &Node) {
        for (key, schema) in crd_schemas(crd) {
            self.0.insert(key, schema);
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
pub fn check(view: &ClusterView, extra: &Crds) -> Vec<Diagnostic> {
    let mut crds = extra.clone();
    for (_, object) in view.objects() {
        if object.id.kind == "CustomResourceDefinition" {
            crds.add_crd(&object.body);
        }
    }
    view.objects()
        .flat_map(|(release, object)| validate(object, &crds, Some(&release.values)))
        .collect()
}

/// Validates one object; `values` (the release's merged values) lets an error point at
/// the values line that set the offending value.
pub fn validate(object: &Object, crds: &Crds, values: Option<&Node>) -> Vec<Diagnostic> {
    let id = &object.id;
    let secret = id.kind == "Secret";
    let (validator, rule) = match schema::kubernetes_validator(&id.api_version, &id.kind) {
        Some(v) => (Ok(v), "schema/kubernetes"),
        None => match crds.0.get(&format!("{}/{}", id.api_version, id.kind)) {
            Some(s) => (schema::crd_validator(s), "schema/crd"),
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
