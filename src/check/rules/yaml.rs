//! `yaml/ambiguous` (warning): a plain scalar in a values file that YAML 1.1 readers (helm,
//! kubectl) read differently from kcc's YAML 1.2: `yes`/`no`/`on`/`off`/`y`/`n`, numbers
//! with leading zeros (`0755`), `0b`/`0o` prefixes and underscores in numbers. Scalars both
//! read alike (`1.23`, `true`, `~`) are fine, and so is YAML 1.1's sexagesimal `1:20`: the
//! readers that matter (go-yaml v2, in helm and kubectl) read it as a string, as kcc does
//! (checked against helm 3.15 in tests/it/helm_values.rs).
//!
//! Each file is read once, from disk: `values/**` and `<charts>/*/values.yaml`.

use std::path::PathBuf;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::diagnostic::Diagnostic;
use crate::project::Project;
use crate::source::{Origin, SourceFile};

const RULE: &str = "yaml/ambiguous";

/// Every values file of a project with the name messages give it: `values/**/*.yaml`
/// (`values_dir`) and `<charts>/*/values.yaml`, sorted by name.
pub fn values_files(project: &Project, values_dir: &[(PathBuf, String)]) -> Vec<(PathBuf, String)> {
    let mut files = values_dir.to_vec();
    if let Ok(charts) = std::fs::read_dir(project.charts_path()) {
        for chart in charts.flatten() {
            let path = chart.path().join("values.yaml");
            if path.is_file() {
                let shown = format!(
                    "{}/{}/values.yaml",
                    project.charts_dir,
                    chart.file_name().to_string_lossy()
                );
                files.push((path, shown));
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    files
}

/// The warnings for the values files of `project` that `judged` judges.
pub fn ambiguous(
    project: &Project,
    values_dir: &[(PathBuf, String)],
    judged: &super::Judged,
) -> Vec<Diagnostic> {
    values_files(project, values_dir)
        .into_iter()
        .filter(|(_, shown)| judged.judges(shown))
        .filter_map(|(path, shown)| {
            // Chart defaults may live in a charts directory outside the project.
            let charts = project.charts_path();
            let inside = if path.starts_with(&charts) {
                charts
            } else {
                project.root.clone()
            };
            let text = crate::confine::read_inside(&path, &inside).ok()?;
            Some(scan(&SourceFile::new(shown, text)))
        })
        .flatten()
        .collect()
}

/// The ambiguous plain scalars (keys and values) of one file. A file that does not parse
/// is left to the loader, which reports `yaml/syntax`.
pub fn scan(file: &Arc<SourceFile>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut parser = Parser::new_from_str(&file.text);
    while let Some(Ok((event, span))) = parser.next_event() {
        let Event::Scalar(text, ScalarStyle::Plain, _, None) = event else {
            continue;
        };
        if let Some(reading) = yaml11_reading(&text) {
            let origin = Origin::new(file, span.start.line(), span.start.col() + 1);
            out.push(
                Diagnostic::warning(
                    RULE,
                    format!(
                        "`{text}` is {reading} to YAML 1.1 readers (helm, kubectl), but {} to kcc (YAML 1.2)",
                        yaml12_reading(&text)
                    ),
                )
                .at(Some(&origin))
                .note(format!("quote it (\"{text}\") if you mean the string, or write the value unambiguously")),
            );
        }
    }
    out
}

/// How a YAML 1.1 reader reads a plain scalar, when that differs from YAML 1.2's reading.
pub fn yaml11_reading(text: &str) -> Option<String> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Some("the boolean true".into());
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Some("the boolean false".into());
        }
        _ => {}
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if unsigned.is_empty() {
        return None;
    }
    let sign = if negative { "-" } else { "" };
    let digits = unsigned.replace('_', "");
    let all = |s: &str, ok: fn(u8) -> bool| !s.is_empty() && s.bytes().all(ok);
    // 0o17: a string to 1.1, an octal integer to 1.2.
    if let Some(oct) = unsigned.strip_prefix("0o")
        && all(oct, |b| (b'0'..=b'7').contains(&b))
    {
        return Some("a string".into());
    }
    // 0b1010 (and 0x1_f): binary and underscores are 1.1 only.
    if let Some(bin) = digits.strip_prefix("0b") {
        return (all(bin, |b| b == b'0' || b == b'1') && !unsigned.starts_with("0b_"))
            .then(|| u128::from_str_radix(bin, 2).ok())
            .flatten()
            .map(|v| format!("the integer {sign}{v}"));
    }
    if let Some(hex) = digits.strip_prefix("0x") {
        return (unsigned.contains('_') && all(hex, |b| b.is_ascii_hexdigit()))
            .then(|| u128::from_str_radix(hex, 16).ok())
            .flatten()
            .map(|v| format!("the integer {sign}{v}"));
    }
    // 0755: octal to 1.1, decimal to 1.2.
    if unsigned.starts_with('0') && digits.len() > 1 && all(&digits, |b| (b'0'..=b'7').contains(&b))
    {
        let octal = u128::from_str_radix(&digits, 8).ok()?;
        let decimal: u128 = digits.parse().ok()?;
        return (octal != decimal || unsigned.contains('_'))
            .then(|| format!("the octal integer {sign}{octal}"));
    }
    // 1_000: an integer to 1.1, a string to 1.2.
    if unsigned.contains('_')
        && unsigned.as_bytes()[0].is_ascii_digit()
        && all(&digits, |b| b.is_ascii_digit())
    {
        return Some(format!(
            "the integer {sign}{}",
            digits.trim_start_matches('0')
        ));
    }
    None
}

/// How kcc reads the plain scalar, for the message.
fn yaml12_reading(text: &str) -> String {
    match resolve(text) {
        crate::yaml::Value::Int(i) => format!("the integer {i}"),
        crate::yaml::Value::Float(f) => format!("the number {f}"),
        _ => format!("the string \"{text}\""),
    }
}

/// YAML 1.2 core-schema resolution of a plain scalar, as kcc's loader does it.
fn resolve(text: &str) -> crate::yaml::Value {
    let file = SourceFile::new("", text);
    crate::yaml::load_one(&file)
        .map(|n| n.value)
        .unwrap_or(crate::yaml::Value::Str(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_of_yaml11() {
        for t in ["yes", "Yes", "YES", "on", "ON", "y", "Y"] {
            assert_eq!(
                yaml11_reading(t).as_deref(),
                Some("the boolean true"),
                "{t}"
            );
        }
        for t in ["no", "No", "NO", "off", "Off", "n", "N"] {
            assert_eq!(
                yaml11_reading(t).as_deref(),
                Some("the boolean false"),
                "{t}"
            );
        }
        // Read alike by both, or strings to both.
        for t in [
            "true", "false", "True", "yEs", "nope", "online", "~", "null", "",
        ] {
            assert_eq!(yaml11_reading(t), None, "{t}");
        }
    }

    #[test]
    fn numbers_read_differently() {
        assert_eq!(
            yaml11_reading("0755").as_deref(),
            Some("the octal integer 493")
        );
        assert_eq!(
            yaml11_reading("-010").as_deref(),
            Some("the octal integer -8")
        );
        // helm and kubectl (go-yaml v2) read sexagesimal-looking scalars as strings.
        assert_eq!(yaml11_reading("1:20"), None);
        assert_eq!(yaml11_reading("190:20:30"), None);
        assert_eq!(yaml11_reading("1_000").as_deref(), Some("the integer 1000"));
        assert_eq!(yaml11_reading("0b101").as_deref(), Some("the integer 5"));
        assert_eq!(yaml11_reading("0o17").as_deref(), Some("a string"));
    }

    #[test]
    fn numbers_read_alike() {
        // Same number to both readers (or a string to both).
        for t in [
            "0",
            "00",
            "07",
            "10",
            "-3",
            "1.23",
            "0.5",
            ".5",
            "1e3",
            "0x1f",
            "1.8.7-1",
            "10.64.72.3",
            "10.64.72.0/24",
            "2620:0:861:306::/116",
            "12:",
            "1:60",
            "0:20",
            "1:2:3:x",
            "v1",
        ] {
            assert_eq!(yaml11_reading(t), None, "{t}");
        }
    }

    #[test]
    fn scan_reports_plain_scalars_only_with_their_position() {
        let file = SourceFile::new(
            "values/x.yaml",
            "a: yes\nb: 'yes'\nc: \"0755\"\nd:\n  - 0755\n  - !!str on\ne: |\n  on\nno: 1\n",
        );
        let found: Vec<String> = scan(&file).iter().map(|d| d.to_string()).collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(
            found[0].starts_with(
                "values/x.yaml:1:4: warning[yaml/ambiguous]: `yes` is the boolean true"
            ),
            "{}",
            found[0]
        );
        assert!(found[0].contains("the string \"yes\""), "{}", found[0]);
        assert!(
            found[1].starts_with(
                "values/x.yaml:5:5: warning[yaml/ambiguous]: `0755` is the octal integer 493"
            ),
            "{}",
            found[1]
        );
        assert!(found[1].contains("the integer 755"), "{}", found[1]);
        assert!(found[2].starts_with("values/x.yaml:9:1:"), "{}", found[2]);
    }
}
