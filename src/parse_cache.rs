//! Rendered files that many clusters render alike (the same template giving the same text:
//! RBAC rules, CRDs, most of a chart whose values do not differ) are parsed once, and their
//! objects shared: a shared object is also emitted and validated once (see
//! [`crate::manifest::Object::canonical`] and the checks' caches).
//!
//! A file seen for the first time is read document by document, and documents are shared
//! the same way: a file that lists every namespace of a cluster differs between clusters,
//! most of its documents do not. A shared document's objects are copied with their
//! positions moved to where it stands in the file at hand (diagnostics point into the right
//! render), and share their canonical YAML and what validation found of it.
//!
//! A text is kept when first seen while the cache holds less than half its byte budget
//! (a small fleet parses each text once); after that only a text seen a second time is
//! kept, so that on a large fleet texts only one cluster renders (its ranges, its names)
//! cost a hash, not memory, and the rest of the budget goes to texts that repeat.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use crate::diagnostic::Diagnostic;
use crate::manifest::RenderedFile;
use crate::manifest::{Object, objects_of_documents, parse_objects};
use crate::source::{Origin, SourceFile};
use crate::yaml::{MAX_NODES, Node, Value, load_documents_in};

/// Rendered text kept at most, in bytes (the objects parsed from it take a few times more).
const BUDGET: usize = 16 << 20;

/// Whether to keep a text of `size` bytes, seen before or not, when `held` bytes are kept.
fn worth_keeping(held: usize, size: usize, repeated: bool) -> bool {
    let limit = if repeated { BUDGET } else { BUDGET / 2 };
    held + size <= limit
}

#[derive(Default)]
pub struct ParseCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Texts seen once, by hash.
    seen: HashSet<u64>,
    /// Texts seen more than once, by hash, with their objects.
    kept: HashMap<u64, Kept>,
    /// Documents seen more than once, by hash, with their objects.
    kept_documents: HashMap<u64, KeptDocument>,
    bytes: usize,
}

struct Kept {
    file: RenderedFile,
    objects: Vec<Object>,
}

struct KeptDocument {
    source: String,
    text: String,
    /// The line of its file it starts on: its objects' positions are there.
    first_line: usize,
    /// Its nodes, as the loader counts them.
    nodes: usize,
    objects: Vec<Object>,
}

/// A document of a rendered file: its byte range and the line it starts on.
struct Part {
    range: std::ops::Range<usize>,
    first_line: usize,
}

fn hash_of(source: &str, text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    source.hash(&mut h);
    text.hash(&mut h);
    h.finish()
}

impl ParseCache {
    /// The objects of a rendered file, as [`parse_objects`] gives them.
    pub fn objects(&self, file: &RenderedFile) -> Result<Vec<Object>, Diagnostic> {
        let key = hash_of(&file.source, &file.file.text);
        let repeated = {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(kept) = inner.kept.get(&key)
                && kept.file.source == file.source
                && kept.file.file.text == file.file.text
            {
                return Ok(kept.objects.clone());
            }
            !inner.seen.insert(key)
        };
        let objects = match self.by_documents(file) {
            Some(objects) => objects,
            None => parse_objects(file)?,
        };
        {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let size = file.file.text.len();
            if worth_keeping(inner.bytes, size, repeated) && !inner.kept.contains_key(&key) {
                inner.bytes += size;
                let kept = Kept {
                    file: file.clone(),
                    objects: objects.clone(),
                };
                inner.kept.insert(key, kept);
            }
        }
        Ok(objects)
    }

    /// The objects of a file read document by document, each document shared with the
    /// files that render it alike; None when the file must be read whole: it does not split
    /// plainly at `---` lines, or a document has an error (reported as for the whole file).
    fn by_documents(&self, file: &RenderedFile) -> Option<Vec<Object>> {
        let parts = documents(&file.file.text)?;
        let mut objects = Vec::new();
        let mut nodes = 0usize;
        for part in parts {
            let text = &file.file.text[part.range.clone()];
            let key = hash_of(&file.source, text);
            let repeated = {
                let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(kept) = inner.kept_documents.get(&key)
                    && kept.source == file.source
                    && kept.text == text
                {
                    nodes += kept.nodes;
                    let delta = part.first_line as isize - kept.first_line as isize;
                    objects.extend(kept.objects.iter().map(|o| moved(o, &file.file, delta)));
                    continue;
                }
                !inner.seen.insert(key)
            };
            let (docs, n) = load_documents_in(&file.file, part.range, part.first_line).ok()?;
            nodes += n;
            let found = objects_of_documents(docs, &file.source, false).ok()?;
            {
                let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
                if worth_keeping(inner.bytes, text.len(), repeated)
                    && !inner.kept_documents.contains_key(&key)
                {
                    inner.bytes += text.len();
                    let kept = KeptDocument {
                        source: file.source.clone(),
                        text: text.to_string(),
                        first_line: part.first_line,
                        nodes: n,
                        objects: found.clone(),
                    };
                    inner.kept_documents.insert(key, kept);
                }
            }
            objects.extend(found);
        }
        // The node bound is the whole file's.
        (nodes <= MAX_NODES).then_some(objects)
    }
}

/// The documents of a rendered file, split at its `---` lines; None unless every document
/// marker is a bare `---` line and nothing else could make the parts read differently
/// alone (directives, `...` ends, a byte-order mark, CR line ends).
fn documents(text: &str) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut first_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.strip_suffix('\n').unwrap_or(line);
        if bare == "---" {
            parts.push(Part {
                range: start..offset,
                first_line,
            });
            start = offset + line.len();
            first_line = i + 2;
        } else if bare.starts_with("---")
            || bare.starts_with("...")
            || bare.starts_with('%')
            || bare.contains('\r')
            || bare.starts_with('\u{feff}')
        {
            return None;
        }
        offset += line.len();
    }
    parts.push(Part {
        range: start..text.len(),
        first_line,
    });
    Some(parts)
}

/// A copy of a kept document's object for another file where the document starts `delta`
/// lines further down: the same body with its positions in `file`, the same canonical YAML.
fn moved(object: &Object, file: &Arc<SourceFile>, delta: isize) -> Object {
    Object {
        id: object.id.clone(),
        body: Arc::new(moved_node(&object.body, file, delta)),
        source: object.source.clone(),
        origin: object.origin.as_ref().map(|o| moved_origin(o, file, delta)),
        canonical: Arc::clone(&object.canonical),
    }
}

fn moved_origin(origin: &Origin, file: &Arc<SourceFile>, delta: isize) -> Origin {
    Origin::new(file, origin.line.saturating_add_signed(delta), origin.col)
}

fn moved_node(node: &Node, file: &Arc<SourceFile>, delta: isize) -> Node {
    let value = match &node.value {
        Value::Seq(items) => Value::Seq(items.iter().map(|n| moved_node(n, file, delta)).collect()),
        Value::Map(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), moved_node(v, file, delta)))
                .collect(),
        ),
        scalar => scalar.clone(),
    };
    Node::new(
        value,
        node.origin.as_ref().map(|o| moved_origin(o, file, delta)),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::source::SourceFile;

    fn rendered(text: &str) -> RenderedFile {
        RenderedFile {
            source: "c/templates/t.yaml".into(),
            file: SourceFile::new("c/templates/t.yaml (rendered)", text),
        }
    }

    #[test]
    fn half_the_budget_is_for_texts_that_repeat() {
        assert!(worth_keeping(0, 100, false));
        assert!(worth_keeping(BUDGET / 2 - 100, 100, false));
        assert!(!worth_keeping(BUDGET / 2, 100, false));
        assert!(worth_keeping(BUDGET / 2, 100, true));
        assert!(!worth_keeping(BUDGET - 50, 100, true));
    }

    #[test]
    fn a_text_seen_again_shares_its_objects() {
        let cache = ParseCache::default();
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";
        let first = cache.objects(&rendered(text)).unwrap();
        let second = cache.objects(&rendered(text)).unwrap();
        let third = cache.objects(&rendered(text)).unwrap();
        // Parsed and kept when first seen (the cache is far from full), then shared.
        assert!(Arc::ptr_eq(&first[0].body, &second[0].body));
        assert!(Arc::ptr_eq(&second[0].body, &third[0].body));
        let other = cache
            .objects(&rendered(&text.replace("name: a", "name: b")))
            .unwrap();
        assert_eq!(other[0].id.name, "b");
        // Errors are not kept: each render reports its own.
        assert!(cache.objects(&rendered("- a\n")).is_err());
        assert!(cache.objects(&rendered("- a\n")).is_err());
    }

    /// A document many files render alike, at different lines, is parsed once it is kept;
    /// its copies point at their own file and line, and share their canonical YAML.
    #[test]
    fn a_document_seen_again_is_shared_at_its_own_position() {
        let cache = ParseCache::default();
        let shared = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n";
        let file = |before: usize| {
            let own: String = (0..before)
                .map(|i| {
                    format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own{i}\n")
                })
                .collect();
            rendered(&format!("{own}---\n{shared}"))
        };
        let objects: Vec<(Arc<SourceFile>, Object)> = [0, 1, 2]
            .map(|before| {
                let f = file(before);
                let o = cache.objects(&f).unwrap().pop().unwrap();
                (Arc::clone(&f.file), o)
            })
            .into_iter()
            .collect();
        for (i, (f, o)) in objects.iter().enumerate() {
            assert_eq!(o.id.name, "same");
            let start = 2 + 5 * i;
            let origin = o.origin.as_ref().unwrap();
            assert!(Arc::ptr_eq(&origin.file, f));
            assert_eq!((origin.line, origin.col), (start, 1));
            let name = o
                .body
                .lookup(["metadata", "name"])
                .unwrap()
                .origin
                .as_ref()
                .unwrap();
            assert!(Arc::ptr_eq(&name.file, f));
            assert_eq!((name.line, name.col), (start + 3, 3));
        }
        // Parsed and kept when first seen, then copied from the kept one.
        assert!(Arc::ptr_eq(
            &objects[0].1.canonical,
            &objects[1].1.canonical
        ));
        assert!(Arc::ptr_eq(
            &objects[1].1.canonical,
            &objects[2].1.canonical
        ));
        assert!(!Arc::ptr_eq(&objects[1].1.body, &objects[2].1.body));
    }

    #[test]
    fn files_that_do_not_split_plainly_are_read_whole() {
        assert!(documents("a: 1\n---\nb: 2\n").is_some());
        for text in [
            "--- a\n",
            "a: 1\n...\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\r\n",
        ] {
            assert!(documents(text).is_none(), "{text:?}");
        }
        let cache = ParseCache::default();
        let err = cache
            .objects(&rendered("---\na: 1\n---\na: [\n"))
            .unwrap_err();
        assert_eq!(err.rule, "yaml/syntax");
    }
}
