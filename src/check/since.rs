//! `kcc check --since REV`: what a change can affect. The pairs fed by a file that differs
//! between REV and the working tree ([`crate::inputs`]) are checked; their clusters are
//! checked whole, because the cluster rules relate a cluster's releases to each other (a
//! RoleBinding in one, its Namespace in another). Every other cluster is not rendered, but
//! its facts (ranges, AS numbers, chart versions: from kcc.yaml and its values, never from
//! a render) still reach the fleet-wide rules.

use std::collections::BTreeSet;
use std::sync::Arc;

use minijinja::value::Value as Mj;

use super::{ClusterFacts, ClusterView};
use crate::chart::to_template;
use crate::diagnostic::Result;
use crate::inputs::Layout;
use crate::project::Cluster;
use crate::render::{Fleet, ReleaseRender};
use crate::yaml::Node;

/// The clusters a change since a revision reaches.
pub struct Scope {
    /// Indexes into kcc.yaml's clusters, of those to check.
    pub clusters: BTreeSet<usize>,
    /// The revision as the user named it.
    pub rev: String,
}

impl Scope {
    /// The clusters fed by a file that differs between `rev` and the working tree
    /// (untracked files included; a deleted file feeds what it fed at `rev` as far as
    /// kcc.yaml now tells). A usage error (exit 2) when `rev` is not a revision.
    pub fn since(fleet: &Fleet, rev: &str) -> Result<Scope> {
        let root = fleet.root();
        let changes = crate::git::changed_since(root, rev)?;
        let layout = Layout::new(&fleet.project);
        let mut pairs = BTreeSet::new();
        let mut paths = changes.paths.clone();
        paths.extend(through_links(root, &changes.paths)?);
        for path in &paths {
            let files = match path.strip_suffix('/') {
                Some(dir) => layout.files_in(std::path::Path::new(dir)),
                None => vec![std::path::PathBuf::from(path)],
            };
            for file in files {
                for feed in layout.feeds(&file) {
                    match feed.role {
                        // Which entries of kcc.yaml changed, not the file as a whole.
                        crate::inputs::Role::Project => {
                            let old = crate::git::file_at(
                                root,
                                &changes.commit,
                                crate::project::PROJECT_FILE,
                            )?;
                            pairs.extend(layout.project_change(old.as_deref()));
                        }
                        _ => pairs.extend(feed.pairs),
                    }
                }
            }
        }
        Ok(Scope {
            clusters: pairs.into_iter().map(|(c, _)| c).collect(),
            rev: rev.to_string(),
        })
    }
}

/// The paths by which links reach the changed files: a values file that is a link to a
/// shared file changes when the shared file does (and a link to a directory, when a file
/// under it does).
fn through_links(root: &std::path::Path, changed: &[String]) -> Result<Vec<String>> {
    use std::path::{Path, PathBuf};
    let links = crate::git::symlinks(root)?;
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let real = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
    let changed: Vec<PathBuf> = changed
        .iter()
        .map(|p| real(p.trim_end_matches('/')))
        .collect();
    let mut out = Vec::new();
    for link in links {
        let Ok(target) = std::fs::canonicalize(&link) else {
            continue;
        };
        for path in &changed {
            if let Ok(rest) = path.strip_prefix(&target) {
                let through = Path::new(&link).join(rest);
                out.push(through.to_string_lossy().into_owned());
            }
        }
    }
    Ok(out)
}

impl super::Checker<'_> {
    /// The facts of a cluster that is not rendered, as [`super::rules::facts`] finds them in
    /// a render: each release's values and whether it is installed, computed as a render
    /// computes them, without a template. A release whose values do not load is left out,
    /// as a render leaves out one that fails (its error is reported where it is checked).
    pub fn facts_unrendered(&self, cluster: &Cluster) -> ClusterFacts {
        let fleet: &Fleet = self.fleet;
        let mut incomplete = false;
        let mut renders: Vec<ReleaseRender> = Vec::new();
        for release in &fleet.project.releases {
            // Merging a release's values is most of the cost: done only where the facts
            // look (the first release's values hold the cluster's network, calico's its AS
            // number, see `rules::facts`), where a pin may choose the chart, or where
            // `installed` may read them.
            let newest = fleet
                .charts
                .get(&release.chart)
                .filter(|v| v.all().len() == 1)
                .map(|v| Arc::clone(v.newest()));
            let installed_reads = release
                .installed
                .as_deref()
                .is_some_and(|e| e.contains("values"));
            let values_read =
                renders.is_empty() || release.chart == super::rules::BGP_CHART || installed_reads;
            let made = match newest {
                Some(chart) if !values_read => fleet
                    .installed(cluster, release, &Mj::from(()))
                    .map(|installed| (chart, installed, Node::null())),
                // `installed` may read any value: all are merged.
                _ if installed_reads => fleet.input(cluster, release, None).and_then(|input| {
                    let values = input.values();
                    let installed = fleet.installed(cluster, release, &to_template(&values))?;
                    Ok((input.choice.chart, installed, values))
                }),
                // Else only the keys the facts read.
                _ => fleet
                    .values_of_keys(cluster, release, super::rules::FACT_KEYS)
                    .and_then(|(chart, values)| {
                        // An expression that does not name `values` cannot read them.
                        let installed = fleet.installed(cluster, release, &Mj::from(()))?;
                        Ok((chart, installed, values))
                    }),
            };
            match made {
                Ok((chart, installed, values)) => renders.push(ReleaseRender {
                    cluster: cluster.name.clone(),
                    release: release.name.clone(),
                    chart,
                    installed,
                    private_values: false,
                    values: Arc::new(values),
                    layers: Vec::new(),
                    reads: crate::values::ReadTree::default(),
                    objects: Vec::new(),
                }),
                Err(_) => incomplete = true,
            }
        }
        let view = ClusterView {
            cluster,
            releases: renders.iter().collect(),
            incomplete,
        };
        let mut facts = super::rules::facts(fleet, &view);
        // Nothing was rendered, so nothing was read: `values/unused` must not take that
        // for "unread" (it stays silent unless every cluster was rendered).
        facts.value_reads = None;
        facts
    }
}
