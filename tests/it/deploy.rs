//! The deploy host: `kcc render --cluster C --out DIR`, `--private`, `--verify-golden`,
//! and interop with the real helm 3.15 and helmfile 0.166 (scripts/install-helm-tools.sh).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::common::*;
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
        "--fixture-secrets",
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
    assert!(helmfile.contains("  - name: coredns\n    namespace: kube-system\n    chart: ./coredns\n    labels:\n      chart: coredns\n      chartVersion: 0.3.3\n      name: coredns\n    needs:\n      - kube-system/calico\n"), "{helmfile}");
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
#[ignore = "interop: needs helm and helmfile (scripts/install-helm-tools.sh); `cargo test -- --ignored` runs it"]
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
#[ignore = "interop: needs helm and helmfile (scripts/install-helm-tools.sh); `cargo test -- --ignored` runs it"]
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

/// The 2023 fleet with cert-manager's releases toggled off in aux-k8s-eqiad.
fn cert_manager_removed(project: &Path) {
    edit_file(
        &project.join("kcc.yaml"),
        "toggles: [istio_gateways, install_cert_manager, namespace_certificates, install_jaeger]",
        "toggles: [istio_gateways, namespace_certificates, install_jaeger]",
    );
}

#[test]
fn a_release_toggled_off_is_listed_as_not_installed_and_its_files_removed() {
    let project = copy_project(&fleet_2023());
    let p = project.path();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let render = |p: &Path| {
        kcc(
            p,
            &[
                "render",
                "-c",
                "aux-k8s-eqiad",
                "--fixture-secrets",
                "--out",
                out_dir,
            ],
        )
    };
    assert_exit(&render(p), 0);
    assert!(dir.path().join("cfssl-issuer/manifest.yaml").exists());
    // Files someone added are never kcc's to remove, even inside a release directory.
    write(&dir.path().join("cfssl-issuer/NOTES.txt"), "mine\n");
    write(&dir.path().join("README"), "mine\n");

    cert_manager_removed(p);
    let out = render(p);
    assert_exit(&out, 0);
    let helmfile = std::fs::read_to_string(dir.path().join("helmfile.yaml")).unwrap();
    assert!(
        helmfile.contains("  - name: cfssl-issuer\n    namespace: cert-manager\n    chart: ./cfssl-issuer\n    installed: false\n    labels:\n      chart: cfssl-issuer\n      chartVersion: 0.3.3\n      name: cfssl-issuer\n    needs:\n      - cert-manager/cfssl-issuer-crds\n"),
        "{helmfile}"
    );
    assert!(helmfile.contains("  - name: cfssl-issuer-crds\n    namespace: cert-manager\n    chart: ./cfssl-issuer-crds\n    installed: false\n"), "{helmfile}");
    // The golden helmfile.yaml says the same (what reviewers see).
    assert_exit(&kcc(p, &["update"]), 0);
    assert_eq!(
        std::fs::read_to_string(p.join("golden/aux-k8s-eqiad/helmfile.yaml")).unwrap(),
        helmfile
    );
    let summary = stdout(&out);
    assert!(
        summary.contains("cfssl-issuer.yaml (no longer rendered)"),
        "{summary}"
    );
    for gone in [
        "cfssl-issuer.yaml",
        "cfssl-issuer-crds.yaml",
        "cfssl-issuer-crds",
        "cfssl-issuer/manifest.yaml",
        "cfssl-issuer/templates",
    ] {
        assert!(!dir.path().join(gone).exists(), "{gone} is stale");
    }
    assert!(dir.path().join("cfssl-issuer/NOTES.txt").exists());
    assert!(dir.path().join("README").exists());
    assert!(dir.path().join("coredns.yaml").exists());
}

#[test]
fn a_directory_kcc_did_not_write_is_refused_and_loses_nothing() {
    let project = copy_project(&fleet_2023());
    cert_manager_removed(project.path());
    let dir = tempfile::tempdir().unwrap();
    // Looks like an old render, but kcc's marker is not there: kcc did not write it, and
    // does not take it over.
    write(&dir.path().join("cfssl-issuer.yaml"), "kind: Old\n");
    write(&dir.path().join("cfssl-issuer/Chart.yaml"), "name: old\n");
    let out = kcc(
        project.path(),
        &[
            "render",
            "-c",
            "aux-k8s-eqiad",
            "--fixture-secrets",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("holds files and no .kcc-render"),
        "{}",
        stderr(&out)
    );
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    assert_eq!(read("cfssl-issuer.yaml"), "kind: Old\n");
    assert_eq!(read("cfssl-issuer/Chart.yaml"), "name: old\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
#[ignore = "interop: needs helm and helmfile (scripts/install-helm-tools.sh); `cargo test -- --ignored` runs it"]
fn helmfile_uninstalls_a_release_toggled_off() {
    let Some(tools) = tools() else { return };
    let project = copy_project(&fleet_2023());
    cert_manager_removed(project.path());
    let (dir, out) = render_cluster(project.path(), "aux-k8s-eqiad", &[]);
    assert_exit(&out, 0);
    let tmp = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let helmfile = |args: &[&str]| {
        run(Command::new(tools.join("helmfile"))
            .arg("-f")
            .arg(dir.path().join("helmfile.yaml"))
            .args(args)
            .env("PATH", &path)
            .env("TMPDIR", tmp.path()))
    };
    // `helmfile list`: NAME NAMESPACE ENABLED INSTALLED LABELS CHART VERSION
    let list = helmfile(&["list"]);
    let installed: std::collections::BTreeMap<&str, &str> = list
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            Some((*cols.first()?, *cols.get(3)?))
        })
        .collect();
    assert_eq!(installed.len(), 8, "{list}");
    assert_eq!(installed["cfssl-issuer"], "false", "{list}");
    assert_eq!(installed["cfssl-issuer-crds"], "false", "{list}");
    assert_eq!(installed["coredns"], "true", "{list}");
    // `helmfile template` renders nothing for them (and needs no chart directory).
    let text = helmfile(&["template", "--skip-deps"]);
    assert!(!text.contains("cfssl-issuer"), "cfssl-issuer rendered");
    assert!(text.contains("# Source: coredns/"), "coredns not rendered");
}

/// A deploy directory never gets the fixture overlay's stand-ins by accident: without
/// `--private DIR`, `render --out` of a release that takes private values refuses (exit 1,
/// nothing written) and names `--private`; `--fixture-secrets` asks for them by name.
#[test]
fn render_out_without_private_refuses_fixture_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("deploy");
    let out = kcc(
        &fleet_2023(),
        &["render", "-c", "eqiad", "--out", target.to_str().unwrap()],
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("render/fixture-secrets"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--private DIR"), "{}", stderr(&out));
    assert!(!target.exists(), "wrote {}", target.display());
    // Releases without private values deploy as before.
    let out = kcc(
        &fleet_2023(),
        &[
            "render",
            "-c",
            "eqiad",
            "-r",
            "coredns",
            "--out",
            target.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    // --verify-golden renders with the fixtures to compare; it does not lift the refusal.
    let out = kcc(
        &fleet_2023(),
        &[
            "render",
            "-c",
            "eqiad",
            "--verify-golden",
            "--out",
            target.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("--fixture-secrets"),
        "{}",
        stderr(&out)
    );
}
