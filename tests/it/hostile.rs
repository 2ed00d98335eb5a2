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

// ---- Deploy directories (`render --out DIR`) under attack --------------------------------

/// `kcc render -c alpha --fixture-secrets --out DIR` on `project`.
fn render_out(project: &std::path::Path, dir: &std::path::Path) -> std::process::Output {
    kcc(
        project,
        &[
            "render",
            "-c",
            "alpha",
            "--fixture-secrets",
            "--out",
            dir.to_str().unwrap(),
        ],
    )
}

/// Every file under `dir` (links not followed) by relative path: its bytes, or what it is.
fn snapshot(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(
        root: &std::path::Path,
        dir: &std::path::Path,
        out: &mut std::collections::BTreeMap<String, Vec<u8>>,
    ) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(root, &path, out);
            } else if meta.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, format!("-> {}", target.display()).into_bytes());
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// What kcc left beside `dir`: staging trees and locks.
fn beside(dir: &std::path::Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut found: Vec<String> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{name}.kcc-")))
        .collect();
    found.sort();
    found
}

/// A demo copy with web-extras uninstalled from alpha and web's replicas changed.
fn demo_changed() -> tempfile::TempDir {
    let project = copy_project(&fixture("demo"));
    edit_file(
        &project.path().join("kcc.yaml"),
        "toggles: [extras]",
        "toggles: []",
    );
    edit_file(
        &project.path().join("values/alpha/web-values.yaml"),
        "replicas: 3",
        "replicas: 5",
    );
    project
}

#[test]
fn a_release_directory_linked_elsewhere_is_never_written_through_or_emptied() {
    let project = copy_project(&fixture("demo"));
    let deploy = project.path().join("deploy");
    assert_exit(&render_out(project.path(), &deploy), 0);
    // web-extras/ becomes a link to a directory outside holding the same names.
    let outside = tempfile::tempdir().unwrap();
    copy_dir(&deploy.join("web-extras"), outside.path());
    let before = snapshot(outside.path());
    std::fs::remove_dir_all(deploy.join("web-extras")).unwrap();
    std::os::unix::fs::symlink(outside.path(), deploy.join("web-extras")).unwrap();
    let deploy_before = snapshot(&deploy);

    let out = render_out(project.path(), &deploy);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("web-extras is a symbolic link: kcc writes a deploy directory only as files and directories of its own"),
        "{}",
        stderr(&out)
    );
    // The release is uninstalled: its files would go, but not through the link.
    edit_file(
        &project.path().join("kcc.yaml"),
        "toggles: [extras]",
        "toggles: []",
    );
    let out = render_out(project.path(), &deploy);
    assert_exit(&out, 2);
    assert_eq!(snapshot(outside.path()), before);
    assert_eq!(snapshot(&deploy), deploy_before);
    assert!(beside(&deploy).is_empty(), "{:?}", beside(&deploy));
}

#[test]
fn a_deploy_directory_linked_to_or_inside_the_project_is_refused() {
    let project = copy_project(&fixture("demo"));
    let root = project.path();
    let charts = snapshot(&root.join("charts"));
    std::os::unix::fs::symlink(root.join("charts"), root.join("deploy")).unwrap();
    let out = render_out(root, &root.join("deploy"));
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("is inside the project's charts/"),
        "{}",
        stderr(&out)
    );
    std::fs::create_dir(root.join("golden")).unwrap();
    for (dir, what) in [
        (root.join("charts"), "is inside the project's charts/"),
        (
            root.join("charts/web/templates"),
            "is inside the project's charts/",
        ),
        (root.join("golden/alpha"), "is inside the project's golden/"),
        (root.join("values/alpha"), "is inside the project's values/"),
        (root.to_path_buf(), "holds the project's charts/"),
    ] {
        let out = render_out(root, &dir);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains(what),
            "{}: {}",
            dir.display(),
            stderr(&out)
        );
    }
    assert_eq!(snapshot(&root.join("charts")), charts);
    assert!(!root.join("golden/alpha").exists());
    // Nor into the private overlay it reads the real secrets from.
    let private = root.join("private");
    std::fs::create_dir(&private).unwrap();
    let out = kcc(
        root,
        &[
            "render",
            "-c",
            "alpha",
            "--private",
            private.to_str().unwrap(),
            "--out",
            private.join("deploy").to_str().unwrap(),
        ],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("is inside --private"),
        "{}",
        stderr(&out)
    );
    assert!(!private.join("deploy").exists());
    // A link to a directory of one's own is refused too: kcc would replace the link.
    let real = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(real.path(), root.join("elsewhere")).unwrap();
    let out = render_out(root, &root.join("elsewhere"));
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("is a symbolic link"),
        "{}",
        stderr(&out)
    );
    assert!(snapshot(real.path()).is_empty());
}

#[test]
fn a_directory_kcc_did_not_write_is_refused_untouched() {
    let project = copy_project(&fixture("demo"));
    let deploy = project.path().join("deploy");
    write(&deploy.join("mine.txt"), "mine");
    let out = render_out(project.path(), &deploy);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("holds files and no .kcc-render: kcc writes only into a directory it wrote, or an empty or new one (nothing was written)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&deploy).keys().collect::<Vec<_>>(), ["mine.txt"]);
    assert!(beside(&deploy).is_empty());
    // An empty directory is fine.
    std::fs::remove_file(deploy.join("mine.txt")).unwrap();
    assert_exit(&render_out(project.path(), &deploy), 0);
    assert!(deploy.join("helmfile.yaml").is_file());
}

#[test]
fn files_kcc_did_not_write_stay_and_an_uninstalled_release_goes() {
    let project = copy_project(&fixture("demo"));
    let deploy = project.path().join("deploy");
    assert_exit(&render_out(project.path(), &deploy), 0);
    write(&deploy.join("notes.txt"), "mine");
    write(&deploy.join("web-extras/notes.txt"), "mine too");
    std::fs::create_dir(deploy.join("empty")).unwrap();
    edit_file(
        &project.path().join("kcc.yaml"),
        "toggles: [extras]",
        "toggles: []",
    );
    let out = render_out(project.path(), &deploy);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("web-extras.yaml (no longer rendered)"),
        "{}",
        stdout(&out)
    );
    let files: Vec<String> = snapshot(&deploy).into_keys().collect();
    assert_eq!(
        files,
        [
            ".kcc-render",
            "empty/",
            "helmfile.yaml",
            "notes.txt",
            "web-extras/",
            "web-extras/notes.txt",
            "web.yaml",
            "web/",
            "web/Chart.yaml",
            "web/manifest.yaml",
            "web/templates/",
            "web/templates/manifest.yaml",
        ]
    );
    assert!(beside(&deploy).is_empty());
}

#[test]
fn a_directory_of_per_cluster_markers_written_by_an_older_kcc_is_taken_over() {
    let project = copy_project(&fixture("demo"));
    let deploy = project.path().join("deploy");
    write(
        &deploy.join("alpha/.kcc-render"),
        "# old\nweb.yaml\ngone.yaml\n",
    );
    write(&deploy.join("alpha/web.yaml"), "old");
    write(&deploy.join("alpha/gone.yaml"), "old");
    write(&deploy.join("beta/.kcc-render"), "# old\n");
    write(&deploy.join("beta/mine.txt"), "mine");
    let out = kcc(
        project.path(),
        &[
            "render",
            "--fixture-secrets",
            "--out",
            deploy.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    let files = snapshot(&deploy);
    assert!(files.contains_key(".kcc-render") && files.contains_key("beta/mine.txt"));
    for gone in ["alpha/.kcc-render", "beta/.kcc-render", "alpha/gone.yaml"] {
        assert!(!files.contains_key(gone), "{gone}");
    }
    assert_ne!(files["alpha/web.yaml"], b"old");
    // Not every entry marked: not kcc's.
    let other = project.path().join("other");
    write(&other.join("alpha/.kcc-render"), "# old\n");
    write(&other.join("loose.txt"), "mine");
    let out = kcc(
        project.path(),
        &[
            "render",
            "--fixture-secrets",
            "--out",
            other.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 2);
}

#[test]
fn a_second_render_into_the_same_directory_waits_for_none_and_fails_cleanly() {
    let project = copy_project(&fixture("demo"));
    let deploy = project.path().join("deploy");
    assert_exit(&render_out(project.path(), &deploy), 0);
    let expected = snapshot(&deploy);
    // Another render holds the lock: refused, nothing changed.
    let lock = std::fs::File::create(project.path().join("deploy.kcc-lock")).unwrap();
    lock.try_lock().unwrap();
    let out = render_out(project.path(), &deploy);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("another kcc render is writing"),
        "{}",
        stderr(&out)
    );
    drop(lock);
    assert_eq!(snapshot(&deploy), expected);
    // Two at once, again and again: each succeeds or says the other holds the lock, and
    // the directory is always the whole render.
    let changed = demo_changed();
    for round in 0..6 {
        let spawn = |p: &std::path::Path| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("kcc"))
                .arg("--project")
                .arg(p)
                .args(["render", "-c", "alpha", "--fixture-secrets", "--out"])
                .arg(&deploy)
                .env("NO_COLOR", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(project.path()), spawn(changed.path()));
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            let code = out.status.code();
            assert!(
                code == Some(0)
                    || (code == Some(2) && stderr(&out).contains("another kcc render is writing")),
                "round {round}: {code:?} {}",
                stderr(&out)
            );
        }
        assert!(beside(&deploy).is_empty(), "{:?}", beside(&deploy));
        let now = snapshot(&deploy);
        assert!(now.contains_key("helmfile.yaml") && now.contains_key("web.yaml"));
    }
}

/// The deploy directory after a render of `project` into a fresh one.
fn render_of(project: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("deploy");
    assert_exit(&render_out(project, &out_dir), 0);
    snapshot(&out_dir)
}

/// Renders `new` into a directory holding the render of `old`, stopping it with `signal`
/// after delays spread over its run: the directory must always be wholly old or wholly
/// new. Returns how many runs left it old and new.
fn interrupted_renders(signal: i32, runs: u32) -> (u32, u32) {
    let old = copy_project(&fixture("demo"));
    let new = demo_changed();
    let (old_tree, new_tree) = (render_of(old.path()), render_of(new.path()));
    assert_ne!(old_tree, new_tree);
    let place = tempfile::tempdir().unwrap();
    let deploy = place.path().join("deploy");
    let (mut olds, mut news) = (0, 0);
    for i in 0..runs {
        // Back to the old render; this also cleans what the last killed run left.
        assert_exit(&render_out(old.path(), &deploy), 0);
        assert_eq!(snapshot(&deploy), old_tree);
        assert!(beside(&deploy).is_empty(), "{:?}", beside(&deploy));
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kcc"))
            .arg("--project")
            .arg(new.path())
            .args(["render", "-c", "alpha", "--fixture-secrets", "--out"])
            .arg(&deploy)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // 0 to ~60 ms: from before the render to after the switch on this machine.
        std::thread::sleep(std::time::Duration::from_micros(u64::from(i) * 3_000));
        // SAFETY: a signal to the child this test spawned and has not reaped.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait_with_output().unwrap().status;
        let now = snapshot(&deploy);
        if now == old_tree {
            olds += 1;
        } else if now == new_tree {
            news += 1;
        } else {
            panic!("run {i} ({status}): a mix of old and new: {:?}", now.keys());
        }
        if signal != libc::SIGKILL {
            // A catchable signal cleans up before kcc exits.
            assert!(beside(&deploy).is_empty(), "{:?}", beside(&deploy));
        }
    }
    assert_exit(&render_out(new.path(), &deploy), 0);
    assert_eq!(snapshot(&deploy), new_tree);
    assert!(beside(&deploy).is_empty(), "{:?}", beside(&deploy));
    (olds, news)
}

#[test]
fn a_render_killed_at_any_moment_leaves_the_directory_old_or_new() {
    let (olds, news) = interrupted_renders(libc::SIGKILL, 20);
    eprintln!("SIGKILL: {olds} runs left the old render, {news} the new one");
}

#[test]
fn a_render_stopped_by_sigterm_leaves_the_directory_old_or_new_and_nothing_beside() {
    let (olds, news) = interrupted_renders(libc::SIGTERM, 12);
    eprintln!("SIGTERM: {olds} runs left the old render, {news} the new one");
}

#[test]
fn what_a_killed_render_left_beside_the_directory_is_cleaned() {
    let project = copy_project(&fixture("demo"));
    let place = tempfile::tempdir().unwrap();
    let deploy = place.path().join("deploy");
    assert_exit(&render_out(project.path(), &deploy), 0);
    let expected = snapshot(&deploy);
    for stale in ["deploy.kcc-new-99999", "deploy.kcc-old-99998"] {
        write(&place.path().join(stale).join(".kcc-render"), "# x\n");
        write(&place.path().join(stale).join("web.yaml"), "stale");
    }
    std::fs::create_dir(place.path().join("deploy.kcc-new-99997")).unwrap();
    // Not kcc's (no marker): left alone.
    write(&place.path().join("deploy.kcc-new-1234/mine"), "mine");
    std::fs::write(place.path().join("deploy.kcc-lock"), "").unwrap();
    assert_exit(&render_out(project.path(), &deploy), 0);
    assert_eq!(beside(&deploy), ["deploy.kcc-new-1234"]);
    assert_eq!(snapshot(&deploy), expected);

    // Killed between the two renames of a file system that cannot exchange: DIR is
    // missing and the old tree is aside. It is put back first (its own files kept).
    std::fs::remove_dir_all(place.path().join("deploy.kcc-new-1234")).unwrap();
    write(&deploy.join("mine.txt"), "mine");
    std::fs::rename(&deploy, place.path().join("deploy.kcc-old-4242")).unwrap();
    assert_exit(&render_out(project.path(), &deploy), 0);
    assert!(beside(&deploy).is_empty(), "{:?}", beside(&deploy));
    assert_eq!(
        std::fs::read_to_string(deploy.join("mine.txt")).unwrap(),
        "mine"
    );
}

// ---- validate on odd files ---------------------------------------------------------------

/// `kcc validate ARGS` outside any project, killed (a failure) if it runs for 20 s.
fn validate_bounded(dir: &std::path::Path, args: &[&std::path::Path]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kcc"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .arg("validate")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("kcc validate {args:?} hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

fn mkfifo(path: &std::path::Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn validate_refuses_fifos_sockets_and_devices_by_type_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("ok/good.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    );
    std::fs::create_dir(d.join("fifo-dir")).unwrap();
    mkfifo(&d.join("fifo-dir/pipe.yaml"));
    mkfifo(&d.join("pipe.yaml"));
    let _socket = std::os::unix::net::UnixListener::bind(d.join("sock.yaml")).unwrap();
    std::fs::create_dir(d.join("dev-dir")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("dev-dir/zero.yaml")).unwrap();
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (
            d.join("fifo-dir"),
            "pipe.yaml is a FIFO (named pipe), not a file",
        ),
        (
            d.join("pipe.yaml"),
            "pipe.yaml is a FIFO (named pipe), not a file",
        ),
        (d.join("sock.yaml"), "sock.yaml is a socket, not a file"),
        (
            "/dev/zero".into(),
            "/dev/zero is a character device, not a file",
        ),
        (
            d.join("dev-dir"),
            "zero.yaml is a character device, not a file",
        ),
    ];
    for (path, want) in &cases {
        let (code, out) = validate_bounded(d, &[path]);
        assert_eq!(code, Some(2), "{}: {out}", path.display());
        assert!(out.contains(want), "{}: {out}", path.display());
    }
    if std::path::Path::new("/dev/loop0").exists() {
        let (code, out) = validate_bounded(d, &[std::path::Path::new("/dev/loop0")]);
        assert_eq!(code, Some(2), "{out}");
        assert!(
            out.contains("/dev/loop0 is a block device, not a file"),
            "{out}"
        );
    }
    // A FIFO that is not a manifest (no .yaml) in a directory is never opened.
    mkfifo(&d.join("ok/pipe.txt"));
    let (code, out) = validate_bounded(d, &[&d.join("ok")]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn validate_calls_a_link_loop_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink("b.yaml", d.join("a.yaml")).unwrap();
    std::os::unix::fs::symlink("a.yaml", d.join("b.yaml")).unwrap();
    std::os::unix::fs::symlink("nowhere.yaml", d.join("dangling.yaml")).unwrap();
    let (code, out) = validate_bounded(d, &[&d.join("a.yaml")]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("a.yaml is a symbolic link loop"), "{out}");
    let (code, out) = validate_bounded(d, &[&d.join("dangling.yaml")]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("dangling.yaml is a symbolic link to nothing"),
        "{out}"
    );
    // A directory linking back to itself is walked once.
    let tree = d.join("walk/tree");
    write(
        &tree.join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    );
    std::os::unix::fs::symlink("..", tree.join("up")).unwrap();
    std::os::unix::fs::symlink(".", tree.join("self")).unwrap();
    let (code, out) = validate_bounded(d, &[&tree]);
    assert_eq!(code, Some(0), "{out}");
    // In a project, a values file that is a loop is called one too.
    let project = copy_project(&fixture("demo"));
    let file = project.path().join("values/alpha/web-values.yaml");
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink("web-values.yaml", &file).unwrap();
    let out = kcc(project.path(), &["render"]);
    assert!(
        stderr(&out).contains("web-values.yaml is a symbolic link loop"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn validate_names_a_nested_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.yaml");
    write(
        &path,
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Namespace\n    metadata: {name: a}\n  - apiVersion: v1\n    kind: List\n    items: []\n",
    );
    let (code, out) = validate_bounded(dir.path(), &[&path]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "item 2 of this `kind: List` is itself a `kind: List`: nested Lists are not expanded"
        ),
        "{out}"
    );
    assert!(out.contains("list.yaml:7:"), "{out}");
}
