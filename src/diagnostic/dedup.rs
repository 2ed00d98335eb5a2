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
    // Of a merged finding: each line of the rendered output it was at, with the clusters
    // that rendered it there (the same template line may be at another line of another
    // cluster's render, when what comes before it differs).
    let mut lines: HashMap<usize, Vec<RenderedAt>> = HashMap::new();
    for d in diagnostics {
        match index.entry(Cause::of(&d)) {
            Entry::Occupied(first) => {
                let at = *first.get();
                let known = lines
                    .entry(at)
                    .or_insert_with(|| rendered_at(&out[at]).into_iter().collect());
                if let Some(more) = rendered_at(&d) {
                    match known.iter_mut().find(|r| r.line == more.line) {
                        Some(same) => extend_new(&mut same.clusters, more.clusters),
                        None => known.push(more),
                    }
                }
                merge_seen(&mut out[at].seen, d.seen);
            }
            Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push(d);
            }
        }
    }
    for (at, found) in lines.into_iter().filter(|(_, found)| found.len() > 1) {
        let notes = &mut out[at].notes;
        if let Some(i) = notes.iter().position(|n| *n == found[0].note) {
            notes.splice(i..=i, line_notes(&found));
        }
    }
    out
}

/// Where a finding was in a render: its note, the line, and the clusters it was seen in.
struct RenderedAt {
    note: String,
    line: usize,
    clusters: Vec<String>,
}

/// A finding's note on its line of the rendered output, with the clusters it was seen in.
fn rendered_at(d: &Diagnostic) -> Option<RenderedAt> {
    let (note, line) = d
        .notes
        .iter()
        .find_map(|n| Some((n, super::rendered_line_of(n)?)))?;
    Some(RenderedAt {
        note: note.clone(),
        line,
        clusters: d.seen.iter().map(|s| s.cluster.clone()).collect(),
    })
}

/// The rendered lines a merged finding was at, where they differ: a few, each naming the
/// clusters that rendered it there; many (a template loop writing one object per item),
/// listed in one note.
fn line_notes(found: &[RenderedAt]) -> Vec<String> {
    const EACH: usize = 3;
    const LISTED: usize = 5;
    if found.len() <= EACH {
        return found
            .iter()
            .map(|r| format!("{} in {}", r.note, r.clusters.join(", ")))
            .collect();
    }
    let mut lines: Vec<usize> = found.iter().map(|r| r.line).collect();
    lines.sort_unstable();
    let shown: Vec<String> = lines.iter().take(LISTED).map(usize::to_string).collect();
    let more = match lines.len().saturating_sub(LISTED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    vec![format!(
        "lines {}{more} of the rendered output, by render",
        shown.join(", ")
    )]
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
            Some(known) => extend_new(&mut known.releases, seen.releases),
            None => into.push(seen),
        }
    }
}

/// Appends the items of `more` that `into` does not hold yet, in order.
fn extend_new<T: PartialEq>(into: &mut Vec<T>, more: Vec<T>) {
    for item in more {
        if !into.contains(&item) {
            into.push(item);
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
    fn renders_that_put_it_at_other_lines_each_name_their_line() {
        let rendered = |line: usize, cluster: &str| {
            at(1, "bad", cluster, "web").note(super::super::rendered_line_note(line))
        };
        let found = dedup(vec![
            rendered(15, "alpha"),
            rendered(16, "beta"),
            rendered(15, "gamma"),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].notes,
            vec![
                "line 15 of the rendered output in alpha, gamma",
                "line 16 of the rendered output in beta",
            ]
        );
        // A loop writing an object per item: the lines, in one note.
        let found = dedup((0..8).map(|i| rendered(3 + 10 * i, "alpha")).collect());
        assert_eq!(
            found[0].notes,
            vec!["lines 3, 13, 23, 33, 43 and 3 more of the rendered output, by render"]
        );
        // All at one line: the note stays as it was.
        let found = dedup(vec![rendered(15, "alpha"), rendered(15, "beta")]);
        assert_eq!(found[0].notes, vec!["line 15 of the rendered output"]);
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
