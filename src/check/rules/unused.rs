//! `values/unused`: a value set in a values file that nothing reads — no template of any
//! release the file feeds, in any cluster, nor kcc itself — is reported at its line, at
//! any depth. A misspelt key (`resources.limits.memroy`) would otherwise leave the chart's
//! default in place without a word. What the templates read is recorded as they render
//! (see `chart::tracked`); values other tools read are declared in kcc.yaml
//! `externalValues`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::check::ClusterFacts;
use crate::diagnostic::Diagnostic;
use crate::render::{Fleet, ReleaseRender};
use crate::values::{Layer, unread};

/// What nothing has read so far of one values file, over the renders it fed.
pub struct FileUnread {
    layer: Arc<Layer>,
    /// The highest unread keys (as paths), each with the keys read beside it.
    unread: BTreeMap<Vec<String>, BTreeSet<String>>,
    releases: BTreeSet<String>,
}

/// By values file (as messages name it).
pub type FileReads = BTreeMap<String, FileUnread>;

/// Takes in what `render` read: a key stays unread only if no render read it.
pub fn add(reads: &mut FileReads, render: &ReleaseRender) {
    if !render.installed.yes {
        return;
    }
    for layer in &render.layers {
        let found = FileUnread {
            layer: Arc::clone(layer),
            unread: unread(&layer.root, &render.reads)
                .into_iter()
                .map(|u| {
                    let path = u.path.iter().map(|s| s.to_string()).collect();
                    (path, u.read_beside.iter().map(|s| s.to_string()).collect())
                })
                .collect(),
            releases: BTreeSet::from([render.release.clone()]),
        };
        merge(reads, &layer.file.path, found);
    }
}

fn merge(reads: &mut FileReads, file: &str, found: FileUnread) {
    let Some(known) = reads.get_mut(file) else {
        reads.insert(file.to_string(), found);
        return;
    };
    known.unread = intersect(&known.unread, &found.unread);
    known.releases.extend(found.releases);
}

/// The keys unread in both: a key unread in one, under a key (or itself) unread in the
/// other. Each side holds only the highest unread keys, so neither result nests.
fn intersect(
    a: &BTreeMap<Vec<String>, BTreeSet<String>>,
    b: &BTreeMap<Vec<String>, BTreeSet<String>>,
) -> BTreeMap<Vec<String>, BTreeSet<String>> {
    let mut out: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for (this, other) in [(a, b), (b, a)] {
        for (path, beside) in this {
            if let Some(other_beside) = covering(other, path) {
                let entry = out.entry(path.clone()).or_default();
                entry.extend(beside.iter().cloned());
                if other.contains_key(path) {
                    entry.extend(other_beside.iter().cloned());
                }
            }
        }
    }
    out
}

/// The entry of `set` at `path` or at a key above it.
fn covering<'a>(
    set: &'a BTreeMap<Vec<String>, BTreeSet<String>>,
    path: &[String],
) -> Option<&'a BTreeSet<String>> {
    (1..=path.len()).find_map(|n| set.get(&path[..n]))
}

pub fn check(fleet: &Fleet, facts: &[ClusterFacts]) -> Vec<Diagnostic> {
    // Only a check of every cluster, each rendered whole, knows what nothing reads; or,
    // for a file (`check --since` renders some clusters), of every cluster it feeds.
    let whole = facts.len() == fleet.project.clusters.len() && facts.iter().all(|f| f.complete);
    if !whole {
        return Vec::new();
    }
    let rendered: BTreeSet<&str> = facts
        .iter()
        .filter(|f| f.value_reads.is_some())
        .map(|f| f.cluster.as_str())
        .collect();
    let layout = crate::inputs::Layout::new(&fleet.project);
    let judged = |file: &str| {
        rendered.len() == facts.len()
            || layout
                .feeds(&fleet.root().join(file))
                .iter()
                .flat_map(|feed| &feed.pairs)
                .all(|&(c, _)| rendered.contains(fleet.project.clusters[c].name.as_str()))
    };
    let per_cluster = facts.iter().filter_map(|f| f.value_reads.as_ref());
    let mut files = FileReads::new();
    for reads in per_cluster {
        for (file, found) in reads {
            let copy = FileUnread {
                layer: Arc::clone(&found.layer),
                unread: found.unread.clone(),
                releases: found.releases.clone(),
            };
            merge(&mut files, file, copy);
        }
    }
    let mut out = Vec::new();
    for (path, file) in files.into_iter().filter(|(path, _)| judged(path)) {
        let releases: Vec<&str> = file.releases.iter().map(String::as_str).collect();
        for (keys, beside) in &file.unread {
            let Some(node) = file.layer.root.lookup(keys.iter().map(String::as_str)) else {
                continue;
            };
            let key = keys.last().map(String::as_str).unwrap_or_default();
            let readers = match releases.as_slice() {
                [one] => format!("release `{one}`"),
                few if few.len() <= 3 => format!("releases `{}`", few.join("`, `")),
                many => format!("the {} releases it feeds", many.len()),
            };
            let mut d = Diagnostic::error(
                "values/unused",
                format!(
                    "`{}` is read by nothing: no template of {readers} reads it, nor does kcc",
                    keys.join("."),
                ),
            )
            .at(node.origin.as_ref());
            if let Some(near) = crate::suggest::similar_key(key, beside.iter().map(String::as_str))
            {
                d = d.note(format!("did you mean `{near}`?"));
            }
            d = d.note(format!(
                "{path} feeds {}; a value another tool reads belongs in kcc.yaml `externalValues`",
                releases.join(", ")
            ));
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&str]) -> BTreeMap<Vec<String>, BTreeSet<String>> {
        paths
            .iter()
            .map(|p| (p.split('.').map(str::to_string).collect(), BTreeSet::new()))
            .collect()
    }

    fn joined(set: &BTreeMap<Vec<String>, BTreeSet<String>>) -> Vec<String> {
        set.keys().map(|k| k.join(".")).collect()
    }

    #[test]
    fn a_key_is_unread_only_where_every_render_left_it_unread() {
        // One render read nothing of `settings`, the other all but the typo.
        let both = intersect(&set(&["settings", "x"]), &set(&["settings.limits.memroy"]));
        assert_eq!(joined(&both), ["settings.limits.memroy"]);
        assert_eq!(joined(&intersect(&set(&["a.b"]), &set(&["a"]))), ["a.b"]);
        assert_eq!(joined(&intersect(&set(&["a"]), &set(&["a"]))), ["a"]);
        assert!(intersect(&set(&["a"]), &set(&["b"])).is_empty());
    }
}
