//! `secret/flow` by provenance (tests/fixtures/reads, whose private overlay sets `token`):
//! whatever a template does with a private value, it reaches nothing but a Secret's data
//! values. The fixed cases name the transforms an attacker tries first; `fuzz` generates
//! templates that transform the value in random ways, in random places, and checks that
//! neither it nor any 6-character piece of it (as written, upper or lower case, reversed
//! or base64-encoded) reaches any output or golden file.
//!
//! The long run: `KCC_TAINT_FUZZ_SECS=3600 cargo test --release --test it
//! secret_taint::fuzz -- --nocapture` (README, "Secrets").

use std::path::Path;

use base64::Engine as _;

use crate::common::*;

const SENTINEL: &str = "Zq7xKv-Wp3mJ-Fb9tLy";
const PRIVATE: &str = "fixtures/private/app-values.yaml";
const TEMPLATE: &str = "charts/app/templates/probe.yaml";

/// The reads fixture with the sentinel as its private token.
fn project() -> tempfile::TempDir {
    let project = copy_project(&fixture("reads"));
    write(
        &project.path().join(PRIVATE),
        &format!("# FIXTURE\ntoken: {SENTINEL}\nnum: 73914\nflag: true\n"),
    );
    edit_file(
        &project.path().join("charts/app/values.yaml"),
        "token: \"\"\n",
        "token: \"\"\nnum: 0\nflag: false\n",
    );
    // Only some probes read `num` and `flag`.
    edit_file(
        &project.path().join("kcc.yaml"),
        "externalValues: [deployTool.*.version]",
        "externalValues: [deployTool.*.version, num, flag]",
    );
    // golden/ as the sentinel renders, before any probe template.
    assert_exit(&kcc(project.path(), &["update"]), 0);
    project
}

/// Every 6-character piece of the sentinel, lower-cased, forwards, reversed and as kcc's
/// check rotates it, and every
/// 8-character piece of its base64.
fn forbidden() -> Vec<String> {
    let mut pieces = Vec::new();
    let lower = SENTINEL.to_lowercase();
    let reversed: String = lower.chars().rev().collect();
    // kcc's own changed value (see src/render/taint.rs) is as telling as the value.
    let rotated: String = lower
        .chars()
        .map(|c| match c {
            'a'..='z' => (b'a' + (c as u8 - b'a' + 13) % 26) as char,
            '0'..='9' => (b'0' + (c as u8 - b'0' + 5) % 10) as char,
            other => other,
        })
        .collect();
    for s in [&lower, &reversed, &rotated] {
        let chars: Vec<char> = s.chars().collect();
        pieces.extend(chars.windows(6).map(|w| w.iter().collect::<String>()));
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(SENTINEL);
    let chars: Vec<char> = b64.chars().collect();
    pieces.extend(
        chars
            .windows(8)
            .map(|w| format!("b64:{}", w.iter().collect::<String>())),
    );
    pieces
}

/// The first forbidden piece found in `text`, if any.
fn leaked(text: &str, pieces: &[String]) -> Option<String> {
    let lower = text.to_lowercase();
    pieces
        .iter()
        .find(|p| match p.strip_prefix("b64:") {
            Some(b64) => text.contains(b64),
            None => lower.contains(p.as_str()),
        })
        .cloned()
}

fn all_files(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text.push_str(&all_files(&path));
        } else {
            text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    text
}

/// Writes `body` as a template, runs check (and, unless `secret/flow` refuses it, diff,
/// update and render);
/// panics if any forbidden piece is printed or written. Returns whether check refused it
/// with `secret/flow`.
fn probe(root: &Path, body: &str, pieces: &[String]) -> bool {
    write(&root.join(TEMPLATE), body);
    let out = kcc(root, &["check"]);
    let mut printed = format!("{}{}", stdout(&out), stderr(&out));
    let refused = printed.contains("error[secret/flow]");
    if !refused {
        // Allowed (or refused for another reason): what it writes and prints, too.
        for args in [
            vec!["diff", "--format", "markdown"],
            vec!["update"],
            vec!["render"],
        ] {
            let out = kcc(root, &args);
            printed.push_str(&stdout(&out));
            printed.push_str(&stderr(&out));
        }
    }
    printed.push_str(&all_files(&root.join("golden")));
    if let Some(piece) = leaked(&printed, pieces) {
        panic!("`{piece}` of the private value leaked with template:\n{body}\n---\n{printed}");
    }
    refused
}

fn config_map(line: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\n  namespace: apps\ndata:\n{line}\n"
    )
}

fn secret(extra_metadata: &str, data: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: probe\n  namespace: apps\n{extra_metadata}stringData:\n{data}\n"
    )
}

#[test]
fn every_transform_outside_secret_data_is_refused() {
    let project = project();
    let p = project.path();
    let pieces = forbidden();
    let t = "values.token";
    let cases = [
        config_map(&format!("  x: {{{{ {t} | upper | to_json }}}}")),
        config_map(&format!("  x: {{{{ {t}[3:11] | to_json }}}}")),
        config_map(&format!("  x: {{{{ {t} | replace('-', '_') | to_json }}}}")),
        config_map(&format!(
            "  x: {{{{ [{t}[:4], {t}[4:]] | join('') | to_json }}}}"
        )),
        config_map(&format!("  x: {{{{ {t} | b64encode | to_json }}}}")),
        config_map(&format!("  x: {{{{ {t} | to_json | to_json }}}}")),
        config_map(&format!("  x: {{{{ {t} | sha256 | to_json }}}}")),
        config_map(&format!("  x: |{{{{ {t} | nindent(4) }}}}")),
        config_map("  x: \"{{ values.num * 3 }}\""),
        config_map("  x: \"{{ values.flag }}\""),
        config_map(&format!(
            "{{% if {t} == '{SENTINEL}' %}}  x: 'yes'{{% else %}}  x: 'no'{{% endif %}}"
        )),
        secret("", &format!("  {{{{ {t} | to_json }}}}: x")),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ {t} | lower | replace('-', '') }}}}\n  namespace: apps\ndata:\n  k: v\n"
        ),
        // The real render takes the first branch; the changed one fails, in an error
        // that quotes the (rotated) value.
        config_map(&format!(
            "{{% if {t}[0] == 'Z' %}}  x: a{{% else %}}  x: {{{{ {t} | int }}}}{{% endif %}}"
        )),
        secret(
            &format!("  annotations:\n    a: {{{{ {t} | lower | to_json }}}}\n"),
            "  k: v",
        ),
        secret(
            &format!("  labels:\n    a: {{{{ {t}[-6:] | to_json }}}}\n"),
            "  k: v",
        ),
    ];
    for body in &cases {
        assert!(probe(p, body, &pieces), "not refused:\n{body}");
    }
}

#[test]
fn a_secret_may_hold_it_and_a_template_may_test_that_it_is_set() {
    let project = project();
    let p = project.path();
    let pieces = forbidden();
    let body = secret(
        "",
        "  token: {{ values.token | to_json }}\n  upper: {{ values.token | upper | b64encode | to_json }}\n{%- if values.token %}\n  set: \"yes\"\n{%- endif %}",
    );
    assert!(!probe(p, &body, &pieces));
    let out = kcc(p, &["check"]);
    assert_exit(&out, 0);
}

#[test]
fn an_installed_condition_on_a_private_value_is_refused() {
    let project = project();
    let p = project.path();
    edit_file(
        &p.join("kcc.yaml"),
        "    chart: app\n",
        "    chart: app\n    installed: values.token[0] == 'Z'\n",
    );
    let out = kcc(p, &["check"]);
    assert_exit(&out, 1);
    let text = stderr(&out) + &stdout(&out);
    assert!(
        text.contains("whether release `app` is installed depends on the private value `token`"),
        "{text}"
    );
    assert!(leaked(&text, &forbidden()).is_none());
}

/// A small deterministic generator (xorshift), so a failing case can be replayed from its
/// seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A random expression over the private token: a chain of transforms.
fn expression(rng: &mut Rng) -> String {
    let mut e = String::from(match rng.below(4) {
        0 => "values.token",
        1 => "(values.token ~ '')",
        2 => "values['token']",
        _ => "(values.token | string)",
    });
    for _ in 0..rng.below(5) {
        let a = rng.below(12) as i64 - 4;
        let b = a + 6 + rng.below(8) as i64;
        e = match rng.below(16) {
            0 => format!("({e} | upper)"),
            1 => format!("({e} | lower)"),
            2 => format!("({e} | title)"),
            3 => format!("({e} | reverse)"),
            4 => format!("({e})[{a}:{b}]"),
            5 => format!(
                "({e} | replace('{}', '{}'))",
                rng.pick(&["-", "q", "7", "K"]),
                rng.pick(&["", "_", "xx"])
            ),
            6 => format!("({e} | b64encode)"),
            7 => format!("({e} | to_json)"),
            8 => format!("('pre-' ~ {e})"),
            9 => format!("({e} ~ '-post')"),
            10 => format!("({e} | split('-') | join('_'))"),
            11 => format!("([{e}, 'x'] | join(','))"),
            12 => format!("({e} | trim)"),
            13 => format!("({e} | list | join(''))"),
            14 => format!("({e} | sha256)"),
            _ => format!("({e} | string)"),
        };
    }
    e
}

/// A random template writing `e` somewhere.
fn template(rng: &mut Rng, e: &str) -> String {
    match rng.below(8) {
        0 => config_map(&format!("  x: {{{{ {e} | string | to_json }}}}")),
        1 => config_map(&format!("  x: |{{{{ {e} | string | nindent(4) }}}}")),
        2 => config_map(&format!("  {{{{ {e} | string | to_json }}}}: x")),
        3 => secret(
            &format!("  annotations:\n    a: {{{{ {e} | string | to_json }}}}\n"),
            "  k: v",
        ),
        4 => secret("", &format!("  {{{{ {e} | string | to_json }}}}: x")),
        5 => config_map(&format!(
            "{{% if ({e} | string)[:{}] == '{}' %}}  x: 'a'{{% else %}}  x: 'b'{{% endif %}}",
            rng.below(4) + 1,
            &SENTINEL[..rng.below(4) + 1]
        )),
        // Allowed: Secret data values, and a test of whether it is set.
        6 => secret("", &format!("  v: {{{{ {e} | string | to_json }}}}")),
        _ => config_map(&format!(
            "{{% if values.token %}}  x: 'set'{{% endif %}}\n  y: {{{{ {e} | string | length }}}}"
        )),
    }
}

#[test]
fn fuzz() {
    // A short run in every `cargo test`; KCC_TAINT_FUZZ_SECS for the long one.
    let seconds: u64 = std::env::var("KCC_TAINT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let seed: u64 = std::env::var("KCC_TAINT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let project = project();
    let p = project.path();
    let pieces = forbidden();
    let start = std::time::Instant::now();
    let mut rng = Rng(seed);
    let (mut cases, mut refused) = (0u64, 0u64);
    loop {
        let e = expression(&mut rng);
        let body = template(&mut rng, &e);
        if probe(p, &body, &pieces) {
            refused += 1;
        }
        cases += 1;
        let done = if seconds == 0 {
            cases >= 12
        } else {
            start.elapsed().as_secs() >= seconds
        };
        if done {
            break;
        }
    }
    println!(
        "taint fuzz: seed {seed}, {cases} templates in {:.0} s, {refused} refused by secret/flow, 0 leaks",
        start.elapsed().as_secs_f64()
    );
}
