//! A fleet diff by cause, for reviews: one entry for the same change wherever it happened
//! (`spec.limits[0].max.memory 8Gi → 16Gi in 233 LimitRanges across 9 clusters`), one
//! line for a golden file or a cluster directory that is new or gone.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Counts, FieldChange, FileDiff, FleetDiff, Status};
use crate::manifest::Identity;

/// What a review shows, in the order it shows it.
#[derive(Serialize)]
pub struct Outline<'a> {
    /// Cluster directories of golden/ that are new or gone as a whole.
    pub dirs: Vec<WholeDir>,
    /// Golden files that are new or gone, outside those directories.
    pub files: Vec<WholeFile>,
    /// Object changes in files that changed, by cause, largest first.
    pub groups: Vec<ChangeGroup>,
    /// Files compared as text (helmfile.yaml, files that are not objects).
    #[serde(skip)]
    pub texts: Vec<&'a FileDiff>,
}

/// `golden/test-k8s-codfw/ new: 9 files, 407 objects`.
#[derive(Serialize)]
pub struct WholeDir {
    pub path: String,
    pub status: Status,
    pub files: usize,
    pub objects: usize,
}

/// `golden/eqiad/istio.yaml new: 47 objects`.
#[derive(Serialize)]
pub struct WholeFile {
    pub path: String,
    pub status: Status,
    pub objects: usize,
}

/// Objects changed the same way: the same kind with the same field changes (the same
/// fields, the same whole old and new values), or the same object added, removed or
/// renamed.
#[derive(Serialize)]
pub struct ChangeGroup {
    pub status: Status,
    pub kind: String,
    /// A renamed object's old identity.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::serialize_some_identity"
    )]
    pub from: Option<Identity>,
    /// The changed fields (changed objects only), with their old and new values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    pub objects: Vec<Member>,
    pub clusters: Vec<String>,
    /// The distinct unified diffs of its objects (the same changes may sit among other
    /// lines), each with the objects it is the diff of; hunk line numbers aside.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<DiffVariant>,
}

/// One unified diff of a group and the objects (indexes into its `objects`) it is the
/// diff of.
#[derive(Serialize)]
pub struct DiffVariant {
    pub objects: Vec<usize>,
    pub diff: String,
}

/// One object of a group, where it is.
#[derive(Clone, Serialize)]
pub struct Member {
    pub file: String,
    #[serde(serialize_with = "super::serialize_identity")]
    pub object: Identity,
    /// The line of the new file the change is on (None when removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// How fields are listed in a group's one-line title before "and N more".
const TITLE_FIELDS: usize = 3;

impl ChangeGroup {
    /// One line: `~ LimitRange: spec.limits[0].max.memory 8Gi → 16Gi (233 objects in 9
    /// clusters)`, `+ Namespace istio-system (9 clusters)`.
    pub fn title(&self) -> String {
        let what = if self.status == Status::Changed {
            let mut parts: Vec<String> = self
                .fields
                .iter()
                .take(TITLE_FIELDS)
                .map(describe_field)
                .collect();
            if self.fields.len() > TITLE_FIELDS {
                parts.push(format!(
                    "and {} more fields",
                    self.fields.len() - TITLE_FIELDS
                ));
            }
            format!("{}: {}", self.kind, parts.join("; "))
        } else if let Some(from) = &self.from {
            format!("renamed {from} → {}", self.objects[0].object)
        } else {
            format!("{} {}", self.status.word(), self.objects[0].object)
        };
        format!("{} {what} ({})", self.status.sign(), self.extent())
    }

    /// `233 objects in 9 clusters`, `2 clusters`, or the one object and its cluster.
    pub fn extent(&self) -> String {
        let clusters = match self.clusters.as_slice() {
            [one] => one.clone(),
            many => format!("{} clusters", many.len()),
        };
        match (self.status, self.objects.as_slice()) {
            (Status::Changed, [one]) => format!("{} in {clusters}", one.object),
            (Status::Changed, many) => format!("{} objects in {clusters}", many.len()),
            _ => clusters,
        }
    }
}

/// `spec.replicas 4 → 5`, `metadata.labels.new added (x)`, `rules[2] removed ({...})`,
/// `rules[4] moved from rules[0]`.
pub fn describe_field(f: &FieldChange) -> String {
    match (f.status, &f.old, &f.new) {
        (Status::Changed, Some(old), Some(new)) => format!("{} {old} → {new}", f.path),
        (Status::Added, _, Some(new)) => format!("{} added ({new})", f.path),
        (Status::Removed, Some(old), _) => format!("{} removed ({old})", f.path),
        (Status::Moved, _, _) => format!(
            "{} moved from {}",
            f.path,
            f.from_path.as_deref().unwrap_or("?")
        ),
        (status, _, _) => format!("{} {}", f.path, status.word()),
    }
}

impl FleetDiff {
    /// The diff as a review reads it (see [`Outline`]).
    pub fn outline(&self) -> Outline<'_> {
        let mut dirs: BTreeMap<(String, Status), (usize, usize)> = BTreeMap::new();
        let mut files = Vec::new();
        let mut by_cause: BTreeMap<GroupKey, Vec<(&FileDiff, usize)>> = BTreeMap::new();
        let mut texts = Vec::new();
        for file in &self.files {
            let whole_dir = file.cluster.as_deref().filter(|c| match file.status {
                Status::Added => self.new_dirs.contains(*c),
                Status::Removed => self.removed_dirs.contains(*c),
                _ => false,
            });
            if let Some(cluster) = whole_dir {
                let entry = dirs
                    .entry((format!("golden/{cluster}/"), file.status))
                    .or_default();
                entry.0 += 1;
                entry.1 += file.objects.len();
                continue;
            }
            if file.status != Status::Changed {
                files.push(WholeFile {
                    path: file.path.clone(),
                    status: file.status,
                    objects: file.objects.len(),
                });
                continue;
            }
            for (i, o) in file.objects.iter().enumerate() {
                let key = match (o.status, &o.from) {
                    (Status::Changed, _) => {
                        GroupKey::Fields(o.object.kind.clone(), o.fields.clone())
                    }
                    (_, Some(from)) => GroupKey::Renamed(from.clone(), o.object.clone()),
                    (status, None) => GroupKey::Object(status, o.object.clone()),
                };
                by_cause.entry(key).or_default().push((file, i));
            }
            if file.diff.is_some() {
                texts.push(file);
            }
        }
        let mut groups: Vec<ChangeGroup> = by_cause.into_values().map(group).collect();
        // Largest first; ties in a fixed order (the map's), as sort_by is stable.
        groups.sort_by_key(|g| std::cmp::Reverse(g.objects.len()));
        Outline {
            dirs: dirs
                .into_iter()
                .map(|((path, status), (files, objects))| WholeDir {
                    path,
                    status,
                    files,
                    objects,
                })
                .collect(),
            files,
            groups,
            texts,
        }
    }

    /// Object counts per cluster (files outside a cluster directory under `""`).
    /// The cluster table of the review formats: each cluster's counts, with files outside
    /// any cluster's directory as "(other)".
    pub fn cluster_rows(&self) -> Vec<(String, Counts)> {
        self.by_cluster()
            .into_iter()
            .map(|(cluster, c)| match cluster.is_empty() {
                true => ("(other)".to_string(), c),
                false => (cluster, c),
            })
            .collect()
    }

    pub fn by_cluster(&self) -> BTreeMap<String, Counts> {
        let mut out: BTreeMap<String, Counts> = BTreeMap::new();
        for file in &self.files {
            let counts = out
                .entry(file.cluster.clone().unwrap_or_default())
                .or_default();
            counts.files += 1;
            for o in &file.objects {
                counts.count(o.status);
            }
        }
        out
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    Fields(String, Vec<FieldChange>),
    Object(Status, Identity),
    Renamed(Identity, Identity),
}

fn group(members: Vec<(&FileDiff, usize)>) -> ChangeGroup {
    let (first_file, first) = members[0];
    let o = &first_file.objects[first];
    let clusters: BTreeSet<String> = members
        .iter()
        .filter_map(|(f, _)| f.cluster.clone())
        .collect();
    let mut diffs: Vec<DiffVariant> = Vec::new();
    for (n, (f, i)) in members.iter().enumerate() {
        let Some(diff) = &f.objects[*i].diff else {
            continue;
        };
        match diffs
            .iter_mut()
            .find(|v| without_line_numbers(&v.diff) == without_line_numbers(diff))
        {
            Some(v) => v.objects.push(n),
            None => diffs.push(DiffVariant {
                objects: vec![n],
                diff: diff.clone(),
            }),
        }
    }
    ChangeGroup {
        status: o.status,
        kind: o.object.kind.clone(),
        from: o.from.clone(),
        fields: o.fields.clone(),
        objects: members
            .iter()
            .map(|(f, i)| Member {
                file: f.path.clone(),
                object: f.objects[*i].object.clone(),
                line: f.objects[*i].changed_line,
            })
            .collect(),
        clusters: clusters.into_iter().collect(),
        diffs,
    }
}

/// A unified diff without its `@@` lines: the same lines changed, wherever in the file.
fn without_line_numbers(diff: &str) -> Vec<&str> {
    diff.lines().filter(|l| !l.starts_with("@@")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Files;
    use crate::diff::diff;

    fn limit_range(name: &str, memory: &str) -> String {
        format!(
            "---\n# Source: n/templates/l.yaml\napiVersion: v1\nkind: LimitRange\nmetadata:\n  name: {name}\n  namespace: {name}\nspec:\n  limits:\n    - max:\n        memory: {memory}\n"
        )
    }

    #[test]
    fn the_same_change_in_many_objects_and_clusters_is_one_group() {
        let mut old = Files::new();
        let mut new = Files::new();
        for cluster in ["a", "b", "c"] {
            let path = format!("golden/{cluster}/namespaces.yaml");
            let names = ["n1", "n2", "n3", "n4"];
            old.insert(
                path.clone(),
                names.iter().map(|n| limit_range(n, "8Gi")).collect(),
            );
            let mut text: String = names.iter().map(|n| limit_range(n, "16Gi")).collect();
            if cluster == "a" {
                text = text.replacen("16Gi", "32Gi", 1);
            }
            new.insert(path, text);
        }
        new.insert("golden/d/namespaces.yaml".into(), limit_range("n1", "1Gi"));
        new.insert("golden/c/extra.yaml".into(), limit_range("x", "1Gi"));
        let d = diff(&old, &new);
        let outline = d.outline();
        let titles: Vec<String> = outline.groups.iter().map(ChangeGroup::title).collect();
        assert_eq!(
            titles,
            [
                "~ LimitRange: spec.limits[0].max.memory 8Gi → 16Gi (11 objects in 3 clusters)",
                "~ LimitRange: spec.limits[0].max.memory 8Gi → 32Gi (LimitRange n1/n1 in a)",
            ]
        );
        assert_eq!(outline.groups[0].clusters, ["a", "b", "c"]);
        // The line of the change itself, not the object's `---`.
        assert_eq!(outline.groups[1].objects[0].line, Some(11));
        assert_eq!(outline.dirs.len(), 1);
        assert_eq!(
            (
                outline.dirs[0].path.as_str(),
                outline.dirs[0].files,
                outline.dirs[0].objects
            ),
            ("golden/d/", 1, 1)
        );
        assert_eq!(outline.files.len(), 1);
        assert_eq!(outline.files[0].path, "golden/c/extra.yaml");
    }
}
