//! Bad input: each mistake gets a clear message naming the file and line, exit 1, and
//! nothing half-written.

use crate::common::*;

fn broken(edit: impl FnOnce(&std::path::Path)) -> (tempfile::TempDir, std::process::Output) {
    let project = copy_project(&fixture("demo"));
    edit(project.path());
    let out = kcc(project.path(), &["render"]);
    (project, out)
}

#[test]
fn misspelt_value_in_a_template_names_template_and_line() {
    let (_p, out) = broken(|p| {
        let path = p.join("charts/web/templates/deployment.yaml");
        edit_file(&path, "values.replicas", "values.replicsa");
    });
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("template/undefined"), "{err}");
    assert!(
        err.contains("charts/web/templates/deployment.yaml:9:"),
        "{err}"
    );
    assert!(err.contains("replicas: {{ values.replicsa }}"), "{err}");
    // Like helm, the message names the missing key; kcc also suggests the close one.
    assert!(
        err.contains("map has no entry for key \"replicsa\" (in `values`)"),
        "{err}"
    );
    assert!(err.contains("did you mean `replicas`?"), "{err}");
}

#[test]
fn endless_template_loop_is_stopped() {
    let (_p, out) = broken(|p| {
        write(
            &p.join("charts/web/templates/spin.yaml"),
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n",
        );
    });
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("template/out-of-fuel"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("charts/web/templates/spin.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn endless_recursion_is_stopped() {
    let (_p, out) = broken(|p| {
        write(
            &p.join("charts/web/templates/recurse.yaml"),
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}\n{{ f(0) }}\n",
        );
    });
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("recursion"), "{}", stderr(&out));
}

#[test]
fn imports_outside_the_chart_are_refused() {
    let (_p, out) = broken(|p| {
        write(
            &p.join("charts/secret.j2"),
            "{% macro x() %}leak{% endmacro %}\n",
        );
        write(
            &p.join("charts/web/templates/escape.yaml"),
            "{% import \"../secret.j2\" as s %}\n{{ s.x() }}\n",
        );
    });
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("outside the chart"), "{err}");
    assert!(err.contains("charts/web/templates/escape.yaml:1"), "{err}");
}

#[test]
fn yaml_syntax_error_points_at_the_line() {
    let (_p, out) = broken(|p| write(&p.join("values/east.yaml"), "replicas: 2\nlabels: [a, b\n"));
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("yaml/syntax"), "{err}");
    assert!(err.contains("values/east.yaml:"), "{err}");
}

#[test]
fn duplicate_keys_are_errors() {
    let (_p, out) = broken(|p| write(&p.join("values/east.yaml"), "replicas: 2\nreplicas: 3\n"));
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("yaml/duplicate-key"), "{err}");
    assert!(err.contains("values/east.yaml:2:1"), "{err}");
    assert!(err.contains("replicas: 3"), "{err}");
}

#[test]
fn missing_required_value_names_the_template() {
    let (_p, out) = broken(|p| {
        write(
            &p.join("charts/web/templates/need.yaml"),
            "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: x\ndata:\n  a: {{ values.nope | default(none) | required(\"set nope in your values\") }}\n",
        );
    });
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("set nope in your values"), "{err}");
    assert!(err.contains("charts/web/templates/need.yaml:6"), "{err}");
}

#[test]
fn kcc_yaml_unknown_key_names_the_line() {
    let (_p, out) = broken(|p| {
        let path = p.join("kcc.yaml");
        edit_file(&path, "    toggles: []\n", "    toggels: []\n");
    });
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("unknown key `toggels`"), "{err}");
    assert!(err.contains("kcc.yaml:10:5"), "{err}");
}

#[test]
fn needs_on_a_missing_release_names_the_line() {
    let (_p, out) = broken(|p| {
        let path = p.join("kcc.yaml");
        edit_file(&path, "needs: [apps/web]", "needs: [apps/wbe]");
    });
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("needs `apps/wbe`"), "{err}");
    assert!(err.contains("kcc.yaml:18:13"), "{err}");
}

#[test]
fn needs_cycles_are_errors() {
    let (_p, out) = broken(|p| {
        let path = p.join("kcc.yaml");
        edit_file(
            &path,
            "    chart: web\n  - name: web-extras",
            "    chart: web\n    needs: [apps/web-extras]\n  - name: web-extras",
        );
    });
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("project/needs-cycle"), "{err}");
    assert!(
        err.contains("web -> web-extras -> web") || err.contains("web-extras -> web -> web-extras"),
        "{err}"
    );
    assert!(err.contains("kcc.yaml:"), "{err}");
}

#[test]
fn an_error_leaves_the_out_dir_untouched() {
    let (project, _) = broken(|p| {
        write(
            &p.join("values/beta/values.yaml"),
            "serviceCIDR: not-a-cidr\n",
        )
    });
    let out_dir = tempfile::tempdir().unwrap();
    let out = kcc(
        project.path(),
        &[
            "render",
            "--fixture-secrets",
            "--out",
            out_dir.path().to_str().unwrap(),
        ],
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("not a valid CIDR"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(out_dir.path()).unwrap().count(), 0);
}

#[test]
fn missing_project_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = kcc(dir.path(), &["render"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("kcc.yaml"), "{}", stderr(&out));
}

#[test]
fn a_schema_with_a_json_syntax_error_is_reported_at_its_line() {
    let (_p, out) = broken(|p| {
        write(
            &p.join("charts/web/values.schema.json"),
            "{\n  \"type\": \"object\"\n  \"properties\": {}\n}\n",
        );
    });
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("charts/web/values.schema.json is not valid JSON"),
        "{err}"
    );
    assert!(err.contains("charts/web/values.schema.json:3:3"), "{err}");
    // Once, not once per cluster × release.
    assert_eq!(err.matches("is not valid JSON").count(), 1, "{err}");
}

#[test]
fn an_error_in_a_rendered_object_points_at_the_template_line() {
    let project = copy_project(&fixture("demo"));
    let template = "charts/web/templates/deployment.yaml";
    edit_file(
        &project.path().join(template),
        "            - containerPort: {{ port }}\n",
        "            - containerPort: {{ port }}\n              portName: p{{ port }}\n",
    );
    let (out, diagnostics) = check_json(project.path());
    assert_exit(&out, 1);
    let found: Vec<_> = diagnostics
        .iter()
        .filter(|d| d["rule"] == "schema/kubernetes")
        .collect();
    assert!(!found.is_empty(), "{diagnostics:#?}");
    let line = line_of(project.path(), template, "portName:");
    for d in found {
        assert_eq!(d["file"], template, "{d:#}");
        assert_eq!(d["line"], line, "{d:#}");
        assert_eq!(d["column"], 15, "{d:#}");
        assert!(d["message"].as_str().unwrap().contains("portName"), "{d:#}");
    }
}

#[test]
fn a_missing_private_fixture_directory_is_an_error_at_its_line() {
    let (p, out) = broken(|p| {
        edit_file(
            &p.join("kcc.yaml"),
            "clusters:\n",
            "privateFixture: fixtures/nowhere\nclusters:\n",
        );
    });
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("privateFixture `fixtures/nowhere` is not a directory"),
        "{err}"
    );
    let line = line_of(p.path(), "kcc.yaml", "privateFixture:");
    assert!(err.contains(&format!("kcc.yaml:{line}:1")), "{err}");
}
