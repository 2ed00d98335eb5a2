//! Production's own tests of its admission policies, decided by `kcc validate --policies`:
//! every chainsaw test of the validating-admission-policies chart (vendored with its
//! policies under tests/fixtures/policies/, see SOURCE.md) applies its policy files, then
//! its good pods (the API server admits every one) and its bad pods (it denies every
//! one), in a namespace labelled as the test's `namespaceTemplate`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::*;
use kcc::source::SourceFile;
use kcc::yaml::{Node, load_one};

const NAMESPACE: &str = "chainsaw-test";

struct ChainsawTest {
    name: String,
    labels: Vec<(String, String)>,
    policies: Vec<PathBuf>,
    good: PathBuf,
    bad: PathBuf,
}

fn chainsaw_tests() -> Vec<ChainsawTest> {
    let root = fixture("policies");
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().unwrap() == "chainsaw-test.yaml" {
                found.push(read_test(&path));
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn read_test(path: &Path) -> ChainsawTest {
    let file = SourceFile::new(
        path.display().to_string(),
        std::fs::read_to_string(path).unwrap(),
    );
    let doc = load_one(&file).unwrap();
    let dir = path.parent().unwrap();
    let text = |n: Option<&Node>| n.and_then(Node::as_str).unwrap().to_string();
    let labels = doc
        .lookup(["spec", "namespaceTemplate", "metadata", "labels"])
        .and_then(Node::as_map)
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), text(Some(v))))
        .collect();
    let (mut policies, mut good, mut bad) = (Vec::new(), None, None);
    for step in doc
        .lookup(["spec", "steps"])
        .and_then(Node::as_seq)
        .unwrap()
    {
        for op in step.get("try").and_then(Node::as_seq).unwrap_or_default() {
            // `apply` or `create`; the cleanup `script` decides nothing.
            let Some(apply) = op.get("apply").or(op.get("create")) else {
                continue;
            };
            let file = text(apply.get("file"));
            let expects_error = apply.get("expect").is_some();
            match file.as_str() {
                f if f.starts_with("../") => policies.push(dir.join(f)),
                "pod-good.yaml" if !expects_error => good = Some(dir.join(&file)),
                "pod-bad.yaml" if expects_error => bad = Some(dir.join(&file)),
                other => panic!("{}: unexpected step applying {other}", path.display()),
            }
        }
    }
    assert!(
        !policies.is_empty(),
        "{}: applies no policy",
        path.display()
    );
    ChainsawTest {
        name: text(doc.lookup(["metadata", "name"])),
        labels,
        policies,
        good: good.expect("a good pod file"),
        bad: bad.expect("a bad pod file"),
    }
}

/// The pods of `file` in the test namespace, as chainsaw creates them, and their names.
fn in_namespace(file: &Path) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = String::new();
    let mut names = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        out.push_str(line);
        out.push('\n');
        if line == "metadata:" {
            let next = lines.peek().copied().unwrap_or("  ");
            let indent = &next[..next.len() - next.trim_start().len()];
            out.push_str(&format!("{indent}namespace: {NAMESPACE}\n"));
        }
    }
    let file = SourceFile::new("pods.yaml", out.clone());
    for doc in kcc::yaml::load_documents(&file).unwrap() {
        if let Some(name) = doc.lookup(["metadata", "name"]).and_then(Node::as_str) {
            names.push(name.to_string());
        }
    }
    (out, names)
}

/// Runs `kcc validate --policies ...` on the namespace and the pods of `pods`: the exit
/// code and the pods denied, each with the policies that denied it.
fn decide(
    test: &ChainsawTest,
    dir: &Path,
    pods: &Path,
) -> (i32, Vec<(String, String)>, Vec<String>) {
    let labels: String = test
        .labels
        .iter()
        .map(|(k, v)| format!("    {k}: {v}\n"))
        .collect();
    let namespace = dir.join("namespace.yaml");
    write(
        &namespace,
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAMESPACE}\n  labels:\n{labels}"
        ),
    );
    let (text, names) = in_namespace(pods);
    let pod_file = dir.join(pods.file_name().unwrap());
    write(&pod_file, &text);
    let mut cmd = assert_cmd::Command::cargo_bin("kcc").unwrap();
    cmd.args([
        "validate",
        "--kubernetes-version",
        "1.31",
        "--format",
        "json",
    ]);
    for p in &test.policies {
        cmd.arg("--policies").arg(p);
    }
    let out = cmd
        .arg(&namespace)
        .arg(&pod_file)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let mut denied = Vec::new();
    for d in json_lines(&out) {
        if d["severity"] != "error" {
            continue;
        }
        // "Pod chainsaw-test/NAME is denied by ValidatingAdmissionPolicy POLICY (binding B): ..."
        // or "Pod chainsaw-test/NAME: <schema error>"
        let message = d["message"].as_str().unwrap();
        let words: Vec<&str> = message.split_whitespace().collect();
        let pod = words[1]
            .trim_end_matches(':')
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let by = if d["rule"] == "policy/admission" {
            words[6].to_string()
        } else {
            format!("{} ({message})", d["rule"].as_str().unwrap())
        };
        denied.push((pod, by));
    }
    assert!(
        !names.is_empty(),
        "{}: no pods in {}",
        test.name,
        pods.display()
    );
    (out.status.code().unwrap(), denied, names)
}

#[test]
fn every_production_chainsaw_test_decides_as_the_api_server() {
    let tests = chainsaw_tests();
    assert_eq!(tests.len(), 22, "production's chart has 22 chainsaw tests");
    let mut failures = Vec::new();
    let mut decisions = 0;
    for test in &tests {
        let dir = tempfile::tempdir().unwrap();
        let policy_names: BTreeSet<String> = test
            .policies
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        // Good pods: all admitted.
        let (code, denied, _) = decide(test, dir.path(), &test.good);
        decisions += 1;
        if code != 0 || !denied.is_empty() {
            failures.push(format!(
                "{}: good pods denied (exit {code}): {denied:?}",
                test.name
            ));
        }
        // Bad pods: every one denied, by one of the test's policies (or, as the API server
        // also does, by the Pod schema).
        let (code, denied, names) = decide(test, dir.path(), &test.bad);
        decisions += 1;
        let by_policy: BTreeSet<&str> = denied
            .iter()
            .filter(|(_, by)| policy_names.contains(by))
            .map(|(p, _)| p.as_str())
            .collect();
        let admitted: Vec<&String> = names
            .iter()
            .filter(|n| !by_policy.contains(n.as_str()))
            .collect();
        if code != 1 || !admitted.is_empty() {
            failures.push(format!(
                "{}: bad pods not denied by its policies (exit {code}): {admitted:?}; all denials: {denied:?}",
                test.name
            ));
        }
        for (pod, by) in &denied {
            if !policy_names.contains(by) && !by.starts_with("schema/") {
                failures.push(format!(
                    "{}: {pod} denied by {by}, not one of {policy_names:?}",
                    test.name
                ));
            }
        }
    }
    assert_eq!(decisions, 44);
    assert!(
        failures.is_empty(),
        "{} of 44 decisions differ from the API server's:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_denial_names_the_pod_line_the_policy_binding_and_message() {
    let test = chainsaw_tests()
        .into_iter()
        .find(|t| t.name == "disallow-host-path")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let namespace = dir.path().join("namespace.yaml");
    write(
        &namespace,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels:\n    pod-security.wmf.org/profile: baseline\n",
    );
    let pod = dir.path().join("pod.yaml");
    write(
        &pod,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  containers:\n  - name: c\n    image: busybox\n  volumes:\n  - name: host\n    hostPath: {path: /etc}\n",
    );
    let mut cmd = assert_cmd::Command::cargo_bin("kcc").unwrap();
    cmd.args(["validate", "--kubernetes-version", "1.31"]);
    for p in &test.policies {
        cmd.arg("--policies").arg(p);
    }
    let out = cmd
        .arg(&namespace)
        .arg(&pod)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("error[policy/admission]"), "{text}");
    assert!(
        text.contains("Pod apps/web is denied by ValidatingAdmissionPolicy disallow-host-path (binding disallow-host-path): HostPath volumes are forbidden."),
        "{text}"
    );
    assert!(text.contains(&format!("{}:1:1", pod.display())), "{text}");
    assert!(
        text.contains("disallow-host-path.yaml:1"),
        "the expression is named: {text}"
    );
}

/// The cost of deciding a fleet: every object of the 2026 fixture's four reference
/// clusters, and a pod for every workload's pod template, against production's 24
/// policies (run with `cargo test --release -- --ignored policy_conformance::fleet_cost
/// --nocapture`).
#[test]
#[ignore]
fn fleet_cost() {
    use kcc::manifest::{Object, RenderedFile, parse_manifests};
    use kcc::policy::{Admission, Cluster};
    let read = |path: &Path| -> Vec<Object> {
        let file = SourceFile::new(
            path.display().to_string(),
            std::fs::read_to_string(path).unwrap(),
        );
        parse_manifests(&RenderedFile {
            source: file.path.clone(),
            file,
        })
        .unwrap()
    };
    let reference = fleet_2026().join("reference");
    let mut policies = Vec::new();
    let mut clusters = Vec::new();
    for cluster in std::fs::read_dir(&reference).unwrap() {
        let dir = cluster.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let mut objects = Vec::new();
        for file in std::fs::read_dir(&dir).unwrap() {
            objects.extend(read(&file.unwrap().path()));
        }
        if policies.is_empty() {
            policies = objects.clone();
        }
        // A pod per workload: its template's metadata and spec, in its namespace.
        let mut pods = Vec::new();
        for o in &objects {
            let Some(template) = o.body.lookup(["spec", "template"]) else {
                continue;
            };
            if !["Deployment", "DaemonSet", "StatefulSet"].contains(&o.id.kind.as_str()) {
                continue;
            }
            let spec = kcc::yaml::emit_document(template.get("spec").unwrap());
            let indented: String = spec.lines().map(|l| format!("  {l}\n")).collect();
            let text = format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n{indented}",
                o.id.name, o.id.namespace
            );
            let file = SourceFile::new("pod.yaml", text);
            pods.extend(
                parse_manifests(&RenderedFile {
                    source: "pod.yaml".into(),
                    file,
                })
                .unwrap(),
            );
        }
        clusters.push((objects, pods));
    }
    let (admission, diagnostics) = Admission::from_objects(&policies);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let objects: usize = clusters.iter().map(|(o, _)| o.len()).sum();
    let pods: usize = clusters.iter().map(|(_, p)| p.len()).sum();
    let rounds = 50;
    let started = std::time::Instant::now();
    let mut decisions = 0;
    for _ in 0..rounds {
        for (objects, pods) in &clusters {
            let mut all = objects.clone();
            all.extend(pods.iter().cloned());
            let cluster = Cluster::new(&all);
            for object in &all {
                decisions += admission.decide(object, &cluster).len();
            }
        }
    }
    let per_round = started.elapsed() / rounds;
    println!(
        "{} clusters, {objects} objects and {pods} workload pods against {} bindings: {per_round:?} per fleet (one thread), {} decisions",
        clusters.len(),
        admission_bindings(&policies),
        decisions / rounds as usize
    );
    // The same pods in a namespace bound to every policy of the restricted profile and
    // every custom policy, many times over: the evaluation cost per pod.
    let labels = "pod-security.wmf.org/profile: restricted\n    pod-security.wmf.org/allow-hostpath-analytics: include\n    pod-security.wmf.org/allow-hostpath-geoip: include\n    pod-security.wmf.org/allow-hostpath-mw-experimental: include\n    pod-security.wmf.org/allow-hostpath-mw-parsoid-testing: include\n    pod-security.wmf.org/disallow-capabilities-except-ptrace: include";
    let mut text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench\n  labels:\n    {labels}\n"
    );
    for (_, pods) in &clusters {
        for pod in pods {
            text.push_str("---\n");
            text.push_str(&pod.canonical().replace(
                &format!("namespace: {}", pod.id.namespace),
                "namespace: bench",
            ));
        }
    }
    let file = SourceFile::new("bench.yaml", text);
    let all_pods = parse_manifests(&RenderedFile {
        source: "bench.yaml".into(),
        file,
    })
    .unwrap();
    let cluster = Cluster::new(&all_pods);
    let mut denied = 0;
    for pod in all_pods.iter().filter(|o| o.id.kind == "Pod") {
        denied += admission.decide(pod, &cluster).len();
    }
    println!(
        "{denied} denials of {} pods in the restricted namespace",
        all_pods.len() - 1
    );
    let started = std::time::Instant::now();
    let mut evaluated = 0;
    for _ in 0..rounds * 10 {
        for pod in all_pods.iter().filter(|o| o.id.kind == "Pod") {
            admission.decide(pod, &cluster);
            evaluated += 1;
        }
    }
    println!("{:?} per pod (all bindings)", started.elapsed() / evaluated);
}

fn admission_bindings(objects: &[kcc::manifest::Object]) -> usize {
    objects
        .iter()
        .filter(|o| o.id.kind == "ValidatingAdmissionPolicyBinding")
        .count()
}
