//! The corpus of broken and hostile inputs: every file under `tests/bad_inputs/` is one case,
//! applied to a fresh copy of a fixture fleet. kcc must answer each with the expected exit
//! code and a diagnostic naming the right file and line, and never panic or crash. The
//! format of a case file is described in `tests/bad_inputs/README.md`; all failing cases are
//! reported at once, by name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{copy_project, fixture, repo_root};

/// Stands in for the secret of a file outside the project, which no output may show.
const SENTINEL: &str = "kcc-corpus-sentinel-outside-the-project";

/// A case that takes longer than this is a failure (an endless loop kcc did not stop).
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Case {
    name: String,
    fixture: String,
    args: Vec<String>,
    exit: Option<i32>,
    expect: Vec<String>,
    expect_once: Vec<String>,
    reject: Vec<String>,
    max_output: Option<usize>,
    absent: Vec<String>,
    ops: Vec<Op>,
}

#[derive(Debug)]
enum Op {
    Write(String, Vec<u8>),
    Append(String, Vec<u8>),
    Replace(String, String, String),
    Mkdir(String),
    Symlink(String, String),
    Remove(String),
    Stdin(Vec<u8>),
}

/// `\t`, `\n`, `\r`, `\0`, `\\` and `\xNN` (one byte, for invalid UTF-8).
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('t') => out.push(b'\t'),
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16).map_err(|_| format!("bad \\x{hex}"))?;
                out.push(byte);
            }
            other => return Err(format!("unknown escape \\{}", other.unwrap_or(' '))),
        }
    }
    Ok(out)
}

/// The body of an operation: its lines, each with its newline; `escaped` drops the last
/// newline and expands escapes; `xN` repeats the whole body N times.
fn body(lines: &[&str], modifiers: &[&str]) -> Result<Vec<u8>, String> {
    let mut escaped = false;
    let mut times = 1;
    for m in modifiers {
        match *m {
            "escaped" => escaped = true,
            m if m.starts_with('x') => {
                times = m[1..]
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("bad repeat `{m}`"))?
            }
            m => return Err(format!("unknown modifier `{m}`")),
        }
    }
    let one = if escaped {
        unescape(&lines.join("\n"))?
    } else {
        lines
            .iter()
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect()
    };
    Ok(one.repeat(times))
}

fn parse_case(name: &str, text: &str) -> Result<Case, String> {
    let mut case = Case {
        name: name.to_string(),
        fixture: "demo".to_string(),
        args: vec!["render".to_string()],
        ..Case::default()
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() && !lines[i].starts_with("--- ") {
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| format!("header line `{line}` is not `key: value`"))?;
        let value = value.trim().to_string();
        match key.trim() {
            "fixture" => case.fixture = value,
            "command" => case.args = value.split_whitespace().map(String::from).collect(),
            "exit" => case.exit = Some(value.parse().map_err(|_| format!("exit `{value}`"))?),
            "expect" => case.expect.push(value),
            "expect-once" => case.expect_once.push(value),
            "reject" => case.reject.push(value),
            "max-output" => {
                case.max_output = Some(value.parse().map_err(|_| format!("max `{value}`"))?)
            }
            "absent" => case.absent.push(value),
            other => return Err(format!("unknown header `{other}`")),
        }
    }
    while i < lines.len() {
        let words: Vec<&str> = lines[i][4..].split_whitespace().collect();
        i += 1;
        let start = i;
        while i < lines.len() && !lines[i].starts_with("--- ") {
            i += 1;
        }
        let content = &lines[start..i];
        let arg = |n: usize| {
            words
                .get(n)
                .map(|s| s.to_string())
                .ok_or_else(|| format!("`--- {}` needs {n} argument(s)", words.join(" ")))
        };
        let op = match words.first().copied() {
            Some("write") => Op::Write(arg(1)?, body(content, &words[2..])?),
            Some("append") => Op::Append(arg(1)?, body(content, &words[2..])?),
            Some("stdin") => Op::Stdin(body(content, &words[1..])?),
            Some("replace") => {
                if i >= lines.len() || lines[i].trim_end() != "--- with" {
                    return Err("`--- replace` must be followed by `--- with`".into());
                }
                i += 1;
                let with_start = i;
                while i < lines.len() && !lines[i].starts_with("--- ") {
                    i += 1;
                }
                let text = |l: &[&str]| l.iter().map(|l| format!("{l}\n")).collect::<String>();
                Op::Replace(arg(1)?, text(content), text(&lines[with_start..i]))
            }
            Some("mkdir") => Op::Mkdir(arg(1)?),
            Some("symlink") => Op::Symlink(arg(1)?, arg(2)?),
            Some("remove") => Op::Remove(arg(1)?),
            _ => return Err(format!("unknown operation `--- {}`", words.join(" "))),
        };
        if !matches!(
            op,
            Op::Write(..) | Op::Append(..) | Op::Replace(..) | Op::Stdin(_)
        ) && content.iter().any(|l| !l.trim().is_empty())
        {
            return Err(format!("`--- {}` takes no body", words.join(" ")));
        }
        case.ops.push(op);
    }
    if case.exit.is_none() {
        return Err("no `exit:`".into());
    }
    if case.expect.is_empty() && case.expect_once.is_empty() {
        return Err("no `expect:`: say what the diagnostic must contain".into());
    }
    Ok(case)
}

fn remove_any(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).unwrap(),
        Ok(_) => std::fs::remove_file(path).unwrap(),
        Err(_) => {}
    }
}

/// Applies the case's operations to the project copy at `root`; returns the stdin to give.
fn apply(case: &Case, root: &Path, outside: &Path) -> Result<Vec<u8>, String> {
    let mut stdin = Vec::new();
    let path = |rel: &str| root.join(rel);
    let parent = |p: &Path| std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    for op in &case.ops {
        match op {
            Op::Write(rel, bytes) => {
                let p = path(rel);
                parent(&p);
                remove_any(&p);
                std::fs::write(&p, bytes).map_err(|e| format!("write {rel}: {e}"))?;
            }
            Op::Append(rel, bytes) => {
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(path(rel))
                    .and_then(|mut f| f.write_all(bytes))
                    .map_err(|e| format!("append to {rel}: {e}"))?;
            }
            Op::Replace(rel, from, to) => {
                let text = std::fs::read_to_string(path(rel))
                    .map_err(|e| format!("replace in {rel}: {e}"))?;
                let n = text.matches(from.as_str()).count();
                if n != 1 {
                    return Err(format!("replace: `{from}` occurs {n} times in {rel}"));
                }
                std::fs::write(path(rel), text.replacen(from.as_str(), to, 1)).unwrap();
            }
            Op::Mkdir(rel) => {
                remove_any(&path(rel));
                std::fs::create_dir_all(path(rel)).unwrap();
            }
            Op::Symlink(rel, target) => {
                let p = path(rel);
                parent(&p);
                remove_any(&p);
                let target = target.replace("$OUTSIDE", &outside.display().to_string());
                std::os::unix::fs::symlink(target, &p).unwrap();
            }
            Op::Remove(rel) => {
                if std::fs::symlink_metadata(path(rel)).is_err() {
                    return Err(format!("remove: no {rel}"));
                }
                remove_any(&path(rel));
            }
            Op::Stdin(bytes) => stdin.extend_from_slice(bytes),
        }
    }
    Ok(stdin)
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

fn run_kcc(root: &Path, args: &[String], stdin: Vec<u8>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kcc"))
        .arg("--project")
        .arg(root)
        .args(args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("RAYON_NUM_THREADS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kcc");
    let mut input = child.stdin.take().unwrap();
    // kcc may stop reading early (a limit): a failed write is fine.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let read_all = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = read_all(Box::new(child.stdout.take().unwrap()));
    let err = read_all(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        timed_out,
    }
}

/// Runs one case; the reasons it failed, if any.
fn check(case: &Case, outside: &Path) -> Vec<String> {
    let project = copy_project(&fixture(&case.fixture));
    let root = project.path();
    let stdin = match apply(case, root, outside) {
        Ok(stdin) => stdin,
        Err(e) => return vec![format!("the case does not apply: {e}")],
    };
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| a.replace("$OUTSIDE", &outside.display().to_string()))
        .collect();
    let run = run_kcc(root, &args, stdin);
    let all = format!("{}{}", run.stdout, run.stderr);
    let mut problems = Vec::new();
    if run.timed_out {
        problems.push(format!("still running after {TIMEOUT:?}: killed"));
    }
    if run.stderr.contains("panicked") {
        problems.push("kcc panicked".to_string());
    }
    match run.code {
        None => problems.push("kcc was killed by a signal".to_string()),
        Some(code @ (101 | 134 | 139)) => problems.push(format!("kcc crashed (exit {code})")),
        Some(code) if Some(code) != case.exit => {
            problems.push(format!("exit {code}, expected {}", case.exit.unwrap()))
        }
        Some(_) => {}
    }
    for want in &case.expect {
        if !all.contains(want.as_str()) {
            problems.push(format!("output lacks `{want}`"));
        }
    }
    for want in &case.expect_once {
        let n = all.matches(want.as_str()).count();
        if n != 1 {
            problems.push(format!("`{want}` occurs {n} times, expected once"));
        }
    }
    for unwanted in case.reject.iter().map(String::as_str).chain([SENTINEL]) {
        if all.contains(unwanted) {
            problems.push(format!("output contains `{unwanted}`"));
        }
    }
    if let Some(max) = case.max_output
        && all.len() > max
    {
        problems.push(format!("{} bytes of output, more than {max}", all.len()));
    }
    for rel in &case.absent {
        if std::fs::symlink_metadata(root.join(rel)).is_ok() {
            problems.push(format!("{rel} was written"));
        }
    }
    if !problems.is_empty() {
        let cut = |s: &str| s.chars().take(3000).collect::<String>();
        problems.push(format!(
            "--- stdout\n{}\n--- stderr\n{}",
            cut(&run.stdout),
            cut(&run.stderr)
        ));
    }
    problems
}

fn corpus_dir() -> PathBuf {
    repo_root().join("tests/bad_inputs")
}

fn load_corpus() -> Vec<Case> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".case"))
        .collect();
    names.sort();
    let mut errors = Vec::new();
    let mut cases = Vec::new();
    for name in names {
        let text = std::fs::read_to_string(corpus_dir().join(&name)).unwrap();
        match parse_case(&name, &text) {
            Ok(case) => cases.push(case),
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    assert!(errors.is_empty(), "malformed cases:\n{}", errors.join("\n"));
    cases
}

#[test]
fn every_bad_input_gets_its_diagnostic_and_no_crash() {
    let cases = load_corpus();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    // What a link out of the project points at: a file no output may show.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.yaml"),
        format!("replicas: 1\nsecret: {SENTINEL}\n"),
    )
    .unwrap();
    std::fs::create_dir(outside.path().join("dir")).unwrap();
    // Two at a time: the machines running the tests are small and shared.
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let problems = check(case, outside.path());
                    if !problems.is_empty() {
                        failures.lock().unwrap().push(format!(
                            "{}:\n  {}",
                            case.name,
                            problems.join("\n  ")
                        ));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_case_format_parses() {
    let case = parse_case(
        "t.case",
        "# a comment\nfixture: net\ncommand: check --format json\nexit: 1\nexpect: a\n\
         --- write values/x.yaml escaped x2\na\\tb\\xff\n--- replace kcc.yaml\nfrom\n--- with\nto\n\
         --- symlink values/y.yaml $OUTSIDE/secret.yaml\n",
    )
    .unwrap();
    assert_eq!(case.fixture, "net");
    assert_eq!(case.args, ["check", "--format", "json"]);
    assert_eq!(case.ops.len(), 3);
    match &case.ops[0] {
        Op::Write(p, b) => {
            assert_eq!(p, "values/x.yaml");
            assert_eq!(b, b"a\tb\xffa\tb\xff");
        }
        other => panic!("{other:?}"),
    }
    match &case.ops[1] {
        Op::Replace(_, from, to) => assert_eq!((from.as_str(), to.as_str()), ("from\n", "to\n")),
        other => panic!("{other:?}"),
    }
    assert!(parse_case("t.case", "exit: 1\n").is_err());
    assert!(parse_case("t.case", "expect: x\n").is_err());
    assert!(parse_case("t.case", "exit: 1\nexpect: x\n--- frobnicate a\n").is_err());
}
