//! Diagnostics: what kcc reports about a configuration, and how it prints them.

mod dedup;

pub use dedup::{Seen, dedup};

use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity as ReportSeverity};
use codespan_reporting::files::{Error as FilesError, Files, SimpleFile};
use codespan_reporting::term;
use serde::Serialize;

use crate::source::{Origin, SourceFile};

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

/// The note that tells where in the rendered output a diagnostic moved to its template
/// line was.
fn rendered_line_note(line: usize) -> String {
    format!("line {line} of the rendered output")
}

/// The line of a note [`rendered_line_note`] wrote; None for any other note.
fn rendered_line_of(note: &str) -> Option<usize> {
    note.strip_prefix("line ")?
        .strip_suffix(" of the rendered output")?
        .parse()
        .ok()
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
                self.notes.push(rendered_line_note(rendered.line));
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
    pub(crate) fn all_notes(&self) -> Vec<String> {
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
        let (path, text, cut) = match &self.origin {
            // A secret's file is named, never quoted.
            Some(origin) if origin.file.private => {
                notes.insert(0, format!("at {origin} (private: not shown)"));
                ("", String::new(), 0)
            }
            // A file that does not exist (a golden file not yet written): named, not quoted.
            Some(origin) if origin.file.text.is_empty() => {
                notes.insert(0, format!("at {origin}"));
                ("", String::new(), 0)
            }
            Some(origin) => {
                let (text, caret, cut) = excerpt(&origin.file, origin.line, origin.col);
                labels.push(Label::primary((), caret));
                (origin.file.path.as_str(), text, cut)
            }
            None => ("", String::new(), 0),
        };
        let report = Report::new(severity)
            .with_code(self.rule)
            .with_message(&self.message)
            .with_labels(labels)
            .with_notes(notes);
        let file = Excerpt {
            file: SimpleFile::new(path, text),
            cut,
        };
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

/// Longest source line quoted whole; a longer one is cut to a window around the caret.
const MAX_QUOTED_LINE: usize = 160;

/// The quoted line of a diagnostic, as codespan reads it: when the line was cut to a
/// window, columns in it are `cut` characters left of the file's, which the
/// `file:line:col` header must show.
struct Excerpt<'a> {
    file: SimpleFile<&'a str, String>,
    /// The file's column of the window's first character, minus one.
    cut: usize,
}

impl<'a> Files<'a> for Excerpt<'a> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: ()) -> Result<&'a str, FilesError> {
        Files::name(&self.file, id)
    }

    fn source(&'a self, id: ()) -> Result<&'a str, FilesError> {
        Files::source(&self.file, id)
    }

    fn line_index(&'a self, id: (), byte_index: usize) -> Result<usize, FilesError> {
        self.file.line_index(id, byte_index)
    }

    fn line_range(
        &'a self,
        id: (),
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, FilesError> {
        self.file.line_range(id, line_index)
    }

    fn column_number(
        &'a self,
        id: (),
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, FilesError> {
        Ok(self.file.column_number(id, line_index, byte_index)? + self.cut)
    }
}

/// The text to quote for a diagnostic at `line:col` of `file` (only that line, preceded by
/// empty lines so that its number is kept), the caret's byte range in it, and how many
/// columns were cut from the line's start. A very long line (minified JSON, a hostile
/// file) is cut to a window around the caret, marked `…`.
fn excerpt(file: &SourceFile, line: usize, col: usize) -> (String, std::ops::Range<usize>, usize) {
    let full = file.line_text(line).unwrap_or_default();
    let padding = "\n".repeat(line.saturating_sub(1));
    let chars: Vec<char> = full.chars().collect();
    let (shown, caret_col) = if chars.len() <= MAX_QUOTED_LINE {
        (full.to_string(), col)
    } else {
        let half = MAX_QUOTED_LINE / 2;
        let from = col.saturating_sub(1).saturating_sub(half).min(chars.len());
        let to = (from + MAX_QUOTED_LINE).min(chars.len());
        let mut window: String = chars[from..to].iter().collect();
        let mut caret_col = col - from;
        if from > 0 {
            window.insert(0, '…');
            caret_col += 1;
        }
        if to < chars.len() {
            window.push('…');
        }
        (window, caret_col)
    };
    let text = format!("{padding}{shown}\n");
    let start = padding.len()
        + shown
            .chars()
            .take(caret_col.saturating_sub(1))
            .map(char::len_utf8)
            .sum::<usize>();
    let end = caret_end(&text, start)
        .min(padding.len() + shown.len())
        .max(start);
    (text, start..end, col.saturating_sub(caret_col))
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

/// The largest file kcc reads (values, charts, kcc.yaml, manifests): ten times the largest
/// in a real fleet (calico's CRDs, ~1 MiB rendered), so that a hostile or mistaken file is
/// refused at once instead of taking seconds and gigabytes.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a text file, or fails naming it: exit 2 if it cannot be read, exit 1
/// (`input/too-large`, `input/encoding`) if it is too large or not UTF-8.
pub fn read_file(path: &std::path::Path) -> Result<String> {
    let cannot = |e: std::io::Error| Failure::Fatal(format!("cannot read {}: {e}", path.display()));
    match crate::tree::read_at_most(path, MAX_FILE_BYTES).map_err(cannot)? {
        Ok(bytes) => text_of(&path.display().to_string(), bytes),
        Err(size) => Err(Failure::Config(vec![Diagnostic::error(
            "input/too-large",
            format!(
                "{} is {size} bytes, more than kcc reads ({MAX_FILE_BYTES} bytes, 16 MiB)",
                path.display()
            ),
        )])),
    }
}

/// The bytes read from `name` as text; not UTF-8 is an `input/encoding` error naming the
/// line and column of the first bad byte, not quoting it: the file may be a secret (the
/// private overlay), and is not text anyway.
pub fn text_of(name: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let col = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        Failure::Config(vec![Diagnostic::error(
            "input/encoding",
            format!(
                "{name}:{line}:{col}: not UTF-8 text (byte 0x{:02X}); kcc reads UTF-8 files only",
                e.as_bytes()[valid.len()]
            ),
        )])
    })
}
