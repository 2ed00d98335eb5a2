//! CLI habits: colour choice, shell completions, the man page, suggestions for mistyped
//! names, help on every argument, and `explain` of list items.

use crate::common::*;

const ANSI: &str = "\x1b[";

/// `kcc check` on the demo fixture (which has errors) with `args` and `env`.
fn check_with(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = assert_cmd::Command::cargo_bin("kcc").unwrap();
    cmd.current_dir(fixture("demo"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("TERM")
        .arg("check")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn color_follows_the_flag_then_the_environment() {
    // Not a terminal: plain unless asked.
    assert!(!check_with(&[], &[]).contains(ANSI));
    assert!(check_with(&["--color=always"], &[]).contains(ANSI));
    assert!(check_with(&["--color", "always"], &[("NO_COLOR", "1")]).contains(ANSI));
    assert!(check_with(&[], &[("CLICOLOR_FORCE", "1")]).contains(ANSI));
    assert!(!check_with(&[], &[("CLICOLOR_FORCE", "0")]).contains(ANSI));
    assert!(!check_with(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains(ANSI));
    assert!(!check_with(&["--color=never"], &[("CLICOLOR_FORCE", "1")]).contains(ANSI));
    // The flag is global: it may come before the subcommand too.
    let out = kcc(&fixture("demo"), &["--color=always", "check"]);
    assert!(stdout(&out).contains(ANSI));
}

/// What bash offers after `kcc WORDS` when TAB is pressed at the last word, through the
/// script `kcc completions bash` prints (a real bash, asking the binary as it would).
fn bash_completes(words: &[&str]) -> Vec<String> {
    let kcc = assert_cmd::cargo::cargo_bin("kcc");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source <('{kcc}' completions bash)\nCOMP_WORDS=(kcc {words})\nCOMP_CWORD={n}\nCOMP_TYPE=9\n_clap_complete_kcc kcc '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        kcc = kcc.display(),
        words = quoted.join(" "),
        n = words.len(),
        cur = words.last().unwrap(),
        prev = words.get(words.len().wrapping_sub(2)).unwrap_or(&"kcc"),
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .env_remove("COMPLETE")
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_the_projects_clusters_releases_and_formats() {
    let fleet = fleet_2026();
    let project = fleet.to_str().unwrap();
    let offered = bash_completes(&["--project", project, "render", "-c", "eq"]);
    assert_eq!(offered, ["eqiad"]);
    let offered = bash_completes(&["--project", project, "explain", "aux"]);
    assert_eq!(offered, ["aux-k8s-eqiad", "aux-k8s-codfw"]);
    let offered = bash_completes(&["--project", project, "list", "-r", "cfssl"]);
    assert_eq!(offered, ["cfssl-issuer-crds", "cfssl-issuer"]);
    let offered = bash_completes(&["--project", project, "diff", "--format", "m"]);
    assert_eq!(offered, ["markdown"]);
    let offered = bash_completes(&["--project", project, "ren"]);
    assert_eq!(offered, ["render"]);
}

#[test]
fn completion_scripts_for_bash_zsh_and_fish_ask_kcc() {
    for (shell, marker) in [
        ("bash", "complete -o nospace"),
        ("zsh", "#compdef kcc"),
        ("fish", "complete --keep-order --exclusive --command kcc"),
    ] {
        let out = kcc(&fixture("demo"), &["completions", shell]);
        assert_exit(&out, 0);
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains(&format!("COMPLETE=\"{shell}\""))
                || script.contains(&format!("COMPLETE={shell}")),
            "{shell}: {script}"
        );
    }
    let out = kcc(&fixture("demo"), &["completions", "bsh"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("'bash'"), "{}", stderr(&out));
}

#[test]
fn a_man_page_documents_every_command_and_refers_to_no_other_page() {
    let out = kcc(&fixture("demo"), &["man"]);
    assert_exit(&out, 0);
    let page = stdout(&out);
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page}");
    assert!(page.contains(".TH kcc 1"), "{page}");
    for sub in [
        "render",
        "check",
        "validate",
        "update",
        "diff",
        "list",
        "affected",
        "explain",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!(".SS \"kcc {sub}\"")),
            "{sub}: {page}"
        );
    }
    for option in [
        "target\\-version",
        "gerrit\\-label",
        "\\-\\-private",
        "\\-\\-base",
        "\\-\\-since",
    ] {
        assert!(page.contains(option), "{option}: {page}");
    }
    assert_eq!(page.matches("Exit status:").count(), 10, "{page}");
    // Only its own title is a page reference: none to kcc-render(1) and the like.
    assert_eq!(page.matches("(1)").count(), 0, "{page}");
}

#[test]
fn mistyped_names_get_a_suggestion() {
    let demo = fixture("demo");
    for (args, expected) in [
        (
            &["render", "-c", "alpah"][..],
            "no cluster `alpah` in kcc.yaml (did you mean `alpha`?)",
        ),
        (
            &["list", "-r", "web-extra"][..],
            "no release `web-extra` in kcc.yaml (did you mean `web-extras`?)",
        ),
        (
            &["explain", "btea", "web", "replicas"][..],
            "no cluster `btea` in kcc.yaml (did you mean `beta`?)",
        ),
        (
            &["explain", "alpha", "wbe", "replicas"][..],
            "no release `wbe` in kcc.yaml (did you mean `web`?)",
        ),
        (
            &["check", "--target-version", "1.25", "-c", "alpa"][..],
            "(did you mean `alpha`?)",
        ),
        (
            &["check", "--format", "jsn"][..],
            "a similar value exists: 'json'",
        ),
    ] {
        let out = kcc(&demo, args);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // Nothing near: no guess.
    let out = kcc(&demo, &["render", "-c", "ulsfo"]);
    assert_exit(&out, 2);
    assert!(!stderr(&out).contains("did you mean"), "{}", stderr(&out));
}

#[test]
fn every_argument_has_help() {
    let top = stdout(&kcc(&fixture("demo"), &["-h"]));
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 9, "{commands:?}");
    for command in commands {
        let help = stdout(&kcc(&fixture("demo"), &[&command, "-h"]));
        let mut section = false;
        for line in help.lines() {
            if line == "Arguments:" || line == "Options:" {
                section = true;
                continue;
            }
            if section && line.starts_with("  ") && !line.starts_with("   ") {
                // `  -c, --cluster <CLUSTER>  Only this cluster (repeatable)`
                let words: Vec<&str> = line.split("  ").filter(|w| !w.trim().is_empty()).collect();
                assert!(
                    words.len() >= 2,
                    "`kcc {command}`: no help for `{}`",
                    line.trim()
                );
            }
        }
    }
}

#[test]
fn explain_addresses_list_items_and_fails_when_not_set() {
    let demo = fixture("demo");
    let out = kcc(&demo, &["explain", "alpha", "web", "ports[0]"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("values.yaml:7:9  sets\n        80\n"),
        "{text}"
    );
    assert!(text.ends_with("  = merged value\n        8080\n"), "{text}");
    assert!(
        text.contains("  read by (whole: iterated, printed or serialized):\n    charts/web/templates/deployment.yaml:"),
        "{text}"
    );
    // The chart's second port: a values file replaced the whole list.
    for path in ["ports[1]", "ports[7]", "nothing.here", "labels.tier[0]"] {
        let out = kcc(&demo, &["explain", "alpha", "web", path]);
        assert_exit(&out, 1);
        assert!(
            stdout(&out).ends_with("(not set)\n"),
            "{path}: {}",
            stdout(&out)
        );
    }
}
