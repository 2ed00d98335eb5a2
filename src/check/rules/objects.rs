//! Object rules: one object rendered twice in a cluster (`objects/duplicate`), and
//! namespaced objects in a namespace the cluster does not have (`objects/namespace`).
//!
//! Whether a kind is namespaced comes from the CRDs the cluster renders (`spec.scope`),
//! else from a list of cluster-scoped built-in (and well-known custom) kinds; any other
//! kind is namespaced. A namespaced object without `metadata.namespace` lands in its
//! release's namespace, as helm installs it.

use std::collections::{BTreeSet, HashMap};

use crate::check::{ClusterView, trace_key, trace_value};
use crate::diagnostic::Diagnostic;
use crate::manifest::Object;
use crate::render::{Fleet, ReleaseRender};
use crate::source::Origin;
use crate::yaml::Node;

/// Namespaces every cluster has without creating them.
pub const BUILTIN_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Custom kinds that are cluster-scoped when no rendered CRD says otherwise: calico's and
/// cert-manager's (whose CRDs a cluster may not render). Kubernetes' own are
/// [`KUBERNETES_CLUSTER_SCOPED`](crate::manifest::KUBERNETES_CLUSTER_SCOPED).
const CUSTOM_CLUSTER_SCOPED: &[&str] = &[
    "BGPConfiguration",
    "BGPPeer",
    "BlockAffinity",
    "CalicoNodeStatus",
    "ClusterInformation",
    "FelixConfiguration",
    "GlobalNetworkPolicy",
    "GlobalNetworkSet",
    "HostEndpoint",
    "IPAMBlock",
    "IPAMConfig",
    "IPAMHandle",
    "IPPool",
    "IPReservation",
    "KubeControllersConfiguration",
    "ClusterIssuer",
];

/// Which kinds are namespaced in one cluster.
pub struct Scopes {
    /// (group, kind) → namespaced, from the cluster's CRDs.
    crds: HashMap<(String, String), bool>,
}

impl Scopes {
    pub fn of(view: &ClusterView) -> Scopes {
        let mut crds = HashMap::new();
        for (_, object) in view.objects() {
            if object.id.kind != "CustomResourceDefinition" {
                continue;
            }
            let spec = |path: &[&str]| {
                object
                    .body
                    .lookup(std::iter::once("spec").chain(path.iter().copied()))
                    .and_then(Node::as_str)
                    .map(str::to_string)
            };
            if let (Some(group), Some(kind)) = (spec(&["group"]), spec(&["names", "kind"])) {
                let namespaced = spec(&["scope"]).as_deref() != Some("Cluster");
                crds.insert((group, kind), namespaced);
            }
        }
        Scopes { crds }
    }

    pub fn namespaced(&self, object: &Object) -> bool {
        let key = (object.id.group().to_string(), object.id.kind.clone());
        match self.crds.get(&key) {
            Some(namespaced) => *namespaced,
            None => {
                let kind = object.id.kind.as_str();
                !crate::manifest::KUBERNETES_CLUSTER_SCOPED.contains(&kind)
                    && !CUSTOM_CLUSTER_SCOPED.contains(&kind)
            }
        }
    }

    /// The namespace the object is installed into (None: cluster-scoped), and whether its
    /// metadata names it (else it is the release's).
    pub fn namespace<'a>(
        &self,
        object: &'a Object,
        release_ns: &'a str,
    ) -> Option<(&'a str, bool)> {
        if !self.namespaced(object) {
            return None;
        }
        if object.id.namespace.is_empty() {
            Some((release_ns, false))
        } else {
            Some((object.id.namespace.as_str(), true))
        }
    }
}

/// The namespace kcc.yaml gives a release.
pub(super) fn release_namespace<'a>(fleet: &'a Fleet, release: &ReleaseRender) -> &'a str {
    fleet
        .project
        .release(&release.release)
        .map_or("", |r| r.namespace.as_str())
}

/// `objects/duplicate` and `objects/namespace` for one cluster.
pub fn cluster(fleet: &Fleet, view: &ClusterView) -> Vec<Diagnostic> {
    let scopes = Scopes::of(view);
    let mut out = duplicates(fleet, view, &scopes);
    // The namespace may be created by a release that did not render (see `incomplete`).
    if !view.incomplete {
        out.extend(namespaces(fleet, view, &scopes));
    }
    out
}

/// `objects/duplicate`: one (group, kind, namespace, name) rendered twice in a cluster.
fn duplicates(fleet: &Fleet, view: &ClusterView, scopes: &Scopes) -> Vec<Diagnostic> {
    let mut seen: HashMap<(String, String, String, String), (&ReleaseRender, &Object)> =
        HashMap::new();
    let mut out = Vec::new();
    for (release, object) in view.objects() {
        let ns = scopes
            .namespace(object, release_namespace(fleet, release))
            .map_or("", |(ns, _)| ns);
        let key = (
            object.id.group().to_string(),
            object.id.kind.clone(),
            ns.to_string(),
            object.id.name.clone(),
        );
        match seen.get(&key) {
            Some((first_release, first)) => {
                let what = if ns.is_empty() {
                    format!("{} {}", object.id.kind, object.id.name)
                } else {
                    format!("{} {ns}/{}", object.id.kind, object.id.name)
                };
                out.push(
                    Diagnostic::error(
                        "objects/duplicate",
                        format!(
                            "{what} is rendered twice in a cluster: by release `{}` ({}) and release `{}` ({})",
                            first_release.release,
                            first.source,
                            release.release,
                            object.source
                        ),
                    )
                    .at(
                        // The values key that named one of the two, if one did.
                        trace_key(&release.values, &object.id.name)
                            .or_else(|| trace_key(&first_release.values, &object.id.name))
                            .or(object.origin.as_ref()),
                    )
                    .in_cluster(&view.cluster.name)
                    .note("helm refuses to install an object another release owns; render it once"),
                );
            }
            None => {
                seen.insert(key, (release, object));
            }
        }
    }
    out
}

/// `objects/namespace`: every namespaced object is in a namespace the cluster creates or
/// has built in.
fn namespaces(fleet: &Fleet, view: &ClusterView, scopes: &Scopes) -> Vec<Diagnostic> {
    let created: BTreeSet<&str> = view
        .objects()
        .filter(|(_, o)| o.id.kind == "Namespace" && o.id.group().is_empty())
        .map(|(_, o)| o.id.name.as_str())
        .collect();
    let mut out = Vec::new();
    for (release, object) in view.objects() {
        let Some((ns, explicit)) = scopes.namespace(object, release_namespace(fleet, release))
        else {
            continue;
        };
        if created.contains(ns) || BUILTIN_NAMESPACES.contains(&ns) {
            continue;
        }
        let origin: Option<&Origin> = if explicit {
            trace_value(&release.values, ns)
                .or_else(|| {
                    object
                        .body
                        .lookup(["metadata", "namespace"])
                        .and_then(|n| n.origin.as_ref())
                })
                .or(object.origin.as_ref())
        } else {
            fleet
                .project
                .release(&release.release)
                .map(|r| &r.origin)
                .or(object.origin.as_ref())
        };
        let how = if explicit {
            "is in namespace"
        } else {
            "has no metadata.namespace, so helm installs it into its release's namespace"
        };
        out.push(
            Diagnostic::error(
                "objects/namespace",
                format!(
                    "{} {} ({}) {how} `{ns}`, which the cluster neither creates nor has built in",
                    object.id.kind, object.id.name, object.source
                ),
            )
            .at(origin)
            .in_release(&view.cluster.name, &release.release)
            .note("create the namespace (values `namespaces:`), or move the object to one that exists"),
        );
    }
    out
}
