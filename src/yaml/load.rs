//! YAML text → [`Node`] trees, keeping positions and refusing duplicate keys.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput, Tag};

use super::scalar::resolve_plain;
use super::{Node, Value};
use crate::diagnostic::Diagnostic;
use crate::source::{Origin, SourceFile};

/// At most this many nodes per file, aliases counted at their full size: far above any
/// real values file or render (the largest, calico's CRDs, has ~60,000), far below what
/// exhausts memory. An alias bomb ("billion laughs") stops here, at the alias.
pub const MAX_NODES: usize = 1_000_000;

/// At most this deep a nesting of maps and lists (the loader recurses per level).
pub const MAX_DEPTH: usize = 256;

/// Every document of a file; a file with no documents gives an empty list.
pub fn load_documents(file: &Arc<SourceFile>) -> Result<Vec<Node>, Diagnostic> {
    load_documents_in(file, 0..file.text.len(), 1).map(|(docs, _)| docs)
}

/// The documents of the part `range` of a file, which starts at the beginning of its line
/// `first_line` (1-based): positions are the file's. With the nodes they count (aliases at
/// their full size), which [`MAX_NODES`] bounds per file, not per part. Errors are the
/// part's alone: a caller that reads a file in parts reads it whole to report one.
pub fn load_documents_in(
    file: &Arc<SourceFile>,
    range: std::ops::Range<usize>,
    first_line: usize,
) -> Result<(Vec<Node>, usize), Diagnostic> {
    let mut loader = Loader {
        file,
        parser: Parser::new_from_str(&file.text[range]),
        anchors: HashMap::new(),
        nodes: 0,
        lines_before: first_line - 1,
    };
    let mut docs = Vec::new();
    loop {
        let (event, span) = loader.next()?;
        match event {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => return Ok((docs, loader.nodes)),
            Event::DocumentStart(_) => {
                let (event, span) = loader.next()?;
                docs.push(loader.node(event, span)?);
            }
            other => return Err(loader.error(span, format!("unexpected {other:?}"))),
        }
    }
}

/// The single document of a file; an empty file is `null`. More documents are an error.
pub fn load_one(file: &Arc<SourceFile>) -> Result<Node, Diagnostic> {
    let mut docs = load_documents(file)?;
    match docs.len() {
        0 => Ok(Node::new(Value::Null, Some(Origin::new(file, 1, 1)))),
        1 => Ok(docs.remove(0)),
        _ => Err(
            Diagnostic::error("yaml/syntax", "expected one YAML document, found several")
                .at(docs[1].origin.as_ref()),
        ),
    }
}

/// The 1-based line and column of the first tab in the indentation of a line after line
/// `after`.
fn indenting_tab(text: &str, after: usize) -> Option<(usize, usize)> {
    text.lines().enumerate().skip(after).find_map(|(i, line)| {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let col = line[..indent].find('\t')?;
        Some((i + 1, line[..col].chars().count() + 1))
    })
}

/// What the next event means inside the innermost open map or list.
#[derive(Clone, Copy)]
enum Expect {
    Item,
    Key,
    Value,
}

/// A map or list whose entries are being read.
struct Open {
    entries: Entries,
    /// Where it starts (its origin), its anchor (0 for none), and the node count there.
    span: Span,
    anchor: usize,
    start: usize,
}

enum Entries {
    Seq(Vec<Node>),
    Map {
        map: BTreeMap<String, Node>,
        /// Keys whose value a merge key (`<<`) brought in, each with where it had been
        /// written explicitly before, if it had. Every other key of `map` was written
        /// explicitly (at its value's origin): nothing to keep for those, the usual case.
        merged: HashMap<String, Option<Origin>>,
        /// A key read, waiting for its value: its text, where, and whether it is `<<`.
        key: Option<(String, Span, bool)>,
    },
}

struct Loader<'a> {
    file: &'a Arc<SourceFile>,
    parser: Parser<'a, StrInput<'a>>,
    /// Anchored nodes with their size in nodes, which an alias adds to the count.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes built so far, aliases at their full size.
    nodes: usize,
    /// Lines of the file before the part being read.
    lines_before: usize,
}

impl<'a> Loader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), Diagnostic> {
        match self.parser.next_event() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(e)) => {
                let m = e.marker();
                let (mut line, mut col) = (m.line() + self.lines_before, m.col() + 1);
                // The parser reports a tab that breaks a plain scalar at the scalar's
                // start; the line to fix is the one the tab indents.
                if e.info().ends_with("found a tab")
                    && let Some(at) = indenting_tab(&self.file.text, line)
                {
                    (line, col) = at;
                }
                Err(Diagnostic::error("yaml/syntax", e.info().to_string())
                    .at(Some(&Origin::new(self.file, line, col))))
            }
            None => Err(Diagnostic::error("yaml/syntax", "unexpected end of YAML")),
        }
    }

    fn origin(&self, span: Span) -> Origin {
        Origin::new(
            self.file,
            span.start.line() + self.lines_before,
            span.start.col() + 1,
        )
    }

    fn error(&self, span: Span, message: String) -> Diagnostic {
        Diagnostic::error("yaml/syntax", message).at(Some(&self.origin(span)))
    }

    /// Counts `n` more nodes, refusing the file past [`MAX_NODES`].
    fn count(&mut self, n: usize, span: Span) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::error(
                "yaml/too-large",
                format!("this YAML expands to more than {MAX_NODES} nodes (aliases counted in full): refused"),
            )
            .at(Some(&self.origin(span)))
            .note("an alias used many times over (a \"billion laughs\" file) expands like this"));
        }
        Ok(())
    }

    /// The node that `event` starts, read to its end. Nested maps and lists are kept on a
    /// stack of their own, not the call stack: at [`MAX_DEPTH`] levels the loader needs no
    /// more of the thread's stack than at one (rayon's worker threads have 2 MiB).
    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Node, Diagnostic> {
        let mut open: Vec<Open> = Vec::new();
        let mut next = Some((event, span));
        loop {
            let (event, span) = match next.take() {
                Some(pair) => pair,
                None => self.next()?,
            };
            let expecting = match open.last() {
                Some(Open {
                    entries: Entries::Seq(_),
                    ..
                }) => Expect::Item,
                Some(Open {
                    entries: Entries::Map { key: None, .. },
                    ..
                }) => Expect::Key,
                _ => Expect::Value,
            };
            let (node, span) = match (expecting, event) {
                (Expect::Item, Event::SequenceEnd) | (Expect::Key, Event::MappingEnd) => {
                    let done = open.pop().expect("an open map or list");
                    self.close(done)
                }
                (Expect::Key, Event::Scalar(text, style, _, tag)) => {
                    let is_merge = text == "<<"
                        && match &tag {
                            None => style == ScalarStyle::Plain,
                            Some(t) => t.suffix == "merge",
                        };
                    if let Some(Open {
                        entries: Entries::Map { key, .. },
                        ..
                    }) = open.last_mut()
                    {
                        *key = Some((text.into_owned(), span, is_merge));
                    }
                    continue;
                }
                (Expect::Key, _) => {
                    return Err(self.error(span, "map keys must be scalars".into()));
                }
                (_, event) => {
                    // The node would be the (open.len() + 1)-th level.
                    if open.len() >= MAX_DEPTH {
                        return Err(Diagnostic::error(
                            "yaml/too-large",
                            format!("maps and lists nested more than {MAX_DEPTH} deep: refused"),
                        )
                        .at(Some(&self.origin(span))));
                    }
                    let start = self.nodes;
                    match event {
                        Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                            self.count(1, span)?;
                            let entries = if matches!(event, Event::SequenceStart(..)) {
                                Entries::Seq(Vec::new())
                            } else {
                                Entries::Map {
                                    map: BTreeMap::new(),
                                    merged: HashMap::new(),
                                    key: None,
                                }
                            };
                            open.push(Open {
                                entries,
                                span,
                                anchor,
                                start,
                            });
                            continue;
                        }
                        Event::Scalar(text, style, anchor, tag) => {
                            self.count(1, span)?;
                            let value = self.scalar(&text, style, tag.as_deref(), span)?;
                            let node = Node::new(value, Some(self.origin(span)));
                            self.remember(anchor, &node, start);
                            (node, span)
                        }
                        Event::Alias(id) => {
                            let Some(&(_, size)) = self.anchors.get(&id) else {
                                return Err(self.error(span, "alias to an unknown anchor".into()));
                            };
                            // Counted before it is copied: a bomb stops before it takes the memory.
                            self.count(size, span)?;
                            (self.anchors[&id].0.clone(), span)
                        }
                        other => return Err(self.error(span, format!("unexpected {other:?}"))),
                    }
                }
            };
            // A whole node: the document's, or the next entry of the innermost open one.
            let Some(parent) = open.last_mut() else {
                return Ok(node);
            };
            match &mut parent.entries {
                Entries::Seq(items) => items.push(node),
                Entries::Map { map, merged, key } => {
                    let (key, key_span, is_merge) =
                        key.take().expect("a map value follows its key");
                    self.add_entry(map, merged, key, key_span, is_merge, node, span)?;
                }
            }
        }
    }

    /// Sets `key: value` in a map being read (or merges `value` in, for `<<`).
    #[allow(clippy::too_many_arguments)]
    fn add_entry(
        &self,
        map: &mut BTreeMap<String, Node>,
        merged: &mut HashMap<String, Option<Origin>>,
        key: String,
        key_span: Span,
        is_merge: bool,
        mut value: Node,
        value_span: Span,
    ) -> Result<(), Diagnostic> {
        if is_merge {
            return self.merge_into(map, merged, value, value_span);
        }
        let key_origin = self.origin(key_span);
        // A key a merge key brought in may be overridden, one written twice may not.
        let first = match merged.remove(&key) {
            Some(written) => written,
            None => map.get(&key).and_then(|n| n.origin.clone()),
        };
        if let Some(first) = first {
            return Err(
                Diagnostic::error("yaml/duplicate-key", format!("duplicate key `{key}`"))
                    .at(Some(&key_origin))
                    .note(format!("first set at {first}")),
            );
        }
        value.origin = Some(key_origin);
        map.insert(key, value);
        Ok(())
    }

    /// A map or list read to its end.
    fn close(&mut self, done: Open) -> (Node, Span) {
        let value = match done.entries {
            Entries::Seq(items) => Value::Seq(items),
            Entries::Map { map, .. } => Value::Map(map),
        };
        let node = Node::new(value, Some(self.origin(done.span)));
        self.remember(done.anchor, &node, done.start);
        (node, done.span)
    }

    /// Keeps an anchored node for its aliases, with its size: the nodes counted since
    /// `start`.
    fn remember(&mut self, anchor: usize, node: &Node, start: usize) {
        if anchor != 0 {
            self.anchors
                .insert(anchor, (node.clone(), self.nodes - start));
        }
    }

    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<Value, Diagnostic> {
        Ok(match (tag, style) {
            (Some(tag), _) if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" => {
                self.tagged(text, &tag.suffix, span)?
            }
            (_, ScalarStyle::Plain) => {
                let value = resolve_plain(text);
                if matches!(value, Value::Float(_)) && is_decimal_integer(text) {
                    // Read as a float it would render as 1e+26: no Kubernetes field
                    // takes that, and the digits the author wrote are lost.
                    return Err(Diagnostic::error(
                        "yaml/number",
                        format!("the integer {text} does not fit in 64 bits"),
                    )
                    .at(Some(&self.origin(span)))
                    .note("Kubernetes integers are int32 or int64; quote it if it is meant as a string"));
                }
                value
            }
            _ => Value::Str(text.to_string()),
        })
    }

    /// `<<: *anchor` or `<<: [*a, *b]` (YAML 1.1 merge keys), read as helm's YAML reader
    /// (go-yaml v2) reads them: where the `<<` is written, its maps' keys are set over the
    /// keys written before it (and under those written after); in a list, earlier maps win.
    /// The merge is shallow: a map value replaces the one it meets.
    fn merge_into(
        &self,
        map: &mut BTreeMap<String, Node>,
        merged_keys: &mut HashMap<String, Option<Origin>>,
        merged: Node,
        span: Span,
    ) -> Result<(), Diagnostic> {
        let sources = match merged.value {
            Value::Map(_) => vec![merged],
            Value::Seq(items) => items,
            _ => return Err(self.error(span, "`<<` merges a map or a list of maps".into())),
        };
        for source in sources.into_iter().rev() {
            let Value::Map(entries) = source.value else {
                return Err(self.error(span, "`<<` merges a map or a list of maps".into()));
            };
            for (key, value) in entries {
                if !merged_keys.contains_key(&key) {
                    let written = map.get(&key).and_then(|n| n.origin.clone());
                    merged_keys.insert(key.clone(), written);
                }
                map.insert(key, value);
            }
        }
        Ok(())
    }

    fn tagged(&self, text: &str, suffix: &str, span: Span) -> Result<Value, Diagnostic> {
        let value = match suffix {
            "str" => Value::Str(text.to_string()),
            "null" => Value::Null,
            "bool" | "int" | "float" => resolve_plain(text),
            other => return Err(self.error(span, format!("unsupported tag !!{other}"))),
        };
        let type_ok = matches!(
            (suffix, &value),
            ("bool", Value::Bool(_))
                | ("int", Value::Int(_))
                | ("str" | "null", _)
                | ("float", Value::Float(_) | Value::Int(_))
        );
        if !type_ok {
            return Err(self.error(span, format!("`{text}` is not a valid !!{suffix}")));
        }
        Ok(match (suffix, value) {
            ("float", Value::Int(i)) => Value::Float(i as f64),
            (_, v) => v,
        })
    }
}

/// `[-+]?[0-9]+`: an integer as written in decimal.
fn is_decimal_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Node, Diagnostic> {
        load_one(&SourceFile::new("t.yaml", text))
    }

    #[test]
    fn positions_point_at_keys() {
        let node = load("a:\n  b: 1\n  c:\n    - x\n").unwrap();
        let b = node.lookup(["a", "b"]).unwrap();
        assert_eq!(
            (
                b.origin.as_ref().unwrap().line,
                b.origin.as_ref().unwrap().col
            ),
            (2, 3)
        );
        let x = node.lookup(["a", "c", "0"]).unwrap();
        assert_eq!(x.origin.as_ref().unwrap().line, 4);
        assert_eq!(x.as_str(), Some("x"));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = load("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.rule, "yaml/duplicate-key");
        assert_eq!(err.origin.unwrap().line, 3);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = load("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(err.rule, "yaml/syntax");
        assert!(err.origin.is_some());
    }

    #[test]
    fn a_tab_breaking_a_plain_scalar_is_reported_where_it_is() {
        let err = load("a: 1\nb: x\n\tc: 2\n").unwrap_err();
        assert_eq!(err.rule, "yaml/syntax");
        let origin = err.origin.unwrap();
        assert_eq!((origin.line, origin.col), (3, 1));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let node = load("a: \"8\"\nb: 8\nc: '~'\nd: !!str 1.23\n").unwrap();
        assert_eq!(node.get("a").unwrap().value, Value::Str("8".into()));
        assert_eq!(node.get("b").unwrap().value, Value::Int(8));
        assert_eq!(node.get("c").unwrap().value, Value::Str("~".into()));
        assert_eq!(node.get("d").unwrap().value, Value::Str("1.23".into()));
    }

    #[test]
    fn merge_keys_fill_in_what_the_map_lacks() {
        let node = load("base: &b {x: 1, y: 2}\nover:\n  <<: *b\n  y: 3\n").unwrap();
        assert_eq!(node.lookup(["over", "x"]).unwrap().value, Value::Int(1));
        assert_eq!(node.lookup(["over", "y"]).unwrap().value, Value::Int(3));
        assert!(node.lookup(["over", "<<"]).is_none());
        assert!(load("a:\n  <<: 1\n").is_err());
        assert!(load("n: &n ~\na:\n  <<: *n\n").is_err());
    }

    /// helm (go-yaml v2) applies `<<` where it is written: over the keys before it. Checked
    /// with helm 3.15 (tests/it/helm_values.rs: merge_key_after_a_key_overrides_it).
    #[test]
    fn merge_keys_apply_in_document_order() {
        let node = load("base: &b {x: 1, y: 2}\nover:\n  y: 3\n  <<: *b\n").unwrap();
        assert_eq!(node.lookup(["over", "y"]).unwrap().value, Value::Int(2));
        // In a list of maps the first one wins, and the merge is shallow.
        let node =
            load("a: &a {x: 1, m: {p: 1}}\nb: &b {x: 2, z: 2, m: {q: 1}}\nc:\n  <<: [*a, *b]\n")
                .unwrap();
        assert_eq!(node.lookup(["c", "x"]).unwrap().value, Value::Int(1));
        assert_eq!(node.lookup(["c", "z"]).unwrap().value, Value::Int(2));
        assert!(node.lookup(["c", "m", "q"]).is_none());
        // Merged keys are no duplicates; keys written twice still are.
        assert!(load("b: &b {x: 1}\nc: {<<: *b, x: 2}\n").is_ok());
        assert!(load("c: {x: 1, x: 2}\n").is_err());
    }

    /// Only a plain `<<` is a merge key; quoted it is an ordinary key, as in helm.
    #[test]
    fn a_quoted_merge_key_is_a_key() {
        let node = load("a:\n  \"<<\": {x: 1}\n").unwrap();
        assert_eq!(node.lookup(["a", "<<", "x"]).unwrap().value, Value::Int(1));
    }

    /// Open maps and lists are kept on the loader's own stack: the deepest nesting it
    /// accepts loads on a thread with little stack. (Recursing, a debug build needed ~12 KiB
    /// per level, and a values file nested 180 deep overflowed a rayon worker's 2 MiB.)
    #[test]
    fn the_deepest_nesting_allowed_needs_little_stack() {
        let deepest = format!("{}x\n", "- ".repeat(MAX_DEPTH - 1));
        let too_deep = format!("{}x\n", "- ".repeat(MAX_DEPTH));
        let flow = format!(
            "a: {}{}\n",
            "{b: ".repeat(MAX_DEPTH - 2),
            "}".repeat(MAX_DEPTH - 2)
        );
        std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || {
                let node = load(&deepest).unwrap();
                let path = vec!["0"; MAX_DEPTH - 1];
                assert_eq!(node.lookup(path).unwrap().as_str(), Some("x"));
                assert_eq!(load(&too_deep).unwrap_err().rule, "yaml/too-large");
                assert!(load(&flow).is_ok());
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn anchors_and_multiple_documents() {
        let docs =
            load_documents(&SourceFile::new("t", "a: &x {k: v}\nb: *x\n---\nc: 1\n")).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("b"), docs[0].get("a"));
    }
}
