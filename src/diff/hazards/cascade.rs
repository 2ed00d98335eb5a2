//! `hazard/cascade-delete`: removing a CustomResourceDefinition (or uninstalling the release
//! that holds it) deletes every object of its kind in the cluster; removing a Namespace
//! deletes everything in it. Reported when the cluster's old goldens hold such objects,
//! with how many and in which releases.

use std::collections::BTreeMap;

use super::{CASCADE_DELETE, Deletes, Finding, Hazard};
use crate::diff::{Files, FleetDiff, parse, path_parts};
use crate::manifest::Identity;
use crate::yaml::Node;

/// What removing the object `id` (whose body is `body`) deletes with it, if anything.
pub fn deletes(id: &Identity, body: &Node) -> Option<Deletes> {
    let text = |path: &[&str]| {
        body.lookup(path.iter().copied())
            .and_then(Node::as_str)
            .map(str::to_string)
    };
    match (id.api_version.as_str(), id.kind.as_str()) {
        (api, "CustomResourceDefinition") if api.starts_with("apiextensions.k8s.io/") => {
            Some(Deletes::Kind {
                group: text(&["spec", "group"])?,
                kind: text(&["spec", "names", "kind"])?,
            })
        }
        ("v1", "Namespace") => Some(Deletes::Namespace(id.name.clone())),
        _ => None,
    }
}

/// The cascade deletions of a diff whose old side is `old`. A cluster removed from the
/// fleet as a whole is not applied to, so it has none.
pub fn find(d: &FleetDiff, old: &Files) -> Vec<Hazard> {
    let mut out = Vec::new();
    // Each cluster's old objects, read once: (release, identity).
    let mut objects: BTreeMap<&str, Vec<(String, Identity)>> = BTreeMap::new();
    for file in &d.files {
        let Some(cluster) = file.cluster.as_deref() else {
            continue;
        };
        if d.removed_dirs.contains(cluster) {
            continue;
        }
        for o in &file.objects {
            let Some(deletes) = &o.deletes else {
                continue;
            };
            let objects = objects
                .entry(cluster)
                .or_insert_with(|| objects_of(old, cluster));
            let victims = victims(objects, deletes, &o.object);
            if victims.is_empty() {
                continue;
            }
            let finding = Finding {
                rule: CASCADE_DELETE,
                field: None,
                message: message(deletes, &victims),
            };
            out.push(Hazard::new(cluster, &file.path, &o.object, None, &finding));
        }
    }
    out
}

/// The objects of a cluster's golden files, with their release.
fn objects_of(old: &Files, cluster: &str) -> Vec<(String, Identity)> {
    let mut out = Vec::new();
    for (path, text) in old {
        if let (Some(c), Some(release)) = path_parts(path)
            && c == cluster
        {
            let docs = parse(path, text, 1).map(|p| p.objects).unwrap_or_default();
            out.extend(docs.into_iter().map(|doc| (release.clone(), doc.id)));
        }
    }
    out
}

/// How many of a cluster's objects `deletes` takes with it, by release.
fn victims(
    objects: &[(String, Identity)],
    deletes: &Deletes,
    itself: &Identity,
) -> BTreeMap<String, usize> {
    let mut by_release: BTreeMap<String, usize> = BTreeMap::new();
    for (release, id) in objects {
        let hit = match deletes {
            Deletes::Kind { group, kind } => {
                id.kind == *kind && id.api_version.rsplit_once('/').map(|(g, _)| g) == Some(group)
            }
            Deletes::Namespace(ns) => id.namespace == *ns && id != itself,
        };
        if hit {
            *by_release.entry(release.clone()).or_default() += 1;
        }
    }
    by_release
}

fn message(deletes: &Deletes, victims: &BTreeMap<String, usize>) -> String {
    let total: usize = victims.values().sum();
    let releases = victims
        .iter()
        .map(|(r, n)| format!("{n} in release {r}"))
        .collect::<Vec<_>>()
        .join(", ");
    match deletes {
        Deletes::Kind { group, kind } => format!(
            "removing it deletes every {kind} ({group}) in the cluster: {total} in golden/ ({releases}), and any made outside kcc; keep the CustomResourceDefinition until they are gone, or delete them deliberately first"
        ),
        Deletes::Namespace(_) => format!(
            "removing it deletes everything in the namespace: {total} objects in golden/ ({releases}), and any made outside kcc; move them first, or delete them deliberately"
        ),
    }
}
