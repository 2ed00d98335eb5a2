//! golden/ is the reviewed truth: `check` fails on drift, `update` rewrites it atomically.

use crate::common::*;

#[test]
fn the_fleet_is_clean() {
    // Its one warning: 1.25 removes the PodSecurityPolicies of this 1.23 fleet.
    let out = kcc(&fleet_2023(), &["check"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("kcc check: 9 clusters, 0 error(s), 1 warning(s)")
            && stdout(&out).contains("warning[schema/deprecated-api]: policy/v1beta1 PodSecurityPolicy is removed in Kubernetes 1.25"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_values_change_fails_check_and_update_fixes_it() {
    let project = copy_project(&fleet_2023());
    let path = project
        .path()
        .join("values/ml-staging-codfw/coredns-values.yaml");
    edit_file(&path, "replicaCount: 2\n", "replicaCount: 7\n");
    let out = kcc(project.path(), &["check", "--format", "json"]);
    assert_exit(&out, 1);
    let drift: Vec<_> = json_lines(&out)
        .into_iter()
        .filter(|d| d["rule"] == "golden/drift")
        .collect();
    assert_eq!(drift.len(), 1, "{}", stdout(&out));
    assert!(
        drift[0]["message"]
            .as_str()
            .unwrap()
            .contains("golden/ml-staging-codfw/coredns.yaml")
    );
    assert!(
        drift[0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("replicas: 7"),
        "{}",
        drift[0]
    );

    let out = kcc(project.path(), &["update"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("changed  golden/ml-staging-codfw/coredns.yaml"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("1 file(s) changed"));
    assert_exit(&kcc(project.path(), &["check"]), 0);
    let again = kcc(project.path(), &["update"]);
    assert!(stdout(&again).contains("0 file(s) changed"));
}

#[test]
fn update_after_removing_a_cluster_deletes_its_golden_dir() {
    let project = copy_project(&fleet_2023());
    let path = project.path().join("kcc.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("  - name: aux-k8s-eqiad").unwrap();
    let end = text[start..].find("\nreleases:").unwrap() + start;
    std::fs::write(&path, format!("{}{}", &text[..start], &text[end + 1..])).unwrap();
    // As an operator removes the cluster (the last of its group): its values go too,
    // else kcc reports them as unread, and so does the external toggle only it set.
    edit_file(&path, ", install_jaeger]", "]");
    std::fs::remove_dir_all(project.path().join("values/aux-k8s-eqiad")).unwrap();
    std::fs::remove_file(project.path().join("values/aux-k8s.yaml")).unwrap();
    let out = kcc(project.path(), &["check"]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("golden/aux-k8s-eqiad/calico.yaml is no longer rendered"),
        "{}",
        stdout(&out)
    );
    let out = kcc(project.path(), &["update"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("removed  golden/aux-k8s-eqiad/helmfile.yaml"));
    assert!(!project.path().join("golden/aux-k8s-eqiad").exists());
    assert!(project.path().join("golden/eqiad/calico.yaml").exists());
    assert_exit(&kcc(project.path(), &["check"]), 0);
}

#[test]
fn secrets_never_reach_golden_or_check_output() {
    let golden =
        std::fs::read_to_string(fleet_2023().join("golden/eqiad/cfssl-issuer.yaml")).unwrap();
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode("fixture-secret-key");
    assert!(!golden.contains(&encoded));
    assert!(
        golden.contains("key: sha256:"),
        "a digest stands in for the value"
    );

    let project = copy_project(&fleet_2023());
    write(
        &project
            .path()
            .join("fixtures/private/cfssl-issuer-values.yaml"),
        "issuers:\n  discovery:\n    authSecret:\n      key: another-fixture-key\n",
    );
    let out = kcc(project.path(), &["check"]);
    assert_exit(&out, 1);
    let new = base64::engine::general_purpose::STANDARD.encode("another-fixture-key");
    for text in [stdout(&out), stderr(&out)] {
        assert!(
            !text.contains(&new)
                && !text.contains(&encoded)
                && !text.contains("another-fixture-key"),
            "{text}"
        );
    }
    assert!(
        stdout(&out).contains("golden/eqiad/cfssl-issuer.yaml differs"),
        "the change still shows"
    );
}

#[test]
fn golden_files_are_what_kcc_writes() {
    // golden/ was written by `kcc update`; a fresh render agrees byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let out = kcc(
        &fleet_2023(),
        &[
            "render",
            "-c",
            "dse-k8s-eqiad",
            "-r",
            "calico",
            "--fixture-secrets",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("calico.yaml")).unwrap(),
        std::fs::read_to_string(fleet_2023().join("golden/dse-k8s-eqiad/calico.yaml")).unwrap()
    );
}

#[test]
fn fleet_output_does_not_depend_on_thread_count() {
    let run = |threads: &str, args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("kcc")
            .unwrap()
            .arg("--project")
            .arg(fleet_2023())
            .args(args)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert_exit(&out, 0);
        out.stdout
    };
    assert_eq!(run("1", &["render"]), run("3", &["render"]));
    assert_eq!(
        run("1", &["check", "--format", "json"]),
        run("4", &["check", "--format", "json"])
    );
}

#[test]
fn piped_check_output_has_no_colour() {
    let project = copy_project(&fleet_2023());
    let path = project.path().join("values/eqiad/coredns-values.yaml");
    edit_file(&path, "clusterIP: 10.64.72.3", "clusterIP: 10.64.72.1");
    let out = assert_cmd::Command::cargo_bin("kcc")
        .unwrap()
        .arg("--project")
        .arg(project.path())
        .arg("check")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("error[network/coredns-ip]"));
    assert!(!stdout(&out).contains('\x1b'), "colour only on a terminal");
}

/// The net fixture with a values change that rewrites every cluster's calico golden.
fn net_with_drift() -> tempfile::TempDir {
    let project = copy_project(&fixture("net"));
    edit_file(
        &project.path().join("values/common.yaml"),
        "PeerAS: 64496",
        "PeerAS: 64497",
    );
    project
}

fn golden_files(root: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    kcc::source::files_under(&root.join("golden"), &|_| true)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            (rel, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn update_cleans_what_a_killed_update_left() {
    let project = net_with_drift();
    let golden = project.path().join("golden");
    write(&golden.join("v6/.calico.yaml.kcc-new"), "half a file");
    write(&golden.join(".kcc-update"), "golden/v6/calico.yaml\n");
    // check names the interrupted update and its files.
    let out = kcc(project.path(), &["check"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("error[golden/interrupted]"), "{text}");
    assert!(text.contains("golden/v6/calico.yaml"), "{text}");
    // update finishes the job and leaves nothing of its own behind.
    assert_exit(&kcc(project.path(), &["update"]), 0);
    let left: Vec<String> = golden_files(project.path())
        .into_keys()
        .filter(|p| p.contains(".kcc-new") || p.ends_with(".kcc-update"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_exit(&kcc(project.path(), &["check"]), 0);
}

#[test]
fn a_second_update_is_refused_while_one_holds_the_lock() {
    let project = net_with_drift();
    let lock = std::fs::File::create(project.path().join("golden/.kcc.lock")).unwrap();
    lock.lock().unwrap();
    let before = golden_files(project.path());
    let out = kcc(project.path(), &["update"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("another kcc update is running"),
        "{}",
        stderr(&out)
    );
    assert_eq!(golden_files(project.path()), before);
    drop(lock);
    assert_exit(&kcc(project.path(), &["update"]), 0);
}

#[test]
fn an_update_killed_at_any_moment_leaves_old_new_or_a_report() {
    let bin = assert_cmd::cargo::cargo_bin("kcc");
    for attempt in 0..12u64 {
        let project = net_with_drift();
        let old = golden_files(project.path());
        let mut child = std::process::Command::new(&bin)
            .arg("--project")
            .arg(project.path())
            .arg("update")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(attempt * 3));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let record = project.path().join("golden/.kcc-update");
        let now: std::collections::BTreeMap<_, _> = golden_files(project.path())
            .into_iter()
            .filter(|(p, _)| p.ends_with(".yaml") && !p.contains("/."))
            .collect();
        let out = kcc(project.path(), &["check", "--format", "json"]);
        if record.exists() {
            assert!(
                stdout(&out).contains("golden/interrupted"),
                "{}",
                stdout(&out)
            );
        } else {
            // No record: the tree is wholly old, or the update completed.
            let old: std::collections::BTreeMap<_, _> =
                old.into_iter().filter(|(p, _)| !p.contains("/.")).collect();
            assert!(
                now == old || out.status.code() == Some(0),
                "attempt {attempt}: mixed tree"
            );
        }
        assert_exit(&kcc(project.path(), &["update"]), 0);
        assert_exit(&kcc(project.path(), &["check"]), 0);
    }
}

/// A cluster new to golden/: each file is one line of `kcc check`, not a line per object.
#[test]
fn drift_of_a_new_cluster_is_a_line_per_file() {
    let project = copy_project(&fleet_2023());
    let p = project.path();
    std::fs::remove_dir_all(p.join("golden/eqiad")).unwrap();
    let out = kcc(p, &["check"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("golden/eqiad/calico.yaml (new: 47 objects)"),
        "{text}"
    );
    assert!(
        text.lines().count() < 150,
        "{} lines:\n{text}",
        text.lines().count()
    );
}

/// Files an update may leave only if it is killed outright: staged files, temp files, the
/// lock, the record.
fn leftovers(root: &std::path::Path) -> Vec<String> {
    kcc::source::files_under(&root.join("golden"), &|_| true)
        .into_iter()
        .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            name.starts_with('.') || name.contains(".tmp")
        })
        .collect()
}

#[test]
fn a_normal_update_leaves_no_lock_or_temp_files() {
    let project = net_with_drift();
    assert_exit(&kcc(project.path(), &["update"]), 0);
    assert_eq!(leftovers(project.path()), Vec::<String>::new());
}

#[test]
fn an_update_stopped_by_a_signal_removes_its_files_and_leaves_golden_old_or_new() {
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};
    let bin = assert_cmd::cargo::cargo_bin("kcc");
    // Every golden file of the 2023 fleet is stale: the update rewrites all 81 of them.
    let base = copy_project(&fleet_2023());
    for path in kcc::source::files_under(&base.path().join("golden"), &|_| true) {
        let text = std::fs::read_to_string(&path).unwrap();
        write(&path, &format!("{text}# stale\n"));
    }
    // The first file the update stages (changes are applied in path order).
    let first_staged = "golden/aux-k8s-eqiad/.calico-crds.yaml.kcc-new";
    let signals = [
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGHUP, "SIGHUP"),
    ];
    let mut caught_staging = 0;
    for attempt in 0..6 {
        let (signal, name) = signals[attempt % signals.len()];
        let project = copy_project(base.path());
        let old = golden_files(project.path());
        let err_file = project.path().join("stderr.txt");
        let mut child = std::process::Command::new(&bin)
            .arg("--project")
            .arg(project.path())
            .arg("update")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&err_file).unwrap())
            .spawn()
            .unwrap();
        // Odd attempts: as soon as the first file is staged (mid-write); even ones: after a
        // growing delay (while rendering, staging or replacing, or after the update).
        let started = Instant::now();
        let mut mid_write = false;
        if attempt % 2 == 1 {
            let staged = project.path().join(first_staged);
            while !staged.exists()
                && started.elapsed() < Duration::from_secs(20)
                && child.try_wait().unwrap().is_none()
            {
                std::thread::sleep(Duration::from_micros(200));
            }
            mid_write = staged.exists();
        } else {
            std::thread::sleep(Duration::from_millis(150 * attempt as u64));
        }
        // SAFETY: signals a child this test spawned and has not reaped.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        let stderr = std::fs::read_to_string(&err_file).unwrap();
        std::fs::remove_file(&err_file).unwrap();
        // Whatever the moment: nothing of the update's own is left, and no record.
        assert_eq!(
            leftovers(project.path()),
            Vec::<String>::new(),
            "attempt {attempt} ({name}, {status:?}): {stderr}"
        );
        let now = golden_files(project.path());
        // Not wholly old: it must be wholly new.
        let check_new = || assert_exit(&kcc(project.path(), &["check"]), 0);
        match status.code() {
            // Stopped: golden/ is wholly old (stopped while staging or before), or wholly
            // new (a signal while replacing waits for the replacing to end).
            Some(code) if code == 128 + signal => {
                assert!(
                    stderr.contains(&format!("kcc: interrupted ({name})")),
                    "{stderr}"
                );
                if now == old {
                    caught_staging += usize::from(mid_write);
                } else {
                    check_new();
                }
            }
            // Done before the signal came.
            Some(0) => check_new(),
            // Signalled before kcc set up its handler, first thing: it had written nothing.
            None if status.signal() == Some(signal) => assert!(now == old),
            other => panic!("attempt {attempt}: exit {other:?}: {stderr}"),
        }
    }
    eprintln!("{caught_staging} of 6 updates were stopped while staging, leaving golden/ old");
}

/// An update killed after replacing its last file but before removing its record leaves
/// golden/ equal to the render: the next update has nothing to change, and still clears the
/// record, so `kcc check` is clean again.
#[test]
fn an_update_with_nothing_to_change_clears_a_killed_updates_record() {
    let project = copy_project(&fleet_2023());
    let p = project.path();
    write(&p.join("golden/.kcc-update"), "golden/eqiad/calico.yaml\n");
    let out = kcc(p, &["check"]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("golden/interrupted"),
        "{}",
        stdout(&out)
    );
    let out = kcc(p, &["update"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("kcc update: 0 file(s) changed"),
        "{}",
        stdout(&out)
    );
    assert_exit(&kcc(p, &["check"]), 0);
}
