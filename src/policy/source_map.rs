//! Where an expression's text lies in its YAML file, so that a CEL error at line:col of
//! the expression is reported at the file's line:col.

use std::sync::Arc;

use crate::source::{Origin, SourceFile};

use super::cel::Position;

/// Maps positions in one expression to its file.
#[derive(Clone, Debug)]
pub struct ExprLocation {
    file: Arc<SourceFile>,
    /// The file line and column of the expression's first character.
    line: usize,
    col: usize,
    /// Block scalars (`|`, `>`): every line after the first starts at this column.
    indent: Option<usize>,
}

impl ExprLocation {
    /// From the origin of the map key the expression is the value of (`expression:`).
    pub fn of_key(key: &Origin) -> ExprLocation {
        let file = Arc::clone(&key.file);
        let fallback = ExprLocation {
            file: Arc::clone(&file),
            line: key.line,
            col: key.col,
            indent: None,
        };
        let Some(line_text) = file.line_text(key.line) else {
            return fallback;
        };
        let after_key: String = line_text.chars().skip(key.col.saturating_sub(1)).collect();
        let Some(colon) = after_key.find(':') else {
            return fallback;
        };
        let value = &after_key[colon + 1..];
        let value_start = value.len() - value.trim_start().len();
        let value_col =
            key.col + after_key[..colon + 1].chars().count() + value[..value_start].chars().count();
        match value.trim_start().chars().next() {
            Some('|' | '>') => {
                // The first non-blank line after the key holds the first line of text.
                let mut line = key.line + 1;
                while file.line_text(line).is_some_and(|l| l.trim().is_empty()) {
                    line += 1;
                }
                let indent = file
                    .line_text(line)
                    .map_or(key.col + 2, |l| l.len() - l.trim_start().len() + 1);
                ExprLocation {
                    file,
                    line,
                    col: indent,
                    indent: Some(indent),
                }
            }
            Some('"' | '\'') => ExprLocation {
                file,
                line: key.line,
                col: value_col + 1,
                indent: None,
            },
            _ => ExprLocation {
                file,
                line: key.line,
                col: value_col,
                indent: None,
            },
        }
    }

    /// The file position of `position` in the expression.
    pub fn origin(&self, position: Position) -> Origin {
        let line = self.line + position.line.saturating_sub(1);
        let col = match (position.line, self.indent) {
            (1, _) => self.col + position.col.saturating_sub(1),
            (_, Some(indent)) => indent + position.col.saturating_sub(1),
            (_, None) => position.col,
        };
        Origin::new(&self.file, line, col)
    }

    /// Where the expression starts.
    pub fn start(&self) -> Origin {
        Origin::new(&self.file, self.line, self.col)
    }
}
