//! `kcc affected PATH...`: the clusters and releases each file feeds ([`crate::inputs`]),
//! and for a values file whether a template reads it or it is only merged.
//!
//! "Read" is decided statically: a key path the file sets (`a`, `a.b`, ...) that a path
//! the release's templates name (`values.a.b`, in any version of its chart), its
//! `installed` expression names, or its chart pin is, lies on the same branch of (one is a
//! prefix of the other). A template that reads `values.a` whole reads every key under it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use crate::diagnostic::{Failure, Result};
use crate::inputs::{Feed, Layout};
use crate::project::Project;
use crate::render::Fleet;
use crate::source::SourceFile;
use crate::yaml::{Node, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    /// One JSON object per line: path, cluster, release, role, use
    Json,
}

/// One row: a file feeding a cluster × release pair in a role.
struct Row<'a> {
    path: &'a str,
    cluster: &'a str,
    release: &'a str,
    role: &'static str,
    /// `read` or `merged` for a values file, `-` for any other.
    used: &'static str,
}

/// The report, and whether any path feeds a pair (exit 1 when none does, as grep).
pub struct Affected {
    pub text: String,
    pub any: bool,
}

pub fn affected(root: &Path, paths: &[String], format: Format) -> Result<Affected> {
    let project = Project::load(root)?;
    let layout = Layout::new(&project);
    let fed: Vec<(&String, Vec<Feed>)> = paths
        .iter()
        .map(|p| (p, layout.feeds(Path::new(p))))
        .collect();
    // Only the charts of releases a values file feeds are compiled: what "read" needs.
    let wanted: BTreeSet<String> = fed
        .iter()
        .flat_map(|(_, feeds)| feeds)
        .filter(|f| f.role.is_values())
        .flat_map(|f| {
            f.pairs
                .iter()
                .map(|&(_, r)| project.releases[r].name.clone())
        })
        .collect();
    let reads = match wanted.is_empty() {
        true => BTreeMap::new(),
        false => {
            let fleet = Fleet::load_releases(root, &wanted.iter().cloned().collect::<Vec<_>>())?;
            read_paths(&fleet, &wanted)
        }
    };
    let mut rows = Vec::new();
    for (path, feeds) in &fed {
        let keys = match feeds.iter().any(|f| f.role.is_values()) {
            true => key_paths(Path::new(path))?,
            false => Vec::new(),
        };
        for feed in feeds {
            for &(c, r) in &feed.pairs {
                let release = &project.releases[r];
                let used = match feed.role.is_values() {
                    false => "-",
                    true if reads
                        .get(&release.name)
                        .is_some_and(|read| keys.iter().any(|k| on_branch(k, read))) =>
                    {
                        "read"
                    }
                    true => "merged",
                };
                rows.push(Row {
                    path,
                    cluster: &project.clusters[c].name,
                    release: &release.name,
                    role: feed.role.name(),
                    used,
                });
            }
        }
    }
    Ok(Affected {
        any: !rows.is_empty(),
        text: match format {
            Format::Text => text(&rows),
            Format::Json => json(&rows),
        },
    })
}

/// Whether a key path a file sets and a set of read paths share a branch.
fn on_branch(key: &[String], read: &BTreeSet<Vec<String>>) -> bool {
    read.iter().any(|r| r.iter().zip(key).all(|(a, b)| a == b))
}

/// Per release, the values paths something reads: its templates (every version of its
/// chart), its `installed` expression, and its chart pin.
fn read_paths(
    fleet: &Fleet,
    releases: &BTreeSet<String>,
) -> BTreeMap<String, BTreeSet<Vec<String>>> {
    let split = |p: &str| -> Vec<String> {
        p.split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut by_chart: BTreeMap<&str, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (name, versions) in &fleet.charts {
        let paths = versions
            .all()
            .iter()
            .flat_map(|c| c.value_paths())
            .map(|p| split(&p))
            .collect();
        by_chart.insert(name, paths);
    }
    let env = minijinja::Environment::new();
    let mut out = BTreeMap::new();
    for release in fleet
        .project
        .releases
        .iter()
        .filter(|r| releases.contains(&r.name))
    {
        let mut read = by_chart
            .get(release.chart.as_str())
            .cloned()
            .unwrap_or_default();
        read.insert(fleet.project.chart_pins.path(&release.chart).to_vec());
        // An expression that does not compile is reported by `check`; it reads nothing.
        if let Some(expr) = release.installed.as_deref()
            && let Ok(compiled) = env.compile_expression(expr)
        {
            read.extend(compiled.undeclared_variables(true).iter().filter_map(
                |v| match v.as_str() {
                    "values" => Some(Vec::new()),
                    v => v.strip_prefix("values.").map(split),
                },
            ));
        }
        out.insert(release.name.clone(), read);
    }
    out
}

/// Every key path a values file sets, leaves and the maps above them (`a`, `a.b`); none
/// for a file that does not exist (it sets nothing). A file that does not parse is an
/// error: what it sets cannot be told.
fn key_paths(path: &Path) -> Result<Vec<Vec<String>>> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Fatal(format!("cannot read {}: {e}", path.display())))?;
    let root = crate::yaml::load_one(&SourceFile::new(path.display().to_string(), text))?;
    fn walk(node: &Node, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Value::Map(m) = &node.value {
            for (k, v) in m {
                at.push(k.clone());
                out.push(at.clone());
                walk(v, at, out);
                at.pop();
            }
        }
    }
    let mut out = Vec::new();
    walk(&root, &mut Vec::new(), &mut out);
    Ok(out)
}

fn text(rows: &[Row]) -> String {
    let width =
        |f: &dyn Fn(&Row) -> usize, min: usize| rows.iter().map(f).max().unwrap_or(0).max(min);
    let wp = width(&|r| r.path.len(), 4);
    let wc = width(&|r| r.cluster.len(), 7);
    let wr = width(&|r| r.release.len(), 7);
    let wo = width(&|r| r.role.len(), 4);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<wp$}  {:<wc$}  {:<wr$}  {:<wo$}  USE",
        "PATH", "CLUSTER", "RELEASE", "ROLE"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<wp$}  {:<wc$}  {:<wr$}  {:<wo$}  {}",
            r.path, r.cluster, r.release, r.role, r.used
        );
    }
    out
}

fn json(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows {
        let row = serde_json::json!({
            "path": r.path,
            "cluster": r.cluster,
            "release": r.release,
            "role": r.role,
            "use": r.used,
        });
        let _ = writeln!(out, "{row}");
    }
    out
}
