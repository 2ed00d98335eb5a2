//! The rules of `kcc check` on the real fleet: it is clean, and each rule's failing case,
//! made by breaking one line of a copy, is reported with its rule id at the line to fix.
//! The network rules (`network/*`) are tested on a tiny fleet in tests/it/network_rules.rs.

use std::path::Path;
use std::process::Output;

use crate::common::*;
use serde_json::Value;

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
    // Only the warning that 1.25 removes its PodSecurityPolicies (the fleet runs 1.23).
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["rule"], "schema/deprecated-api");
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
        );
        // Read by no chart: declared as another tool's, or `values/unused` reports them.
        replace(
            p,
            "kcc.yaml",
            "externalValues: [",
            "externalValues: [kccTestFlag, kccTestMode, kccTestQuoted, kccTestFloat, ",
        );
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

/// `policy/namespace-label` (2026 fixture): a namespace's pod-security.wmf.org labels must
/// be ones the cluster's admission policy bindings select on, or its pods silently fall
/// under no policy.
#[test]
fn a_namespace_profile_no_policy_binds_is_an_error_at_its_values_line() {
    let dir = copy_project(&fleet_2026());
    let project = dir.path();
    edit_file(
        &project.join("values/main.yaml"),
        "labels: &mw-pss-labels\n      pod-security.wmf.org/profile: restricted",
        "labels: &mw-pss-labels\n      pod-security.wmf.org/profile: restrictd",
    );
    edit_file(
        &project.join("values/dse-k8s.yaml"),
        "pod-security.wmf.org/disallow-host-path: exclude",
        "pod-security.wmf.org/disallow-host-pth: exclude",
    );
    let (out, found) = check_json(project);
    assert_exit(&out, 1);
    let labels: Vec<&serde_json::Value> = found
        .iter()
        .filter(|d| d["rule"] == "policy/namespace-label")
        .collect();
    let profile = labels
        .iter()
        .find(|d| {
            d["message"]
                .as_str()
                .unwrap()
                .starts_with("Namespace `mw-debug` has `pod-security.wmf.org/profile: restrictd`")
        })
        .unwrap_or_else(|| panic!("{labels:?}"));
    assert_eq!(profile["file"], "values/main.yaml");
    let line = line_of(project, "values/main.yaml", "profile: restrictd");
    assert_eq!(profile["line"], line);
    assert!(
        profile["notes"]
            .to_string()
            .contains("baseline, restricted")
    );
    let key = labels
        .iter()
        .find(|d| {
            d["message"]
                .as_str()
                .unwrap()
                .contains("`pod-security.wmf.org/disallow-host-pth`")
        })
        .unwrap_or_else(|| panic!("{labels:?}"));
    assert!(
        key["notes"]
            .to_string()
            .contains("did you mean `pod-security.wmf.org/disallow-host-path`?"),
        "{key}"
    );
}

/// Adding a cluster (2026 fixture): what it must still set is asked for in the file that
/// should hold it, even before that file exists, and one missing family of ranges is one
/// diagnostic, not one per BGP peer.
#[test]
fn a_new_cluster_is_asked_for_each_value_in_the_file_to_write() {
    let dir = copy_project(&fleet_2026());
    let project = dir.path();
    edit_file(
        &project.join("kcc.yaml"),
        "  - name: aux-k8s-codfw\n",
        "  - name: new-k8s\n    group: aux-k8s\n    kubernetesVersion: \"1.31\"\n    toggles: []\n  - name: aux-k8s-codfw\n",
    );
    write(
        &project.join("values/new-k8s/values.yaml"),
        "network:\n  serviceCIDRs:\n    ipv4: \"10.99.0.0/24\"\n  podCIDRs:\n    ipv4: \"10.99.64.0/18\"\n",
    );
    let (out, found) = check_json(project);
    assert_exit(&out, 1);
    let errors: Vec<&Value> = found
        .iter()
        .filter(|d| d["rule"] != "golden/drift")
        .collect();
    let ask = errors
        .iter()
        .find(|d| d["rule"] == "values/schema")
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert_eq!(ask["file"], "values/new-k8s/coredns-values.yaml");
    assert_eq!(ask["line"], 1);
    assert!(
        ask["message"]
            .as_str()
            .unwrap()
            .starts_with("`service.clusterIP` is required and no values file sets it"),
        "{ask}"
    );
    let missing: Vec<&str> = errors
        .iter()
        .filter(|d| d["rule"] == "network/missing")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        missing
            .iter()
            .any(|m| m.contains("BGPConfiguration.asNumber")),
        "{missing:?}"
    );
    assert!(
        missing.iter().any(|m| m.contains("`IPPools`")),
        "{missing:?}"
    );
    let bgp: Vec<&&Value> = errors
        .iter()
        .filter(|d| d["rule"] == "network/bgp")
        .collect();
    assert_eq!(bgp.len(), 1, "one cause, not one per peer: {bgp:?}");
    assert_eq!(bgp[0]["file"], "values/new-k8s/values.yaml");
}

/// `externalToggles` entries must name a toggle some cluster sets, and one kcc does not
/// test; a `diffIgnore` pointer follows RFC 6901 (`~0`, `~1` only).
#[test]
fn external_toggles_and_diff_ignore_pointers_are_checked() {
    let dir = copy_project(&fleet_2026());
    let project = dir.path();
    edit_file(
        &project.join("kcc.yaml"),
        "externalToggles: [install_ceph_csi_cephfs,",
        "externalToggles: [install_ceph_csi_cephf, istio_gateways, install_ceph_csi_cephfs,",
    );
    let (out, found) = check_json(project);
    assert_exit(&out, 1);
    let toggles: Vec<&str> = found
        .iter()
        .filter(|d| d["rule"] == "project/toggle")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(toggles.len(), 2, "{toggles:?}");
    assert!(
        toggles
            .iter()
            .any(|m| m.contains("`install_ceph_csi_cephf`, which no cluster sets"))
    );
    assert!(
        toggles
            .iter()
            .any(|m| m.contains("`istio_gateways`, which kcc's releases test"))
    );
    let typo = found
        .iter()
        .find(|d| {
            d["message"]
                .as_str()
                .unwrap()
                .contains("install_ceph_csi_cephf`")
        })
        .unwrap();
    assert!(
        typo["notes"]
            .to_string()
            .contains("did you mean `install_ceph_csi_cephfs`?")
    );

    let dir = copy_project(&fleet_2026());
    let project = dir.path();
    edit_file(
        &project.join("kcc.yaml"),
        "clusters:\n  - name: eqiad",
        "diffIgnore:\n  - path: /metadata/labels/helm.sh~2chart\nclusters:\n  - name: eqiad",
    );
    let out = kcc(project, &["check"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("has a `~` that is neither `~0` nor `~1`")
            || stdout(&out).contains("has a `~` that is neither `~0` nor `~1`"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// `policy/admission` (2026 fixture): a workload whose pods a bound admission policy would
/// deny is an error at the template line that wrote the offending field, grouped across
/// clusters; a namespace label change that unbinds the policy makes it pass.
#[test]
fn a_pod_template_a_bound_policy_denies_is_reported_at_its_template_line() {
    let dir = copy_project(&fleet_2026());
    let project = dir.path();
    // cert-manager gets the restricted profile in the main clusters...
    edit_file(
        &project.join("values/main.yaml"),
        "  cert-manager:\n    systemNamespace: true\n    allowCriticalPods: true\n",
        "  cert-manager:\n    systemNamespace: true\n    allowCriticalPods: true\n    labels:\n      pod-security.wmf.org/profile: restricted\n",
    );
    // ...and cfssl-issuer's container asks for privileged mode.
    let template = "charts/cfssl-issuer/templates/deployment.yaml";
    edit_file(
        &project.join(template),
        "            allowPrivilegeEscalation: false\n",
        "            allowPrivilegeEscalation: false\n            privileged: true\n",
    );
    assert_exit(&kcc(project, &["update"]), 1);
    let (out, found) = check_json(project);
    assert_exit(&out, 1);
    let denied: Vec<&Value> = found
        .iter()
        .filter(|d| d["rule"] == "policy/admission")
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    let d = denied[0];
    assert!(
        d["message"].as_str().unwrap().starts_with(
            "pods of Deployment cert-manager/cfssl-issuer would be denied by ValidatingAdmissionPolicy `disallow-privileged-containers`"
        ),
        "{d}"
    );
    assert_eq!(d["file"], template);
    assert_eq!(d["line"], line_of(project, template, "privileged: true"));
    let clusters: Vec<&str> = d["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        clusters,
        ["eqiad", "codfw", "staging-eqiad", "staging-codfw"]
    );

    // Excluding the namespace from that policy unbinds it: the pods pass.
    edit_file(
        &project.join("values/main.yaml"),
        "      pod-security.wmf.org/profile: restricted\n  flink-operator:",
        "      pod-security.wmf.org/profile: restricted\n      pod-security.wmf.org/disallow-privileged-containers: exclude\n  flink-operator:",
    );
    let (_, found) = check_json(project);
    assert!(
        !found.iter().any(|d| d["rule"] == "policy/admission"),
        "{found:?}"
    );
}
