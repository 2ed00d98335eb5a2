//! The pipeline from kcc.yaml to objects: plan each cluster × release, merge its value
//! layers, decide whether it is installed, render its chart, parse the objects.

mod reuse;
mod secret_flow;
mod taint;
mod values_schema;

pub use reuse::Reuse;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::context;
use minijinja::value::Value as Mj;
use rayon::prelude::*;

use crate::chart::{
    Chart, ChartVersions, READER_INSTALLED, READER_KCC, Recorder, to_template, tracked,
};
use crate::diagnostic::{Diagnostic, Failure, Result};
use crate::manifest::{Object, install_order};
use crate::parse_cache::ParseCache;
use crate::project::{Cluster, LayerKind, Project, Release};
use crate::source::Origin;
use crate::values::{Layer, LayerCache, ReadTree, merge_files};
use crate::yaml::{Node, Value};

/// A project with its charts compiled: everything needed to render any cluster.
pub struct Fleet {
    pub project: Project,
    /// Each chart's versions, by chart name.
    pub charts: BTreeMap<String, Arc<ChartVersions>>,
    layers: LayerCache,
    /// For `installed` expressions: kcc's filters and limits, built once per fleet.
    expressions: minijinja::Environment<'static>,
    /// Rendered files many clusters render alike, parsed once.
    parsed: ParseCache,
    /// The value paths kcc reads of every release ([`Project::values_kcc_reads`]).
    kcc_reads: Vec<Vec<String>>,
}

/// Which clusters and releases to render, and with which private overlay.
#[derive(Default, Clone)]
pub struct Selection {
    pub clusters: Vec<String>,
    pub releases: Vec<String>,
    /// `--private DIR`; None means the project's fixture overlay.
    pub private: Option<PathBuf>,
    /// Renders to share with the other side of a diff.
    pub reuse: Option<Arc<Reuse>>,
}

/// Whether a release is installed in a cluster, and why.
#[derive(Clone, Debug)]
pub struct Installed {
    pub yes: bool,
    pub reason: String,
}

/// The version of a chart a cluster × release runs, and why.
#[derive(Clone)]
pub struct ChartChoice {
    pub chart: Arc<Chart>,
    /// What the values pin, when they pin a version (`None`: no pin, or `~`).
    pub pinned: Option<String>,
    /// Where the pin (or the `~` that lifts one) is written.
    pub origin: Option<Origin>,
}

impl ChartChoice {
    /// `0.5.2 (newest; unpinned by ~ at values/eqiad/values.yaml:2:22)`.
    pub fn describe(&self) -> String {
        let at = self
            .origin
            .as_ref()
            .map(|o| format!(" at {o}"))
            .unwrap_or_default();
        match &self.pinned {
            Some(v) => format!("{v} (pinned{at})"),
            None if self.origin.is_some() => {
                format!("{} (newest; unpinned by ~{at})", self.chart.version)
            }
            None => format!("{} (newest; not pinned)", self.chart.version),
        }
    }
}

/// What a release in a cluster is made of: its chart version and its value layers.
pub struct ReleaseInput {
    pub choice: ChartChoice,
    /// The chart's defaults, then the values files, lowest precedence first.
    pub layers: Vec<Arc<Layer>>,
    /// The values files merged over each other, before the chart's defaults.
    pub merged_files: Node,
}

impl ReleaseInput {
    /// The release's values: the merged files over the chart's defaults, as helm merges.
    pub fn values(&self) -> Node {
        crate::values::coalesce(self.merged_files.clone(), &self.choice.chart.defaults.root)
    }
}

/// One release rendered for one cluster.
pub struct ReleaseRender {
    pub cluster: String,
    pub release: String,
    /// The chart version it rendered with.
    pub chart: Arc<Chart>,
    pub installed: Installed,
    /// The private overlay gave it values (Secrets the deploy directory must not get from
    /// the fixtures).
    pub private_values: bool,
    pub values: Arc<Node>,
    /// The values files it merged (not the chart's defaults), lowest precedence first.
    pub layers: Vec<Arc<Layer>>,
    /// What of `values` the `installed` condition, the templates and kcc itself read.
    pub reads: ReadTree,
    /// In install order; empty when not installed.
    pub objects: Vec<Object>,
}

impl Fleet {
    /// Loads kcc.yaml and compiles the charts of every release.
    pub fn load(root: &Path) -> Result<Fleet> {
        Fleet::load_releases(root, &[])
    }

    /// Loads kcc.yaml and compiles the charts of the named releases (all if none named).
    pub fn load_releases(root: &Path, releases: &[String]) -> Result<Fleet> {
        let project = Project::load(root)?;
        let charts_path = project.charts_path();
        // Each chart is loaded (and its errors reported) once, however many releases use it:
        // a chart to load, or why it cannot be, in kcc.yaml's order.
        let mut tried = std::collections::BTreeSet::new();
        let mut wanted: Vec<std::result::Result<&str, Diagnostic>> = Vec::new();
        for release in &project.releases {
            if !releases.is_empty() && !releases.contains(&release.name) {
                continue;
            }
            if !tried.insert(release.chart.clone()) {
                continue;
            }
            if !crate::tree::is_dir(&charts_path.join(&release.chart)) {
                wanted.push(Err(Diagnostic::error(
                    "project/chart",
                    format!(
                        "release `{}` uses chart `{}`, but {}/{} is not a directory",
                        release.name, release.chart, project.charts_dir, release.chart
                    ),
                )
                .at(Some(&release.chart_origin))
                .note(format!(
                    "a chart is a directory under {}/ (kcc.yaml `charts`)",
                    project.charts_dir
                ))));
                continue;
            }
            wanted.push(Ok(release.chart.as_str()));
        }
        // Compiling the charts' templates is most of loading a fleet: one chart per thread.
        let loaded: Vec<_> = wanted
            .into_par_iter()
            .map(|chart| {
                chart.map(|chart| {
                    let versions = ChartVersions::load(&charts_path, &project.charts_dir, chart);
                    (chart, versions)
                })
            })
            .collect();
        let mut charts = BTreeMap::new();
        let mut errors = Vec::new();
        for result in loaded {
            match result {
                Err(d) => errors.push(d),
                Ok((chart, Ok(versions))) => {
                    charts.insert(chart.to_string(), Arc::new(versions));
                }
                Ok((_, Err(Failure::Config(mut d)))) => errors.append(&mut d),
                Ok((_, Err(fatal))) => return Err(fatal),
            }
        }
        if !errors.is_empty() {
            return Err(Failure::Config(errors));
        }
        Ok(Fleet {
            kcc_reads: project.values_kcc_reads(),
            project,
            charts,
            layers: LayerCache::default(),
            expressions: crate::chart::environment(),
            parsed: ParseCache::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.project.root
    }

    /// The clusters and releases a selection names, in kcc.yaml order. Unknown names are
    /// usage errors.
    pub fn select(&self, sel: &Selection) -> Result<Vec<(&Cluster, &Release)>> {
        for name in &sel.clusters {
            self.project.named_cluster(name)?;
        }
        for name in &sel.releases {
            self.project.named_release(name)?;
        }
        let wanted =
            |list: &[String], name: &str| list.is_empty() || list.iter().any(|n| n == name);
        let mut pairs = Vec::new();
        for cluster in &self.project.clusters {
            if !wanted(&sel.clusters, &cluster.name) {
                continue;
            }
            for release in &self.project.releases {
                if wanted(&sel.releases, &release.name) {
                    pairs.push((cluster, release));
                }
            }
        }
        Ok(pairs)
    }

    /// The chart version and value layers of a release in a cluster: the chosen chart's
    /// defaults, then the values files in the order helmfile passes them to helm as `-f`
    /// (what [`crate::values::merge_layers`] expects). Files that do not exist are skipped,
    /// except the extra layers kcc.yaml names.
    pub fn input(
        &self,
        cluster: &Cluster,
        release: &Release,
        private: Option<&Path>,
    ) -> Result<ReleaseInput> {
        let files = self.file_layers(cluster, release, private)?;
        let merged_files = merge_files(&files);
        let choice = self.choose_chart(release, &merged_files)?;
        let mut layers = vec![Arc::clone(&choice.chart.defaults)];
        layers.extend(files);
        Ok(ReleaseInput {
            choice,
            layers,
            merged_files,
        })
    }

    /// The chart a release renders with, and its values under the top-level `keys` only:
    /// what [`Fleet::input`] and [`ReleaseInput::values`] give under those keys, without
    /// merging the rest (the facts of a cluster not rendered need a few keys of 1,000
    /// clusters' values).
    pub fn values_of_keys(
        &self,
        cluster: &Cluster,
        release: &Release,
        keys: &[&str],
    ) -> Result<(Arc<Chart>, Node)> {
        let files = self.file_layers(cluster, release, None)?;
        let mut wanted = keys.to_vec();
        wanted.push(self.project.chart_pins.values_key.as_str());
        let merged_files = crate::values::merge_files_keys(&files, &wanted);
        let chart = self.choose_chart(release, &merged_files)?.chart;
        let defaults = crate::values::only_keys(&chart.defaults.root, keys);
        let values =
            crate::values::coalesce(crate::values::only_keys(&merged_files, keys), &defaults);
        Ok((chart, values))
    }

    /// The version of the release's chart its values pin (kcc.yaml `chartVersions`), or the
    /// newest. A pin to a version the chart does not have is an error at the pin.
    pub fn choose_chart(&self, release: &Release, merged_files: &Node) -> Result<ChartChoice> {
        let versions = &self.charts[&release.chart];
        let path = self.project.chart_pins.path(&release.chart);
        let pin = merged_files.lookup(path.iter().map(String::as_str));
        let origin = pin.and_then(|n| n.origin.clone());
        let pinned = match pin.map(|n| &n.value) {
            None | Some(Value::Null) => None,
            Some(Value::Str(s)) => Some(s.clone()),
            Some(Value::Int(i)) => Some(i.to_string()),
            Some(Value::Float(f)) => Some(f.to_string()),
            Some(_) => {
                return Err(Diagnostic::error(
                    "chart/version",
                    format!(
                        "`{}.{}` pins chart `{}` to {}: a version is a string such as `0.5.2`, or `~` for the newest",
                        path[0],
                        path[1],
                        release.chart,
                        pin.map(Node::a_type_name).unwrap_or("nothing")
                    ),
                )
                .at(origin.as_ref())
                .into());
            }
        };
        let chart = match &pinned {
            None => Arc::clone(versions.newest()),
            Some(v) => match versions.get(v) {
                Some(chart) => Arc::clone(chart),
                None => {
                    return Err(Diagnostic::error(
                        "chart/version",
                        format!(
                            "`{}.{}: {v}` pins chart `{}` to a version it does not have",
                            path[0], path[1], release.chart
                        ),
                    )
                    .at(origin.as_ref())
                    .note(format!(
                        "{}/{} has {}; `~` takes the newest",
                        self.project.charts_dir,
                        release.chart,
                        versions.listed()
                    ))
                    .into());
                }
            },
        };
        Ok(ChartChoice {
            chart,
            pinned,
            origin,
        })
    }

    /// The values files of a release in a cluster, lowest precedence first.
    fn file_layers(
        &self,
        cluster: &Cluster,
        release: &Release,
        private: Option<&Path>,
    ) -> Result<Vec<Arc<Layer>>> {
        let root = self.root();
        let mut layers = Vec::new();
        let mut add = |path: PathBuf,
                       display: String,
                       role: String,
                       required: bool,
                       inside: &Path|
         -> Result<()> {
            match self.layers.get(&path, &display, &role, inside)? {
                Some(layer) => layers.push(layer),
                None if required => {
                    return Err(Diagnostic::error(
                        "project/values",
                        format!(
                            "release `{}` names values file `{display}`, which does not exist",
                            release.name
                        ),
                    )
                    .at(Some(&release.origin))
                    .into());
                }
                None => {}
            }
            Ok(())
        };
        for layer in self.project.layer_plan(cluster, release) {
            let role = match layer.kind {
                LayerKind::Common => "common".to_string(),
                LayerKind::ReleaseExtra => "release extra".to_string(),
                LayerKind::Group => format!("group {}", cluster.group),
                LayerKind::Cluster => format!("cluster {}", cluster.name),
                LayerKind::ClusterRelease => "cluster × release".to_string(),
            };
            add(
                root.join(&layer.path),
                layer.path,
                role,
                layer.required,
                root,
            )?;
        }
        let private_dir = match private {
            // A mistyped --private must not silently deploy without secrets.
            Some(dir) if !crate::tree::is_dir(dir) => {
                return Err(Failure::Fatal(format!(
                    "--private {}: no such directory",
                    dir.display()
                )));
            }
            Some(dir) => Some((dir.to_path_buf(), dir.display().to_string())),
            None => self
                .project
                .private_fixture
                .as_ref()
                .map(|rel| (root.join(rel), rel.trim_end_matches('/').to_string())),
        };
        if let Some((dir, shown)) = private_dir {
            let name = format!("{}-values.yaml", release.name);
            add(
                dir.join(&name),
                format!("{shown}/{name}"),
                "private".into(),
                false,
                &dir,
            )?;
            add(
                dir.join(&cluster.name).join(&name),
                format!("{shown}/{}/{name}", cluster.name),
                format!("private {}", cluster.name),
                false,
                &dir,
            )?;
        }
        Ok(layers)
    }

    fn cluster_context(cluster: &Cluster) -> Mj {
        context! {
            name => cluster.name.as_str(),
            group => cluster.group.as_str(),
            kubernetes_version => cluster.kubernetes_version.as_str(),
            toggles => cluster.toggles.iter().map(String::as_str).collect::<Mj>(),
        }
    }

    /// Evaluates a release's `installed` condition for a cluster.
    pub fn installed(
        &self,
        cluster: &Cluster,
        release: &Release,
        values: &Mj,
    ) -> Result<Installed> {
        let Some(expr) = &release.installed else {
            return Ok(Installed {
                yes: true,
                reason: "always".into(),
            });
        };
        let fail = |e: minijinja::Error| {
            Failure::from(
                Diagnostic::error(
                    "project/installed",
                    format!("cannot evaluate `installed: {expr}`: {e}"),
                )
                .at(Some(&release.origin)),
            )
        };
        let compiled = self.expressions.compile_expression(expr).map_err(fail)?;
        let result = compiled
            .eval(context! { cluster => Self::cluster_context(cluster), values => values })
            .map_err(fail)?;
        Ok(Installed {
            yes: result.is_true(),
            reason: format!("{expr} → {}", result.is_true()),
        })
    }

    /// Renders one release for one cluster.
    pub fn render_release(
        &self,
        cluster: &Cluster,
        release: &Release,
        private: Option<&Path>,
        reuse: Option<&Reuse>,
    ) -> Result<ReleaseRender> {
        let _doing = crate::memory::doing(format_args!(
            "rendering release {} for cluster {}",
            release.name, cluster.name
        ));
        let ReleaseInput {
            choice,
            mut layers,
            merged_files,
        } = self.input(cluster, release, private)?;
        let chart = choice.chart;
        let values = Arc::new(crate::values::coalesce(merged_files, &chart.defaults.root));
        let recorder = Arc::new(Recorder::default());
        let template_values = tracked(Arc::clone(&values), Arc::clone(&recorder));
        recorder.reading_as(READER_INSTALLED);
        let installed = self.installed(cluster, release, &template_values)?;
        let mut objects = Vec::new();
        let mut private_values = false;
        let mut reads = None;
        let has_private = layers.iter().any(|l| l.file.private);
        if installed.yes {
            let private_files: Vec<&str> = layers
                .iter()
                .filter(|l| l.role.starts_with("private"))
                .map(|l| l.file.path.as_str())
                .collect();
            let home = crate::project::cluster_release_values(&cluster.name, &release.name);
            let problems = values_schema::validate(&chart, &values, &layers, &private_files, &home);
            if !problems.is_empty() {
                return Err(Failure::Config(problems));
            }
            // What the template sees. Keep `facts` below in step: it names what this is
            // made of besides the chart and the values, for `Reuse`.
            let ctx = Self::template_context(template_values.clone(), release, &chart, cluster);
            let secrets = private_secrets(&layers);
            private_values = !secrets.is_empty();
            // A release whose inputs the other side of a diff rendered already is not
            // rendered again.
            let shared = reuse.map(|r| {
                let mut facts = vec![
                    release.name.as_str(),
                    release.namespace.as_str(),
                    cluster.name.as_str(),
                    cluster.group.as_str(),
                    cluster.kubernetes_version.as_str(),
                ];
                facts.extend(cluster.toggles.iter().map(String::as_str));
                (r, reuse::RenderInput::of(&chart.digest, &layers, &facts))
            });
            let offer = match &shared {
                Some((r, input)) => r.take(&cluster.name, &release.name, input),
                None => reuse::Offer::Differs,
            };
            objects = match offer {
                reuse::Offer::Same(same, same_reads) => {
                    reads = Some(same_reads);
                    same
                }
                offer => {
                    let (objects, files) =
                        self.render_objects(&chart, &ctx, &secrets, &recorder)?;
                    if has_private {
                        self.private_flow(
                            &recorder,
                            &values,
                            &files,
                            (cluster, release, &chart),
                            &installed,
                        )?;
                    }
                    let read = self.reads(&recorder, &values);
                    if let (reuse::Offer::None, Some((r, input))) = (offer, shared) {
                        r.offer(&cluster.name, &release.name, input, &objects, &read);
                    }
                    reads = Some(read);
                    objects
                }
            };
        }
        let reads = match reads {
            Some(reads) => reads,
            None => {
                if has_private {
                    self.private_flow(
                        &recorder,
                        &values,
                        &[],
                        (cluster, release, &chart),
                        &installed,
                    )?;
                }
                self.reads(&recorder, &values)
            }
        };
        // The values files, without the chart's defaults (the first layer).
        layers.remove(0);
        Ok(ReleaseRender {
            cluster: cluster.name.clone(),
            release: release.name.clone(),
            chart,
            installed,
            private_values,
            values,
            layers,
            reads,
            objects,
        })
    }

    /// What templates see: the values and the facts of the release, chart and cluster.
    fn template_context(values: Mj, release: &Release, chart: &Chart, cluster: &Cluster) -> Mj {
        context! {
            values => values,
            release => context! { name => release.name.as_str(), namespace => release.namespace.as_str() },
            chart => context! { name => chart.name.as_str(), version => chart.version.as_str(), app_version => chart.app_version.as_str() },
            cluster => Self::cluster_context(cluster),
        }
    }

    /// `secret/flow` by provenance (see `taint`): the templates (and the `installed`
    /// condition) that read a private value, run again with the private values changed,
    /// may differ only in Secret data values. `files` are the templates' renders, in
    /// template order (none when the release is not installed).
    fn private_flow(
        &self,
        recorder: &Recorder,
        values: &Node,
        files: &[crate::manifest::RenderedFile],
        (cluster, release, chart): (&Cluster, &Release, &Chart),
        installed: &Installed,
    ) -> Result<()> {
        let private = recorder.private_reads(values);
        if private.is_empty() {
            return Ok(());
        }
        let variant = to_template(&taint::variant(values));
        let mut leaks = Vec::new();
        if let Some(paths) = private.get(&READER_INSTALLED) {
            let changed = self.installed(cluster, release, &variant)?;
            if installed.yes != changed.yes {
                let names: Vec<String> = paths.iter().map(|p| format!("`{p}`")).collect();
                leaks.push(
                    Diagnostic::error(
                        "secret/flow",
                        format!(
                            "whether release `{}` is installed depends on the private value {}: the result is visible in every diff and golden file",
                            release.name,
                            names.join(", ")
                        ),
                    )
                    .at(Some(&release.origin))
                    .note("a condition may test whether a private value is set, nothing else"),
                );
            }
        }
        if !files.is_empty() {
            let ctx = Self::template_context(variant, release, chart, cluster);
            leaks.extend(taint::check(chart, &ctx, files, &private));
        }
        if leaks.is_empty() {
            Ok(())
        } else {
            Err(Failure::Config(leaks))
        }
    }

    /// What a render read of `values`, with what kcc itself reads of every release's
    /// values (its `network:` facts, the chart version pins).
    fn reads(&self, recorder: &Recorder, values: &Node) -> ReadTree {
        let mut reads = recorder.read_tree(values);
        for path in &self.kcc_reads {
            let parts: Vec<&str> = path.iter().map(String::as_str).collect();
            reads.read_whole(&parts, READER_KCC, values);
        }
        reads
    }

    /// A chart's objects for a template context, in install order; refused when they hold
    /// a private value outside a Secret's data.
    fn render_objects(
        &self,
        chart: &Chart,
        ctx: &Mj,
        secrets: &[crate::secrets::Secret],
        recorder: &Recorder,
    ) -> Result<(Vec<Object>, Vec<crate::manifest::RenderedFile>)> {
        let mut objects: Vec<Object> = chart.crd_objects.to_vec();
        let files = chart.render(ctx, Some(recorder))?;
        for file in &files {
            objects.extend(self.parsed.objects(file)?);
        }
        objects.sort_by(install_order);
        let leaks = secret_flow::check(&objects, secrets);
        if !leaks.is_empty() {
            return Err(Failure::Config(leaks));
        }
        Ok((objects, files))
    }

    /// Renders a selection, clusters × releases in parallel, all or nothing: any error
    /// fails the whole render (for commands that write what they render).
    pub fn render(&self, sel: &Selection) -> Result<Vec<ReleaseRender>> {
        let partial = self.render_partial(sel)?;
        if partial.errors.is_empty() {
            Ok(partial.renders)
        } else {
            Err(Failure::Config(partial.errors))
        }
    }

    /// Renders every release of the selection that can render; one that fails does not
    /// stop the others (for commands that report: `kcc check`, `kcc update`'s refusal).
    /// The result is in kcc.yaml order whatever the thread count; every failure is
    /// reported once per cause, naming the clusters and releases it stopped.
    pub fn render_partial(&self, sel: &Selection) -> Result<Partial> {
        let pairs = self.select(sel)?;
        let results: Vec<Result<ReleaseRender>> = pairs
            .par_iter()
            .map(|(c, r)| self.render_release(c, r, sel.private.as_deref(), sel.reuse.as_deref()))
            .collect();
        let mut partial = Partial::default();
        for ((cluster, release), result) in pairs.iter().zip(results) {
            match result {
                Ok(r) => partial.renders.push(r),
                Err(Failure::Config(d)) => {
                    partial.errors.extend(
                        d.into_iter()
                            .map(|d| d.in_release(&cluster.name, &release.name)),
                    );
                    partial
                        .failed
                        .push((cluster.name.clone(), release.name.clone()));
                }
                Err(fatal) => return Err(fatal),
            }
        }
        partial.errors = crate::diagnostic::dedup(partial.errors);
        Ok(partial)
    }
}

/// The marked values of a release's private layers.
fn private_secrets(layers: &[Arc<Layer>]) -> Vec<crate::secrets::Secret> {
    layers
        .iter()
        .filter(|l| l.file.private)
        .flat_map(|l| l.secrets().iter().cloned())
        .collect()
}

/// What a render that goes on past errors produced.
#[derive(Default)]
pub struct Partial {
    /// The releases that rendered, in kcc.yaml order.
    pub renders: Vec<ReleaseRender>,
    /// (cluster, release) of those that did not, in kcc.yaml order.
    pub failed: Vec<(String, String)>,
    /// Why they did not, one diagnostic per cause.
    pub errors: Vec<Diagnostic>,
}
