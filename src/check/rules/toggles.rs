//! `project/toggle`: a cluster toggle that nothing tests — no release's `installed`
//! condition, no chart file, no values file names it — changes nothing, so it is either
//! a typo (`install_cert_manger`) or dead configuration. Reported at the toggle in kcc.yaml.
//! Toggles that other tools test (releases kcc does not render) are declared in kcc.yaml's
//! `externalToggles`.

use std::collections::{BTreeSet, HashSet};

use crate::diagnostic::Diagnostic;
use crate::render::Fleet;

/// The whole words (names: letters, digits, `_`, `-`) of `text`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.split(move |c: char| !is_name(c))
        .filter(|w| !w.is_empty())
}

/// The whole words of `text`, added to `out`.
fn add_words(text: &str, out: &mut HashSet<String>) {
    for word in words(text) {
        if !out.contains(word) {
            out.insert(word.to_string());
        }
    }
}

/// Every word of kcc's own tests of toggles: `installed` conditions and the charts'
/// templates and defaults (not CRDs), every version of each chart.
fn kcc_words(fleet: &Fleet) -> HashSet<String> {
    let mut out = HashSet::new();
    for condition in fleet
        .project
        .releases
        .iter()
        .filter_map(|r| r.installed.as_ref())
    {
        add_words(condition, &mut out);
    }
    let charts: BTreeSet<&str> = fleet
        .project
        .releases
        .iter()
        .map(|r| r.chart.as_str())
        .collect();
    for chart in charts {
        let dir = fleet.project.charts_path().join(chart);
        // `<chart>/templates/...` or, side by side, `<chart>/<version>/templates/...`.
        let wanted = |p: &std::path::Path| {
            let rel = p.strip_prefix(&dir).unwrap_or(p);
            let parts: Vec<_> = rel.components().map(|c| c.as_os_str()).collect();
            parts.iter().take(2).any(|c| *c == "templates")
                || matches!(parts.as_slice(), [f] | [_, f] if *f == "values.yaml")
        };
        for file in crate::source::files_under(&dir, &wanted) {
            if let Ok(text) = crate::confine::read_inside(&file, &dir) {
                add_words(&text, &mut out);
            }
        }
    }
    out
}

/// Which of `wanted` a values file names as a whole word (a value may name a toggle). The
/// files are read only until all are found: most toggles are tested by kcc itself, and
/// then none is read.
fn named_in_values<'t>(fleet: &Fleet, wanted: &BTreeSet<&'t str>) -> BTreeSet<&'t str> {
    let mut missing = wanted.clone();
    let mut found = BTreeSet::new();
    if missing.is_empty() {
        return found;
    }
    let values = fleet.root().join("values");
    for file in crate::source::files_under(&values, &|_| true) {
        if let Ok(text) = crate::confine::read_inside(&file, fleet.root()) {
            for word in words(&text) {
                if let Some(toggle) = missing.take(word) {
                    found.insert(toggle);
                }
            }
        }
        if missing.is_empty() {
            break;
        }
    }
    found
}

pub fn check(fleet: &Fleet) -> Vec<Diagnostic> {
    let kcc_words = kcc_words(fleet);
    let all: BTreeSet<&str> = fleet
        .project
        .clusters
        .iter()
        .flat_map(|c| c.toggles.iter().map(String::as_str))
        .collect();
    let external = &fleet.project.external_toggles;
    let declared = |t: &str| external.iter().any(|e| e == t) || kcc_words.contains(t);
    let others: BTreeSet<&str> = all.iter().copied().filter(|t| !declared(t)).collect();
    let in_values = named_in_values(fleet, &others);
    let used: BTreeSet<&str> = all
        .iter()
        .copied()
        .filter(|t| declared(t) || in_values.contains(t))
        .collect();
    let mut out = Vec::new();
    for cluster in &fleet.project.clusters {
        for (toggle, origin) in cluster.toggles.iter().zip(&cluster.toggle_origins) {
            if used.contains(toggle.as_str()) {
                continue;
            }
            let mut d = Diagnostic::error(
                "project/toggle",
                format!(
                    "toggle `{toggle}` of cluster `{}` is tested by no release condition, chart or values file: it changes nothing",
                    cluster.name
                ),
            )
            .at(Some(origin));
            let near = crate::suggest::closest(toggle, used.iter().map(|u| u.as_ref()));
            d = match near {
                Some(near) => d.note(format!("did you mean `{near}`?")),
                None => d.note(
                    "remove it, test it in a release's `installed` condition or a chart, or list it in kcc.yaml's `externalToggles` if other tools test it",
                ),
            };
            out.push(d);
        }
    }
    out.extend(external_entries(fleet, &all, &kcc_words));
    out
}

/// `externalToggles` entries must name toggles some cluster sets and kcc does not test: a
/// misspelt entry would otherwise silently accept nothing (and the cluster's real toggle be
/// reported), and one kcc tests is not external (declaring it hides its typos).
fn external_entries(
    fleet: &Fleet,
    set: &BTreeSet<&str>,
    kcc_words: &HashSet<String>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (toggle, origin) in &fleet.project.external_toggle_origins {
        if kcc_words.contains(toggle.as_str()) {
            out.push(
                Diagnostic::error(
                    "project/toggle",
                    format!(
                        "externalToggles lists `{toggle}`, which kcc's releases test (an `installed` condition or a chart): it is not external"
                    ),
                )
                .at(Some(origin))
                .note("remove it from externalToggles; kcc reports it if no cluster's toggle matches what kcc tests"),
            );
        } else if !set.contains(toggle.as_str()) {
            let mut d = Diagnostic::error(
                "project/toggle",
                format!("externalToggles lists `{toggle}`, which no cluster sets"),
            )
            .at(Some(origin));
            d = match crate::suggest::closest(toggle, set.iter().copied()) {
                Some(near) => d.note(format!("did you mean `{near}`?")),
                None => d.note("remove it, or set it on the clusters that need it"),
            };
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::add_words;
    use std::collections::HashSet;

    #[test]
    fn whole_words_only() {
        let mut words = HashSet::new();
        add_words(
            "'\"install_foo_bar\" in cluster.toggles'\n- toggle: istio-gateways\n",
            &mut words,
        );
        assert!(words.contains("install_foo_bar"));
        assert!(words.contains("istio-gateways"));
        assert!(words.contains("toggles"));
        assert!(!words.contains("install_foo"));
        assert!(!words.contains("istio"));
    }
}
