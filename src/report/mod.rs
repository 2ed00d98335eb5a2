//! Diagnostics in the formats CI systems read: JUnit XML, SARIF 2.1.0, TAP 14 and GitHub
//! Actions workflow commands. Commands call these formatters with what they found; the
//! formatters only turn it into text.

mod github;
mod junit;
mod rules;
mod sarif;
mod tap;

pub use github::github;
pub use junit::junit;
pub use rules::description;
pub use sarif::sarif;
pub use tap::tap;

use crate::diagnostic::{Diagnostic, Severity};

/// What a command checked, as the CI formats report it.
pub struct Run<'a> {
    /// `kcc check` or `kcc validate`.
    pub command: &'a str,
    /// The diagnostics, errors first.
    pub diagnostics: &'a [Diagnostic],
    /// What was checked (the clusters, the input files): each one no error names is
    /// reported as a passing test, so that a clean run still shows what it covered.
    pub subjects: &'a [Subject],
    /// Prepended to every file path: the project directory within the repository (`""` when
    /// they are the same), so that CI annotates the right file.
    pub path_prefix: &'a str,
    /// Lines about the run as a whole, and its one-line summary.
    pub notes: &'a [String],
    pub summary: &'a str,
}

/// A thing a command checked: a cluster (its diagnostics name it in `seen`, or lie under
/// `golden/<cluster>/`) or an input file.
pub struct Subject {
    pub name: String,
    pub cluster: Option<String>,
    /// Diagnostics about a file whose path starts with this one are about this subject.
    pub path_prefix: String,
}

impl Subject {
    pub fn cluster(name: &str) -> Subject {
        Subject {
            name: format!("cluster {name}"),
            cluster: Some(name.to_string()),
            path_prefix: format!("{}/{name}/", crate::golden::GOLDEN_DIR),
        }
    }

    pub fn file(path: &str) -> Subject {
        Subject {
            name: path.to_string(),
            cluster: None,
            path_prefix: path.to_string(),
        }
    }

    /// Whether any error is about this subject.
    fn failed(&self, diagnostics: &[Diagnostic]) -> bool {
        diagnostics.iter().any(|d| {
            d.severity == Severity::Error
                && (d
                    .seen
                    .iter()
                    .any(|s| Some(&s.cluster) == self.cluster.as_ref())
                    || d.origin
                        .as_ref()
                        .is_some_and(|o| o.file.path.starts_with(&self.path_prefix)))
        })
    }
}

impl Run<'_> {
    /// The subjects no error is about.
    fn passed(&self) -> impl Iterator<Item = &Subject> {
        self.subjects.iter().filter(|s| !s.failed(self.diagnostics))
    }

    fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

/// Where a diagnostic points, its path as CI should see it.
struct Place {
    file: String,
    line: usize,
    col: usize,
}

impl Place {
    fn of(d: &Diagnostic, prefix: &str) -> Option<Place> {
        d.origin.as_ref().map(|o| Place {
            file: format!("{prefix}{}", o.file.path.replace('\\', "/")),
            line: o.line.max(1),
            col: o.col.max(1),
        })
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The message and its notes (where it was seen first), one per line.
fn full_message(d: &Diagnostic) -> String {
    let mut text = d.message.clone();
    for note in d.all_notes() {
        text.push('\n');
        text.push_str(note.trim_end());
    }
    text
}

/// One line: `rule file:line:col: message` with line breaks as spaces.
fn one_line(d: &Diagnostic, prefix: &str) -> String {
    let message = d.message.split_whitespace().collect::<Vec<_>>().join(" ");
    match Place::of(d, prefix) {
        Some(place) => format!("{place}: {message}"),
        None => message,
    }
}
