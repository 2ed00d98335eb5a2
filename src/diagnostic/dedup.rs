//! One finding per cause: the same error (rule, place, message) surfaces once per cluster
//! and release that reads a shared file (a group values file, a chart template). It is
//! reported once, listing where it happened, so that one bad line reads as one problem.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::Diagnostic;

/// A cluster a finding was seen in, and which of its releases (none: the cluster as a
/// whole, for rules about a cluster).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub cluster: String,
    pub releases: Vec<String>,
}

/// Merges the diagnostics that share a cause, keeping the first one's notes and the order
/// of first appearance; their `seen` lists merge in the order met. Callers pass findings
/// in kcc.yaml order (clusters, then releases), so the lists come out in that order too,
/// whatever the thread count.
pub fn dedup(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    let mut index: HashMap<Cause, usize> = HashMap::new();
    for d in diagnostics {
        match index.entry(Cause::of(&d)) {
            Entry::Occupied(first) => merge_seen(&mut out[*first.get()].seen, d.seen),
            Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push(d);
            }
        }
    }
    out
}

/// What makes two findings the same: the rule, the place to fix, and the message (which
/// does not name the cluster; `seen` does).
#[derive(PartialEq, Eq, Hash)]
struct Cause {
    severity: super::Severity,
    rule: &'static str,
    place: Option<(String, usize, usize)>,
    message: String,
}

impl Cause {
    fn of(d: &Diagnostic) -> Cause {
        Cause {
            severity: d.severity,
            rule: d.rule,
            place: d
                .origin
                .as_ref()
                .map(|o| (o.file.path.clone(), o.line, o.col)),
            message: d.message.clone(),
        }
    }
}

fn merge_seen(into: &mut Vec<Seen>, more: Vec<Seen>) {
    for seen in more {
        match into.iter_mut().find(|s| s.cluster == seen.cluster) {
            Some(known) => {
                for release in seen.releases {
                    if !known.releases.contains(&release) {
                        known.releases.push(release);
                    }
                }
            }
            None => into.push(seen),
        }
    }
}

/// `in cluster eqiad (release coredns)`, `in 4 clusters: eqiad, codfw, staging-eqiad,
/// staging-codfw (release coredns)`; clusters whose releases differ each get their own.
pub fn seen_note(seen: &[Seen]) -> Option<String> {
    let releases = |r: &[String]| match r {
        [] => String::new(),
        [one] => format!(" (release {one})"),
        many => format!(" (releases {})", many.join(", ")),
    };
    match seen {
        [] => None,
        [one] => Some(format!(
            "in cluster {}{}",
            one.cluster,
            releases(&one.releases)
        )),
        many if many.iter().all(|s| s.releases == many[0].releases) => {
            let names: Vec<&str> = many.iter().map(|s| s.cluster.as_str()).collect();
            Some(format!(
                "in {} clusters: {}{}",
                many.len(),
                names.join(", "),
                releases(&many[0].releases)
            ))
        }
        many => {
            let each: Vec<String> = many
                .iter()
                .map(|s| format!("{}{}", s.cluster, releases(&s.releases)))
                .collect();
            Some(format!("in {} clusters: {}", many.len(), each.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Origin, SourceFile};

    fn at(line: usize, message: &str, cluster: &str, release: &str) -> Diagnostic {
        let file = SourceFile::new("values/main.yaml", "a: 1\nb: 2\n");
        Diagnostic::error("values/schema", message)
            .at(Some(&Origin::new(&file, line, 1)))
            .in_release(cluster, release)
    }

    #[test]
    fn one_cause_in_many_clusters_is_one_finding() {
        let merged = dedup(vec![
            at(1, "bad", "eqiad", "coredns"),
            at(2, "bad", "eqiad", "coredns"),
            at(1, "bad", "codfw", "coredns"),
            at(1, "other", "codfw", "coredns"),
            at(1, "bad", "codfw", "calico"),
        ]);
        assert_eq!(merged.len(), 3);
        assert_eq!(
            seen_note(&merged[0].seen).unwrap(),
            "in 2 clusters: eqiad (release coredns), codfw (releases coredns, calico)"
        );
        assert_eq!(
            seen_note(&merged[1].seen).unwrap(),
            "in cluster eqiad (release coredns)"
        );
    }

    #[test]
    fn clusters_sharing_their_releases_name_them_once() {
        let merged = dedup(vec![
            at(1, "bad", "eqiad", "coredns"),
            at(1, "bad", "codfw", "coredns"),
            at(1, "bad", "eqiad", "coredns"),
        ]);
        assert_eq!(merged.len(), 1);
        assert_eq!(
            seen_note(&merged[0].seen).unwrap(),
            "in 2 clusters: eqiad, codfw (release coredns)"
        );
    }
}
