//! `project/toggle`: a cluster toggle that nothing tests — no release's `installed`
//! condition, no chart file, no values file names it — changes nothing, so it is either
//! a typo (`install_cert_manger`) or dead configuration. Reported at the toggle in kcc.yaml.
//! Toggles that other tools test (releases kcc does not render) are declared in kcc.yaml's
//! `externalToggles`.

use std::collections::BTreeSet;

use crate::diagnostic::Diagnostic;
use crate::render::Fleet;

/// True if `word` occurs in `text` as a whole word (not inside a longer name).
fn mentions(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

/// Every text a toggle can be tested in: `installed` conditions, chart files (templates and
/// defaults) and the values files.
fn texts(fleet: &Fleet) -> Vec<String> {
    let mut out: Vec<String> = fleet
        .project
        .releases
        .iter()
        .filter_map(|r| r.installed.clone())
        .collect();
    let charts: BTreeSet<&str> = fleet
        .project
        .releases
        .iter()
        .map(|r| r.chart.as_str())
        .collect();
    let dirs = charts
        .into_iter()
        .map(|chart| fleet.project.charts_path().join(chart))
        .chain([fleet.root().join("values")]);
    for dir in dirs {
        let files = crate::source::files_under(&dir, &|_| true);
        out.extend(
            files
                .iter()
                .filter_map(|f| crate::confine::read_inside(f, &dir).ok()),
        );
    }
    out
}

pub fn check(fleet: &Fleet) -> Vec<Diagnostic> {
    let texts = texts(fleet);
    let tested = |toggle: &str| texts.iter().any(|t| mentions(t, toggle));
    let all: BTreeSet<&str> = fleet
        .project
        .clusters
        .iter()
        .flat_map(|c| c.toggles.iter().map(String::as_str))
        .collect();
    let external = &fleet.project.external_toggles;
    let used: BTreeSet<&str> = all
        .iter()
        .copied()
        .filter(|t| external.iter().any(|e| e == t) || tested(t))
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
            let near = used
                .iter()
                .find(|u| strsim::damerau_levenshtein(u, toggle) <= 2);
            d = match near {
                Some(near) => d.note(format!("did you mean `{near}`?")),
                None => d.note(
                    "remove it, test it in a release's `installed` condition or a chart, or list it in kcc.yaml's `externalToggles` if other tools test it",
                ),
            };
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn whole_words_only() {
        assert!(mentions(
            "'\"install_foo\" in cluster.toggles'",
            "install_foo"
        ));
        assert!(mentions("- toggle: istio\n", "istio"));
        assert!(!mentions("install_foo_bar", "install_foo"));
        assert!(!mentions("istio-gateways", "istio"));
    }
}
