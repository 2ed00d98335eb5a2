//! Charts: loaded and compiled once per process, rendered for any number of clusters.

mod convert;
mod env;
mod network;
mod read_sites;
mod tracked;
mod undefined;
mod version_compare;
mod versions;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use minijinja::Environment;
use minijinja::value::Value as Mj;

pub use convert::to_template;
pub use env::{FUEL, RECURSION_LIMIT, environment};
pub use read_sites::ReadSite;
pub use tracked::{READER_INSTALLED, READER_KCC, Recorder, tracked};
pub use versions::ChartVersions;

use crate::confine::{read_inside, read_optional_inside};
use crate::diagnostic::{Diagnostic, Failure, Result};
use crate::manifest::{Object, RenderedFile, parse_objects};
use crate::source::{Origin, SourceFile};
use crate::tree;
use crate::values::{Layer, parse_layer};
use crate::yaml::load_one;

pub struct Chart {
    pub name: String,
    pub version: String,
    pub app_version: String,
    /// Chart defaults (values.yaml), the lowest value layer.
    pub defaults: Arc<Layer>,
    /// values.schema.json, if the chart has one.
    pub schema: Option<Arc<SourceFile>>,
    /// The objects of `crds/*.yaml`: the same in every cluster, so parsed once, at load.
    pub crd_objects: Vec<Object>,
    /// Templates to render (names relative to the chart root), in path order.
    pub templates: Vec<String>,
    /// The top-level values keys the chart knows: its defaults', its schema's `properties`
    /// and those its templates read (`values.<key>`).
    pub value_keys: BTreeSet<String>,
    /// Every text file of the chart, by path relative to the chart root.
    files: BTreeMap<String, Arc<SourceFile>>,
    /// sha256 of everything a render of the chart reads besides its context: its files,
    /// Chart.yaml, values.yaml and values.schema.json.
    pub digest: Vec<u8>,
    env: Environment<'static>,
}

/// sha256 of files' paths and texts, each length-prefixed so that no two sets collide.
fn digest<'a>(files: impl Iterator<Item = &'a Arc<SourceFile>>) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for file in files {
        for part in [file.path.as_bytes(), file.text.as_bytes()] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    hasher.finalize().to_vec()
}

impl Chart {
    /// Reads the chart at `name` under `charts_dir` (`<chart>` for a chart of one version,
    /// `<chart>/<version>` for one of several) and compiles its templates. `shown` is how
    /// messages spell `charts_dir` (kcc.yaml's `charts`, relative to the project).
    pub fn load(charts_dir: &Path, shown: &str, name: &str) -> Result<Chart> {
        let dir = charts_dir.join(name);
        if !tree::is_dir(&dir) {
            return Err(Failure::Fatal(format!(
                "chart directory {} does not exist",
                dir.display()
            )));
        }
        // A chart that is a link out of the charts directory would let templates read
        // anything: refused like any other link out.
        refuse_outside(&dir, charts_dir)?;
        let rel = |p: &str| format!("{shown}/{name}/{p}");
        let mut files = BTreeMap::new();
        for sub in ["templates", "crds"] {
            let sub_dir = dir.join(sub);
            if !tree::is_dir(&sub_dir) {
                continue;
            }
            let mut entries: Vec<_> = tree::read_dir(&sub_dir)
                .map_err(|e| Failure::Fatal(format!("cannot list {}: {e}", sub_dir.display())))?
                .into_iter()
                .filter(|p| tree::is_file(p))
                .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
                .collect();
            entries.sort();
            for entry in entries {
                let key = format!("{sub}/{entry}");
                let text = read_inside(&sub_dir.join(&entry), &dir)?;
                files.insert(key.clone(), SourceFile::new(rel(&key), text));
            }
        }

        let Some(chart_text) = read_optional_inside(&dir.join("Chart.yaml"), &dir)? else {
            return Err(Diagnostic::error(
                "chart/metadata",
                format!(
                    "{} does not exist: a chart needs one, with its `name` and `version`",
                    rel("Chart.yaml")
                ),
            )
            .into());
        };
        let chart_yaml = SourceFile::new(rel("Chart.yaml"), chart_text);
        let meta = load_one(&chart_yaml)?;
        // None when absent; a value of another type is an error at that value.
        let field = |key: &str| -> Result<Option<String>> {
            let node = meta.get(key);
            match node.map(|n| &n.value) {
                None => Ok(None),
                Some(crate::yaml::Value::Str(s)) => Ok(Some(s.clone())),
                Some(crate::yaml::Value::Int(i)) => Ok(Some(i.to_string())),
                Some(crate::yaml::Value::Float(f)) => Ok(Some(f.to_string())),
                Some(_) => Err(Diagnostic::error(
                    "chart/metadata",
                    format!("Chart.yaml needs a string `{key}`"),
                )
                .at(node.and_then(|n| n.origin.as_ref()))
                .into()),
            }
        };
        let required = |key: &str| -> Result<String> {
            field(key)?.ok_or_else(|| {
                Diagnostic::error(
                    "chart/metadata",
                    format!("Chart.yaml needs a string `{key}`"),
                )
                .at(meta.origin.as_ref())
                .into()
            })
        };
        let chart_name = required("name")?;
        let version = required("version")?;
        let app_version = field("appVersion")?.unwrap_or_default();

        let values_text = read_optional_inside(&dir.join("values.yaml"), &dir)?.unwrap_or_default();
        let defaults = Arc::new(parse_layer(
            "chart defaults",
            SourceFile::new(rel("values.yaml"), values_text),
        )?);
        // A directory in its place is an error, not "no schema": checks must not turn off.
        let schema = read_optional_inside(&dir.join("values.schema.json"), &dir)?
            .map(|text| SourceFile::new(rel("values.schema.json"), text));

        let mut env = environment();
        let mut templates = Vec::new();
        let mut crd_objects = Vec::new();
        for (key, file) in &files {
            if key.starts_with("crds/") {
                if key.ends_with(".yaml") || key.ends_with(".yml") || key.ends_with(".json") {
                    let crds = RenderedFile {
                        source: format!("{chart_name}/{key}"),
                        file: Arc::clone(file),
                    };
                    crd_objects.extend(parse_objects(&crds)?);
                }
                continue;
            }
            env.add_template_owned(key.clone(), file.text.clone())
                .map_err(|e| template_error(&e, &files, None))?;
            let base = key.trim_start_matches("templates/");
            if !base.starts_with('_') && (base.ends_with(".yaml") || base.ends_with(".yml")) {
                templates.push(key.clone());
            }
        }
        let value_keys = value_keys(&defaults, schema.as_deref(), &env, &files);
        let digest = digest(
            files
                .values()
                .chain([&chart_yaml, &defaults.file])
                .chain(schema.as_ref()),
        );
        Ok(Chart {
            digest,
            name: chart_name,
            version,
            app_version,
            defaults,
            schema,
            crd_objects,
            templates,
            value_keys,
            files,
            env,
        })
    }

    /// The values paths its templates name (`a.b` for `values.a.b`, `` for `values`
    /// itself): what a render may read, decided without rendering (`kcc affected`).
    pub fn value_paths(&self) -> BTreeSet<String> {
        let templates = self.files.keys().filter(|k| k.starts_with("templates/"));
        templates
            .filter_map(|name| self.env.get_template(name).ok())
            .flat_map(|t| t.undeclared_variables(true))
            .filter_map(|v| match v.as_str() {
                "values" => Some(String::new()),
                _ => v.strip_prefix("values.").map(str::to_string),
            })
            .collect()
    }

    /// Renders every template of the chart with `context`.
    /// Reads of tracked values are noted as the template's (its index in `templates`).
    pub fn render(
        &self,
        context: &Mj,
        recorder: Option<&Recorder>,
    ) -> Result<Vec<RenderedFile>, Diagnostic> {
        let mut rendered = Vec::new();
        for (index, key) in self.templates.iter().enumerate() {
            if let Some(recorder) = recorder {
                recorder.reading_as(u16::try_from(index).unwrap_or(u16::MAX - 2));
            }
            rendered.push(self.render_template(key, context)?);
        }
        Ok(rendered)
    }

    /// The templates of `templates` at the given indexes, rendered with `context`.
    pub fn render_some(
        &self,
        context: &Mj,
        indexes: impl Iterator<Item = u16>,
    ) -> Result<Vec<(u16, RenderedFile)>, Diagnostic> {
        indexes
            .filter_map(|i| self.templates.get(usize::from(i)).map(|key| (i, key)))
            .map(|(i, key)| Ok((i, self.render_template(key, context)?)))
            .collect()
    }

    fn render_template(&self, key: &str, context: &Mj) -> Result<RenderedFile, Diagnostic> {
        let template = self
            .env
            .get_template(key)
            .map_err(|e| template_error(&e, &self.files, Some(context)))?;
        let _doing = crate::memory::doing(format_args!("chart {}, template {key}", self.name));
        let budget = crate::memory::Budget::start();
        let mut out = LimitedOutput::default();
        let result = template.render_captured_to(context, &mut out);
        if budget.exceeded() {
            drop(out);
            let origin = result
                .err()
                .and_then(|e| error_origin(&e, &self.files))
                .unwrap_or_else(|| Origin::new(&self.files[key], 1, 1));
            return Err(Diagnostic::error(
                "resource/memory",
                format!(
                    "template {key} made kcc hold more than {} MiB: refused",
                    crate::memory::TEMPLATE_LIMIT >> 20
                ),
            )
            .at(Some(&origin))
            .note("an exploding loop or macro is the usual cause"));
        }
        if out.exceeded {
            return Err(Diagnostic::error(
                "template/too-large",
                format!(
                    "template {key} renders more than {} MiB: refused",
                    MAX_OUTPUT_BYTES >> 20
                ),
            )
            .at(Some(&Origin::new(&self.files[key], 1, 1)))
            .note("an endless or exploding loop or macro is the usual cause"));
        }
        result.map_err(|e| template_error(&e, &self.files, Some(context)))?;
        let text = String::from_utf8(out.bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let source = format!("{}/{key}", self.name);
        Ok(RenderedFile {
            file: SourceFile::rendered(format!("{source} (rendered)"), text, &self.files[key]),
            source,
        })
    }
}

/// Refuses a chart directory that resolves outside the charts directory (a link out, or a
/// chart name such as `../..`).
pub(crate) fn refuse_outside(dir: &Path, charts_dir: &Path) -> Result<(), Failure> {
    match crate::confine::outside(dir, charts_dir) {
        None => Ok(()),
        Some(real) => Err(Failure::Config(vec![Diagnostic::error(
            "input/path",
            format!(
                "chart directory {} resolves to {}, outside {}",
                dir.display(),
                real.display(),
                charts_dir.display()
            ),
        )])),
    }
}

/// The most one template may render: far above any real manifest (calico's CRDs are ~1
/// MiB), so that a template gone wrong stops instead of filling memory.
pub const MAX_OUTPUT_BYTES: usize = 16 << 20;

/// A template's output, refusing to grow past [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
struct LimitedOutput {
    bytes: Vec<u8>,
    exceeded: bool,
}

impl std::io::Write for LimitedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if crate::memory::over_budget() {
            return Err(std::io::Error::other("template memory limit"));
        }
        if self.bytes.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.exceeded = true;
            return Err(std::io::Error::other("template output limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The top-level values keys a chart knows (see [`Chart::value_keys`]).
fn value_keys(
    defaults: &Layer,
    schema: Option<&SourceFile>,
    env: &Environment<'static>,
    files: &BTreeMap<String, Arc<SourceFile>>,
) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = defaults
        .root
        .as_map()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    // A schema that does not parse is reported by the values schema check.
    if let Some(properties) = schema
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s.text).ok())
        .as_ref()
        .and_then(|s| s.get("properties"))
        .and_then(serde_json::Value::as_object)
    {
        keys.extend(properties.keys().cloned());
    }
    for name in files.keys().filter(|k| k.starts_with("templates/")) {
        let Ok(template) = env.get_template(name) else {
            continue;
        };
        for variable in template.undeclared_variables(true) {
            if let Some(path) = variable.strip_prefix("values.") {
                keys.insert(path.split('.').next().unwrap_or(path).to_string());
            }
        }
    }
    keys
}

/// A template error as a diagnostic at the template file and line.
/// `context`, when given, lets an undefined value name its missing key.
fn template_error(
    err: &minijinja::Error,
    files: &BTreeMap<String, Arc<SourceFile>>,
    context: Option<&Mj>,
) -> Diagnostic {
    let rule = match err.kind() {
        minijinja::ErrorKind::SyntaxError => "template/syntax",
        minijinja::ErrorKind::UndefinedError => "template/undefined",
        minijinja::ErrorKind::OutOfFuel => "template/out-of-fuel",
        _ => "template/error",
    };
    let mut message = match err.kind() {
        minijinja::ErrorKind::OutOfFuel => {
            format!("template ran out of fuel ({FUEL} steps): an endless or far too long loop")
        }
        kind => match err.detail() {
            Some(detail) => format!("{kind}: {detail}"),
            None => kind.to_string(),
        },
    };
    if let minijinja::ErrorKind::InvalidOperation = err.kind()
        && err.detail().is_some_and(|d| d.contains("recursion"))
    {
        message = format!("{message} (limit {RECURSION_LIMIT})");
    }
    let origin = error_origin(err, files);
    // An undefined value: name the missing key (and a close one), as helm does.
    let mut suggestion = None;
    if err.kind() == minijinja::ErrorKind::UndefinedError
        && let (Some(file), Some(range), Some(context)) =
            (err.name().and_then(|n| files.get(n)), err.range(), context)
        && let Some(expression) = file.text.get(range)
        && let Some((what, near)) = undefined::explain(expression, context)
    {
        message = format!("undefined value: {what}");
        suggestion = near;
    }
    let mut d = Diagnostic::error(rule, message).at(origin.as_ref());
    if let Some(near) = suggestion {
        d = d.note(format!("did you mean `{near}`?"));
    }
    if origin.is_none()
        && let Some(name) = err.name()
    {
        d = d.note(format!("in template {name}"));
    }
    // An error inside an include or macro call is wrapped ("could not render include"):
    // the innermost one says what went wrong.
    let mut innermost = None;
    let mut cause = std::error::Error::source(err);
    while let Some(e) = cause {
        if let Some(inner) = e.downcast_ref::<minijinja::Error>() {
            innermost = Some(inner);
        }
        cause = e.source();
    }
    if let Some(inner) = innermost {
        let what = match inner.detail() {
            Some(detail) => format!("{}: {detail}", inner.kind()),
            None => inner.kind().to_string(),
        };
        let at = match (inner.name().and_then(|n| files.get(n)), inner.line()) {
            (Some(file), Some(line)) => format!(" (at {}:{line})", file.path),
            _ => String::new(),
        };
        d = d.note(format!("caused by: {what}{at}"));
    }
    d
}

/// The template file, line and column of a template error, when it has them.
fn error_origin(
    err: &minijinja::Error,
    files: &BTreeMap<String, Arc<SourceFile>>,
) -> Option<Origin> {
    let file = err.name().and_then(|n| files.get(n));
    match (file, err.line()) {
        (Some(file), Some(line)) => {
            let col = err
                .range()
                .map(|r| {
                    let line_start = file.offset(line, 1);
                    file.text[line_start.min(r.start)..r.start].chars().count() + 1
                })
                .unwrap_or(1);
            Some(Origin::new(file, line, col))
        }
        _ => None,
    }
}
