//! The compiler's spine, end to end through the binary, on the demo project.

use crate::common::*;

#[test]
fn render_merges_layers_with_helm_semantics() {
    let out = kcc(&fixture("demo"), &["render", "-c", "alpha", "-r", "web"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    // values/alpha/web-values.yaml sets `limits: {memory: ~}`: the default limit is gone,
    // its sibling stays.
    assert!(
        text.contains("limits:\n              cpu: \"1\"\n"),
        "{text}"
    );
    assert!(!text.contains("memory"), "{text}");
    // Lists replace: the chart's [80, 443] becomes alpha's [8080].
    assert!(text.contains("- containerPort: 8080\n"), "{text}");
    assert!(!text.contains("443"), "{text}");
    // Maps merge: labels from chart defaults, common and group.
    for label in ["region: east", "team: sre", "tier: front"] {
        assert!(text.contains(label), "{label} in {text}");
    }
    // Scalars replace: cluster × release beats group beats chart default.
    assert!(text.contains("replicas: 3"), "{text}");
}

#[test]
fn render_is_canonical() {
    let out = kcc(&fixture("demo"), &["render", "-c", "beta", "-r", "web"]);
    assert_exit(&out, 0);
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn explain_names_every_layer_that_set_a_key() {
    let out = kcc(&fixture("demo"), &["explain", "alpha", "web", "replicas"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("charts/web/values.yaml:1:1  sets"), "{text}");
    assert!(text.contains("values/east.yaml:1:1  sets"), "{text}");
    assert!(
        text.contains("values/alpha/web-values.yaml:1:1  sets"),
        "{text}"
    );
    assert!(text.ends_with("  = merged value\n        3\n"), "{text}");
    assert!(
        text.contains("  read by:\n    charts/web/templates/deployment.yaml:"),
        "{text}"
    );
    let deleted = stdout(&kcc(
        &fixture("demo"),
        &["explain", "alpha", "web", "resources.limits.memory"],
    ));
    assert!(
        deleted.contains("values/alpha/web-values.yaml:4:5  deletes (null)"),
        "{deleted}"
    );
    assert!(deleted.contains("(not set)"), "{deleted}");
}

#[test]
fn list_shows_the_matrix_and_why() {
    let out = kcc(&fixture("demo"), &["list"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("alpha    web-extras  apps            yes"),
        "{text}"
    );
    assert!(
        text.contains(
            "beta     web-extras  apps            no         web-1.0.0  \"extras\" in cluster.toggles → false"
        ),
        "{text}"
    );
}

#[test]
fn out_dir_gets_one_file_per_installed_release() {
    let dir = tempfile::tempdir().unwrap();
    let out = kcc(
        &fixture("demo"),
        &[
            "render",
            "--fixture-secrets",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    assert!(dir.path().join("alpha/web.yaml").is_file());
    assert!(dir.path().join("alpha/web-extras.yaml").is_file());
    assert!(dir.path().join("beta/web.yaml").is_file());
    assert!(!dir.path().join("beta/web-extras.yaml").exists());
    let direct = stdout(&kcc(
        &fixture("demo"),
        &["render", "-c", "beta", "-r", "web"],
    ));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("beta/web.yaml")).unwrap(),
        direct
    );
}

#[test]
fn project_is_found_from_a_subdirectory() {
    let out = assert_cmd::Command::cargo_bin("kcc")
        .unwrap()
        .current_dir(fixture("demo").join("values/alpha"))
        .args(["render", "-c", "beta", "-r", "web"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("kind: Deployment"));
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let run = |threads: Option<&str>| {
        let mut cmd = assert_cmd::Command::cargo_bin("kcc").unwrap();
        cmd.arg("--project").arg(fixture("demo")).arg("render");
        match threads {
            Some(n) => cmd.env("RAYON_NUM_THREADS", n),
            None => cmd.env_remove("RAYON_NUM_THREADS"),
        };
        let out = cmd.output().unwrap();
        assert_exit(&out, 0);
        out.stdout
    };
    let default = run(None);
    assert_eq!(default, run(Some("1")));
    assert_eq!(default, run(Some("7")));
}

#[test]
fn output_does_not_depend_on_key_order_in_values() {
    let project = copy_project(&fixture("demo"));
    let before = stdout(&kcc(project.path(), &["render"]));
    write(
        &project.path().join("charts/web/values.yaml"),
        "labels:\n  tier: front\nports: [80, 443]\nresources:\n  limits:\n    cpu: \"1\"\n    memory: 1Gi\nimage: web:2.1\nreplicas: 1\n",
    );
    write(
        &project.path().join("values/east.yaml"),
        "labels:\n  region: east\nreplicas: 2\n",
    );
    let after = stdout(&kcc(project.path(), &["render"]));
    assert_eq!(before, after);
}

#[test]
fn unknown_names_are_usage_errors() {
    let out = kcc(&fixture("demo"), &["render", "-c", "gamma"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("no cluster `gamma`"));
}

#[test]
fn charts_may_live_outside_the_project() {
    // Two fleets sharing one charts directory, as examples/ipv6-only shares the repository's.
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleets/demo");
    copy_dir(&fixture("demo"), &fleet);
    std::fs::rename(fleet.join("charts"), dir.path().join("charts")).unwrap();
    let expected = stdout(&kcc(&fixture("demo"), &["render"]));
    let kcc_yaml = fleet.join("kcc.yaml");
    edit_file(
        &kcc_yaml,
        "clusters:\n",
        "charts: ../../charts/\nclusters:\n",
    );
    let out = kcc(&fleet, &["render"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), expected);
    // Messages name chart files as kcc.yaml reaches them.
    edit_file(
        &dir.path().join("charts/web/templates/deployment.yaml"),
        "values.replicas",
        "values.replicsa",
    );
    let out = kcc(&fleet, &["render"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("../../charts/web/templates/deployment.yaml:9:"),
        "{err}"
    );
}

/// `kcc explain` of a path that is not set suggests the key set at that level that looks
/// most like it; explaining a release the cluster does not install says so, and why.
#[test]
fn explain_suggests_the_key_meant_and_names_an_uninstalled_release() {
    let out = kcc(&fleet_2026(), &["explain", "eqiad", "coredns", "replicas"]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("did you mean `replicaCount`?"),
        "{}",
        stdout(&out)
    );
    let out = kcc(
        &fleet_2026(),
        &["explain", "eqiad", "coredns", "resources.limits.memroy"],
    );
    assert!(
        stdout(&out).contains("did you mean `resources.limits.memory`?"),
        "{}",
        stdout(&out)
    );
    let out = kcc(
        &fixture("demo"),
        &["explain", "beta", "web-extras", "replicas"],
    );
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(
            "release `web-extras` is not installed in cluster `beta` (\"extras\" in cluster.toggles → false)"
        ),
        "{}",
        stdout(&out)
    );
}
