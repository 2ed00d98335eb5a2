//! Hostile or broken input gets a clear error in bounded time and memory: alias bombs,
//! nesting, oversized files and lines.

use std::io::Write;
use std::process::Stdio;

use crate::common::*;

/// A "billion laughs": nine levels of nine aliases each (9^9 strings once expanded).
fn alias_bomb() -> String {
    let mut text = String::from(
        "lol0: &l0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..9 {
        let prev = format!("*l{}", i - 1);
        let items = [prev.as_str(); 9].join(",");
        text.push_str(&format!("lol{i}: &l{i} [{items}]\n"));
    }
    text
}

/// `kcc validate FILE`, outside any project.
fn validate(dir: &tempfile::TempDir, file: &std::path::Path) -> std::process::Output {
    assert_cmd::Command::cargo_bin("kcc")
        .unwrap()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .arg("validate")
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn an_alias_bomb_in_a_values_file_is_refused_at_the_alias() {
    let project = copy_project(&fixture("demo"));
    let file = "values/alpha/web-values.yaml";
    let path = project.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    write(&path, &format!("{text}{}", alias_bomb()));
    let out = kcc(project.path(), &["render"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("error[yaml/too-large]"), "{err}");
    assert!(err.contains("aliases counted in full"), "{err}");
    assert!(err.contains(&format!("{file}:")), "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn an_alias_bomb_given_to_validate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.yaml");
    write(&path, &alias_bomb());
    let out = validate(&dir, &path);
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("yaml/too-large"), "{}", stdout(&out));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.yaml");
    write(&path, &format!("a: {}\n", "[".repeat(100_000)));
    let out = validate(&dir, &path);
    assert_exit(&out, 1);
    // The quoted line is cut around the caret, not printed whole.
    assert!(stdout(&out).len() < 2_000, "{} bytes", stdout(&out).len());
}

#[test]
fn an_oversized_values_file_is_refused_by_name() {
    let project = copy_project(&fixture("demo"));
    let file = "values/alpha/web-values.yaml";
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(project.path().join(file))
        .unwrap();
    let line = "# padding padding padding padding padding padding padding padding\n";
    for _ in 0..(17 * 1024 * 1024 / line.len()) {
        f.write_all(line.as_bytes()).unwrap();
    }
    drop(f);
    let out = kcc(
        project.path(),
        &["render", "--fixture-secrets", "--out", "deploy"],
    );
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("error[input/too-large]"), "{err}");
    assert!(err.contains("web-values.yaml"), "{err}");
    assert!(!project.path().join("deploy").exists());
}

#[test]
fn an_endless_stdin_is_cut_off() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kcc"))
        .args(["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let chunk = vec![b'a'; 1 << 20];
    // kcc stops reading past its limit: writing then fails, which is fine.
    for _ in 0..20 {
        if stdin.write_all(&chunk).is_err() {
            break;
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("input/too-large"), "{}", stderr(&out));
}

#[test]
fn a_long_line_is_quoted_around_the_caret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.yaml");
    let long = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x, {}: 1, bogus]\n",
        "k".repeat(50_000)
    );
    write(&path, &long);
    let out = validate(&dir, &path);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.len() < 2_000, "{} bytes: {text}", text.len());
    assert!(text.contains('…'), "{text}");
}

const SENTINEL: &str = "kcc-sentinel-outside-the-project";

/// A file outside any project holding the sentinel, and a demo project copy.
fn project_and_outside_file() -> (tempfile::TempDir, tempfile::TempDir, std::path::PathBuf) {
    let project = copy_project(&fixture("demo"));
    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("passwd");
    write(&file, &format!("replicas: 1\nroot: {SENTINEL}\n"));
    (project, outside, file)
}

fn assert_refused_without_leaking(out: &std::process::Output, link: &str) {
    assert_exit(out, 1);
    let all = format!("{}{}", stdout(out), stderr(out));
    assert!(all.contains("error[input/path]"), "{all}");
    assert!(all.contains(link), "{all}");
    assert!(!all.contains(SENTINEL), "{all}");
}

#[test]
fn a_values_file_linking_outside_the_project_is_refused() {
    let (project, _outside, file) = project_and_outside_file();
    let link = project.path().join("values/alpha/web-values.yaml");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&file, &link).unwrap();
    for args in [
        &["render"][..],
        &["check"][..],
        &["explain", "alpha", "web", "root"][..],
    ] {
        let out = kcc(project.path(), args);
        assert_refused_without_leaking(&out, "web-values.yaml");
    }
}

#[test]
fn a_template_linking_outside_the_chart_is_refused() {
    let (project, _outside, file) = project_and_outside_file();
    let link = project.path().join("charts/web/templates/leak.yaml");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let out = kcc(project.path(), &["render"]);
    assert_refused_without_leaking(&out, "leak.yaml");
}

#[test]
fn a_chart_directory_linking_outside_is_refused() {
    let (project, outside, _file) = project_and_outside_file();
    let real = outside.path().join("web");
    copy_dir(&project.path().join("charts/web"), &real);
    std::fs::remove_dir_all(project.path().join("charts/web")).unwrap();
    std::os::unix::fs::symlink(&real, project.path().join("charts/web")).unwrap();
    let out = kcc(project.path(), &["render"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("error[input/path]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_golden_file_linking_outside_is_refused() {
    let (project, _outside, file) = project_and_outside_file();
    let golden = project.path().join("golden/alpha");
    std::fs::create_dir_all(&golden).unwrap();
    std::os::unix::fs::symlink(&file, golden.join("web.yaml")).unwrap();
    let out = kcc(project.path(), &["check"]);
    assert_refused_without_leaking(&out, "web.yaml");
}

#[test]
fn a_directory_where_a_values_file_belongs_is_an_error() {
    let project = copy_project(&fixture("demo"));
    let path = project.path().join("values/alpha/web-values.yaml");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let out = kcc(project.path(), &["render"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("web-values.yaml is a directory, where kcc expects a file"),
        "{err}"
    );
}

#[test]
fn a_directory_where_the_values_schema_belongs_is_an_error() {
    let project = copy_project(&fixture("demo"));
    std::fs::create_dir(project.path().join("charts/web/values.schema.json")).unwrap();
    let out = kcc(project.path(), &["render"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("values.schema.json is a directory"), "{err}");
}

#[test]
fn an_integer_beyond_64_bits_is_an_error_at_its_line() {
    let project = copy_project(&fixture("demo"));
    let file = "values/alpha/web-values.yaml";
    edit_file(
        &project.path().join(file),
        "replicas: 3\n",
        "replicas: 99999999999999999999999999\n",
    );
    let out = kcc(project.path(), &["render"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("error[yaml/number]"), "{err}");
    let line = line_of(project.path(), file, "replicas:");
    assert!(err.contains(&format!("{file}:{line}:11")), "{err}");
    assert!(!stdout(&out).contains("1e"), "{}", stdout(&out));
}

#[test]
fn a_template_that_renders_too_much_is_stopped() {
    let project = copy_project(&fixture("demo"));
    write(
        &project.path().join("charts/web/templates/huge.yaml"),
        "{% for i in range(20000) %}# {{ \"y\" * 1000 }}\n{% endfor %}",
    );
    let out = kcc(project.path(), &["render"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("error[template/too-large]"), "{err}");
    assert!(err.contains("charts/web/templates/huge.yaml:1:1"), "{err}");
    assert!(stdout(&out).is_empty());
}

/// `kcc render --out deploy` on a demo copy whose chart has `template` as
/// `templates/bomb.yaml`, with 8 render threads (renders explode side by side, as on a
/// large machine). Returns the project, the exit code, stdout, stderr and the peak resident
/// memory of the kcc process in bytes.
fn render_bomb(template: &str) -> (tempfile::TempDir, Option<i32>, String, String, u64) {
    let project = copy_project(&fixture("demo"));
    write(
        &project.path().join("charts/web/templates/bomb.yaml"),
        template,
    );
    let out_file = project.path().join("stdout.txt");
    let err_file = project.path().join("stderr.txt");
    // Reaped by wait4 below, which also reports its resource usage.
    #[allow(clippy::zombie_processes)]
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kcc"))
        .arg("--project")
        .arg(project.path())
        .args(["render", "--fixture-secrets", "--out"])
        .arg(project.path().join("deploy"))
        .env("RAYON_NUM_THREADS", "8")
        .env("NO_COLOR", "1")
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(std::fs::File::create(&err_file).unwrap())
        .spawn()
        .unwrap();
    // wait4: this child's own resource usage (not that of other tests' children).
    let mut status = 0;
    // SAFETY: plain out-parameters for a child this test spawned and has not waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let peak = usage.ru_maxrss as u64 * 1024; // KiB on Linux
    let stdout = std::fs::read_to_string(&out_file).unwrap();
    let stderr = std::fs::read_to_string(&err_file).unwrap();
    (project, code, stdout, stderr, peak)
}

/// A template that builds a huge value without writing it: fuel counts steps, not bytes,
/// so memory needs a bound of its own. The render fails, in bounded memory, writing nothing.
#[track_caller]
fn assert_bomb_stopped(template: &str) -> String {
    let started = std::time::Instant::now();
    let (project, code, stdout, stderr, peak) = render_bomb(template);
    eprintln!(
        "peak RSS {} MiB in {:?}: {template}",
        peak >> 20,
        started.elapsed()
    );
    assert!(matches!(code, Some(1 | 2)), "exit {code:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("error[resource/memory]") || stderr.contains("error[template/out-of-fuel]"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!project.path().join("deploy").exists());
    assert!(peak < 1_000_000_000, "peak RSS {peak} bytes");
    stderr
}

#[test]
fn a_loop_that_doubles_a_string_is_stopped_in_bounded_memory() {
    assert_bomb_stopped(
        "{% set ns = namespace(x='aaaaaaaa') %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}\n",
    );
}

#[test]
fn a_macro_that_quadruples_a_string_is_stopped_in_bounded_memory() {
    let calls = 16;
    assert_bomb_stopped(&format!(
        "{{% macro q(s) %}}{{{{ s ~ s ~ s ~ s }}}}{{% endmacro %}}{{% set y = {}'aaaa'{} %}}\n",
        "q(".repeat(calls),
        ")".repeat(calls)
    ));
}

#[test]
fn a_template_over_its_memory_budget_fails_at_its_loop() {
    // Keeps 1 MB strings until it holds more than kcc lets a template build.
    let stderr = assert_bomb_stopped(
        "{% set ns = namespace(parts=[]) %}\n{% for i in range(300) %}{% set ns.parts = ns.parts + ['y' * 1000000] %}{% endfor %}\n",
    );
    assert!(
        stderr.contains(
            "error[resource/memory]: template templates/bomb.yaml made kcc hold more than 256 MiB"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("charts/web/templates/bomb.yaml:2:"),
        "{stderr}"
    );
}

#[test]
fn an_allocation_past_the_memory_limit_stops_kcc_naming_what_it_was_doing() {
    let stderr = assert_bomb_stopped("{{ 'x' | nindent(2000000000) }}\n");
    assert!(
        stderr.contains("error[resource/memory]: kcc stopped: allocating 1908 MiB more would take it past its memory limit of 512 MiB"),
        "{stderr}"
    );
    assert!(
        // Releases web and web-extras share chart web and render in parallel: either may
        // be the one that asks for the memory first.
        (stderr.contains("while rendering release web for cluster ")
            || stderr.contains("while rendering release web-extras for cluster "))
            && stderr.contains("(chart web, template templates/bomb.yaml)"),
        "{stderr}"
    );
}
