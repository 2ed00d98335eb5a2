//! `kcc diff`: object-level differences between golden/ and the render, or (`--base REV`)
//! between the render of the project at a git revision and the render of the working tree.
//! Fails (exit 1, like `git diff --exit-code`) when there is a difference.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::commands::check::Report;
use crate::diagnostic::{Failure, Result};
use crate::diff::{self, ACKNOWLEDGE_TRAILER, Acknowledgement, FleetDiff, RevisionFiles};
use crate::git;
use crate::golden::{self, Files};
use crate::render::{Fleet, Reuse, Selection};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human text (coloured as --color says)
    #[default]
    Text,
    /// One JSON document
    Json,
    /// Markdown, for a review
    Markdown,
    /// A Gerrit ReviewInput, to post as is
    Gerrit,
}

/// How `kcc diff` shows what it found.
#[derive(Default)]
pub struct Options {
    pub format: Format,
    /// Gerrit labels to vote with the review (`--gerrit-label Verified=-1`).
    pub labels: BTreeMap<String, i32>,
    /// Changes kcc.yaml's `diffIgnore` hides do not fail the diff.
    pub ignored_changes_pass: bool,
}

/// The diff in `opts.format`; `failed` when the two sides differ (by what is shown only,
/// with `ignored_changes_pass`).
pub fn run(root: &Path, base: Option<&str>, opts: &Options) -> Result<Report> {
    let gerrit = opts.format == Format::Gerrit;
    let compared = compare(root, base, gerrit)?;
    let differs = !compared.diff.is_empty();
    let d = compared
        .diff
        .hide_ignored(&compared.fleet.project.diff_ignore);
    let text = match opts.format {
        Format::Text => diff::render_text(&d, crate::output::color_wanted()),
        Format::Json => diff::render_json(&d),
        Format::Markdown => diff::render_markdown(&d),
        Format::Gerrit => {
            // Gerrit paths are relative to the repository, not to the project.
            let prefix = git::prefix(root).unwrap_or_default();
            diff::render_gerrit(&d, &prefix, &opts.labels, &compared.revision_files)
        }
    };
    let failed = if opts.ignored_changes_pass {
        !d.is_empty()
    } else {
        differs
    };
    Ok(Report { text, failed })
}

/// A diff and what was read to make it.
pub struct Compared {
    /// The working tree's fleet.
    pub fleet: Fleet,
    /// Its hazards marked as the commits since the base accept them.
    pub diff: FleetDiff,
    /// With `revision_files` asked for and a base: the golden files the change's revision
    /// (HEAD) modifies and holds as rendered, where Gerrit takes comments.
    pub revision_files: RevisionFiles,
}

/// golden/ → the render (no `base`), or the render at `base` → the working tree's, with
/// the hazards the commits `base..HEAD` accept (`Kcc-Accept-Hazard:` trailers) marked.
pub fn compare(root: &Path, base: Option<&str>, revision_files: bool) -> Result<Compared> {
    let fleet = load(root, "the working tree")?;
    let Some(rev) = base else {
        let old = Side::Golden(&fleet);
        let new = Side::Render(&fleet, "the working tree");
        let (d, _) = by_cluster(&old, &new, false)?;
        return Ok(Compared {
            diff: d.labeled("golden/", "render"),
            fleet,
            revision_files: RevisionFiles::new(),
        });
    };
    let checkout = git::revision(root, rev)?;
    let what = format!("`{rev}`");
    let in_git = |failure| match failure {
        Failure::Fatal(message) => Failure::Fatal(checkout.shown(&message)),
        other => other,
    };
    let base_fleet = load(checkout.root(), &what).map_err(in_git)?;
    let old = Side::Render(&base_fleet, &what);
    let new = Side::Render(&fleet, "the working tree");
    let (d, new_texts) = by_cluster(&old, &new, revision_files).map_err(in_git)?;
    let mut d = d.labeled(rev, "working tree");
    let acks: Vec<Acknowledgement> = git::trailers(root, &checkout.commit, ACKNOWLEDGE_TRAILER)?
        .iter()
        .filter_map(|(commit, value)| Acknowledgement::parse(commit, value))
        .collect();
    d.acknowledge(&acks);
    let revision_files = match revision_files {
        true => in_revision(root, checkout.root(), &new_texts)?,
        false => RevisionFiles::new(),
    };
    Ok(Compared {
        fleet,
        diff: d,
        revision_files,
    })
}

/// Of the new side's `texts`, those HEAD holds as they are and the base does not, with
/// their number of lines.
fn in_revision(root: &Path, base_root: &Path, texts: &Files) -> Result<RevisionFiles> {
    let head = git::revision(root, "HEAD")?;
    let read = |at: &Path, path: &str| crate::tree::read(&at.join(path)).ok();
    Ok(texts
        .iter()
        .filter(|(path, text)| {
            read(head.root(), path).as_deref() == Some(text.as_bytes())
                && read(base_root, path).as_deref() != Some(text.as_bytes())
        })
        .map(|(path, text)| (path.clone(), text.lines().count()))
        .collect())
}

/// Configuration errors become fatal here: exit 1 means "differs" for `kcc diff`.
/// `doing` is what failed: "render `HEAD`", "read golden/".
fn fatal(doing: &str, failure: Failure) -> Failure {
    match failure {
        Failure::Config(diagnostics) => {
            let mut message = format!("cannot {doing}: {} error(s)\n", diagnostics.len());
            for d in &diagnostics {
                message.push_str(&d.render());
            }
            Failure::Fatal(message.trim_end().to_string())
        }
        Failure::Reported => Failure::Fatal(format!("cannot {doing}")),
        fatal => fatal,
    }
}

fn load(root: &Path, what: &str) -> Result<Fleet> {
    Fleet::load(root).map_err(|f| fatal(&format!("render {what}"), f))
}

/// One side of a diff: golden/ as it is, or what a fleet renders (secrets redacted).
enum Side<'a> {
    Golden(&'a Fleet),
    Render(&'a Fleet, &'a str),
}

impl Side<'_> {
    fn fleet(&self) -> &Fleet {
        match self {
            Side::Golden(f) | Side::Render(f, _) => f,
        }
    }

    /// The cluster's golden files on this side (none if the side has no such cluster).
    /// A render shares what it can with the other side's through `reuse`.
    fn cluster(&self, name: &str, reuse: &Arc<Reuse>) -> Result<Files> {
        match self {
            Side::Golden(fleet) => {
                golden::current_of_cluster(fleet.root(), name).map_err(|f| fatal("read golden/", f))
            }
            Side::Render(fleet, _) if fleet.project.cluster(name).is_none() => Ok(Files::new()),
            Side::Render(fleet, what) => {
                let renders = fleet
                    .render(&Selection {
                        clusters: vec![name.to_string()],
                        reuse: Some(Arc::clone(reuse)),
                        ..Selection::default()
                    })
                    .map_err(|f| fatal(&format!("render {what}"), f))?;
                Ok(golden::expected(fleet, &renders))
            }
        }
    }

    /// The files outside any cluster's directory (only golden/ has those).
    fn outside_clusters(&self) -> Result<Files> {
        match self {
            Side::Golden(fleet) => {
                golden::outside_clusters(fleet).map_err(|f| fatal("read golden/", f))
            }
            Side::Render(..) => Ok(Files::new()),
        }
    }
}

/// The diff of two sides, one cluster at a time (in parallel): only one cluster's files of
/// each side are held at once, and what is kept is the differences (and, with `keep_new`,
/// the new texts of the files that differ).
fn by_cluster(old: &Side, new: &Side, keep_new: bool) -> Result<(FleetDiff, Files)> {
    use rayon::prelude::*;
    let mut names: Vec<&str> = new
        .fleet()
        .project
        .clusters
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for c in &old.fleet().project.clusters {
        if !names.contains(&c.name.as_str()) {
            names.push(&c.name);
        }
    }
    let reuse = Arc::new(Reuse::default());
    let mut parts = names
        .par_iter()
        .map(|name| {
            // The new side first: its errors are the ones to report.
            let new_files = new.cluster(name, &reuse);
            let old_files = match new_files {
                Ok(_) => old.cluster(name, &reuse),
                Err(_) => Ok(Files::new()),
            };
            reuse.forget_cluster(name);
            let mut new_files = new_files?;
            let d = diff::diff(&old_files?, &new_files);
            match keep_new {
                true => new_files.retain(|path, _| d.files.iter().any(|f| f.path == *path)),
                false => new_files.clear(),
            }
            Ok((d, new_files))
        })
        .collect::<Result<Vec<(FleetDiff, Files)>>>()?;
    parts.push((
        diff::diff(&old.outside_clusters()?, &new.outside_clusters()?),
        Files::new(),
    ));
    let mut texts = Files::new();
    let mut diffs = Vec::new();
    for (d, t) in parts {
        diffs.push(d);
        texts.extend(t);
    }
    Ok((FleetDiff::merge(diffs), texts))
}
