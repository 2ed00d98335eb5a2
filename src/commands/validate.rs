//! `kcc validate`: check any manifests against the schemas of one Kubernetes version and
//! CRD schemas, as kubeconform does, without a project.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::check::objects::{Crds, validate};
use crate::diagnostic::{Failure, Result, read_file};
use crate::manifest::RenderedFile;
use crate::manifest::{Object, parse_manifests};
use crate::policy::{Action, Admission, Cluster};
use crate::source::SourceFile;

use super::check::{Context, Format, Report, format_report};
use crate::report::Subject;

/// kubeconform's options.
pub struct Options<'a> {
    /// The Kubernetes minor (`1.23`).
    pub version: &'static str,
    /// Kinds not validated: `Kind` or `apiVersion/Kind`.
    pub skip: &'a [String],
    /// An object whose kind has no schema passes (kubeconform's -ignore-missing-schemas).
    pub ignore_missing_schemas: bool,
    /// Files or directories of ValidatingAdmissionPolicies and their bindings, decided
    /// against every input object.
    pub policies: &'a [PathBuf],
}

/// Validates the manifests in `inputs` (files, directories searched for .yaml/.yml/.json,
/// or `-` for stdin); `crd_files` add CRD schemas.
pub fn validate_manifests(
    inputs: &[PathBuf],
    crd_files: &[PathBuf],
    format: Format,
    options: &Options,
) -> Result<Report> {
    let mut files = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            // No more than a file may hold: a pipe that never ends must not fill memory.
            let mut bytes = Vec::new();
            std::io::stdin()
                .take(crate::diagnostic::MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::Fatal(format!("cannot read stdin: {e}")))?;
            if bytes.len() as u64 > crate::diagnostic::MAX_FILE_BYTES {
                return Err(Failure::Config(vec![crate::Diagnostic::error(
                    "input/too-large",
                    "standard input holds more than kcc reads (16 MiB)",
                )]));
            }
            let text = crate::diagnostic::text_of("<stdin>", bytes)?;
            files.push(SourceFile::new("<stdin>", text));
        } else {
            for path in manifest_paths(input)? {
                files.push(SourceFile::new(
                    path.display().to_string(),
                    read_file(&path)?,
                ));
            }
        }
    }
    let mut crds = Crds::default();
    for path in crd_files {
        crds.add_file(path)?;
    }
    // kcc's own golden and deploy directories hold a helmfile.yaml beside the manifests.
    let (helmfiles, files): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(super::validate_report::is_helmfile);
    let mut notes: Vec<String> = helmfiles
        .iter()
        .map(|f| format!("{}: a helmfile, not Kubernetes objects: skipped", f.path))
        .collect();
    let subjects: Vec<Subject> = files.iter().map(|f| Subject::file(&f.path)).collect();
    let (objects, mut diagnostics) = parse_files(files);
    for object in objects
        .iter()
        .filter(|o| o.id.kind == "CustomResourceDefinition")
    {
        crds.add_crd(&object.body);
    }
    let mut skipped = 0;
    for object in &objects {
        let id = &object.id;
        if options
            .skip
            .iter()
            .any(|k| *k == id.kind || *k == format!("{}/{}", id.api_version, id.kind))
        {
            skipped += 1;
            continue;
        }
        let found = validate(object, &crds, None, options.version);
        if options.ignore_missing_schemas && found.iter().any(|d| d.rule == "schema/unknown-kind") {
            skipped += 1;
            continue;
        }
        diagnostics.extend(found);
    }
    let policies = if options.policies.is_empty() {
        None
    } else {
        let (policy_objects, found) = read_objects(options.policies)?;
        diagnostics.extend(found);
        let (admission, found) = Admission::from_objects(&policy_objects);
        diagnostics.extend(found);
        admit(
            &admission,
            &objects,
            &policy_objects,
            &mut diagnostics,
            &mut notes,
        );
        Some(policy_objects.len())
    };
    let mut summary = format!(
        "kcc validate: {} object(s), Kubernetes {}",
        objects.len(),
        options.version
    );
    if let Some(count) = policies {
        summary.push_str(&format!(", {count} policy object(s)"));
    }
    if skipped > 0 {
        summary.push_str(&format!(", {skipped} skipped"));
    }
    let context = Context {
        command: "kcc validate",
        subjects,
        // Paths are as given, relative to the working directory.
        path_prefix: String::new(),
        notes,
        summary,
    };
    let diagnostics = super::validate_report::grouped_and_sorted(diagnostics);
    Ok(format_report(diagnostics, format, &context))
}

/// The objects of the manifests under `paths`, and the diagnostics of those that do not
/// parse.
fn read_objects(paths: &[PathBuf]) -> Result<(Vec<Object>, Vec<crate::Diagnostic>)> {
    let mut files = Vec::new();
    for input in paths {
        for path in manifest_paths(input)? {
            files.push(SourceFile::new(
                path.display().to_string(),
                read_file(&path)?,
            ));
        }
    }
    Ok(parse_files(files))
}

/// The objects of manifest files, and the diagnostics of those that do not parse.
fn parse_files(
    files: impl IntoIterator<Item = std::sync::Arc<SourceFile>>,
) -> (Vec<Object>, Vec<crate::Diagnostic>) {
    let mut objects = Vec::new();
    let mut diagnostics = Vec::new();
    for file in files {
        let rendered = RenderedFile {
            source: file.path.clone(),
            file,
        };
        match parse_manifests(&rendered) {
            Ok(found) => objects.extend(found),
            Err(d) => diagnostics.push(d),
        }
    }
    (objects, diagnostics)
}

/// Decides every object's CREATE with `admission`: a Deny is an error at the object, a
/// Warn a warning, an Audit a note. Namespaces and params come from the inputs and the
/// policy files.
fn admit(
    admission: &Admission,
    objects: &[Object],
    policy_objects: &[Object],
    diagnostics: &mut Vec<crate::Diagnostic>,
    notes: &mut Vec<String>,
) {
    let cluster = Cluster::new(objects.iter().chain(policy_objects));
    for object in objects {
        for decision in admission.decide(object, &cluster) {
            let what = format!(
                "ValidatingAdmissionPolicy {} (binding {})",
                decision.policy, decision.binding
            );
            let at = decision
                .origin
                .as_ref()
                .map(|o| format!("the expression: {o}"));
            let message = match decision.action {
                Action::Deny => format!("{} is denied by {what}: {}", object.id, decision.message),
                Action::Warn => format!(
                    "{} draws a warning from {what}: {}",
                    object.id, decision.message
                ),
                Action::Audit => {
                    notes.push(format!(
                        "note: audit: {} by {what}: {}{}",
                        object.id,
                        decision.message,
                        at.map_or(String::new(), |a| format!(" ({a})"))
                    ));
                    continue;
                }
            };
            let mut d = if decision.action == Action::Deny {
                crate::Diagnostic::error("policy/admission", message)
            } else {
                crate::Diagnostic::warning("policy/admission", message)
            }
            .at(object.origin.as_ref());
            if decision.error {
                d = d.note("an error in the policy, decided by its failurePolicy (Fail)");
            }
            if let Some(at) = at {
                d = d.note(at);
            }
            diagnostics.push(d);
        }
    }
}

/// The manifest files `input` names: itself, or the .yaml/.yml/.json files under it (links
/// followed, each directory walked once). Every path is judged by its type before anything
/// opens it: a FIFO, socket or device would block a read or never end.
fn manifest_paths(input: &Path) -> Result<Vec<PathBuf>> {
    use std::os::unix::fs::MetadataExt;
    let is_manifest = |p: &Path| {
        p.extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
    };
    if input_kind(input)? == Kind::File {
        return Ok(vec![input.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![input.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let cannot =
            |e: std::io::Error| Failure::Fatal(format!("cannot list {}: {e}", dir.display()));
        // A link back up the tree is walked once, not forever.
        let meta = std::fs::metadata(&dir).map_err(cannot)?;
        if !seen.insert((meta.dev(), meta.ino())) {
            continue;
        }
        let entries = std::fs::read_dir(&dir).map_err(cannot)?;
        for entry in entries.filter_map(|e| e.ok()) {
            let path = entry.path();
            let no_follow = entry.file_type().map_err(cannot)?;
            if no_follow.is_dir() {
                stack.push(path);
            } else if is_manifest(&path) {
                match input_kind(&path)? {
                    Kind::File => out.push(path),
                    Kind::Dir => stack.push(path),
                }
            } else if no_follow.is_symlink() && crate::tree::is_dir(&path) {
                stack.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

/// Whether `path` (links followed) is a file or a directory; anything else is refused
/// by name, without opening it.
fn input_kind(path: &Path) -> Result<Kind> {
    let refuse = |what: String| Err(Failure::Fatal(format!("{} {what}", path.display())));
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Kind::File),
        Ok(m) if m.is_dir() => Ok(Kind::Dir),
        Ok(m) => refuse(format!(
            "is {}, not a file: kcc validate reads only files and directories",
            crate::tree::type_name(&m.file_type())
        )),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            refuse("is a symbolic link loop (too many levels of links, ELOOP)".into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok() {
                refuse("is a symbolic link to nothing".into())
            } else {
                refuse("does not exist".into())
            }
        }
        Err(e) => refuse(format!("cannot be read: {e}")),
    }
}
