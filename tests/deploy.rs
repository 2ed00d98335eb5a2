//! The deploy host: `kcc render --cluster C --out DIR`, `--private`, `--verify-golden`,
//! and interop with the real helm 3.15 and helmfile 0.166 (scripts/install-helm-tools.sh).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use kcc::manifest::Identity;
use kcc::yaml::Node;

fn objects(text: &str) -> BTreeMap<Identity, Node> {
    objects_by_id("manifest", text)
}

fn render_cluster(
    project: &Path,
    cluster: &str,
    extra: &[&str],
) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "render",
        "--cluster",
        cluster,
        "--out",
        dir.path().to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = kcc(project, &args);
    (dir, out)
}

#[test]
fn deploy_dir_has_helmfile_and_verbatim_charts() {
    let (dir, out) = render_cluster(&fleet_2023(), "eqiad", &["--verify-golden"]);
    assert_exit(&out, 0);
    let helmfile = std::fs::read_to_string(dir.path().join("helmfile.yaml")).unwrap();
    assert_eq!(
        helmfile,
        std::fs::read_to_string(fleet_2023().join("golden/eqiad/helmfile.yaml")).unwrap()
    );
    assert!(helmfile.contains("  - name: coredns\n    namespace: kube-system\n    chart: ./coredns\n    labels:\n      name: coredns\n    needs:\n      - kube-system/calico\n"), "{helmfile}");
    let template =
        std::fs::read_to_string(dir.path().join("calico/templates/manifest.yaml")).unwrap();
    assert!(template.contains(".Files.Get"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("calico/manifest.yaml")).unwrap(),
        std::fs::read_to_string(dir.path().join("calico.yaml")).unwrap()
    );
}

#[test]
fn private_values_reach_the_deploy_dir_but_never_golden() {
    let private = tempfile::tempdir().unwrap();
    write(
        &private.path().join("cfssl-issuer-values.yaml"),
        "issuers:\n  discovery:\n    authSecret:\n      key: real-production-key\n",
    );
    let (dir, out) = render_cluster(
        &fleet_2023(),
        "eqiad",
        &[
            "--private",
            private.path().to_str().unwrap(),
            "--verify-golden",
        ],
    );
    assert_exit(&out, 0);
    let issuer = std::fs::read_to_string(dir.path().join("cfssl-issuer.yaml")).unwrap();
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode("real-production-key");
    assert!(issuer.contains(&encoded), "the real key is deployed");
    let golden =
        std::fs::read_to_string(fleet_2023().join("golden/eqiad/cfssl-issuer.yaml")).unwrap();
    assert!(!golden.contains(&encoded) && !golden.contains("fixture-secret-key"));
    assert!(
        !stdout(&out).contains("real-production-key")
            && !stderr(&out).contains("real-production-key")
    );
}

#[test]
fn verify_golden_refuses_a_drifted_render() {
    let project = copy_project(&fleet_2023());
    let path = project.path().join("values/eqiad/coredns-values.yaml");
    edit_file(&path, "replicaCount: 4", "replicaCount: 5");
    let (dir, out) = render_cluster(project.path(), "eqiad", &["--verify-golden"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("golden/eqiad/coredns.yaml"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
    // Another cluster's drift does not block this one.
    let (_, out) = render_cluster(project.path(), "codfw", &["--verify-golden"]);
    assert_exit(&out, 0);
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn helm_template_reproduces_every_release() {
    let Some(tools) = tools() else { return };
    let (dir, out) = render_cluster(&fleet_2023(), "ml-staging-codfw", &[]);
    assert_exit(&out, 0);
    let mut releases = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_dir() {
            continue;
        }
        let release = path.file_name().unwrap().to_str().unwrap().to_string();
        let expected =
            objects(&std::fs::read_to_string(dir.path().join(format!("{release}.yaml"))).unwrap());
        let helm = run(Command::new(tools.join("helm"))
            .args(["template", &release])
            .arg(&path)
            .args(["--namespace", "kube-system"]));
        let actual = objects(&helm);
        assert_eq!(actual.len(), expected.len(), "{release}: object count");
        assert!(
            actual == expected,
            "{release}: helm's objects differ from kcc's"
        );
        releases += 1;
    }
    assert_eq!(releases, 8);
}

#[test]
fn helmfile_selects_and_renders_calico() {
    let Some(tools) = tools() else { return };
    let (dir, out) = render_cluster(&fleet_2023(), "eqiad", &[]);
    assert_exit(&out, 0);
    let tmp = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let text = run(Command::new(tools.join("helmfile"))
        .arg("-f")
        .arg(dir.path().join("helmfile.yaml"))
        .args(["-l", "name=calico", "template", "--skip-deps"])
        .env("PATH", path)
        .env("TMPDIR", tmp.path()));
    let actual = objects(&text);
    let expected = objects(&std::fs::read_to_string(dir.path().join("calico.yaml")).unwrap());
    assert_eq!(actual.len(), 47);
    assert!(actual == expected, "helmfile's calico differs from kcc's");
}

#[test]
fn a_missing_private_dir_is_refused() {
    let out = kcc(
        &fleet_2023(),
        &[
            "render",
            "-c",
            "eqiad",
            "--private",
            "/nonexistent/kcc-private",
        ],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("--private /nonexistent/kcc-private: no such directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_private_value_is_reported_without_quoting_it() {
    let private = tempfile::tempdir().unwrap();
    // A number where the schema wants a string: the message must not quote it.
    write(
        &private.path().join("cfssl-issuer-values.yaml"),
        "issuers:\n  discovery:\n    authSecret:\n      key: 918273645\n",
    );
    let out = kcc(
        &fleet_2023(),
        &[
            "render",
            "-c",
            "eqiad",
            "-r",
            "cfssl-issuer",
            "--private",
            private.path().to_str().unwrap(),
        ],
    );
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("values/schema") && err.contains("issuers.discovery.authSecret.key"),
        "{err}"
    );
    assert!(err.contains("cfssl-issuer-values.yaml:4:7"), "{err}");
    let message_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert!(
        message_lines.iter().all(|l| !l.contains("918273645")),
        "{err}"
    );
}
