//! CLI habits: colour choice, shell completions, the man page, suggestions for mistyped
//! names, help on every argument, and `explain` of list items.

mod common;

use common::*;

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

#[test]
fn completions_for_three_shells() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kcc"),
        ("fish", "complete -c kcc"),
    ] {
        let out = kcc(&fixture("demo"), &["completions", shell]);
        assert_exit(&out, 0);
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script}");
        for sub in ["check", "explain", "render", "completions"] {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
    }
    let out = kcc(&fixture("demo"), &["completions", "bsh"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("'bash'"), "{}", stderr(&out));
}

#[test]
fn a_man_page() {
    let out = kcc(&fixture("demo"), &["man"]);
    assert_exit(&out, 0);
    let page = stdout(&out);
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page}");
    assert!(page.contains(".TH kcc 1"), "{page}");
    assert!(page.contains("kcc\\-explain"), "{page}");
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
