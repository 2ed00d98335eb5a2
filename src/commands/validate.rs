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

fn manifest_paths(input: &Path) -> Result<Vec<PathBuf>> {
    if input.is_file() {
        return Ok(vec![input.to_path_buf()]);
    }
    if !input.is_dir() {
        return Err(Failure::Fatal(format!(
            "{} does not exist",
            input.display()
        )));
    }
    let mut out = Vec::new();
    let mut stack = vec![input.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| Failure::Fatal(format!("cannot list {}: {e}", dir.display())))?;
        for entry in entries.filter_map(|e| e.ok()) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
