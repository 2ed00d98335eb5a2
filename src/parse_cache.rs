//! Rendered files that many clusters render alike (the same template giving the same text:
//! RBAC rules, CRDs, most of a chart whose values do not differ) are parsed once, and their
//! objects shared: a shared object is also emitted and validated once (see
//! [`crate::manifest::Object::canonical`] and the checks' caches).
//!
//! Only a text seen a second time is kept, so texts only one cluster renders (its ranges,
//! its names) cost a hash, not memory; a byte budget bounds the rest.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use crate::diagnostic::Diagnostic;
use crate::manifest::RenderedFile;
use crate::manifest::{Object, parse_objects};

/// Rendered text kept at most, in bytes (the objects parsed from it take a few times more).
const BUDGET: usize = 16 << 20;

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
    bytes: usize,
}

struct Kept {
    file: RenderedFile,
    objects: Vec<Object>,
}

impl ParseCache {
    /// The objects of a rendered file, as [`parse_objects`] gives them.
    pub fn objects(&self, file: &RenderedFile) -> Result<Vec<Object>, Diagnostic> {
        let key = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            file.source.hash(&mut h);
            file.file.text.hash(&mut h);
            h.finish()
        };
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
        let objects = parse_objects(file)?;
        if repeated {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let size = file.file.text.len();
            if inner.bytes + size <= BUDGET && !inner.kept.contains_key(&key) {
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
    fn a_text_seen_again_shares_its_objects() {
        let cache = ParseCache::default();
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";
        let first = cache.objects(&rendered(text)).unwrap();
        let second = cache.objects(&rendered(text)).unwrap();
        let third = cache.objects(&rendered(text)).unwrap();
        // Seen once: parsed; twice: parsed and kept; then shared.
        assert!(!Arc::ptr_eq(&first[0].body, &second[0].body));
        assert!(Arc::ptr_eq(&second[0].body, &third[0].body));
        let other = cache
            .objects(&rendered(&text.replace("name: a", "name: b")))
            .unwrap();
        assert_eq!(other[0].id.name, "b");
        // Errors are not kept: each render reports its own.
        assert!(cache.objects(&rendered("- a\n")).is_err());
        assert!(cache.objects(&rendered("- a\n")).is_err());
    }
}
