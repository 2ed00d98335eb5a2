//! `values/unread`: a values file that no layer of any cluster × release reads — a
//! misnamed file (`calico.yaml` for `calico-values.yaml`), a release or cluster that does not
//! exist — would otherwise be ignored without a word. `values/missing-group`: a cluster
//! whose group has no `values/<group>.yaml` (most often a misspelt group).
//!
//! The files kcc reads are those of the layer plan (see `render`): `values/common.yaml`,
//! the releases' extra layers, `values/<group>.yaml`, `values/<cluster>/values.yaml` and
//! `values/<cluster>/<release>-values.yaml`.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Diagnostic;
use crate::project::Project;
use crate::source::{Origin, SourceFile};

/// The values files the layer plan of `project` may read, as project-relative paths.
fn readable(project: &Project) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for cluster in &project.clusters {
        for release in &project.releases {
            files.extend(
                project
                    .layer_plan(cluster, release)
                    .into_iter()
                    .map(|layer| layer.path),
            );
        }
    }
    files
}

/// The readable file `file` was most likely meant to be: `<dir>/<name>-values.yaml` for a
/// `<dir>/<name>.yaml` (the suffix forgotten), else the closest in spelling, if close.
fn closest<'a>(file: &str, readable: &'a BTreeSet<String>) -> Option<&'a str> {
    let stem = file.trim_end_matches(".yaml").trim_end_matches(".yml");
    if let Some(hit) = readable.get(&format!("{stem}-values.yaml")) {
        return Some(hit);
    }
    readable
        .iter()
        .map(|candidate| {
            (
                strsim::normalized_damerau_levenshtein(file, candidate),
                candidate,
            )
        })
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate.as_str())
}

/// Diagnostics for the values files of `project` that nothing reads, and for groups with
/// no values file.
pub fn check(project: &Project, values_dir: &[(std::path::PathBuf, String)]) -> Vec<Diagnostic> {
    let readable = readable(project);
    let present: Vec<String> = values_dir.iter().map(|(_, shown)| shown.clone()).collect();
    let unread: Vec<&String> = present.iter().filter(|f| !readable.contains(*f)).collect();
    let mut out = Vec::new();
    // Top-level files that a missing group was probably meant to be: reported once, there.
    let mut explained = BTreeSet::new();
    let mut groups_seen = BTreeSet::new();
    for cluster in &project.clusters {
        let file = format!("values/{}.yaml", cluster.group);
        if !groups_seen.insert(cluster.group.as_str()) || present.contains(&file) {
            continue;
        }
        let mut d = Diagnostic::error(
            "values/missing-group",
            format!(
                "cluster `{}` is in group `{}`, which has no values file {file}",
                cluster.name, cluster.group
            ),
        )
        .at(Some(&cluster.origin));
        let near = present
            .iter()
            .filter_map(|f| f.strip_prefix("values/")?.strip_suffix(".yaml"))
            .filter(|g| !g.contains('/') && *g != "common");
        let near = crate::suggest::closest(&cluster.group, near);
        if let Some(near) = near {
            explained.insert(format!("values/{near}.yaml"));
            d = d.note(format!("did you mean group `{near}` (values/{near}.yaml)?"));
        }
        out.push(d.note(format!(
            "create {file} (it may be empty) if the group really is new"
        )));
    }
    // A directory of a cluster kcc.yaml does not have (removed, or misspelt): once.
    let clusters: BTreeSet<&str> = project.clusters.iter().map(|c| c.name.as_str()).collect();
    let mut orphan_dirs: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for file in &unread {
        if let Some((dir, _)) = file.strip_prefix("values/").and_then(|f| f.split_once('/'))
            && !clusters.contains(dir)
            && !readable
                .iter()
                .any(|r| r.starts_with(&format!("values/{dir}/")))
        {
            orphan_dirs.entry(dir).or_default().push(file);
        }
    }
    for (dir, files) in &orphan_dirs {
        let text = crate::confine::read_inside(&project.root.join(files[0]), &project.root)
            .unwrap_or_default();
        let origin = Origin::new(&SourceFile::new(files[0].as_str(), text), 1, 1);
        let mut d = Diagnostic::error(
            "values/unread",
            format!(
                "values/{dir}/ ({} file(s)) belongs to no cluster of kcc.yaml: nothing reads it",
                files.len()
            ),
        )
        .at(Some(&origin));
        match crate::suggest::closest(dir, clusters.iter().copied()) {
            Some(near) => d = d.note(format!("did you mean cluster `{near}` (values/{near}/)?")),
            None => {
                d = d.note(
                    "a removed cluster's values go with it; a new cluster needs its kcc.yaml entry",
                )
            }
        }
        out.push(d);
        explained.extend(files.iter().map(|f| f.to_string()));
    }
    for file in unread.into_iter().filter(|f| !explained.contains(*f)) {
        let text = crate::confine::read_inside(&project.root.join(file), &project.root)
            .unwrap_or_default();
        let origin = Origin::new(&SourceFile::new(file.as_str(), text), 1, 1);
        let mut d = Diagnostic::error(
            "values/unread",
            format!("{file} is not read by any release of any cluster"),
        )
        .at(Some(&origin));
        if let Some(near) = closest(file, &readable) {
            d = d.note(format!("did you mean {near}?"));
        }
        out.push(d.note(
            "kcc reads values/common.yaml, values/<group>.yaml, values/<cluster>/values.yaml, values/<cluster>/<release>-values.yaml and the releases' extra `values` in kcc.yaml",
        ));
    }
    out
}
