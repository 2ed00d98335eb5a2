//! `kcc man`: one man page for kcc and every subcommand — each with its synopsis, what it
//! does, its options and its exit status — so the page refers to no other page.

use std::io::Write;

/// What each command's exit status means (beyond the common 2 and 128 + signal).
const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "render",
        "0 rendered (and written with --out); 1 a configuration error, nothing written (also --verify-golden drift, and fixture secrets refused without --private DIR or --fixture-secrets)",
    ),
    (
        "check",
        "0 clean, warnings allowed; 1 any error, golden/ drift included (with --target-version, also anything the upgrade would break; with --since, in what it checks); 2 also an unknown --since or --base revision",
    ),
    ("validate", "0 every object valid; 1 any error"),
    (
        "update",
        "0 golden/ is the render (rewritten where it was not); 1 the fleet has errors, golden/ untouched",
    ),
    (
        "diff",
        "0 no difference; 1 the sides differ (with --ignored-changes-pass, only by what is shown)",
    ),
    ("list", "0"),
    (
        "affected",
        "0 some path feeds a cluster × release; 1 none does (as grep)",
    ),
    (
        "explain",
        "0 the value is set; 1 it is not (as git config --get)",
    ),
    ("completions", "0"),
    ("man", "0"),
];

/// The page, in roff, for the command line `cli` (kcc's clap command).
pub fn page(cli: clap::Command) -> std::io::Result<String> {
    let man = clap_mangen::Man::new(cli.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    writeln!(out, ".SH COMMANDS")?;
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("kcc {}", sub.get_name());
        writeln!(out, ".SS \"{name}\"")?;
        let man = clap_mangen::Man::new(sub.clone().bin_name(name));
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part)?;
        man.render_description_section(&mut part)?;
        man.render_options_section(&mut part)?;
        out.extend_from_slice(demoted(&String::from_utf8_lossy(&part)).as_bytes());
        if let Some((_, status)) = EXIT_STATUS.iter().find(|(c, _)| *c == sub.get_name()) {
            writeln!(out, ".PP\nExit status: {status}.")?;
        }
    }
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    writeln!(
        out,
        "Each command above says what 0 and 1 mean for it. 2: kcc could not do its job (bad arguments, unreadable files, an internal error, the memory limit). 128 + the signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP) when interrupted, after removing the temporary files it was writing."
    )?;
    writeln!(out, ".SH \"SEE ALSO\"")?;
    writeln!(
        out,
        "README.md of kcc's repository: the project layout, the checks, the review formats and how-tos."
    )?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A subcommand's sections as parts of its `.SS` entry: no section headers of its own and no
/// second roff preamble.
fn demoted(roff: &str) -> String {
    roff.lines()
        .filter(|l| !l.starts_with(".ie \\n(.g") && !l.starts_with(".el .ds Aq"))
        .map(|l| match l {
            ".SH SYNOPSIS" | ".SH DESCRIPTION" => ".PP".to_string(),
            ".SH OPTIONS" => ".PP\nOptions:".to_string(),
            other => other.to_string(),
        })
        .map(|l| l + "\n")
        .collect()
}
