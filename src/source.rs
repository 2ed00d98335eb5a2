//! Source files and positions: every value and every diagnostic points back at a file.

use std::fmt;
use std::sync::Arc;

/// A text file kcc read, kept whole so diagnostics can quote the offending line.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Path as shown to the user (relative to the project root where possible).
    pub path: String,
    pub text: String,
    /// Holds secrets (the private overlay): diagnostics name its lines but never quote them.
    pub private: bool,
    /// For rendered output: the template it was rendered from, so that a position in the
    /// output can be reported at the template line that wrote it.
    pub template: Option<Arc<SourceFile>>,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
            private: false,
            template: None,
        })
    }

    /// The output of rendering `template`.
    pub fn rendered(
        path: impl Into<String>,
        text: impl Into<String>,
        template: &Arc<SourceFile>,
    ) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
            private: false,
            template: Some(Arc::clone(template)),
        })
    }

    /// A file of the private overlay.
    pub fn private(path: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
            private: true,
            template: None,
        })
    }

    /// The 1-based line `line` of the file, without its newline.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
    }

    /// Byte offset of a 1-based line and 1-based character column.
    pub fn offset(&self, line: usize, col: usize) -> usize {
        let mut offset = 0;
        for (i, l) in self.text.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                let in_line: usize = l
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(char::len_utf8)
                    .sum();
                return offset + in_line;
            }
            offset += l.len();
        }
        self.text.len()
    }
}

/// Where something was written: file, 1-based line and 1-based column.
#[derive(Clone, Debug)]
pub struct Origin {
    pub file: Arc<SourceFile>,
    pub line: usize,
    pub col: usize,
}

impl Origin {
    pub fn new(file: &Arc<SourceFile>, line: usize, col: usize) -> Origin {
        Origin {
            file: Arc::clone(file),
            line,
            col,
        }
    }
}

impl Origin {
    /// For a position in rendered output, the position in its template that wrote it (if
    /// the texts align there).
    pub fn in_template(&self) -> Option<Origin> {
        let template = self.file.template.as_ref()?;
        let (line, col) = crate::template_lines::template_position(
            &template.text,
            &self.file.text,
            self.line,
            self.col,
        )?;
        Some(Origin::new(template, line, col))
    }
}

impl PartialEq for Origin {
    fn eq(&self, other: &Self) -> bool {
        self.file.path == other.file.path && self.line == other.line && self.col == other.col
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.path, self.line, self.col)
    }
}

/// Every file under `dir` (recursively) for which `keep` holds, sorted by path; none if
/// `dir` does not exist.
pub fn files_under(
    dir: &std::path::Path,
    keep: &dyn Fn(&std::path::Path) -> bool,
) -> Vec<std::path::PathBuf> {
    fn walk(
        dir: &std::path::Path,
        keep: &dyn Fn(&std::path::Path) -> bool,
        out: &mut Vec<std::path::PathBuf>,
    ) {
        let Ok(entries) = crate::tree::read_dir(dir) else {
            return;
        };
        for path in entries {
            if crate::tree::is_dir(&path) {
                walk(&path, keep, out);
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, keep, &mut out);
    out.sort();
    out
}
