//! Diagnostics: what kcc reports about a configuration, and how it prints them.

mod dedup;

pub use dedup::{Seen, dedup};

use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity as ReportSeverity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;
use serde::Serialize;

use crate::source::Origin;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding: a rule id, a message and, where known, the place to fix.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable id such as `yaml/syntax` or `network/coredns-ip`.
    pub rule: &'static str,
    pub message: String,
    pub origin: Option<Origin>,
    /// Free-form lines shown under the source excerpt (hints, context).
    pub notes: Vec<String>,
    /// The clusters (and releases) it was found in, when that is not the whole fleet:
    /// printed as the first note, merged when one cause is found in several ([`dedup`]).
    pub seen: Vec<Seen>,
}

impl Diagnostic {
    pub fn error(rule: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            rule,
            message: message.into(),
            origin: None,
            notes: Vec::new(),
            seen: Vec::new(),
        }
    }

    pub fn warning(rule: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(rule, message)
        }
    }

    /// Where the diagnostic points. A position in rendered output is moved to the template
    /// line that wrote it, when kcc can tell which one.
    pub fn at(mut self, origin: Option<&Origin>) -> Diagnostic {
        match origin.map(|o| (o, o.in_template())) {
            Some((rendered, Some(template))) => {
                self.origin = Some(template);
                self.notes
                    .push(format!("line {} of the rendered output", rendered.line));
            }
            _ => self.origin = origin.cloned(),
        }
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Found in `release` of `cluster`.
    pub fn in_release(mut self, cluster: &str, release: &str) -> Diagnostic {
        self.seen = vec![Seen {
            cluster: cluster.to_string(),
            releases: vec![release.to_string()],
        }];
        self
    }

    /// Found in `cluster`, by a rule about the cluster as a whole.
    pub fn in_cluster(mut self, cluster: &str) -> Diagnostic {
        self.seen = vec![Seen {
            cluster: cluster.to_string(),
            releases: Vec::new(),
        }];
        self
    }

    /// The notes as printed: where it was seen first, then the rest.
    fn all_notes(&self) -> Vec<String> {
        dedup::seen_note(&self.seen)
            .into_iter()
            .chain(self.notes.iter().cloned())
            .collect()
    }

    /// Human form, like rustc and ruff: the header, `--> file:line:col`, the source line
    /// with a caret, then the notes.
    pub fn render(&self) -> String {
        self.render_styled(false)
    }

    /// [`render`](Self::render), with ANSI colours when `color` (a terminal that wants them).
    pub fn render_styled(&self, color: bool) -> String {
        let severity = match self.severity {
            Severity::Error => ReportSeverity::Error,
            Severity::Warning => ReportSeverity::Warning,
        };
        let mut notes = self.all_notes();
        let mut labels = Vec::new();
        let (path, text) = match &self.origin {
            // A secret's file is named, never quoted.
            Some(origin) if origin.file.private => {
                notes.insert(0, format!("at {origin} (private: not shown)"));
                ("", "")
            }
            Some(origin) => {
                let start = origin.file.offset(origin.line, origin.col);
                let end = caret_end(&origin.file.text, start);
                labels.push(Label::primary((), start..end));
                (origin.file.path.as_str(), origin.file.text.as_str())
            }
            None => ("", ""),
        };
        let report = Report::new(severity)
            .with_code(self.rule)
            .with_message(&self.message)
            .with_labels(labels)
            .with_notes(notes);
        let file = SimpleFile::new(path, text);
        let config = term::Config::default();
        if color {
            let mut out = term::termcolor::Ansi::new(Vec::new());
            if term::emit_to_write_style(&mut out, &config, &file, &report).is_ok() {
                return String::from_utf8_lossy(&out.into_inner()).into_owned();
            }
        }
        term::emit_into_string(&config, &file, &report).unwrap_or_else(|_| self.to_string())
    }

    /// One JSON object per diagnostic, for `--format json`; `clusters` lists where it was
    /// found (`[{"name": "eqiad", "releases": ["coredns"]}]`), empty for fleet-wide findings.
    pub fn to_json(&self) -> serde_json::Value {
        let clusters: Vec<serde_json::Value> = self
            .seen
            .iter()
            .map(|s| serde_json::json!({"name": s.cluster, "releases": s.releases}))
            .collect();
        serde_json::json!({
            "severity": self.severity,
            "rule": self.rule,
            "message": self.message,
            "file": self.origin.as_ref().map(|o| o.file.path.clone()),
            "line": self.origin.as_ref().map(|o| o.line),
            "column": self.origin.as_ref().map(|o| o.col),
            "notes": self.all_notes(),
            "clusters": clusters,
        })
    }
}

/// The caret covers the token at `start`: up to the next space or line end.
fn caret_end(text: &str, start: usize) -> usize {
    let rest = &text[start.min(text.len())..];
    let len = rest.find(['\n', ' ', ',', ']', '}']).unwrap_or(rest.len());
    start + len.max(1).min(rest.len())
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.origin {
            Some(o) => write!(f, "{o}: {severity}[{}]: {}", self.rule, self.message),
            None => write!(f, "{severity}[{}]: {}", self.rule, self.message),
        }
    }
}

/// Why kcc stopped: the configuration is wrong (exit 1) or kcc could not run (exit 2).
#[derive(Debug)]
pub enum Failure {
    Config(Vec<Diagnostic>),
    /// Errors stopped a command that writes (`kcc update`): exit 1, with the errors and
    /// what was left undone.
    Refused {
        diagnostics: Vec<Diagnostic>,
        undone: String,
    },
    /// Errors found and already printed (as `kcc check` does): exit 1, print nothing more.
    Reported,
    Fatal(String),
}

impl From<Diagnostic> for Failure {
    fn from(d: Diagnostic) -> Failure {
        Failure::Config(vec![d])
    }
}

impl From<Vec<Diagnostic>> for Failure {
    fn from(d: Vec<Diagnostic>) -> Failure {
        Failure::Config(d)
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// Reads a file, or fails with exit 2 naming it.
pub fn read_file(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Fatal(format!("cannot read {}: {e}", path.display())))
}
