//! Object schemas: every rendered object against the schemas of its cluster's Kubernetes
//! version (an API that version no longer or not yet serves is reported as such), or, for a
//! custom resource, the openAPIV3Schema of its CRD (rendered in the same cluster, or a CRD
//! file under schemas/crds/). A kind with no schema is an error, not a silent pass.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use serde_json::Value as Json;

use super::{ClusterView, trace_key, trace_value};
use crate::diagnostic::{Diagnostic, Failure, Result, read_file};
use crate::manifest::Object;
use crate::schema::{self, crd_schemas, node_at};
use crate::source::{Origin, SourceFile};
use crate::yaml::{Node, Value, load_documents};

/// CRD schemas by `group/version/Kind`.
#[derive(Default, Clone)]
pub struct Crds(pub BTreeMap<String, Arc<CrdSchema>>);

/// A CRD version's schema and, once needed, its compiled validator.
pub struct CrdSchema {
    json: Json,
    /// Where the CRD writes it (its `openAPIV3Schema`): an invalid schema is reported there.
    origin: Option<Origin>,
    validator: OnceLock<Result<Arc<jsonschema::Validator>, String>>,
}

impl CrdSchema {
    fn new(json: Json, origin: Option<Origin>) -> Arc<CrdSchema> {
        Arc::new(CrdSchema {
            json,
            origin,
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
        for (key, schema, origin) in crd_schemas(crd) {
            self.0.insert(key, CrdSchema::new(schema, origin));
        }
    }

    /// Every CRD in the YAML files of the directory `dir` of the project at `root`
    /// (schemas/crds/), if it exists. Its files are read like any project file: a link out
    /// of the project is refused, not read.
    pub fn load_dir(root: &Path, dir: &str) -> Result<Crds> {
        let mut crds = Crds::default();
        let path = root.join(dir);
        if !crate::tree::is_dir(&path) {
            return Ok(crds);
        }
        let mut names: Vec<_> = crate::tree::read_dir(&path)
            .map_err(|e| Failure::Fatal(format!("cannot list {}: {e}", path.display())))?
            .into_iter()
            .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .collect();
        names.sort();
        for name in names {
            let text = crate::confine::read_inside(&path.join(&name), root)?;
            crds.add_text(SourceFile::new(format!("{dir}/{name}"), text))?;
        }
        Ok(crds)
    }

    /// Every CRD in the file at `path` (`kcc validate --crds FILE`).
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        self.add_text(SourceFile::new(
            path.display().to_string(),
            read_file(path)?,
        ))
    }

    /// The CRDs of a file given as CRDs: anything else in it is an error, not silently no
    /// schema (an object put there by mistake, or a CRD with its `kind` misspelt). Empty
    /// documents are fine.
    fn add_text(&mut self, file: Arc<SourceFile>) -> Result<()> {
        let mut errors = Vec::new();
        for doc in load_documents(&file)? {
            let kind = doc.get("kind");
            match kind.and_then(Node::as_str) {
                Some("CustomResourceDefinition") => self.add_crd(&doc),
                _ if matches!(doc.value, Value::Null) => {}
                other => errors.push(
                    Diagnostic::error(
                        "schema/crd",
                        match other {
                            Some(kind) => format!(
                                "a `{kind}` where kcc expects only CustomResourceDefinitions"
                            ),
                            None => "a document without a `kind` where kcc expects only CustomResourceDefinitions".to_string(),
                        },
                    )
                    .at(kind.unwrap_or(&doc).origin.as_ref())
                    .note("CRD files (schemas/crds/, `kcc validate --crds`) give the schemas of custom resources; objects to check go elsewhere"),
                ),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Failure::Config(errors))
        }
    }
}

/// Checks every object of a cluster against its Kubernetes version; CRDs the cluster
/// renders join `extra`. With `target` (a later minor than the cluster's), also what that
/// version would break, as `schema/upgrade` warnings.
pub fn check(
    view: &ClusterView,
    extra: &Crds,
    shared: &Shared,
    target: Option<&'static str>,
) -> Vec<Diagnostic> {
    let version = view.cluster.kubernetes_minor;
    let mut crds = extra.clone();
    for (_, object) in view.objects() {
        if object.id.kind == "CustomResourceDefinition" {
            for (key, schema) in shared.crd_schemas(object) {
                crds.0.insert(key, schema);
            }
        }
    }
    let target = target.filter(|t| newer(t, version));
    view.objects()
        .flat_map(|(release, object)| {
            let run = |version: &'static str| {
                let is_shared = Arc::strong_count(&object.body) > 1;
                // Copies of a document other files render alike share only their canonical
                // YAML (see parse_cache): the same content.
                let same_content = Arc::strong_count(&object.canonical) > 1;
                if is_shared && object.id.kind == "CustomResourceDefinition" {
                    shared.validate(object, &crds, version)
                } else if is_shared || same_content {
                    shared.validate_shared(object, &crds, &release.values, version)
                } else {
                    validate(object, &crds, Some(&release.values), version)
                }
            };
            let mut found = run(version);
            if let Some(target) = target {
                let upgrade = upgrade_breaks(&found, run(target), version, target);
                found.extend(upgrade);
            }
            found
                .into_iter()
                .map(|d| d.in_release(&view.cluster.name, &release.release))
        })
        // The CRD of a custom resource may be in a release that did not render.
        .filter(|d| !(view.incomplete && d.rule == "schema/unknown-kind"))
        .collect()
}

/// Whether minor `a` is later than minor `b` (`1.25` > `1.9`).
fn newer(a: &str, b: &str) -> bool {
    let key = |v: &str| {
        v.split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    key(a) > key(b)
}

/// What `target` reports and `version` does not: the errors an upgrade would bring, as
/// `schema/upgrade` errors (asked for with `--target-version`, so they fail the check).
fn upgrade_breaks(
    own: &[Diagnostic],
    at_target: Vec<Diagnostic>,
    version: &str,
    target: &str,
) -> Vec<Diagnostic> {
    at_target
        .into_iter()
        .filter(|d| d.severity == crate::diagnostic::Severity::Error)
        .filter(|d| !own.iter().any(|o| o.rule == d.rule && o.message == d.message))
        .map(|d| {
            let mut w = Diagnostic::error(
                "schema/upgrade",
                format!("breaks on Kubernetes {target}: {}", d.message),
            )
            .at(d.origin.as_ref())
            .note(format!(
                "this cluster runs {version}; `kcc check --target-version {target}` checks it as if it ran {target} ({})",
                d.rule
            ));
            for n in d.notes {
                w = w.note(n);
            }
            w
        })
        .collect()
}

/// A CRD's versions: `group/version/Kind` and its schema.
type CrdVersions = Vec<(String, Arc<CrdSchema>)>;

/// Work on objects that every cluster shares (a chart's CRDs are one `Arc` in all of
/// them), done once per check instead of once per cluster. Keys are the shared bodies'
/// addresses; each entry keeps a weak reference to its body, so that once the body is
/// dropped (clusters are checked as a stream) a new body at the same address is a miss,
/// never another object's result.
#[derive(Default)]
pub struct Shared {
    schemas: Cache<usize, CrdVersions>,
    diagnostics: Cache<(usize, &'static str), Vec<Diagnostic>>,
    /// Shared objects of Kubernetes' own kinds found valid for a version: valid in every
    /// cluster on that version (their schema does not depend on the cluster). By canonical
    /// YAML, which objects of the same content share.
    clean: Mutex<HashMap<(usize, &'static str), Canonical>>,
}

/// A weak reference to an object's canonical YAML, what objects of one content share.
type Canonical = Weak<OnceLock<String>>;

/// Results by body address, each with a weak reference to its body.
type Cache<K, V> = Mutex<HashMap<K, (Weak<Node>, V)>>;

impl Shared {
    fn key(object: &Object) -> usize {
        Arc::as_ptr(&object.body) as usize
    }

    /// A cached entry, if it is this very body's.
    fn hit<K: std::hash::Hash + Eq, V: Clone>(
        map: &Cache<K, V>,
        key: &K,
        object: &Object,
    ) -> Option<V> {
        let map = map.lock().expect("poisoned");
        let (body, value) = map.get(key)?;
        body.upgrade()
            .filter(|b| Arc::ptr_eq(b, &object.body))
            .map(|_| value.clone())
    }

    fn crd_schemas(&self, crd: &Object) -> CrdVersions {
        let key = Self::key(crd);
        if let Some(hit) = Self::hit(&self.schemas, &key, crd) {
            return hit;
        }
        let schemas: Vec<_> = crd_schemas(&crd.body)
            .into_iter()
            .map(|(k, s, origin)| (k, CrdSchema::new(s, origin)))
            .collect();
        self.schemas
            .lock()
            .expect("poisoned")
            .insert(key, (Arc::downgrade(&crd.body), schemas.clone()));
        schemas
    }

    /// [`validate`] of an object that several clusters share, remembering that it is
    /// valid: a clean object of a Kubernetes kind is checked once per version.
    fn validate_shared(
        &self,
        object: &Object,
        crds: &Crds,
        values: &Node,
        version: &'static str,
    ) -> Vec<Diagnostic> {
        let key = (Arc::as_ptr(&object.canonical) as usize, version);
        let clean = self.clean.lock().expect("poisoned").get(&key).cloned();
        if clean
            .and_then(|c| c.upgrade())
            .is_some_and(|c| Arc::ptr_eq(&c, &object.canonical))
        {
            return Vec::new();
        }
        let found = validate(object, crds, Some(values), version);
        let builtin = schema::has_kind(version, &object.id.api_version, &object.id.kind);
        if found.is_empty() && builtin {
            self.clean
                .lock()
                .expect("poisoned")
                .insert(key, Arc::downgrade(&object.canonical));
        }
        found
    }

    /// A CRD object is checked against the built-in CustomResourceDefinition schema, the
    /// same in every cluster.
    fn validate(&self, object: &Object, crds: &Crds, version: &'static str) -> Vec<Diagnostic> {
        let key = (Self::key(object), version);
        if let Some(hit) = Self::hit(&self.diagnostics, &key, object) {
            return hit;
        }
        let found = validate(object, crds, None, version);
        self.diagnostics
            .lock()
            .expect("poisoned")
            .insert(key, (Arc::downgrade(&object.body), found.clone()));
        found
    }
}

/// An apiVersion/kind that Kubernetes `version` does not serve although another supported
/// minor does (removed, or not yet added); None if no supported minor has it.
fn unavailable(object: &Object, version: &str) -> Option<Diagnostic> {
    let id = &object.id;
    let (api, kind) = (id.api_version.as_str(), id.kind.as_str());
    let replacement = || {
        match schema::replacement(version, api, kind) {
        Some(r) => format!("use {r}"),
        None if kind == "PodSecurityPolicy" => "no replacement API: use Pod Security Admission (namespace labels `pod-security.kubernetes.io/enforce`)".to_string(),
        None => format!("no other apiVersion of {kind} in {version}"),
    }
    };
    let d = match schema::availability(version, api, kind) {
        schema::Availability::Removed { removed_in } => Diagnostic::error(
            "schema/removed-api",
            format!("{api} {kind} removed in {removed_in}; {}", replacement()),
        ),
        schema::Availability::NotYet { added_in } => Diagnostic::error(
            "schema/unknown-kind",
            format!(
                "{api} {kind} is not served by Kubernetes {version}; it was added in {added_in}"
            ),
        ),
        _ => return None,
    };
    Some(
        d.at(object.origin.as_ref())
            .note(format!("rendered by {}", object.source)),
    )
}

/// `schema/deprecated-api`: served by `version`, gone in a later supported minor.
fn deprecated(object: &Object, version: &str) -> Option<Diagnostic> {
    let id = &object.id;
    let (api, kind) = (id.api_version.as_str(), id.kind.as_str());
    let schema::Availability::Deprecated { removed_in } = schema::availability(version, api, kind)
    else {
        return None;
    };
    let instead = match schema::replacement(removed_in, api, kind) {
        Some(r) if schema::has_kind(version, &r, kind) => {
            format!("use {r}, already served by {version}")
        }
        Some(r) => format!(
            "{r} replaces it from Kubernetes {}",
            first_with(&r, kind).unwrap_or(removed_in)
        ),
        None if kind == "PodSecurityPolicy" => "no replacement API: move to Pod Security Admission (namespace labels `pod-security.kubernetes.io/enforce`)".to_string(),
        None => "no replacement apiVersion".to_string(),
    };
    Some(
        Diagnostic::warning(
            "schema/deprecated-api",
            format!("{api} {kind} is removed in Kubernetes {removed_in}; {instead}"),
        )
        .at(object.origin.as_ref()),
    )
}

/// The first supported minor that serves `api kind`.
fn first_with(api: &str, kind: &str) -> Option<&'static str> {
    schema::supported_versions().find(|v| schema::has_kind(v, api, kind))
}

/// Validates one object against Kubernetes `version` (a supported minor); `values` (the
/// release's merged values) lets an error point at the values line that set the offending
/// value.
pub fn validate(
    object: &Object,
    crds: &Crds,
    values: Option<&Node>,
    version: &str,
) -> Vec<Diagnostic> {
    let id = &object.id;
    let secret = id.kind == "Secret";
    let mut found = Vec::new();
    let (validator, rule) = match schema::kubernetes_validator(version, &id.api_version, &id.kind) {
        Some(v) => {
            found.extend(deprecated(object, version));
            (Ok(v), "schema/kubernetes")
        }
        None => match crds.0.get(&format!("{}/{}", id.api_version, id.kind)) {
            Some(s) => (
                s.validator().map_err(|e| (e, s.origin.clone())),
                "schema/crd",
            ),
            None => {
                if let Some(d) = unavailable(object, version) {
                    return vec![d];
                }
                return vec![
                    Diagnostic::error(
                        "schema/unknown-kind",
                        format!("no schema for {} {}: not a Kubernetes {version} kind, and no CRD defines it", id.api_version, id.kind),
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
        // One diagnostic per CRD, at its schema, whichever objects use it.
        Err((e, at)) => {
            return vec![
                Diagnostic::error(
                    "schema/crd",
                    format!(
                        "the CRD schema of {} {} is invalid: {e}",
                        id.api_version, id.kind
                    ),
                )
                .at(at.as_ref().or(object.origin.as_ref())),
            ];
        }
    };
    found.extend(
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
                    (crate::yaml::Value::Int(i), Some(values)) => {
                        trace_value(values, &i.to_string())
                    }
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
            }),
    );
    found
}

/// The first key named in a jsonschema "additional properties" message.
fn unexpected_key(message: &str) -> Option<&str> {
    let rest = message.split_once("('")?.1;
    Some(rest.split_once('\'')?.0)
}
