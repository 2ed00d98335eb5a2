//! `values/unknown-key`: a top-level key in a release's own values file that its chart does
//! not know — neither its defaults, nor its schema's properties, nor a `values.<key>` its
//! templates read. A typo there (`replicaCont: 6`) would otherwise change nothing, silently.
//!
//! Only the files that belong to one release are checked: `values/<cluster>/<release>-values.yaml`
//! and the release's extra layers. The shared layers (common, group, cluster) legitimately
//! hold keys for other releases, including ones kcc does not render.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Diagnostic;
use crate::render::Fleet;
use crate::source::SourceFile;
use crate::yaml::load_one;

/// Each release-owned values file that exists, with the charts reading it.
fn release_files<'a>(
    fleet: &'a Fleet,
    judged: &super::Judged,
) -> BTreeMap<String, BTreeSet<&'a str>> {
    let mut files: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for release in &fleet.project.releases {
        let mut own: Vec<String> = release.values.clone();
        own.extend(
            fleet
                .project
                .clusters
                .iter()
                .map(|c| crate::project::cluster_release_values(&c.name, &release.name)),
        );
        for file in own {
            if judged.judges(&file) && fleet.root().join(&file).is_file() {
                files
                    .entry(file)
                    .or_default()
                    .insert(release.chart.as_str());
            }
        }
    }
    files
}

pub fn check(fleet: &Fleet, judged: &super::Judged) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (file, charts) in release_files(fleet, judged) {
        let known: BTreeSet<String> = charts
            .iter()
            .filter_map(|c| fleet.charts.get(*c))
            .flat_map(|versions| versions.all())
            .flat_map(|c| c.value_keys.iter().cloned())
            // The chart version pins are kcc's to read.
            .chain([fleet.project.chart_pins.values_key.clone()])
            .collect();
        // Charts not loaded (a render of selected releases) leave nothing to compare with.
        if charts.iter().any(|c| !fleet.charts.contains_key(*c)) {
            continue;
        }
        let Ok(text) = crate::confine::read_inside(&fleet.root().join(&file), fleet.root()) else {
            continue;
        };
        // A file that does not parse is reported where it is loaded.
        let Ok(root) = load_one(&SourceFile::new(file.as_str(), text)) else {
            continue;
        };
        let Some(map) = root.as_map() else {
            continue;
        };
        let chart_names: Vec<&str> = charts.iter().copied().collect();
        for (key, node) in map.iter().filter(|(k, _)| !known.contains(*k)) {
            let mut d = Diagnostic::error(
                "values/unknown-key",
                format!(
                    "`{key}` is not a value of chart `{}`: nothing reads it",
                    chart_names.join("`, `")
                ),
            )
            .at(node.origin.as_ref());
            if let Some(near) = crate::suggest::similar_key(key, known.iter().map(String::as_str)) {
                d = d.note(format!("did you mean `{near}`?"));
            }
            out.push(d);
        }
    }
    out
}
