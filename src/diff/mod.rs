//! Object-level and unified diffs of rendered manifests: what changed between two versions
//! of golden/ (or of a render), file by file, object by object and field by field, in text,
//! JSON, markdown or Gerrit ReviewInput form.
//!
//! Objects are matched by identity (apiVersion, kind, namespace, name). Secret
//! `data`/`stringData` values are compared and shown as `sha256:` digests only: inputs are
//! redacted again here (values that already are digests stay as they are), so a render
//! passed in directly never prints a secret either. Output is sorted: files by path, objects
//! by kind, namespace, name and apiVersion, fields in document order of sorted keys.

mod chart_versions;
mod fields;
mod format;
mod gerrit;
mod groups;
mod hazards;
mod ignore;
mod list_keys;
mod lists;
mod markdown;
mod markup;
mod renames;
mod unified;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

pub use chart_versions::ChartChange;
pub use fields::{JsonText, field_changes};
pub use format::{render_json, render_text, summary};
pub use gerrit::{MAX_COMMENTS, MAX_MESSAGE_BYTES, RevisionFiles, render_gerrit};
pub use groups::{ChangeGroup, DiffVariant, Member, Outline, WholeDir, WholeFile, describe_field};
pub use hazards::{ACKNOWLEDGE_TRAILER, Acknowledgement, Hazard};
pub use markdown::render_markdown;

use crate::manifest::{Identity, redact_secret_values};
use crate::source::SourceFile;
use crate::yaml::{Node, Value, emit_document, load_documents};

/// Text files by path: the two sides a diff compares (golden/ on disk, a render).
pub type Files = BTreeMap<String, String>;

/// Lines of context around each change in unified diffs.
const CONTEXT: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Added,
    Removed,
    Changed,
    /// A list item that changed place (fields only).
    Moved,
    /// An object whose name or namespace changed, its body the same (objects only).
    Renamed,
}

impl Status {
    fn sign(self) -> char {
        match self {
            Status::Added => '+',
            Status::Removed => '-',
            Status::Changed => '~',
            Status::Moved | Status::Renamed => '>',
        }
    }

    fn word(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
            Status::Moved => "moved",
            Status::Renamed => "renamed",
        }
    }
}

/// The differences between two sets of golden files.
#[derive(Debug, Default)]
pub struct FleetDiff {
    /// What the old side is (`golden/`, a git revision).
    pub old: String,
    /// What the new side is (`render`, `working tree`).
    pub new: String,
    /// Only files that differ, sorted by path.
    pub files: Vec<FileDiff>,
    /// Clusters whose golden/ directory only the new side has, or only the old side.
    pub new_dirs: BTreeSet<String>,
    pub removed_dirs: BTreeSet<String>,
    /// Field changes left out because kcc.yaml's `diffIgnore` names them.
    pub ignored: usize,
    /// What applying the new side over the old would break, by cluster.
    pub hazards: Vec<Hazard>,
}

/// One golden file that differs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDiff {
    pub path: String,
    /// From `golden/<cluster>/<release>.yaml`; None for other paths.
    pub cluster: Option<String>,
    /// None for helmfile.yaml and other paths.
    pub release: Option<String>,
    pub status: Status,
    /// Object changes, sorted; empty for files that do not hold Kubernetes objects.
    pub objects: Vec<ObjectDiff>,
    /// A unified diff of the whole file: for files that are not objects (helmfile.yaml), or
    /// when the objects are equal but the text is not (a `# Source:` line, the order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The first changed line in the new file, for whole-file diffs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// For a cluster's helmfile.yaml: the releases whose chart version changes.
    #[serde(rename = "chartVersions", skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<ChartChange>,
}

/// One object added, removed, changed or renamed.
#[derive(Debug, Serialize)]
pub struct ObjectDiff {
    pub status: Status,
    #[serde(serialize_with = "serialize_identity")]
    pub object: Identity,
    /// A renamed object's old identity.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_some_identity"
    )]
    pub from: Option<Identity>,
    /// The line where the object's document starts in the new file (None when removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The first line the change touches in the new file: where a review comment goes.
    #[serde(rename = "changedLine", skip_serializing_if = "Option::is_none")]
    pub changed_line: Option<usize>,
    /// The changed fields of a changed object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Unified diff hunks of the object's canonical YAML (changed objects only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// What applying this change would break (reported in [`FleetDiff::hazards`]).
    #[serde(skip)]
    pub hazards: Vec<hazards::Finding>,
    /// For a removed CustomResourceDefinition or Namespace: what its removal deletes.
    #[serde(skip)]
    pub deletes: Option<hazards::Deletes>,
}

/// A field of an object that was added, removed, changed or (a list item) moved, e.g.
/// `spec.template.spec.containers[0].image` or `metadata.labels["app.kubernetes.io/name"]`.
/// An object's changes, in order, are a JSON patch (RFC 6902) from its old version to its
/// new one: `added` is `add` of `value` at `pointer`, `removed` is `remove`, `changed` is
/// `replace` with `value`, `moved` is `move` from `from` to `pointer`; list indexes count
/// the list as the changes before left it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FieldChange {
    pub path: String,
    /// The same field as a JSON pointer (`/metadata/labels/app.kubernetes.io~1name`).
    pub pointer: String,
    pub status: Status,
    /// The old value on one line (cut past 60 characters); None when added or moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The new value, likewise; None when removed or moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// The whole new value (added, changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<JsonText>,
    /// The whole old value (removed, changed): two changes are the same only if these are.
    #[serde(rename = "oldValue", skip_serializing_if = "Option::is_none")]
    pub old_value: Option<JsonText>,
    /// Where a moved item was taken from: a JSON pointer, and as a path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(rename = "fromPath", skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
}

pub(super) fn serialize_identity<S: serde::Serializer>(
    id: &Identity,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Id<'a> {
        api_version: &'a str,
        kind: &'a str,
        #[serde(skip_serializing_if = "str::is_empty")]
        namespace: &'a str,
        name: &'a str,
    }
    Id {
        api_version: &id.api_version,
        kind: &id.kind,
        namespace: &id.namespace,
        name: &id.name,
    }
    .serialize(s)
}

pub(super) fn serialize_some_identity<S: serde::Serializer>(
    id: &Option<Identity>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => serialize_identity(id, s),
        None => s.serialize_none(),
    }
}

/// Object counts over a whole diff.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub files: usize,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub renamed: usize,
}

impl Counts {
    pub(super) fn count(&mut self, status: Status) {
        match status {
            Status::Added => self.added += 1,
            Status::Removed => self.removed += 1,
            Status::Changed | Status::Moved => self.changed += 1,
            Status::Renamed => self.renamed += 1,
        }
    }
}

impl FleetDiff {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The diffs of disjoint sets of files as one (files sorted by path).
    pub fn merge(parts: Vec<FleetDiff>) -> FleetDiff {
        let mut all = FleetDiff::default();
        for part in parts {
            all.files.extend(part.files);
            all.new_dirs.extend(part.new_dirs);
            all.removed_dirs.extend(part.removed_dirs);
            all.ignored += part.ignored;
            all.hazards.extend(part.hazards);
        }
        all.files.sort_by(|a, b| a.path.cmp(&b.path));
        all.hazards.sort_by(|a, b| a.order().cmp(&b.order()));
        all
    }

    /// Names the two sides in the rendered output.
    pub fn labeled(mut self, old: impl Into<String>, new: impl Into<String>) -> FleetDiff {
        self.old = old.into();
        self.new = new.into();
        self
    }

    /// Every chart version change, by cluster then release.
    pub fn chart_changes(&self) -> impl Iterator<Item = &ChartChange> {
        self.files.iter().flat_map(|f| &f.charts)
    }

    /// The chart version changes, the same change in several clusters told once.
    pub fn chart_change_groups(&self) -> Vec<chart_versions::ChartChangeGroup<'_>> {
        chart_versions::grouped(self.chart_changes())
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            files: self.files.len(),
            ..Counts::default()
        };
        for o in self.files.iter().flat_map(|f| &f.objects) {
            c.count(o.status);
        }
        c
    }

    /// One line: what differs, e.g. `kcc diff (HEAD → working tree): 2 files differ; objects:
    /// 1 changed, 1 added, 0 removed`.
    pub fn headline(&self) -> String {
        let c = self.counts();
        let sides = if self.old.is_empty() && self.new.is_empty() {
            String::new()
        } else {
            format!(" ({} → {})", self.old, self.new)
        };
        let renamed = match c.renamed {
            0 => String::new(),
            n => format!(", {n} renamed"),
        };
        let ignored = match self.ignored {
            0 => String::new(),
            n => format!(" ({n} ignored field changes not shown: diffIgnore in kcc.yaml)"),
        };
        if self.is_empty() {
            return format!("kcc diff{sides}: no differences{ignored}");
        }
        format!(
            "kcc diff{sides}: {} file{} differ{}; objects: {} changed, {} added, {} removed{renamed}{ignored}",
            c.files,
            if c.files == 1 { "" } else { "s" },
            if c.files == 1 { "s" } else { "" },
            c.changed,
            c.added,
            c.removed
        )
    }
}

/// The differences between `old` and `new`, file by file.
pub fn diff(old: &Files, new: &Files) -> FleetDiff {
    let paths: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let files = paths
        .into_iter()
        .filter_map(|p| {
            diff_file(
                p,
                old.get(p).map(String::as_str),
                new.get(p).map(String::as_str),
            )
        })
        .collect();
    let dirs = |files: &Files| -> BTreeSet<String> {
        files.keys().filter_map(|p| path_parts(p).0).collect()
    };
    let (old_dirs, new_dirs) = (dirs(old), dirs(new));
    let mut d = FleetDiff {
        files,
        new_dirs: new_dirs.difference(&old_dirs).cloned().collect(),
        removed_dirs: old_dirs.difference(&new_dirs).cloned().collect(),
        ..FleetDiff::default()
    };
    d.hazards = hazards::find(&d, old);
    d
}

/// How one file differs (None when it does not). A missing side is `None`.
pub fn diff_file(path: &str, old: Option<&str>, new: Option<&str>) -> Option<FileDiff> {
    if old == new {
        return None;
    }
    let status = match (old, new) {
        (None, _) => Status::Added,
        (_, None) => Status::Removed,
        _ => Status::Changed,
    };
    let (cluster, release) = path_parts(path);
    let mut file = FileDiff {
        path: path.to_string(),
        cluster,
        release,
        status,
        objects: Vec::new(),
        diff: None,
        line: None,
        charts: Vec::new(),
    };
    if let (Some(cluster), true) = (&file.cluster, path.ends_with("/helmfile.yaml")) {
        file.charts = chart_versions::changes(cluster, path, old, new);
    }
    let (old_docs, new_docs) = match (old, new) {
        (Some(o), Some(n)) => parse_changed(path, o, n),
        _ => (
            old.map_or(Some(Parsed::default()), |t| parse(path, t, 1)),
            new.map_or(Some(Parsed::default()), |t| parse(path, t, 1)),
        ),
    };
    match (old_docs, new_docs) {
        (Some(o), Some(n)) => {
            file.objects = diff_objects(o.objects, n.objects);
            if file.objects.is_empty() {
                // Same objects, different text: show the text, if it holds no secret value.
                let safe = !o.unredacted && !n.unredacted;
                text_diff(&mut file, old.unwrap_or(""), new.unwrap_or(""), safe);
            }
        }
        _ => {
            let safe = ![old, new].iter().flatten().any(|t| mentions_secret(t));
            text_diff(&mut file, old.unwrap_or(""), new.unwrap_or(""), safe);
        }
    }
    Some(file)
}

/// `golden/<cluster>/<release>.yaml` → (cluster, release); helmfile.yaml has no release.
fn path_parts(path: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [_, cluster, file] => {
            let release = file
                .strip_suffix(".yaml")
                .filter(|r| *r != "helmfile")
                .map(str::to_string);
            (Some(cluster.to_string()), release)
        }
        _ => (None, None),
    }
}

fn text_diff(file: &mut FileDiff, old: &str, new: &str, safe: bool) {
    if !safe {
        file.diff = Some(
            "(text diff withheld: the file holds a Secret whose data is not redacted)\n".into(),
        );
        return;
    }
    let d = similar::TextDiff::from_lines(old, new);
    file.line = d
        .ops()
        .iter()
        .find(|op| op.tag() != similar::DiffTag::Equal)
        .map(|op| op.new_range().start + 1)
        .filter(|_| file.status != Status::Removed)
        .map(|line| line.min(new.lines().count().max(1)));
    file.diff = Some(
        d.unified_diff()
            .context_radius(CONTEXT)
            .header(&format!("a/{}", file.path), &format!("b/{}", file.path))
            .to_string(),
    );
}

/// A whole-file text mentions a Secret object (then its text is never shown).
fn mentions_secret(text: &str) -> bool {
    text.lines().any(|l| l.trim() == "kind: Secret")
}

/// The objects of a file, redacted.
#[derive(Default)]
struct Parsed {
    objects: Vec<Doc>,
    /// Some Secret value was not a digest before redaction.
    unredacted: bool,
}

struct Doc {
    id: Identity,
    body: Node,
    /// The line of the document's `---` (or its first line).
    line: usize,
    /// The line its first key is on: where its canonical YAML starts in the file.
    body_line: usize,
}

/// One document of a file as written: from its `---` line to the next.
struct Chunk<'a> {
    /// The 1-based line it starts on in the file.
    line: usize,
    text: &'a str,
}

/// The documents of a text, split at its `---` lines (in canonical YAML, the only lines
/// that are exactly `---`).
fn chunks(text: &str) -> Vec<Chunk<'_>> {
    let mut out = Vec::new();
    let (mut start, mut start_line, mut offset) = (0, 1, 0);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_end_matches(['\n', '\r']) == "---" && offset > start {
            out.push(Chunk {
                line: start_line,
                text: &text[start..offset],
            });
            (start, start_line) = (offset, i + 1);
        }
        offset += line.len();
    }
    if offset > start {
        out.push(Chunk {
            line: start_line,
            text: &text[start..],
        });
    }
    out
}

/// The objects of two versions of a file, leaving out the documents both have word for
/// word (most of a file a change touches): only what differs is parsed. A document that
/// holds a Secret is always parsed, so that unredacted values are always noticed.
fn parse_changed(path: &str, old: &str, new: &str) -> (Option<Parsed>, Option<Parsed>) {
    let (old_chunks, new_chunks) = (chunks(old), chunks(new));
    let mut in_new: HashMap<&str, usize> = HashMap::new();
    for c in &new_chunks {
        *in_new.entry(c.text).or_default() += 1;
    }
    let mut unchanged: HashMap<&str, usize> = HashMap::new();
    let old_left: Vec<&Chunk> = old_chunks
        .iter()
        .filter(|c| {
            let secret = c.text.lines().any(|l| l == "kind: Secret");
            match in_new.get_mut(c.text) {
                Some(n) if *n > 0 && !secret => {
                    *n -= 1;
                    *unchanged.entry(c.text).or_default() += 1;
                    false
                }
                _ => true,
            }
        })
        .collect();
    let new_left: Vec<&Chunk> = new_chunks
        .iter()
        .filter(|c| match unchanged.get_mut(c.text) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect();
    let parse_left = |text: &str, left: &[&Chunk]| {
        let mut all = Parsed::default();
        for c in left {
            // A document that does not parse alone: the whole file, as before.
            let Some(part) = parse(path, c.text, c.line) else {
                return parse(path, text, 1);
            };
            all.objects.extend(part.objects);
            all.unredacted |= part.unredacted;
        }
        Some(all)
    };
    (parse_left(old, &old_left), parse_left(new, &new_left))
}

/// The objects of a file (or of a part of it starting at line `first_line`), or None when
/// some document is not a Kubernetes object (or the file is not YAML): then it is diffed
/// as text.
fn parse(path: &str, text: &str, first_line: usize) -> Option<Parsed> {
    let file = SourceFile::new(path, text);
    let docs = load_documents(&file).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let mut parsed = Parsed::default();
    for mut body in docs {
        match &body.value {
            Value::Null => continue,
            Value::Map(_) => {}
            _ => return None,
        }
        let text_at = |path: &[&str]| {
            body.lookup(path.iter().copied())
                .and_then(Node::as_str)
                .map(str::to_string)
        };
        let id = Identity {
            api_version: text_at(&["apiVersion"])?,
            kind: text_at(&["kind"])?,
            namespace: text_at(&["metadata", "namespace"]).unwrap_or_default(),
            name: text_at(&["metadata", "name"])?,
        };
        let body_line = body.origin.as_ref().map_or(1, |o| o.line);
        let line = document_start(&lines, body_line) + first_line - 1;
        let body_line = body_line + first_line - 1;
        if id.kind == "Secret" {
            parsed.unredacted |= redact_secret_values(&mut body);
        }
        parsed.objects.push(Doc {
            id,
            body,
            line,
            body_line,
        });
    }
    Some(parsed)
}

/// The line of the `---` that opens the document whose content starts at `line`.
fn document_start(lines: &[&str], line: usize) -> usize {
    (1..=line.min(lines.len()))
        .rev()
        .find(|&l| lines[l - 1].trim_end() == "---")
        .unwrap_or(line)
}

/// Matches objects by identity (several with one identity: in file order) and compares them;
/// an object removed and another added with the same body but for its name or namespace is
/// one renamed object.
fn diff_objects(old: Vec<Doc>, new: Vec<Doc>) -> Vec<ObjectDiff> {
    let mut by_id: BTreeMap<Identity, (Vec<Doc>, Vec<Doc>)> = BTreeMap::new();
    for d in old {
        by_id.entry(d.id.clone()).or_default().0.push(d);
    }
    for d in new {
        by_id.entry(d.id.clone()).or_default().1.push(d);
    }
    let mut out = Vec::new();
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for (_, (olds, news)) in by_id {
        let mut olds = olds.into_iter();
        let mut news = news.into_iter();
        loop {
            match (olds.next(), news.next()) {
                (None, None) => break,
                (Some(o), Some(n)) => {
                    if o.body != n.body {
                        out.push(changed(Status::Changed, &o, &n));
                    }
                }
                (Some(o), None) => removed.push(o),
                (None, Some(n)) => added.push(n),
            }
        }
    }
    let (renamed, removed, added) = renames::pair(removed, added);
    out.extend(renamed.iter().map(|(o, n)| changed(Status::Renamed, o, n)));
    out.extend(removed.iter().map(|o| ObjectDiff {
        status: Status::Removed,
        object: o.id.clone(),
        from: None,
        line: None,
        changed_line: None,
        fields: Vec::new(),
        diff: None,
        hazards: Vec::new(),
        deletes: hazards::deletes(&o.id, &o.body),
    }));
    out.extend(added.iter().map(|n| ObjectDiff {
        status: Status::Added,
        object: n.id.clone(),
        from: None,
        line: Some(n.line),
        changed_line: Some(n.line),
        fields: Vec::new(),
        diff: None,
        hazards: Vec::new(),
        deletes: None,
    }));
    out.sort_by(|a, b| {
        let key = |o: &ObjectDiff| {
            (
                o.object.kind.clone(),
                o.object.namespace.clone(),
                o.object.name.clone(),
                o.object.api_version.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    out
}

/// A changed (or renamed) object: its fields, hunks and hazards.
fn changed(status: Status, o: &Doc, n: &Doc) -> ObjectDiff {
    let old_yaml = emit_document(&o.body);
    let new_yaml = emit_document(&n.body);
    let hunks = unified::hunks(&old_yaml, &new_yaml, o.body_line, n.body_line);
    let fields = field_changes(&o.body, &n.body);
    let hazards = match status {
        Status::Renamed => hazards::rename(&o.id, &n.id),
        _ => hazards::immutable(&n.id, &o.body, &fields),
    };
    ObjectDiff {
        status,
        object: n.id.clone(),
        from: (status == Status::Renamed).then(|| o.id.clone()),
        line: Some(n.line),
        changed_line: hunks.first_change,
        fields,
        diff: Some(hunks.text),
        hazards,
        deletes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load_one;

    /// A golden file with a ConfigMap and a (redacted) Secret.
    pub(super) const OLD: &str = "---\n# Source: x/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: n\ndata:\n  k: v\n---\n# Source: x/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\ndata:\n  key: sha256:0123456789abcdef\n";

    pub(super) fn node(text: &str) -> Node {
        load_one(&SourceFile::new("t.yaml", text)).unwrap()
    }

    #[test]
    fn objects_are_matched_by_identity_with_the_new_line() {
        let new = OLD.replace("k: v", "k: w")
            + "---\n# Source: x/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n";
        let file = diff_file("golden/c/x.yaml", Some(OLD), Some(&new)).unwrap();
        assert_eq!(file.cluster.as_deref(), Some("c"));
        assert_eq!(file.release.as_deref(), Some("x"));
        let got: Vec<(Status, String, Option<usize>)> = file
            .objects
            .iter()
            .map(|o| (o.status, o.object.to_string(), o.line))
            .collect();
        assert_eq!(
            got,
            [
                // Sorted by kind, namespace, name.
                (Status::Added, "ConfigMap b".to_string(), Some(19)),
                (Status::Changed, "ConfigMap n/a".to_string(), Some(1)),
            ]
        );
        assert_eq!(file.objects[1].fields[0].path, "data.k");
        assert!(
            file.objects[1]
                .diff
                .as_ref()
                .unwrap()
                .contains("-  k: v\n+  k: w\n")
        );
        assert!(file.diff.is_none());
    }

    #[test]
    fn documents_both_sides_have_are_not_parsed_and_lines_stay_right() {
        let map = |name: &str, v: &str| {
            format!(
                "---\n# Source: x/templates/m.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: n\ndata:\n  k: {v}\n"
            )
        };
        let old: String = ["a", "b", "c"].iter().map(|n| map(n, "1")).collect();
        let new = format!("{}{}{}", map("a", "1"), map("b", "2"), map("c", "1"));
        let chunks = chunks(&new);
        assert_eq!(
            chunks.iter().map(|c| c.line).collect::<Vec<_>>(),
            [1, 10, 19]
        );
        let (o, n) = parse_changed("p.yaml", &old, &new);
        let (o, n) = (o.unwrap(), n.unwrap());
        assert_eq!((o.objects.len(), n.objects.len()), (1, 1));
        assert_eq!((n.objects[0].line, n.objects[0].body_line), (10, 12));
        // The same objects, lines and hunks as parsing the whole files.
        let fast = diff_file("p.yaml", Some(&old), Some(&new)).unwrap();
        let slow = diff_objects(
            parse("p.yaml", &old, 1).unwrap().objects,
            parse("p.yaml", &new, 1).unwrap().objects,
        );
        assert_eq!(fast.objects.len(), 1);
        assert_eq!(fast.objects[0].line, slow[0].line);
        assert_eq!(fast.objects[0].changed_line, slow[0].changed_line);
        assert_eq!(fast.objects[0].diff, slow[0].diff);
        assert_eq!(fast.objects[0].changed_line, Some(14));
    }

    #[test]
    fn unredacted_secrets_are_compared_and_shown_as_digests() {
        let new = OLD.replace("sha256:0123456789abcdef", "plain-secret-value");
        let file = diff_file("golden/c/x.yaml", Some(OLD), Some(&new)).unwrap();
        let json = render_json(&FleetDiff {
            files: vec![file],
            ..FleetDiff::default()
        });
        assert!(!json.contains("plain-secret-value"), "{json}");
        assert!(
            json.contains(&crate::manifest::secret_digest("plain-secret-value")),
            "{json}"
        );
        assert!(json.contains("\"path\": \"data.key\""), "{json}");
    }

    #[test]
    fn text_files_get_a_unified_diff_and_secrets_in_text_are_withheld() {
        let file = diff_file("golden/c/helmfile.yaml", Some("a: 1\n"), Some("a: 2\n")).unwrap();
        assert!(file.objects.is_empty());
        assert_eq!(file.release, None);
        assert_eq!(file.line, Some(1));
        assert!(file.diff.unwrap().contains("-a: 1\n+a: 2\n"));
        let broken = "kind: Secret\ndata: {key: plain}\n: [";
        let file = diff_file("golden/c/x.yaml", Some(OLD), Some(broken)).unwrap();
        assert!(!file.diff.unwrap().contains("plain"));
    }

    #[test]
    fn summary_lists_objects_and_fields() {
        let new = OLD.replace("k: v", "k: w");
        let s = summary("golden/c/x.yaml", OLD, &new);
        assert!(
            s.starts_with("  ~ ConfigMap n/a  (line 1)\n      ~ data.k\n"),
            "{s}"
        );
        assert!(!s.contains('\x1b'));
        assert_eq!(summary("p", OLD, OLD), "");
    }
}
