//! The rules of `kcc check` on the real fleet: it is clean, and each rule's failing case,
//! made by breaking one line of a copy, is reported with its rule id at the line to fix.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::Value;

/// `kcc check --format json` on a project: its exit and one JSON object per diagnostic.
fn check_json(project: &Path) -> (Output, Vec<Value>) {
    let out = kcc(project, &["check", "--format", "json"]);
    let diagnostics = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out, diagnostics)
}

/// A copy of the repository with `edit` applied, checked.
fn broken(edit: impl FnOnce(&Path)) -> (tempfile::TempDir, Output, Vec<Value>) {
    let project = copy_project(&fleet_2023());
    edit(project.path());
    let (out, diagnostics) = check_json(project.path());
    (project, out, diagnostics)
}

/// Replaces the one occurrence of `from` in a project file.
#[track_caller]
fn replace(root: &Path, file: &str, from: &str, to: &str) {
    edit_file(&root.join(file), from, to);
}

fn append(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    let mut old = std::fs::read_to_string(&path).unwrap_or_default();
    if !old.is_empty() && !old.ends_with('\n') {
        old.push('\n');
    }
    write(&path, &(old + text));
}

/// The 1-based line of the repository file `file` holding `needle` (once).
#[track_caller]
fn line_of(root: &Path, file: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(root.join(file)).unwrap();
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "`{needle}` in {file}: {lines:?}");
    lines[0] as u64
}

fn with_rule<'a>(diagnostics: &'a [Value], rule: &str) -> Vec<&'a Value> {
    diagnostics.iter().filter(|d| d["rule"] == rule).collect()
}

/// Exactly one diagnostic of `rule`, at `file:line`; returns its message.
#[track_caller]
fn assert_one_at(diagnostics: &[Value], rule: &str, file: &str, line: u64) -> String {
    let found = with_rule(diagnostics, rule);
    assert_eq!(found.len(), 1, "one {rule}, got {diagnostics:#?}");
    let d = found[0];
    assert_eq!(d["file"], file, "{d:#}");
    assert_eq!(d["line"], line, "{d:#}");
    assert!(d["column"].as_u64().is_some_and(|c| c > 0), "{d:#}");
    d["message"].as_str().unwrap().to_string()
}

#[test]
fn the_real_fleet_is_clean() {
    let (out, diagnostics) = check_json(&fleet_2023());
    assert_exit(&out, 0);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
}

#[test]
fn coredns_at_the_kubernetes_service_address() {
    let file = "values/eqiad/coredns-values.yaml";
    let (p, out, d) =
        broken(|p| replace(p, file, "clusterIP: 10.64.72.3", "clusterIP: 10.64.72.1"));
    assert_exit(&out, 1);
    let line = line_of(p.path(), file, "clusterIP");
    let message = assert_one_at(&d, "network/coredns-ip", file, line);
    assert!(message.contains("first address"), "{message}");
    assert!(message.contains("10.64.72.0/24"), "{message}");
}

#[test]
fn coredns_outside_the_service_range() {
    let file = "values/codfw/coredns-values.yaml";
    let (p, out, d) =
        broken(|p| replace(p, file, "clusterIP: 10.192.72.3", "clusterIP: 10.192.73.3"));
    assert_exit(&out, 1);
    let line = line_of(p.path(), file, "clusterIP");
    let message = assert_one_at(&d, "network/coredns-ip", file, line);
    assert!(
        message.contains("outside the service range 10.192.72.0/24"),
        "{message}"
    );
}

#[test]
fn ippool_outside_the_pod_range() {
    let file = "values/codfw/calico-values.yaml";
    let (p, out, d) = broken(|p| {
        replace(
            p,
            file,
            "cidr: \"10.194.128.0/18\"",
            "cidr: \"10.195.0.0/18\"",
        )
    });
    assert_exit(&out, 1);
    let line = line_of(p.path(), file, "10.195.0.0/18");
    let message = assert_one_at(&d, "network/ippool", file, line);
    assert!(
        message.contains("outside the cluster's ipv4 pod range 10.194.128.0/18"),
        "{message}"
    );
}

#[test]
fn ippool_overlapping_the_control_plane() {
    // A pod range (and its pool) that swallows a control-plane host.
    let (p, out, d) = broken(|p| {
        replace(
            p,
            "values/eqiad/values.yaml",
            "ipv4: \"10.67.128.0/18\"",
            "ipv4: \"10.64.0.0/18\"",
        );
        replace(
            p,
            "values/eqiad/calico-values.yaml",
            "cidr: \"10.67.128.0/18\"",
            "cidr: \"10.64.0.0/18\"",
        );
    });
    assert_exit(&out, 1);
    let file = "values/eqiad/calico-values.yaml";
    let line = line_of(p.path(), file, "10.64.0.0/18");
    let found = with_rule(&d, "network/ippool");
    assert!(!found.is_empty(), "{d:#?}");
    for f in &found {
        assert_eq!(f["file"], file);
        assert_eq!(f["line"], line);
    }
    let messages: Vec<&str> = found.iter().filter_map(|f| f["message"].as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("control-plane CIDR 10.64.0.117/32")),
        "{messages:#?}"
    );
}

#[test]
fn two_clusters_sharing_a_24() {
    // staging-codfw's service range becomes staging-eqiad's.
    let file = "values/staging-codfw/values.yaml";
    let (p, out, d) = broken(|p| {
        replace(
            p,
            file,
            "ipv4: \"10.192.76.0/24\"",
            "ipv4: \"10.64.76.0/24\"",
        );
    });
    assert_exit(&out, 1);
    let line = line_of(p.path(), file, "10.64.76.0/24");
    let message = assert_one_at(&d, "network/fleet-overlap", file, line);
    let other = line_of(
        p.path(),
        "values/staging-eqiad/values.yaml",
        "10.64.76.0/24",
    );
    assert!(message.contains("`staging-eqiad`"), "{message}");
    assert!(
        message.contains(&format!("values/staging-eqiad/values.yaml:{other}")),
        "{message}"
    );
}

#[test]
fn a_public_as_number() {
    let file = "values/staging-eqiad/calico-values.yaml";
    let (p, out, d) = broken(|p| replace(p, file, "asNumber: 64603", "asNumber: 3356"));
    assert_exit(&out, 1);
    let line = line_of(p.path(), file, "asNumber");
    let message = assert_one_at(&d, "network/bgp", file, line);
    assert!(
        message.contains("3356") && message.contains("not a private"),
        "{message}"
    );
}

#[test]
fn two_clusters_sharing_an_as_number() {
    let file = "values/staging-codfw/calico-values.yaml";
    let (p, out, d) = broken(|p| replace(p, file, "asNumber: 64604", "asNumber: 64602"));
    assert_exit(&out, 1);
    let line = line_of(p.path(), file, "asNumber");
    let message = assert_one_at(&d, "network/bgp", file, line);
    assert!(message.contains("cluster `codfw`"), "{message}");
    assert!(
        message.contains("values/codfw/calico-values.yaml:2"),
        "{message}"
    );
}

#[test]
fn cluster_as_equal_to_the_peers_as() {
    let file = "values/eqiad/calico-values.yaml";
    let (p, out, d) = broken(|p| append(p, file, "PeerAS: 64601\n"));
    assert_exit(&out, 1);
    let line = line_of(p.path(), file, "asNumber");
    let message = assert_one_at(&d, "network/bgp", file, line);
    assert!(message.contains("also the AS of its BGP peer"), "{message}");
}

#[test]
fn a_binding_to_a_missing_cluster_role() {
    let file = "values/staging-codfw/values.yaml";
    let (p, out, d) = broken(|p| {
        replace(
            p,
            file,
            "deployClusterRole: deploy-flink",
            "deployClusterRole: deploy-flonk",
        )
    });
    assert_exit(&out, 1);
    let line = line_of(p.path(), file, "deploy-flonk");
    let message = assert_one_at(&d, "rbac/role-ref", file, line);
    assert!(message.contains("ClusterRole `deploy-flonk`"), "{message}");
}

#[test]
fn a_pod_security_policy_nobody_may_use() {
    let (p, out, d) = broken(|p| {
        replace(
            p,
            "charts/pod-security-policies/templates/clusterroles.yaml",
            "      - use",
            "      - get",
        )
    });
    assert_exit(&out, 1);
    let file = "charts/pod-security-policies/values.yaml";
    let found = with_rule(&d, "psp/use");
    // Reported once per policy, not once per cluster: no policy is named twice.
    let mut policies: Vec<&str> = found
        .iter()
        .map(|f| f["message"].as_str().unwrap().split('`').nth(1).unwrap())
        .collect();
    let reports = policies.len();
    policies.sort();
    policies.dedup();
    assert_eq!(policies.len(), reports, "{found:#?}");
    let restricted = found
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("`restricted`"))
        .expect("restricted");
    assert_eq!(restricted["file"], file);
    assert_eq!(restricted["line"], line_of(p.path(), file, "  restricted:"));
}

#[test]
fn one_object_rendered_by_two_releases() {
    let file = "values/eqiad/rbac-rules-values.yaml";
    let (_p, out, d) = broken(|p| {
        write(
            &p.join(file),
            "clusterRoles:\n  calico-node:\n    rules: []\n",
        );
    });
    assert_exit(&out, 1);
    let message = assert_one_at(&d, "objects/duplicate", file, 2);
    assert!(message.contains("ClusterRole calico-node"), "{message}");
    assert!(
        message.contains("`rbac-rules`") && message.contains("`calico`"),
        "{message}"
    );
}

#[test]
fn an_object_in_a_namespace_the_cluster_lacks() {
    let file = "values/codfw/cfssl-issuer-values.yaml";
    let (p, out, d) = broken(|p| {
        append(
            p,
            file,
            "  team:\n    kind: Issuer\n    namespace: nowhere\n    url: https://pki.discovery.wmnet:8443\n    label: discovery\n    authSecretName: team-key\n",
        )
    });
    assert_exit(&out, 1);
    let line = line_of(p.path(), file, "namespace: nowhere");
    let message = assert_one_at(&d, "objects/namespace", file, line);
    assert!(
        message.contains("Issuer team") && message.contains("`nowhere`"),
        "{message}"
    );
}

#[test]
fn a_release_needing_one_not_installed() {
    let (p, out, d) = broken(|p| {
        replace(
            p,
            "kcc.yaml",
            "only where cert-manager is installed.\n    installed: '\"install_cert_manager\" in cluster.toggles'\n",
            "only where cert-manager is installed.\n    installed: 'cluster.name != \"eqiad\"'\n",
        )
    });
    assert_exit(&out, 1);
    let line = line_of(
        p.path(),
        "kcc.yaml",
        "needs: [cert-manager/cfssl-issuer-crds]",
    );
    let message = assert_one_at(&d, "releases/needs", "kcc.yaml", line);
    assert!(message.contains("cluster `eqiad`"), "{message}");
    assert!(
        message.contains("cert-manager/cfssl-issuer-crds"),
        "{message}"
    );
}

#[test]
fn yaml11_ambiguous_scalars_warn_once_per_file() {
    let file = "values/eqiad/values.yaml";
    let (p, out, d) = broken(|p| {
        append(
            p,
            file,
            "kccTestFlag: on\nkccTestMode: 0755\nkccTestQuoted: \"on\"\nkccTestFloat: 1.23\n",
        )
    });
    // Warnings alone do not fail the check, and the render is unchanged.
    assert_exit(&out, 0);
    let found = with_rule(&d, "yaml/ambiguous");
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found
            .iter()
            .all(|f| f["severity"] == "warning" && f["file"] == file)
    );
    assert_eq!(found[0]["line"], line_of(p.path(), file, "kccTestFlag"));
    assert_eq!(found[1]["line"], line_of(p.path(), file, "kccTestMode"));
    assert!(found[1]["message"].as_str().unwrap().contains("493"));
}

#[test]
fn human_output_points_at_the_values_line() {
    let project = copy_project(&fleet_2023());
    replace(
        project.path(),
        "values/eqiad/coredns-values.yaml",
        "clusterIP: 10.64.72.3",
        "clusterIP: 10.64.72.0",
    );
    let out = kcc(project.path(), &["check"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("error[network/coredns-ip]"), "{text}");
    let line = line_of(
        project.path(),
        "values/eqiad/coredns-values.yaml",
        "clusterIP: 10.64.72.0",
    );
    let at = format!("values/eqiad/coredns-values.yaml:{line}:3");
    assert!(text.contains(&at), "{at} in {text}");
    assert!(text.contains("network address"), "{text}");
}
