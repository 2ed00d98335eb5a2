//! kcc.yaml: the clusters, the releases, and the plan of value layers for each pair.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Failure, Result};
use crate::source::{Origin, SourceFile};
use crate::suggest;
use crate::yaml::{Node, Value, load_one};

pub const PROJECT_FILE: &str = "kcc.yaml";

#[derive(Debug)]
pub struct Project {
    pub root: PathBuf,
    pub file: Arc<SourceFile>,
    pub clusters: Vec<Cluster>,
    pub releases: Vec<Release>,
    /// Overlay used when no `--private DIR` is given (fixture secrets for review renders).
    pub private_fixture: Option<String>,
    /// `helmDefaults` for generated helmfile.yaml files, kept as written.
    pub helm_defaults: Option<Node>,
    /// The directory holding the charts, as kcc.yaml's `charts` spells it (relative to the
    /// project root; default `charts`). A fleet may share another fleet's charts.
    pub charts_dir: String,
    /// Toggles that tools other than kcc test (releases kcc does not render): allowed on
    /// clusters although nothing in this project tests them.
    pub external_toggles: Vec<String>,
    /// Where each of `external_toggles` is written.
    pub external_toggle_origins: Vec<(String, Origin)>,
    /// Value paths that tools other than kcc read (kcc.yaml `externalValues`, dotted, `*`
    /// for any key): never `values/unused`.
    pub external_values: Vec<String>,
    /// Fields `kcc diff` does not show (kcc.yaml `diffIgnore`).
    pub diff_ignore: Vec<DiffIgnore>,
    /// Where a cluster × release pins the version of a chart that has several.
    pub chart_pins: ChartPins,
}

/// Where the values pin a chart's version (kcc.yaml `chartVersions`): the values key
/// holding a map of pins, and the entry of that map a chart's pin is written under.
/// Production's helmfiles read `chartVersions["wmf-stable/<chart>"]`: `{values:
/// chartVersions, entry: "wmf-stable/{chart}"}`. A pin of `~`, or none, takes the newest.
#[derive(Debug, Clone)]
pub struct ChartPins {
    pub values_key: String,
    /// With `{chart}` standing for the chart's name.
    pub entry: String,
}

impl Default for ChartPins {
    fn default() -> Self {
        ChartPins {
            values_key: "chartVersions".into(),
            entry: "{chart}".into(),
        }
    }
}

impl ChartPins {
    /// The values path of `chart`'s pin: `["chartVersions", "wmf-stable/calico"]`.
    pub fn path(&self, chart: &str) -> [String; 2] {
        [
            self.values_key.clone(),
            self.entry.replace("{chart}", chart),
        ]
    }
}

/// A field `kcc diff` leaves out of what it shows: a JSON pointer (the field and all under
/// it), in objects of one kind (`Kind` or `apiVersion/Kind`) or of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffIgnore {
    pub kind: Option<String>,
    pub pointer: String,
}

impl DiffIgnore {
    /// Whether a change at `pointer` of an object of `api_version`/`kind` is ignored.
    pub fn matches(&self, api_version: &str, kind: &str, pointer: &str) -> bool {
        let kind_matches = match &self.kind {
            None => true,
            Some(k) => k == kind || *k == format!("{api_version}/{kind}"),
        };
        kind_matches
            && (pointer == self.pointer
                || pointer
                    .strip_prefix(self.pointer.as_str())
                    .is_some_and(|rest| rest.starts_with('/')))
    }
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub group: String,
    /// As kcc.yaml writes it (what templates see as `cluster.kubernetes_version`).
    pub kubernetes_version: String,
    /// The supported Kubernetes minor it names (`1.29` for `"1.29"`, `v1.29`, `1.29.3`):
    /// the schemas the cluster's objects are checked against.
    pub kubernetes_minor: &'static str,
    pub toggles: Vec<String>,
    /// Where each toggle is written, in the order of `toggles`.
    pub toggle_origins: Vec<Origin>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub chart: String,
    /// Where `chart` is written (the release's entry when it defaults to the name).
    pub chart_origin: Origin,
    pub needs: Vec<Need>,
    /// Extra value layers (paths relative to the project root), after common.yaml.
    pub values: Vec<String>,
    /// A minijinja expression over `cluster` and `values`; absent means always installed.
    pub installed: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Need {
    pub namespace: Option<String>,
    pub name: String,
    pub origin: Origin,
}

impl Need {
    /// helmfile's spelling: `namespace/name`, or `name`.
    pub fn id(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl Release {
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The values file of one release in one cluster, relative to the project root: the
/// highest layer before the private overlay, and where a cluster sets what a release needs.
pub fn cluster_release_values(cluster: &str, release: &str) -> String {
    format!("values/{cluster}/{release}-values.yaml")
}

/// What a values file is to a release in the layer plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LayerKind {
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
}

/// One values file of a release's layer plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedLayer {
    /// Project-relative, as kcc.yaml or the layout names it.
    pub path: String,
    pub kind: LayerKind,
    /// A missing file is an error (a release's extra layer), not an empty layer.
    pub required: bool,
}

impl Project {
    /// The project's values files a release merges in a cluster, lowest precedence first:
    /// DESIGN.md's layer plan, the one place it is written (rendering, `values/unread` and
    /// `kcc affected` all follow it). The chart's defaults come below, the private overlay
    /// above.
    pub fn layer_plan(&self, cluster: &Cluster, release: &Release) -> Vec<PlannedLayer> {
        let layer = |path: String, kind: LayerKind| PlannedLayer {
            path,
            kind,
            required: kind == LayerKind::ReleaseExtra,
        };
        let mut plan = vec![layer("values/common.yaml".into(), LayerKind::Common)];
        plan.extend(
            release
                .values
                .iter()
                .map(|extra| layer(extra.clone(), LayerKind::ReleaseExtra)),
        );
        plan.push(layer(
            format!("values/{}.yaml", cluster.group),
            LayerKind::Group,
        ));
        plan.push(layer(
            format!("values/{}/values.yaml", cluster.name),
            LayerKind::Cluster,
        ));
        plan.push(layer(
            cluster_release_values(&cluster.name, &release.name),
            LayerKind::ClusterRelease,
        ));
        plan
    }
}

/// Finds kcc.yaml in `start` or the nearest directory above it.
pub fn find_root(start: &Path) -> Result<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        if d.join(PROJECT_FILE).is_file() {
            return Ok(d.to_path_buf());
        }
        dir = d.parent();
    }
    Err(Failure::Fatal(format!(
        "no {PROJECT_FILE} in {} or any directory above it (use --project DIR)",
        start.display()
    )))
}

impl Project {
    /// The value paths kcc reads of every release's values besides what templates read:
    /// its `network:` facts, the masters' ranges, the cluster's Kubernetes version, the
    /// chart version pins, and what kcc.yaml `externalValues` declares read by other tools.
    pub fn values_kcc_reads(&self) -> Vec<Vec<String>> {
        let own = [
            "network",
            "kubernetesMasters.cidrs",
            "kubernetesVersion",
            self.chart_pins.values_key.as_str(),
        ];
        own.into_iter()
            .chain(self.external_values.iter().map(String::as_str))
            .map(|path| path.split('.').map(str::to_string).collect())
            .collect()
    }

    pub fn load(root: &Path) -> Result<Project> {
        // Like every file of the project: a link out of it is refused, not quoted.
        let text = crate::confine::read_inside(&root.join(PROJECT_FILE), root)?;
        let file = SourceFile::new(PROJECT_FILE, text);
        let node = load_one(&file)?;
        let project = parse(root, &file, &node)?;
        project.check_needs()?;
        Ok(project)
    }

    /// The charts directory on disk.
    pub fn charts_path(&self) -> PathBuf {
        self.root.join(&self.charts_dir)
    }

    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    pub fn release(&self, name: &str) -> Option<&Release> {
        self.releases.iter().find(|r| r.name == name)
    }

    /// The cluster a user named on the command line; a usage error with a suggestion if
    /// kcc.yaml has none of that name.
    pub fn named_cluster(&self, name: &str) -> Result<&Cluster> {
        self.cluster(name).ok_or_else(|| {
            let names = self.clusters.iter().map(|c| c.name.as_str());
            Failure::Fatal(format!(
                "no cluster `{name}` in kcc.yaml{}",
                suggest::hint(name, names)
            ))
        })
    }

    /// The release a user named on the command line, like [`named_cluster`](Self::named_cluster).
    pub fn named_release(&self, name: &str) -> Result<&Release> {
        self.release(name).ok_or_else(|| {
            let names = self.releases.iter().map(|r| r.name.as_str());
            Failure::Fatal(format!(
                "no release `{name}` in kcc.yaml{}",
                suggest::hint(name, names)
            ))
        })
    }

    /// The releases a `needs` entry points at.
    pub fn needed<'a>(&'a self, need: &'a Need) -> impl Iterator<Item = &'a Release> + 'a {
        self.releases.iter().filter(move |r| {
            r.name == need.name && need.namespace.as_ref().is_none_or(|ns| *ns == r.namespace)
        })
    }

    /// Every `needs` names a release that exists, and `needs` has no cycles.
    fn check_needs(&self) -> Result<()> {
        let mut errors = Vec::new();
        for release in &self.releases {
            for need in &release.needs {
                if self.needed(need).next().is_none() {
                    errors.push(
                        Diagnostic::error(
                            "project/needs",
                            format!(
                                "release `{}` needs `{}`, which kcc.yaml does not define",
                                release.name,
                                need.id()
                            ),
                        )
                        .at(Some(&need.origin)),
                    );
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        // Depth-first search; a back edge is a cycle.
        let index: HashMap<String, usize> = self
            .releases
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id(), i))
            .collect();
        let mut state = vec![0u8; self.releases.len()]; // 0 new, 1 on stack, 2 done
        for start in 0..self.releases.len() {
            let mut path = Vec::new();
            if let Some(d) = self.find_cycle(start, &index, &mut state, &mut path) {
                return Err(d.into());
            }
        }
        Ok(())
    }

    fn find_cycle(
        &self,
        at: usize,
        index: &HashMap<String, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Diagnostic> {
        match state[at] {
            2 => return None,
            1 => {
                let from = path.iter().position(|&p| p == at).unwrap_or(0);
                let names: Vec<&str> = path[from..]
                    .iter()
                    .chain(std::iter::once(&at))
                    .map(|&i| self.releases[i].name.as_str())
                    .collect();
                let last = &self.releases[*path.last().unwrap_or(&at)];
                let origin = last
                    .needs
                    .iter()
                    .find(|n| self.needed(n).any(|r| r.id() == self.releases[at].id()))
                    .map(|n| &n.origin);
                return Some(
                    Diagnostic::error(
                        "project/needs-cycle",
                        format!("`needs` forms a cycle: {}", names.join(" -> ")),
                    )
                    .at(origin),
                );
            }
            _ => {}
        }
        state[at] = 1;
        path.push(at);
        for need in &self.releases[at].needs {
            for target in self.needed(need) {
                if let Some(d) = self.find_cycle(index[&target.id()], index, state, path) {
                    return Some(d);
                }
            }
        }
        path.pop();
        state[at] = 2;
        None
    }
}

/// A map whose keys must all be known: reading marks a key used, `finish` reports the rest.
struct Fields<'a> {
    map: &'a BTreeMap<String, Node>,
    what: &'static str,
    used: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn of(node: &'a Node, what: &'static str) -> Result<Fields<'a>, Diagnostic> {
        match &node.value {
            Value::Map(map) => Ok(Fields {
                map,
                what,
                used: Vec::new(),
            }),
            _ => Err(type_error(node, what, "a map")),
        }
    }

    fn opt(&mut self, key: &'static str) -> Option<&'a Node> {
        self.used.push(key);
        self.map
            .get(key)
            .filter(|n| !matches!(n.value, Value::Null))
    }

    fn string(&mut self, key: &'static str, parent: &Node) -> Result<String, Diagnostic> {
        match self.opt(key) {
            Some(n) => string_of(n, key),
            None => Err(Diagnostic::error(
                "project/schema",
                format!("{} is missing required key `{key}`", self.what),
            )
            .at(parent.origin.as_ref())),
        }
    }

    fn opt_string(&mut self, key: &'static str) -> Result<Option<String>, Diagnostic> {
        self.opt(key).map(|n| string_of(n, key)).transpose()
    }

    fn strings(&mut self, key: &'static str) -> Result<Vec<(String, Origin)>, Diagnostic> {
        let Some(node) = self.opt(key) else {
            return Ok(Vec::new());
        };
        let Value::Seq(items) = &node.value else {
            return Err(type_error(node, key, "a list of strings"));
        };
        items
            .iter()
            .map(|i| {
                Ok((
                    string_of(i, key)?,
                    i.origin.clone().expect("loaded nodes have origins"),
                ))
            })
            .collect()
    }

    fn finish(self) -> Result<(), Diagnostic> {
        for (key, node) in self.map {
            if !self.used.contains(&key.as_str()) {
                return Err(Diagnostic::error(
                    "project/unknown-key",
                    format!("unknown key `{key}` in {}", self.what),
                )
                .at(node.origin.as_ref())
                .note(format!("known keys: {}", self.used.join(", "))));
            }
        }
        Ok(())
    }
}

fn type_error(node: &Node, what: &str, expected: &str) -> Diagnostic {
    Diagnostic::error(
        "project/schema",
        format!("`{what}` must be {expected}, not {}", node.a_type_name()),
    )
    .at(node.origin.as_ref())
}

fn string_of(node: &Node, key: &str) -> Result<String, Diagnostic> {
    match &node.value {
        Value::Str(s) => Ok(s.clone()),
        _ => Err(type_error(node, key, "a string")),
    }
}

fn parse(root: &Path, file: &Arc<SourceFile>, node: &Node) -> Result<Project, Diagnostic> {
    let mut top = Fields::of(node, "kcc.yaml")?;
    let clusters_node = top.opt("clusters");
    let releases_node = top.opt("releases");
    let private_fixture = top.opt_string("privateFixture")?;
    if let Some(dir) = &private_fixture
        && !crate::tree::is_dir(&root.join(dir))
    {
        // Without it every secret-bearing object would render without its values, and
        // the mistake would show only as golden drift.
        return Err(Diagnostic::error(
            "project/private-fixture",
            format!("privateFixture `{dir}` is not a directory"),
        )
        .at(top.map.get("privateFixture").and_then(|n| n.origin.as_ref()))
        .note("the fixture private overlay: <dir>/<release>-values.yaml and <dir>/<cluster>/<release>-values.yaml"));
    }
    if let Some(dir) = &private_fixture {
        // Fixture secrets belong to the project: kcc.yaml must not make kcc read (and
        // render into manifests and diffs) values from anywhere else on the machine.
        if let Some(real) = crate::confine::outside(&root.join(dir), root) {
            return Err(Diagnostic::error(
                "input/path",
                format!(
                    "privateFixture `{dir}` resolves to {}, outside the project: kcc reads nothing outside the project",
                    real.display()
                ),
            )
            .at(top.map.get("privateFixture").and_then(|n| n.origin.as_ref()))
            .note("real secrets are given with --private DIR, never named in kcc.yaml"));
        }
    }
    let helm_defaults = top.opt("helmDefaults").cloned();
    let external_toggle_origins = top.strings("externalToggles")?;
    let external_toggles = external_toggle_origins
        .iter()
        .map(|(s, _)| s.clone())
        .collect();
    let external_values = top
        .strings("externalValues")?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let diff_ignore = parse_diff_ignore(top.opt("diffIgnore"))?;
    let chart_pins = parse_chart_pins(top.opt("chartVersions"))?;
    let charts_dir = top
        .opt_string("charts")?
        .map(|dir| dir.trim_end_matches('/').to_string())
        .unwrap_or_else(|| "charts".to_string());
    top.finish()?;

    let mut clusters: Vec<Cluster> = Vec::new();
    for item in seq(clusters_node, "clusters")? {
        let mut f = Fields::of(item, "a cluster")?;
        let (toggles, toggle_origins) = f.strings("toggles")?.into_iter().unzip();
        let name = f.string("name", item)?;
        let group = f.string("group", item)?;
        let kubernetes_version = f.string("kubernetesVersion", item)?;
        let Some(kubernetes_minor) = crate::schema::supported_version(&kubernetes_version) else {
            let at = f
                .map
                .get("kubernetesVersion")
                .and_then(|n| n.origin.as_ref());
            return Err(Diagnostic::error(
                "project/kubernetes-version",
                format!(
                    "cluster `{name}`: Kubernetes version `{kubernetes_version}` is not supported"
                ),
            )
            .at(at)
            .note(format!(
                "supported versions: {}",
                crate::schema::supported_versions()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let cluster = Cluster {
            name,
            group,
            kubernetes_version,
            kubernetes_minor,
            toggles,
            toggle_origins,
            origin: item.origin.clone().expect("loaded nodes have origins"),
        };
        f.finish()?;
        if clusters.iter().any(|c| c.name == cluster.name) {
            return Err(Diagnostic::error(
                "project/duplicate",
                format!("cluster `{}` is defined twice", cluster.name),
            )
            .at(Some(&cluster.origin)));
        }
        clusters.push(cluster);
    }

    let mut releases: Vec<Release> = Vec::new();
    for item in seq(releases_node, "releases")? {
        let mut f = Fields::of(item, "a release")?;
        let name = f.string("name", item)?;
        let namespace = f.string("namespace", item)?;
        let chart = f.opt_string("chart")?.unwrap_or_else(|| name.clone());
        let chart_origin = f
            .map
            .get("chart")
            .unwrap_or(item)
            .origin
            .clone()
            .expect("loaded nodes have origins");
        let needs = f
            .strings("needs")?
            .into_iter()
            .map(|(s, origin)| match s.split_once('/') {
                Some((ns, n)) => Need {
                    namespace: Some(ns.to_string()),
                    name: n.to_string(),
                    origin,
                },
                None => Need {
                    namespace: None,
                    name: s,
                    origin,
                },
            })
            .collect();
        let mut values = Vec::new();
        for (path, origin) in f.strings("values")? {
            // Relative to the project and inside it: said here, at its kcc.yaml line, not
            // when a render first reads it (links out are refused there).
            let escapes = Path::new(&path)
                .components()
                .try_fold(0usize, |depth, c| match c {
                    std::path::Component::Normal(_) => Some(depth + 1),
                    std::path::Component::CurDir => Some(depth),
                    std::path::Component::ParentDir => depth.checked_sub(1),
                    _ => None,
                });
            if escapes.is_none() {
                return Err(Diagnostic::error(
                    "input/path",
                    format!(
                        "release `{name}`: values file `{path}` is outside the project: kcc reads nothing outside it"
                    ),
                )
                .at(Some(&origin))
                .note("extra values files are paths relative to the project directory"));
            }
            values.push(path);
        }
        let installed = f.opt_string("installed")?;
        let origin = item.origin.clone().expect("loaded nodes have origins");
        f.finish()?;
        let release = Release {
            name,
            namespace,
            chart,
            chart_origin,
            needs,
            values,
            installed,
            origin,
        };
        if releases.iter().any(|r| r.id() == release.id()) {
            return Err(Diagnostic::error(
                "project/duplicate",
                format!("release `{}` is defined twice", release.id()),
            )
            .at(Some(&release.origin)));
        }
        releases.push(release);
    }

    Ok(Project {
        root: root.to_path_buf(),
        file: Arc::clone(file),
        clusters,
        releases,
        private_fixture,
        helm_defaults,
        charts_dir,
        chart_pins,
        external_toggles,
        external_toggle_origins,
        external_values,
        diff_ignore,
    })
}

/// `chartVersions: {values: chartVersions, entry: "wmf-stable/{chart}"}`.
fn parse_chart_pins(node: Option<&Node>) -> Result<ChartPins, Diagnostic> {
    let Some(node) = node else {
        return Ok(ChartPins::default());
    };
    let mut f = Fields::of(node, "chartVersions")?;
    let mut pins = ChartPins::default();
    if let Some(key) = f.opt_string("values")? {
        pins.values_key = key;
    }
    if let Some(entry) = f.opt_string("entry")? {
        if !entry.contains("{chart}") {
            return Err(Diagnostic::error(
                "project/chart-versions",
                format!("chartVersions.entry `{entry}` does not name the chart"),
            )
            .at(f.map.get("entry").and_then(|n| n.origin.as_ref()))
            .note("write `{chart}` where the chart's name goes: `wmf-stable/{chart}`"));
        }
        pins.entry = entry;
    }
    f.finish()?;
    Ok(pins)
}

/// `diffIgnore: [{path: /metadata/labels/helm.sh~1chart, kind: Deployment}]`.
fn parse_diff_ignore(node: Option<&Node>) -> Result<Vec<DiffIgnore>, Diagnostic> {
    let mut out = Vec::new();
    for item in seq(node, "diffIgnore")? {
        let mut f = Fields::of(item, "a diffIgnore entry")?;
        let pointer = f.string("path", item)?;
        let kind = f.opt_string("kind")?;
        if !pointer.starts_with('/') {
            return Err(Diagnostic::error(
                "project/schema",
                format!("diffIgnore path `{pointer}` is not a JSON pointer"),
            )
            .at(f.map.get("path").and_then(|n| n.origin.as_ref()))
            .note("a JSON pointer starts with `/`: /metadata/labels/helm.sh~1chart (`~1` is `/`, `~0` is `~`)"));
        }
        // RFC 6901: `~` only as `~0` (a `~`) or `~1` (a `/`).
        let mut escapes = pointer.match_indices('~').map(|(i, _)| &pointer[i + 1..]);
        if escapes.any(|rest| !rest.starts_with(['0', '1'])) {
            return Err(Diagnostic::error(
                "project/schema",
                format!("diffIgnore path `{pointer}` has a `~` that is neither `~0` nor `~1`"),
            )
            .at(f.map.get("path").and_then(|n| n.origin.as_ref()))
            .note(
                "in a JSON pointer (RFC 6901) `~0` is `~` and `~1` is `/`; no other `~` may appear",
            ));
        }
        f.finish()?;
        out.push(DiffIgnore { kind, pointer });
    }
    Ok(out)
}

fn seq<'a>(node: Option<&'a Node>, key: &str) -> Result<&'a [Node], Diagnostic> {
    match node {
        None => Ok(&[]),
        Some(n) => n.as_seq().ok_or_else(|| type_error(n, key, "a list")),
    }
}
