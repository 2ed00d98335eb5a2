//! `kcc check`: every diagnostic kcc can find in a rendered fleet: values schemas, object
//! schemas (Kubernetes and CRDs), and the rules (network, references, duplicates, fleet).

mod admission;
pub mod objects;
pub mod rules;
pub mod since;

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::manifest::Object;
use crate::project::Cluster;
use crate::render::{Fleet, ReleaseRender};
use crate::source::Origin;
use crate::yaml::{Node, Value};

/// One cluster's renders, as the rules see them.
pub struct ClusterView<'a> {
    pub cluster: &'a Cluster,
    /// Every rendered release of kcc.yaml for this cluster, installed or not, in kcc.yaml
    /// order.
    pub releases: Vec<&'a ReleaseRender>,
    /// Some release of the cluster failed to render: what references another object (a
    /// role, a namespace, a CRD) may be missing only because of that, so the rules that
    /// look for a missing target stay silent rather than echo the render error.
    pub incomplete: bool,
}

impl<'a> ClusterView<'a> {
    /// Groups renders by cluster, in kcc.yaml order; `failed` are the (cluster, release)
    /// pairs that did not render.
    pub fn group(
        fleet: &'a Fleet,
        renders: &'a [ReleaseRender],
        failed: &[(String, String)],
    ) -> Vec<ClusterView<'a>> {
        let mut by_cluster: BTreeMap<&str, Vec<&ReleaseRender>> = BTreeMap::new();
        for r in renders {
            by_cluster.entry(r.cluster.as_str()).or_default().push(r);
        }
        fleet
            .project
            .clusters
            .iter()
            .filter_map(|c| {
                by_cluster
                    .remove(c.name.as_str())
                    .map(|releases| ClusterView {
                        cluster: c,
                        releases,
                        incomplete: failed.iter().any(|(name, _)| *name == c.name),
                    })
            })
            .collect()
    }

    pub fn release(&self, name: &str) -> Option<&'a ReleaseRender> {
        self.releases.iter().copied().find(|r| r.release == name)
    }

    /// Every rendered object of the installed releases, with its release.
    pub fn objects(&self) -> impl Iterator<Item = (&'a ReleaseRender, &'a Object)> + '_ {
        self.releases
            .iter()
            .filter(|r| r.installed.yes)
            .flat_map(|r| r.objects.iter().map(move |o| (*r, o)))
    }

    /// The cluster's own values (`values/<cluster>/values.yaml` and what it merges over),
    /// as seen by its first release: keys such as `network` that no chart owns.
    pub fn values(&self) -> Option<&'a Node> {
        self.releases.first().map(|r| &*r.values)
    }
}

/// Where a value in a rendered object came from: the values leaf (of the release that
/// rendered it) holding the same scalar, if exactly one does.
pub fn trace_value<'n>(values: &'n Node, scalar: &str) -> Option<&'n Origin> {
    let mut found = Vec::new();
    collect_leaves(values, scalar, &mut found);
    match found.as_slice() {
        [one] => one.origin.as_ref(),
        _ => None,
    }
}

/// Where an unexpected key in a rendered object came from: the one values key of that name.
pub fn trace_key<'n>(values: &'n Node, key: &str) -> Option<&'n Origin> {
    fn walk<'n>(node: &'n Node, key: &str, found: &mut Vec<&'n Node>) {
        match &node.value {
            Value::Map(m) => {
                if let Some(n) = m.get(key) {
                    found.push(n);
                }
                m.values().for_each(|v| walk(v, key, found));
            }
            Value::Seq(s) => s.iter().for_each(|v| walk(v, key, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(values, key, &mut found);
    match found.as_slice() {
        [one] => one.origin.as_ref(),
        _ => None,
    }
}

fn collect_leaves<'n>(node: &'n Node, scalar: &str, found: &mut Vec<&'n Node>) {
    match &node.value {
        Value::Map(m) => m.values().for_each(|v| collect_leaves(v, scalar, found)),
        Value::Seq(s) => s.iter().for_each(|v| collect_leaves(v, scalar, found)),
        Value::Str(s) if s == scalar => found.push(node),
        Value::Int(i) if i.to_string() == scalar => found.push(node),
        _ => {}
    }
}

/// An upgrade to check for (`kcc check --target-version X.Y [-c CLUSTER]...`): the
/// Kubernetes minor, and the clusters to check against it (all when empty).
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub version: &'static str,
    pub clusters: &'a [String],
}

/// All diagnostics for a rendered fleet, in a stable order: per cluster in kcc.yaml order,
/// then the fleet-wide ones; one per cause. `failed` are the (cluster, release) pairs that
/// did not render (their errors are the caller's).
pub fn check(
    fleet: &Fleet,
    renders: &[ReleaseRender],
    failed: &[(String, String)],
    target: Option<Target<'_>>,
) -> crate::diagnostic::Result<Vec<Diagnostic>> {
    use rayon::prelude::*;
    let checker = Checker::new(fleet, target)?;
    let views = ClusterView::group(fleet, renders, failed);
    let per_cluster: Vec<(Vec<Diagnostic>, ClusterFacts)> =
        views.par_iter().map(|view| checker.cluster(view)).collect();
    let (diagnostics, facts): (Vec<_>, Vec<_>) = per_cluster.into_iter().unzip();
    let mut all: Vec<Diagnostic> = diagnostics.into_iter().flatten().collect();
    all.extend(checker.fleet(&facts, checker.files(&rules::Judged::default())));
    Ok(crate::diagnostic::dedup(all))
}

/// The checks of one fleet, built once and shared by its clusters: the CRD schemas of
/// `schemas/crds` and what clusters have in common (CRD validators). A cluster is checked
/// on its own ([`Checker::cluster`]); what the fleet-wide rules need of it is kept as
/// [`ClusterFacts`], so a caller can drop each cluster's renders as soon as it is checked.
pub struct Checker<'a> {
    fleet: &'a Fleet,
    target: Option<Target<'a>>,
    extra_crds: objects::Crds,
    shared: objects::Shared,
    /// The clusters' admission policies, compiled once per distinct set.
    admission: admission::Compiled,
}

/// One cluster rendered and checked ([`Checker::render_and_check`]).
pub struct CheckedCluster {
    pub partial: crate::render::Partial,
    /// The render errors, then what the checks found.
    pub diagnostics: Vec<Diagnostic>,
    pub facts: ClusterFacts,
}

/// What the fleet-wide rules need of a cluster: its ranges and AS numbers, with where they
/// were written.
pub struct ClusterFacts {
    pub cluster: String,
    pub network: crate::network::Network,
    pub asns: Vec<(u64, Option<Origin>)>,
    /// (chart, version) of each installed release.
    pub charts: Vec<(String, String)>,
    /// What the installed releases left unread, by values file (for `values/unused`);
    /// None when the cluster was not rendered.
    pub value_reads: Option<rules::unused::FileReads>,
    /// Every release of the cluster rendered.
    pub complete: bool,
}

impl ClusterFacts {
    /// A cluster none of whose releases rendered: nothing to compare.
    pub fn none(cluster: &str) -> ClusterFacts {
        ClusterFacts {
            cluster: cluster.to_string(),
            network: crate::network::Network::default(),
            asns: Vec::new(),
            charts: Vec::new(),
            value_reads: None,
            complete: false,
        }
    }
}

impl<'a> Checker<'a> {
    pub fn new(
        fleet: &'a Fleet,
        target: Option<Target<'a>>,
    ) -> crate::diagnostic::Result<Checker<'a>> {
        Ok(Checker {
            fleet,
            target,
            extra_crds: objects::Crds::load_dir(fleet.root(), "schemas/crds")?,
            shared: objects::Shared::default(),
            admission: admission::Compiled::default(),
        })
    }

    /// One cluster's diagnostics, and its facts for the fleet rules.
    pub fn cluster(&self, view: &ClusterView) -> (Vec<Diagnostic>, ClusterFacts) {
        let facts = rules::facts(self.fleet, view);
        // Without its group's values the cluster renders with the wrong defaults: its
        // objects would fail in ways that only repeat `values/missing-group`.
        let group_file = format!("values/{}.yaml", view.cluster.group);
        if !self.fleet.root().join(group_file).is_file() {
            return (Vec::new(), facts);
        }
        let target = self
            .target
            .filter(|t| t.clusters.is_empty() || t.clusters.contains(&view.cluster.name))
            .map(|t| t.version);
        let mut d = objects::check(view, &self.extra_crds, &self.shared, target);
        d.extend(values_version(view));
        d.extend(rules::cluster_rules(self.fleet, view));
        // Namespaces (their labels) or policies may be in a release that did not render.
        if !view.incomplete {
            d.extend(admission::check(self.fleet, view, &self.admission));
        }
        (d, facts)
    }

    /// Renders one cluster (what renders of it: a failing release does not stop the others)
    /// and checks it: the renders, the render errors with the findings, and its facts.
    pub fn render_and_check(&self, cluster: &Cluster) -> crate::diagnostic::Result<CheckedCluster> {
        let mut partial = self.fleet.render_partial(&crate::render::Selection {
            clusters: vec![cluster.name.clone()],
            ..Default::default()
        })?;
        let mut diagnostics = std::mem::take(&mut partial.errors);
        let views = ClusterView::group(self.fleet, &partial.renders, &partial.failed);
        let facts = match views.first() {
            Some(view) => {
                let (found, facts) = self.cluster(view);
                diagnostics.extend(found);
                facts
            }
            None => ClusterFacts::none(&cluster.name),
        };
        Ok(CheckedCluster {
            partial,
            diagnostics,
            facts,
        })
    }

    /// The rules about the project's files, judging the files `judged` says.
    pub fn files(&self, judged: &rules::Judged) -> rules::FileFindings {
        rules::file_rules(self.fleet, judged)
    }

    /// `clusters` (the clusters' checks), with the file rules beside them: those need no
    /// render.
    pub fn beside_file_rules<T: Send>(
        &self,
        judged: &rules::Judged,
        clusters: impl FnOnce() -> T + Send,
    ) -> (T, rules::FileFindings) {
        rayon::join(clusters, || self.files(judged))
    }

    /// The fleet-wide rules, over every cluster's facts in kcc.yaml order, with what the
    /// file rules found.
    pub fn fleet(&self, facts: &[ClusterFacts], files: rules::FileFindings) -> Vec<Diagnostic> {
        rules::fleet_rules(self.fleet, facts, files)
    }
}

/// `project/kubernetes-version`: kcc.yaml's cluster `kubernetesVersion` is the one source of
/// truth; a `kubernetesVersion` in the cluster's values that names another version is an
/// error at the values line (charts that read it would render for the wrong version).
fn values_version(view: &ClusterView) -> Vec<Diagnostic> {
    let cluster = view.cluster;
    let mut out = Vec::new();
    for release in &view.releases {
        let Some(node) = release.values.get("kubernetesVersion") else {
            continue;
        };
        let written = match &node.value {
            Value::Str(s) => s.clone(),
            Value::Null => continue,
            Value::Float(f) => f.to_string(),
            Value::Int(i) => i.to_string(),
            _ => node.type_name().to_string(),
        };
        if crate::schema::supported_version(&written) == Some(cluster.kubernetes_minor) {
            continue;
        }
        out.push(
            Diagnostic::error(
                "project/kubernetes-version",
                format!(
                    "kubernetesVersion `{written}` in the values of cluster `{}` differs from kcc.yaml's `{}`",
                    cluster.name, cluster.kubernetes_version
                ),
            )
            .at(node.origin.as_ref())
            .note(format!(
                "kcc.yaml's kubernetesVersion (line {}) is what the cluster is checked against and templates see as cluster.kubernetes_version; make the values agree or drop the key",
                cluster.origin.line
            ))
            .in_release(&cluster.name, &release.release),
        );
    }
    out
}
