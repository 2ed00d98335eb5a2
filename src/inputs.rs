//! Which cluster × release pairs a file of the project feeds, and as what: the one answer
//! behind `kcc check --since REV` (check the pairs a change feeds) and `kcc affected PATH`.
//!
//! Decided from kcc.yaml and the layout alone (the layer plan of DESIGN.md), without
//! loading any values or chart, so that it costs microseconds per file on any fleet. It
//! errs on the side of more pairs: every file under `charts/<chart>/` feeds every release
//! of that chart, whatever version the release pins (a pin is a values change, and its
//! file feeds the pair anyway).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use crate::project::{LayerKind, PROJECT_FILE, Project};

/// The part a file plays for the pairs it feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// kcc.yaml: the clusters, the releases and how they are rendered.
    Project,
    /// values/common.yaml.
    Common,
    /// A values file kcc.yaml names in a release's `values`.
    ReleaseExtra,
    /// values/<group>.yaml.
    Group,
    /// values/<cluster>/values.yaml.
    Cluster,
    /// values/<cluster>/<release>-values.yaml.
    ClusterRelease,
    /// A file of the private fixture overlay (kcc.yaml `privateFixture`).
    Private,
    /// A file under charts/<chart>/ (any version).
    Chart,
    /// A golden file the pair's render is compared with.
    Golden,
    /// A CRD schema under schemas/crds/, which every cluster's objects are checked against.
    Crds,
}

impl Role {
    /// One word, for columns `awk` can read.
    pub fn name(self) -> &'static str {
        match self {
            Role::Project => "project",
            Role::Common => "common",
            Role::ReleaseExtra => "release-extra",
            Role::Group => "group",
            Role::Cluster => "cluster",
            Role::ClusterRelease => "cluster-release",
            Role::Private => "private",
            Role::Chart => "chart",
            Role::Golden => "golden",
            Role::Crds => "crds",
        }
    }

    /// A values layer: merged into the pair's values.
    pub fn is_values(self) -> bool {
        matches!(
            self,
            Role::Common
                | Role::ReleaseExtra
                | Role::Group
                | Role::Cluster
                | Role::ClusterRelease
                | Role::Private
        )
    }
}

/// A cluster × release pair, as indexes into kcc.yaml's `clusters` and `releases`.
pub type Pair = (usize, usize);

/// What one file feeds, in one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub role: Role,
    /// In kcc.yaml order, clusters first.
    pub pairs: BTreeSet<Pair>,
}

/// Where the project's inputs lie on disk, resolved once for many paths.
pub struct Layout<'a> {
    project: &'a Project,
    root: PathBuf,
    charts: PathBuf,
    /// Each values file of the layer plan, by project-relative path: what it is to which
    /// pairs. Built when first asked for.
    plan: OnceLock<HashMap<String, BTreeMap<LayerKind, BTreeSet<Pair>>>>,
}

impl<'a> Layout<'a> {
    pub fn new(project: &'a Project) -> Layout<'a> {
        let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| resolved(p));
        Layout {
            root: real(&project.root),
            charts: real(&project.charts_path()),
            project,
            plan: OnceLock::new(),
        }
    }

    /// The layer plan of every pair, by file.
    fn plan(&self) -> &HashMap<String, BTreeMap<LayerKind, BTreeSet<Pair>>> {
        self.plan.get_or_init(|| {
            let mut by_file: HashMap<String, BTreeMap<LayerKind, BTreeSet<Pair>>> = HashMap::new();
            for (c, cluster) in self.project.clusters.iter().enumerate() {
                for (r, release) in self.project.releases.iter().enumerate() {
                    for layer in self.project.layer_plan(cluster, release) {
                        let file = slashed(&normalized(Path::new(&layer.path)));
                        by_file
                            .entry(file)
                            .or_default()
                            .entry(layer.kind)
                            .or_default()
                            .insert((c, r));
                    }
                }
            }
            by_file
        })
    }

    /// The path relative to the project root (`/`-separated), when it lies inside it.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let path = resolved(path);
        let rel = path.strip_prefix(&self.root).ok()?;
        Some(slashed(rel))
    }

    /// Every pair of the project.
    pub fn all_pairs(&self) -> BTreeSet<Pair> {
        let releases = self.project.releases.len();
        (0..self.project.clusters.len())
            .flat_map(|c| (0..releases).map(move |r| (c, r)))
            .collect()
    }

    fn cluster_pairs(&self, cluster: usize) -> BTreeSet<Pair> {
        (0..self.project.releases.len())
            .map(|r| (cluster, r))
            .collect()
    }

    fn release_pairs(&self, release: usize) -> BTreeSet<Pair> {
        (0..self.project.clusters.len())
            .map(|c| (c, release))
            .collect()
    }

    fn cluster_index(&self, name: &str) -> Option<usize> {
        self.project.clusters.iter().position(|c| c.name == name)
    }

    fn release_index(&self, name: &str) -> Option<usize> {
        self.project.releases.iter().position(|r| r.name == name)
    }

    /// What the file at `path` (absolute, or relative to the working directory; it need not
    /// exist any more) feeds, one entry per role it plays; empty for a file kcc does not read
    /// for any pair.
    pub fn feeds(&self, path: &Path) -> Vec<Feed> {
        let mut out = Vec::new();
        let mut add = |role: Role, pairs: BTreeSet<Pair>| {
            if !pairs.is_empty() {
                out.push(Feed { role, pairs });
            }
        };
        let path = resolved(path);
        // The charts directory may lie outside the project (`charts: ../../charts`).
        if let Ok(in_charts) = path.strip_prefix(&self.charts)
            && let Some(Component::Normal(chart)) = in_charts.components().next()
        {
            let chart = chart.to_string_lossy();
            let pairs = (0..self.project.releases.len())
                .filter(|&r| self.project.releases[r].chart == chart)
                .flat_map(|r| self.release_pairs(r))
                .collect();
            add(Role::Chart, pairs);
        }
        let Some(rel) = path.strip_prefix(&self.root).ok().map(slashed) else {
            return out;
        };
        if rel == PROJECT_FILE {
            add(Role::Project, self.all_pairs());
        }
        for (kind, pairs) in self.plan().get(&rel).cloned().unwrap_or_default() {
            let role = match kind {
                LayerKind::Common => Role::Common,
                LayerKind::ReleaseExtra => Role::ReleaseExtra,
                LayerKind::Group => Role::Group,
                LayerKind::Cluster => Role::Cluster,
                LayerKind::ClusterRelease => Role::ClusterRelease,
            };
            add(role, pairs);
        }
        if let Some(private) = &self.project.private_fixture
            && let Some(file) = rel.strip_prefix(&format!("{}/", private.trim_end_matches('/')))
        {
            let release = |f: &str| {
                f.strip_suffix("-values.yaml")
                    .and_then(|r| self.release_index(r))
            };
            let pairs = match file.split_once('/') {
                None => release(file).map(|r| self.release_pairs(r)),
                Some((cluster, f)) => self
                    .cluster_index(cluster)
                    .zip(release(f))
                    .map(|p| BTreeSet::from([p])),
            };
            add(Role::Private, pairs.unwrap_or_default());
        }
        if let Some((cluster, file)) = rel
            .strip_prefix(&format!("{}/", crate::golden::GOLDEN_DIR))
            .and_then(|f| f.split_once('/'))
            && let Some(c) = self.cluster_index(cluster)
        {
            // A release's own file, or anything else in the cluster's directory
            // (helmfile.yaml lists every release; a stray file is drift of the cluster).
            let pairs = match file
                .strip_suffix(".yaml")
                .and_then(|r| self.release_index(r))
            {
                Some(r) => BTreeSet::from([(c, r)]),
                None => self.cluster_pairs(c),
            };
            add(Role::Golden, pairs);
        }
        if rel.starts_with("schemas/crds/") {
            add(Role::Crds, self.all_pairs());
        }
        out
    }

    /// What a change of kcc.yaml from `old` (its text at a revision; None: it had none)
    /// feeds. Only the clusters whose own entries differ (added, changed or removed) when
    /// nothing else in the file does (key order, comments and layout aside); every pair
    /// otherwise: a release, a toggle list or a default concerns them all.
    pub fn project_change(&self, old: Option<&str>) -> BTreeSet<Pair> {
        use crate::yaml::Node;
        let parse = |text: &str| {
            crate::yaml::load_one(&crate::source::SourceFile::new(PROJECT_FILE, text)).ok()
        };
        let (Some(old), Some(new)) = (old.and_then(parse), parse(&self.project.file.text)) else {
            return self.all_pairs();
        };
        let (Some(old_top), Some(new_top)) = (old.as_map(), new.as_map()) else {
            return self.all_pairs();
        };
        let rest = |top: &std::collections::BTreeMap<String, Node>| {
            top.iter()
                .filter(|(k, _)| k.as_str() != "clusters")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        if rest(old_top) != rest(new_top) {
            return self.all_pairs();
        }
        // Each cluster's entry by name; an entry without one changes everything.
        let entries = |top: &std::collections::BTreeMap<String, Node>| {
            let mut out = std::collections::BTreeMap::new();
            for item in top
                .get("clusters")
                .and_then(Node::as_seq)
                .unwrap_or_default()
            {
                let name = item.get("name").and_then(Node::as_str)?;
                if out.insert(name.to_string(), item.value.clone()).is_some() {
                    return None;
                }
            }
            Some(out)
        };
        let (Some(old), Some(new)) = (entries(old_top), entries(new_top)) else {
            return self.all_pairs();
        };
        // A removed cluster has no pairs: its golden directory is drift of no cluster,
        // which every check compares.
        old.keys()
            .chain(new.keys())
            .filter(|n| old.get(*n) != new.get(*n))
            .filter_map(|n| self.cluster_index(n))
            .flat_map(|c| self.cluster_pairs(c))
            .collect()
    }

    /// The files under an untracked directory that may be inputs: those of the input areas
    /// (values/, golden/, the private fixture, the charts, schemas/crds/, kcc.yaml) it
    /// contains or lies in. Nothing else is walked (a target/ of millions of files costs
    /// nothing).
    pub fn files_in(&self, dir: &Path) -> Vec<PathBuf> {
        let dir = resolved(dir);
        let mut areas = vec![
            self.root.join("values"),
            self.root.join(crate::golden::GOLDEN_DIR),
            self.root.join("schemas/crds"),
            self.root.join(PROJECT_FILE),
            self.charts.clone(),
        ];
        areas.extend(
            self.project
                .private_fixture
                .as_ref()
                .map(|p| self.root.join(p.trim_end_matches('/'))),
        );
        let mut out = Vec::new();
        for area in areas {
            let walk = match () {
                _ if area.starts_with(&dir) => area,
                _ if dir.starts_with(&area) => dir.clone(),
                _ => continue,
            };
            if walk.is_file() {
                out.push(walk);
            } else {
                out.extend(crate::source::files_under(&walk, &|_| true));
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// `.` and `..` taken out, without touching the disk.
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `path` made absolute, its directories' links resolved but not a link at its end (a
/// values file that is a link is named as written, not as its target), and a path that no
/// longer exists resolved as far as it does.
fn resolved(path: &Path) -> PathBuf {
    let absolute = match path.is_absolute() {
        true => path.to_path_buf(),
        false => std::env::current_dir().unwrap_or_default().join(path),
    };
    let absolute = normalized(&absolute);
    let mut rest = Vec::new();
    let mut at = absolute.as_path();
    // The file itself stays as named; its nearest existing directory is resolved.
    if let Some(name) = at.file_name() {
        rest.push(name.to_os_string());
        at = at.parent().unwrap_or(Path::new("/"));
    }
    loop {
        if let Ok(real) = std::fs::canonicalize(at) {
            let mut out = real;
            out.extend(rest.iter().rev());
            return out;
        }
        match (at.file_name(), at.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return absolute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized_without_the_disk() {
        assert_eq!(normalized(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        // kcc.yaml may name an extra layer `./values/common-bgp.yaml`.
        let written = |p: &str| slashed(&normalized(Path::new(p)));
        assert_eq!(
            written("./values/common-bgp.yaml"),
            "values/common-bgp.yaml"
        );
        assert_ne!(written("values/x.yaml"), "values/y.yaml");
    }
}
