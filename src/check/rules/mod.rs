//! The rules of `kcc check`, each with a stable id. One file per concern:
//!
//! | file | rules |
//! |---|---|
//! | network.rs | `network/cidr`, `network/coredns-ip`, `network/ippool`, `network/fleet-overlap` |
//! | bgp.rs | `network/bgp` |
//! | required.rs | `network/missing` |
//! | objects.rs | `objects/duplicate`, `objects/namespace` |
//! | resources.rs | `objects/resource-name` |
//! | rbac.rs | `rbac/role-ref` |
//! | psp.rs | `psp/use` |
//! | pod_security.rs | `policy/namespace-label` |
//! | chart_versions.rs | `chart/unused-version` |
//! | releases.rs | `releases/needs` |
//! | yaml.rs | `yaml/ambiguous` (warning) |
//! | unread.rs | `values/unread`, `values/missing-group` |
//! | unknown_keys.rs | `values/unknown-key` |
//! | unused.rs | `values/unused` |
//! | toggles.rs | `project/toggle` |
//!
//! A diagnostic points at the values line to fix where one set the offending value, else
//! at the rendered object.

mod bgp;
mod chart_versions;
mod network;
mod objects;
mod pod_security;
mod psp;
mod rbac;
mod releases;
mod required;
mod resources;
mod toggles;
mod unknown_keys;
mod unread;
pub mod unused;
mod yaml;

use std::collections::HashSet;

use super::{ClusterFacts, ClusterView, trace_value};
use crate::diagnostic::Diagnostic;
use crate::manifest::Object;
use crate::render::{Fleet, ReleaseRender};
use crate::source::Origin;
use crate::yaml::Node;

/// Rules about one cluster.
pub fn cluster_rules(fleet: &Fleet, view: &ClusterView) -> Vec<Diagnostic> {
    let mut d = network::cluster(fleet, view);
    d.extend(required::cluster(fleet, view));
    d.extend(bgp::cluster(fleet, view));
    d.extend(objects::cluster(fleet, view));
    d.extend(resources::cluster(view));
    // A role or a grant may be in a release that did not render: these rules would only
    // echo its error, so they wait until it renders.
    if !view.incomplete {
        d.extend(rbac::role_refs(fleet, view));
        d.extend(psp::use_granted(view));
        d.extend(pod_security::namespace_labels(view));
    }
    // Silent already about a needed release that did not render.
    d.extend(releases::needs(fleet, view));
    d
}

/// The chart whose releases hold a cluster's AS number (its `BGPConfiguration`).
pub const BGP_CHART: &str = "calico";

/// Which values files the file-wide rules (`yaml/ambiguous`, `values/unknown-key`) judge:
/// every one, or under `--since` those that may feed a checked cluster. A file under
/// `values/<cluster>/` of a cluster not checked feeds that cluster only (unless kcc.yaml
/// names it as a release's extra layer), so what it says belongs to that cluster's check.
#[derive(Default)]
pub struct Judged {
    /// The clusters not checked.
    skipped: HashSet<String>,
    /// The releases' extra layers, which may lie anywhere.
    extras: HashSet<String>,
}

impl Judged {
    /// Judges every file but those of the clusters not `checked`.
    pub fn all_but(project: &crate::project::Project, checked: impl Fn(usize) -> bool) -> Judged {
        Judged {
            skipped: project
                .clusters
                .iter()
                .enumerate()
                .filter(|(i, _)| !checked(*i))
                .map(|(_, c)| c.name.clone())
                .collect(),
            extras: project
                .releases
                .iter()
                .flat_map(|r| r.values.iter().cloned())
                .collect(),
        }
    }

    /// True when the rules judge `file` (project-relative, `/`-separated).
    pub fn judges(&self, file: &str) -> bool {
        match file.strip_prefix("values/").and_then(|f| f.split_once('/')) {
            Some((dir, _)) => !self.skipped.contains(dir) || self.extras.contains(file),
            None => true,
        }
    }
}

/// What the rules about files (not renders) found: they need no render, so they run while
/// the clusters are checked.
pub struct FileFindings {
    ambiguous: Vec<Diagnostic>,
    unread: Vec<Diagnostic>,
    unknown: Vec<Diagnostic>,
    toggles: Vec<Diagnostic>,
}

/// The rules about the project's files.
pub fn file_rules(fleet: &Fleet, judged: &Judged) -> FileFindings {
    let values_files = values_dir_files(fleet.root());
    FileFindings {
        ambiguous: yaml::ambiguous(&fleet.project, &values_files, judged),
        unread: unread::check(&fleet.project, &values_files),
        unknown: unknown_keys::check(fleet, judged),
        toggles: toggles::check(fleet),
    }
}

/// Rules across clusters, with what the file rules found, in one order.
pub fn fleet_rules(fleet: &Fleet, facts: &[ClusterFacts], files: FileFindings) -> Vec<Diagnostic> {
    let mut d = network::fleet_overlap(facts);
    d.extend(bgp::fleet_unique(facts));
    d.extend(files.ambiguous);
    d.extend(files.unread);
    // A top-level key no chart knows is already `values/unknown-key` at that line.
    let at = |d: &Diagnostic| d.origin.as_ref().map(|o| (o.file.path.clone(), o.line));
    let said: Vec<_> = files.unknown.iter().map(at).collect();
    d.extend(files.unknown);
    d.extend(
        unused::check(fleet, facts)
            .into_iter()
            .filter(|u| !said.contains(&at(u))),
    );
    d.extend(files.toggles);
    d.extend(chart_versions::unused(fleet, facts));
    d
}

/// The top-level values keys [`facts`] reads: the cluster's ranges and its AS number.
/// A cluster not rendered merges these only.
pub const FACT_KEYS: &[&str] = &[crate::network::VALUES_KEY, bgp::VALUES_KEY];

/// What the fleet rules need of a cluster (see [`ClusterFacts`]).
pub fn facts(fleet: &Fleet, view: &ClusterView) -> ClusterFacts {
    let network = view
        .values()
        .map(|values| crate::network::Network::from_values(values).0)
        .unwrap_or_default();
    ClusterFacts {
        cluster: view.cluster.name.clone(),
        network,
        asns: bgp::cluster_asns(fleet, view),
        value_reads: Some(
            view.releases
                .iter()
                .fold(unused::FileReads::new(), |mut reads, r| {
                    unused::add(&mut reads, r);
                    reads
                }),
        ),
        charts: view
            .releases
            .iter()
            .filter(|r| r.installed.yes)
            .map(|r| (r.chart.name.clone(), r.chart.version.clone()))
            .collect(),
        complete: !view.incomplete,
    }
}

/// Every `*.yaml`/`*.yml` file under the project's `values/`, with the project-relative
/// name messages give it (`values/eqiad/values.yaml`), sorted.
fn values_dir_files(root: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    crate::source::files_under(&root.join("values"), &is_yaml)
        .into_iter()
        .map(|path| {
            let shown = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            (path, shown)
        })
        .collect()
}

/// True for a `.yaml` or `.yml` file name.
fn is_yaml(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// The installed releases of a cluster made from `chart`.
fn releases_of_chart<'a>(
    fleet: &'a Fleet,
    view: &'a ClusterView,
    chart: &'a str,
) -> impl Iterator<Item = &'a ReleaseRender> + 'a {
    view.releases.iter().copied().filter(move |r| {
        r.installed.yes
            && fleet
                .project
                .release(&r.release)
                .is_some_and(|rel| rel.chart == chart)
    })
}

/// Where a rendered scalar came from: the values leaf at `path` if it holds that scalar,
/// else the one leaf holding it ([`trace_value`]).
fn trace<'n>(values: &'n Node, path: &[&str], scalar: &str) -> Option<&'n Origin> {
    let at_path = values
        .lookup(path.iter().copied())
        .filter(|n| crate::network::scalar_text(n).as_deref() == Some(scalar))
        .and_then(|n| n.origin.as_ref());
    at_path.or_else(|| trace_value(values, scalar))
}

/// A string at a path in an object's body.
fn text<'a>(object: &'a Object, path: &[&str]) -> Option<&'a str> {
    object
        .body
        .lookup(path.iter().copied())
        .and_then(Node::as_str)
}

/// `file:line` of an origin, for messages naming another place.
fn place(origin: Option<&Origin>) -> String {
    match origin {
        Some(o) => format!("{}:{}", o.file.path, o.line),
        None => "an unknown place".into(),
    }
}
