//! Object-level and unified diffs of rendered manifests: what changed between two versions
//! of golden/ (or of a render), file by file, object by object and field by field, in text,
//! JSON, markdown or Gerrit ReviewInput form.
//!
//! Objects are matched by identity (apiVersion, kind, namespace, name). Secret
//! `data`/`stringData` values are compared and shown as `sha256:` digests only: inputs are
//! redacted again here (values that already are digests stay as they are), so a render
//! passed in directly never prints a secret either. Output is sorted: files by path, objects
//! by kind, namespace, name and apiVersion, fields in document order of sorted keys.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use crate::golden::Files;
use crate::manifest::{Identity, redact_secret_values};
use crate::source::SourceFile;
use crate::yaml::{Node, Value, emit_document, load_documents};

/// Lines of context around each change in unified diffs.
const CONTEXT: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Added,
    Removed,
    Changed,
}

impl Status {
    fn sign(self) -> char {
        match self {
            Status::Added => '+',
            Status::Removed => '-',
            Status::Changed => '~',
        }
    }

    fn word(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
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
}

/// One object added, removed or changed.
#[derive(Debug, Serialize)]
pub struct ObjectDiff {
    pub status: Status,
    #[serde(serialize_with = "serialize_identity")]
    pub object: Identity,
    /// The line where the object's document starts in the new file (None when removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The changed fields of a changed object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Unified diff hunks of the object's canonical YAML (changed objects only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// A field of an object that was added, removed or changed, e.g.
/// `spec.template.spec.containers[0].image` or `metadata.labels["app.kubernetes.io/name"]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub path: String,
    pub status: Status,
}

fn serialize_identity<S: serde::Serializer>(id: &Identity, s: S) -> Result<S::Ok, S::Error> {
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

/// Object counts over a whole diff.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub files: usize,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
}

impl FleetDiff {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Names the two sides in the rendered output.
    pub fn labeled(mut self, old: impl Into<String>, new: impl Into<String>) -> FleetDiff {
        self.old = old.into();
        self.new = new.into();
        self
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            files: self.files.len(),
            ..Counts::default()
        };
        for o in self.files.iter().flat_map(|f| &f.objects) {
            match o.status {
                Status::Added => c.added += 1,
                Status::Removed => c.removed += 1,
                Status::Changed => c.changed += 1,
            }
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
        if self.is_empty() {
            return format!("kcc diff{sides}: no differences");
        }
        format!(
            "kcc diff{sides}: {} file{} differ{}; objects: {} changed, {} added, {} removed",
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
    FleetDiff {
        files,
        ..FleetDiff::default()
    }
}

/// A short description of how two versions of a golden file differ: its changed objects
/// and fields, with unified diffs (plain text; secret values only as digests).
pub fn summary(path: &str, old: &str, new: &str) -> String {
    match diff_file(path, Some(old), Some(new)) {
        Some(file) => {
            let mut out = String::new();
            write_file_text(&mut out, &file, &Paint { on: false }, false);
            out
        }
        None => String::new(),
    }
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
    };
    let old_docs = old.map_or(Some(Parsed::default()), |t| parse(path, t));
    let new_docs = new.map_or(Some(Parsed::default()), |t| parse(path, t));
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
}

/// The objects of a file, or None when some document is not a Kubernetes object (or the
/// file is not YAML): then it is diffed as text.
fn parse(path: &str, text: &str) -> Option<Parsed> {
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
        let line = body
            .origin
            .as_ref()
            .map_or(1, |o| document_start(&lines, o.line));
        if id.kind == "Secret" {
            parsed.unredacted |= redact_secret_values(&mut body);
        }
        parsed.objects.push(Doc { id, body, line });
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

/// Matches objects by identity (several with one identity: in file order) and compares them.
fn diff_objects(old: Vec<Doc>, new: Vec<Doc>) -> Vec<ObjectDiff> {
    let mut by_id: BTreeMap<Identity, (Vec<Doc>, Vec<Doc>)> = BTreeMap::new();
    for d in old {
        by_id.entry(d.id.clone()).or_default().0.push(d);
    }
    for d in new {
        by_id.entry(d.id.clone()).or_default().1.push(d);
    }
    let mut out = Vec::new();
    for (id, (olds, news)) in by_id {
        let mut olds = olds.into_iter();
        let mut news = news.into_iter();
        loop {
            let entry = match (olds.next(), news.next()) {
                (None, None) => break,
                (Some(o), Some(n)) => {
                    if o.body == n.body {
                        continue;
                    }
                    let old_yaml = emit_document(&o.body);
                    let new_yaml = emit_document(&n.body);
                    let hunks = similar::TextDiff::from_lines(&old_yaml, &new_yaml)
                        .unified_diff()
                        .context_radius(CONTEXT)
                        .to_string();
                    ObjectDiff {
                        status: Status::Changed,
                        object: id.clone(),
                        line: Some(n.line),
                        fields: field_changes(&o.body, &n.body),
                        diff: Some(hunks),
                    }
                }
                (Some(_), None) => ObjectDiff {
                    status: Status::Removed,
                    object: id.clone(),
                    line: None,
                    fields: Vec::new(),
                    diff: None,
                },
                (None, Some(n)) => ObjectDiff {
                    status: Status::Added,
                    object: id.clone(),
                    line: Some(n.line),
                    fields: Vec::new(),
                    diff: None,
                },
            };
            out.push(entry);
        }
    }
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

/// The fields that differ between two versions of an object: map keys by name, list items
/// by index; a field whose value changed type or scalar value is `changed`.
pub fn field_changes(old: &Node, new: &Node) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(String::new(), old, new, &mut out);
    out
}

fn walk(path: String, old: &Node, new: &Node, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    let push = |out: &mut Vec<FieldChange>, path: String, status| {
        let path = if path.is_empty() {
            ".".to_string()
        } else {
            path
        };
        out.push(FieldChange { path, status });
    };
    match (&old.value, &new.value) {
        (Value::Map(a), Value::Map(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let sub = field_path(&path, key);
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => walk(sub, x, y, out),
                    (Some(_), None) => push(out, sub, Status::Removed),
                    (None, Some(_)) => push(out, sub, Status::Added),
                    (None, None) => unreachable!("key from one of the maps"),
                }
            }
        }
        (Value::Seq(a), Value::Seq(b)) => {
            for i in 0..a.len().max(b.len()) {
                let sub = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => walk(sub, x, y, out),
                    (Some(_), None) => push(out, sub, Status::Removed),
                    (None, Some(_)) => push(out, sub, Status::Added),
                    (None, None) => unreachable!("index below the longer length"),
                }
            }
        }
        _ => push(out, path, Status::Changed),
    }
}

/// `parent.key`, or `parent["key"]` when the key is not a plain identifier
/// (`metadata.labels["app.kubernetes.io/name"]`).
fn field_path(parent: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !plain {
        let quoted = serde_json::to_string(key).expect("a string serializes");
        format!("{parent}[{quoted}]")
    } else if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

// ---- renderers -------------------------------------------------------------------------

/// ANSI colours, or none.
struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// A unified diff, each line indented by `indent`, `+` green, `-` red, `@@` cyan.
    fn diff(&self, out: &mut String, diff: &str, indent: &str) {
        for line in diff.lines() {
            let code = if line.starts_with("+++ b/") || line.starts_with("--- a/") {
                "1"
            } else if line.starts_with('+') {
                "32"
            } else if line.starts_with('-') {
                "31"
            } else if line.starts_with("@@") {
                "36"
            } else {
                ""
            };
            let text = if code.is_empty() {
                line.to_string()
            } else {
                self.paint(code, line)
            };
            let _ = writeln!(out, "{indent}{text}");
        }
    }
}

/// Human text; `color` adds ANSI colours (the caller decides: a terminal, no NO_COLOR).
pub fn render_text(d: &FleetDiff, color: bool) -> String {
    let paint = Paint { on: color };
    let mut out = String::new();
    for file in &d.files {
        write_file_text(&mut out, file, &paint, true);
    }
    let _ = writeln!(out, "{}", d.headline());
    out
}

/// A file's objects, fields and diffs; `header`: first a line with its path and status.
fn write_file_text(out: &mut String, file: &FileDiff, paint: &Paint, header: bool) {
    if header {
        let title = format!(
            "{} {} ({})",
            file.status.sign(),
            file.path,
            file.status.word()
        );
        let _ = writeln!(out, "{}", paint.paint("1", &title));
    }
    for o in &file.objects {
        let color = match o.status {
            Status::Added => "32",
            Status::Removed => "31",
            Status::Changed => "33",
        };
        let line = o.line.map(|l| format!("  (line {l})")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}{line}",
            paint.paint(color, &format!("{} {}", o.status.sign(), o.object))
        );
        for f in &o.fields {
            let _ = writeln!(out, "      {} {}", f.status.sign(), f.path);
        }
        if let Some(diff) = &o.diff {
            paint.diff(out, diff, "    ");
        }
    }
    if let Some(diff) = &file.diff {
        paint.diff(out, diff, "    ");
    }
}

/// The whole diff as one JSON document; keys in a fixed order.
pub fn render_json(d: &FleetDiff) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        old: &'a str,
        new: &'a str,
        differs: bool,
        counts: Counts,
        files: &'a [FileDiff],
    }
    let report = Report {
        old: &d.old,
        new: &d.new,
        differs: !d.is_empty(),
        counts: d.counts(),
        files: &d.files,
    };
    let mut text = serde_json::to_string_pretty(&report).expect("plain data serializes");
    text.push('\n');
    text
}

/// A code fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat(longest.max(2) + 1)
}

fn code_block(out: &mut String, lang: &str, text: &str) {
    let f = fence(text);
    let _ = write!(out, "{f}{lang}\n{text}");
    if !text.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{f}");
}

/// `fields` as inline code, comma-separated.
fn field_list(fields: &[FieldChange]) -> String {
    fields
        .iter()
        .map(|f| match f.status {
            Status::Changed => format!("`{}`", f.path),
            s => format!("`{}` ({})", f.path, s.word()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Markdown for a review: a heading, a table of changed objects per file, diffs in blocks.
pub fn render_markdown(d: &FleetDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n", d.headline());
    for file in &d.files {
        let _ = writeln!(out, "### `{}` ({})\n", file.path, file.status.word());
        if !file.objects.is_empty() {
            out.push_str("| | object | fields |\n|---|---|---|\n");
            for o in &file.objects {
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} |",
                    o.status.word(),
                    o.object,
                    field_list(&o.fields)
                );
            }
            out.push('\n');
            for o in file.objects.iter().filter(|o| o.diff.is_some()) {
                let _ = writeln!(out, "`{}`:\n", o.object);
                code_block(&mut out, "diff", o.diff.as_deref().unwrap_or(""));
                out.push('\n');
            }
        }
        if let Some(diff) = &file.diff {
            code_block(&mut out, "diff", diff);
            out.push('\n');
        }
    }
    out
}

/// A Gerrit ReviewInput (`{"message", "comments"}`), posted as is by CI. Comments are on
/// `prefix` + the golden path (`prefix`: the project directory within the repository, e.g.
/// `"admin_ng/"`). A changed or added object gets a comment on the line where its document
/// starts in the new file; an added file gets one comment on line 1; removed objects and
/// removed files get file-level comments (no line).
pub fn render_gerrit(d: &FleetDiff, prefix: &str) -> String {
    #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
    struct Comment {
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
        message: String,
    }
    #[derive(Serialize)]
    struct ReviewInput {
        message: String,
        comments: BTreeMap<String, Vec<Comment>>,
    }
    let mut message = d.headline();
    let mut comments: BTreeMap<String, Vec<Comment>> = BTreeMap::new();
    for file in &d.files {
        let _ = write!(message, "\n\n{} ({})", file.path, file.status.word());
        for o in &file.objects {
            let _ = write!(message, "\n{} {}", o.status.sign(), o.object);
            if !o.fields.is_empty() {
                let paths: Vec<&str> = o.fields.iter().map(|f| f.path.as_str()).collect();
                let _ = write!(message, ": {}", paths.join(", "));
            }
        }
        let mut list = Vec::new();
        match file.status {
            Status::Added if !file.objects.is_empty() => {
                let mut m = String::from("New file; objects:\n");
                for o in &file.objects {
                    let _ = write!(m, "\n* {}", o.object);
                }
                list.push(Comment {
                    line: Some(1),
                    message: m,
                });
            }
            Status::Removed if !file.objects.is_empty() => {
                let mut m = String::from("No longer rendered; removed objects:\n");
                for o in &file.objects {
                    let _ = write!(m, "\n* {}", o.object);
                }
                list.push(Comment {
                    line: None,
                    message: m,
                });
            }
            _ => {
                for o in &file.objects {
                    let mut m = format!("{} {}", o.object, o.status.word());
                    if !o.fields.is_empty() {
                        m.push_str(": ");
                        m.push_str(&field_list(&o.fields));
                    }
                    if let Some(diff) = &o.diff {
                        m.push_str("\n\n");
                        code_block(&mut m, "diff", diff);
                    }
                    list.push(Comment {
                        line: o.line,
                        message: m.trim_end().to_string(),
                    });
                }
            }
        }
        if let Some(diff) = &file.diff {
            let mut m = format!("{} {}\n\n", file.path, file.status.word());
            code_block(&mut m, "diff", diff);
            list.push(Comment {
                line: file.line,
                message: m.trim_end().to_string(),
            });
        }
        list.sort();
        comments.insert(format!("{prefix}{}", file.path), list);
    }
    let review = ReviewInput { message, comments };
    let mut text = serde_json::to_string_pretty(&review).expect("plain data serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load_one;

    fn node(text: &str) -> Node {
        load_one(&SourceFile::new("t.yaml", text)).unwrap()
    }

    fn paths(old: &str, new: &str) -> Vec<(String, Status)> {
        field_changes(&node(old), &node(new))
            .into_iter()
            .map(|f| (f.path, f.status))
            .collect()
    }

    #[test]
    fn field_paths_follow_keys_and_indexes() {
        let old = "spec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: a:1\n";
        let new = "spec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: a:2\n";
        assert_eq!(
            paths(old, new),
            [(
                "spec.template.spec.containers[0].image".to_string(),
                Status::Changed
            )]
        );
    }

    #[test]
    fn field_paths_report_added_and_removed_keys_and_items() {
        let old = "metadata:\n  labels:\n    app: x\n    old: y\nlist: [1, 2]\n";
        let new = "metadata:\n  labels:\n    app: z\n    new: y\nlist: [1, 2, 3]\n";
        assert_eq!(
            paths(old, new),
            [
                ("list[2]".to_string(), Status::Added),
                ("metadata.labels.app".to_string(), Status::Changed),
                ("metadata.labels.new".to_string(), Status::Added),
                ("metadata.labels.old".to_string(), Status::Removed),
            ]
        );
    }

    #[test]
    fn field_paths_quote_keys_that_are_not_identifiers() {
        let old = "metadata:\n  labels:\n    app.kubernetes.io/name: a\n";
        let new = "metadata:\n  labels:\n    app.kubernetes.io/name: b\n";
        assert_eq!(
            paths(old, new),
            [(
                r#"metadata.labels["app.kubernetes.io/name"]"#.to_string(),
                Status::Changed
            )]
        );
    }

    #[test]
    fn field_paths_of_a_type_change_and_equal_trees() {
        assert_eq!(
            paths("a: {b: 1}\n", "a: [1]\n"),
            [("a".to_string(), Status::Changed)]
        );
        assert!(paths("a: {b: [1, {c: d}]}\n", "a: {b: [1, {c: d}]}\n").is_empty());
    }

    const OLD: &str = "---\n# Source: x/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: n\ndata:\n  k: v\n---\n# Source: x/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\ndata:\n  key: sha256:0123456789abcdef\n";

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

    #[test]
    fn text_is_coloured_only_when_asked() {
        let new = OLD.replace("k: v", "k: w");
        let d = diff(
            &Files::from([("golden/c/x.yaml".to_string(), OLD.to_string())]),
            &Files::from([("golden/c/x.yaml".to_string(), new)]),
        );
        assert!(render_text(&d, true).contains("\x1b[32m+  k: w\x1b[0m"));
        assert!(!render_text(&d, false).contains('\x1b'));
    }
}
