//! CEL as the Kubernetes API server evaluates it for admission policies.
//!
//! The `cel` crate parses (syntax, macros, optional syntax, positions); kcc walks the
//! tree itself ([`eval`]) because the crate's interpreter has no runtime cost limit and
//! copies objects into its own values. Kubernetes' libraries (regex, lists, sets,
//! quantity, URL, IP/CIDR) and cel-go's string and optional extensions are kcc's
//! ([`functions`] and the modules beside it).

mod ast;
mod eval;
mod functions;
mod net;
mod quantity;
mod url;
mod value;

pub use eval::{Activation, Budget, EvalError, Evaluation};
pub use value::{List, Map, Str, Value};

/// What an expression may name besides its own comprehension variables: the policy's
/// variables declared before it.
#[derive(Clone, Debug, Default)]
pub struct Declarations {
    pub variables: Vec<String>,
}

/// An error found before evaluation, at a byte offset of the expression's text.
#[derive(Clone, Debug, PartialEq)]
pub struct CompileError {
    pub message: String,
    pub offset: u32,
}

/// A position in an expression's text: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub col: usize,
}

/// A compiled expression, evaluated any number of times.
#[derive(Debug)]
pub struct Program {
    pub source: String,
    root: ast::Expr,
}

/// Nesting deeper than this is a syntax error (cel-go's parser allows 250; a policy
/// expression needs far less, and evaluation recurses as deep as the tree).
const MAX_NESTING: u16 = 64;
/// Longer expressions are refused before parsing.
const MAX_SOURCE_BYTES: usize = 64 * 1024;

impl Program {
    /// Parses and checks `source`. An error carries its position in `source`.
    pub fn compile(source: &str, decls: &Declarations) -> Result<Program, (String, Position)> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err((
                format!("expression longer than {MAX_SOURCE_BYTES} bytes"),
                Position { line: 1, col: 1 },
            ));
        }
        let parser = cel::parser::Parser::new()
            .enable_optional_syntax(true)
            .max_recursion_depth(MAX_NESTING);
        let (expr, info) = match parser.parse_with_source_info(source) {
            Ok(parsed) => parsed,
            Err(errors) => {
                let first = errors.errors.first();
                let message = first.map_or("", |e| e.msg.trim_start_matches("Syntax error: "));
                let (line, col) = first.map_or((1, 0), |e| e.pos);
                return Err((
                    format!("syntax error: {message}"),
                    Position {
                        line: line.max(1) as usize,
                        col: col.max(1) as usize,
                    },
                ));
            }
        };
        match ast::convert(&expr, &info, decls) {
            Ok(root) => Ok(Program {
                source: source.to_string(),
                root,
            }),
            Err(e) => Err((e.message, position(source, e.offset))),
        }
    }

    /// Where a byte offset of this program's text is.
    pub fn position(&self, offset: u32) -> Position {
        position(&self.source, offset)
    }
}

/// The line and column of a byte offset in `source`.
pub fn position(source: &str, offset: u32) -> Position {
    let offset = (offset as usize).min(source.len());
    let before = &source[..source.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line,
        col: before[line_start..].chars().count() + 1,
    }
}

#[cfg(test)]
mod tests;
