//! `values/unused`: a value set in a values file that nothing reads — no template of any
//! release the file feeds, in any cluster, nor kcc itself — is reported at its line, at
//! any depth. A misspelt key (`resources.limits.memroy`) would otherwise leave the chart's
//! default in place without a word. What the templates read is recorded as they render
//! (see `chart::tracked`); values other tools read are declared in kcc.yaml
//! `externalValues`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::check::ClusterFacts;
use crate::diagnostic::Diagnostic;
use crate::render::{Fleet, ReleaseRender};
use crate::values::{Layer, ReadTree, unread};

/// What the installed releases of one cluster read, by the values file that fed them.
pub type FileReads = BTreeMap<String, (Arc<Layer>, ReadTree, Vec<String>)>;

/// Adds what `render` read to each of its values files' reads.
pub fn add(reads: &mut FileReads, render: &ReleaseRender) {
    if !render.installed.yes {
        return;
    }
    for layer in &render.layers {
        let entry = reads
            .entry(layer.file.path.clone())
            .or_insert_with(|| (Arc::clone(layer), ReadTree::default(), Vec::new()));
        entry.1.merge(&render.reads);
        if !entry.2.contains(&render.release) {
            entry.2.push(render.release.clone());
        }
    }
}

pub fn check(fleet: &Fleet, facts: &[ClusterFacts]) -> Vec<Diagnostic> {
    // Only a check of every cluster, each rendered whole, knows what nothing reads.
    let whole = facts.len() == fleet.project.clusters.len() && facts.iter().all(|f| f.complete);
    if !whole {
        return Vec::new();
    }
    let mut files = FileReads::new();
    for f in facts {
        for (path, (layer, reads, releases)) in &f.value_reads {
            let entry = files
                .entry(path.clone())
                .or_insert_with(|| (Arc::clone(layer), ReadTree::default(), Vec::new()));
            entry.1.merge(reads);
            for r in releases {
                if !entry.2.contains(r) {
                    entry.2.push(r.clone());
                }
            }
        }
    }
    let mut out = Vec::new();
    for (path, (layer, reads, mut releases)) in files {
        releases.sort();
        for found in unread(&layer.root, &reads) {
            let key = found.path.last().copied().unwrap_or_default();
            let readers = match releases.as_slice() {
                [one] => format!("release `{one}`"),
                few if few.len() <= 3 => format!("releases `{}`", few.join("`, `")),
                many => format!("the {} releases it feeds", many.len()),
            };
            let mut d = Diagnostic::error(
                "values/unused",
                format!(
                    "`{}` is read by nothing: no template of {readers} reads it, nor does kcc",
                    found.path.join("."),
                ),
            )
            .at(found.node.origin.as_ref());
            if let Some(near) = crate::suggest::similar_key(key, found.read_beside.iter().copied())
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
