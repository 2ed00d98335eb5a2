//! The network rules of `kcc check` (`network/coredns-ip`, `network/ippool`,
//! `network/fleet-overlap`, `network/cidr`, `network/bgp`) on the tiny fleet
//! tests/fixtures/net: two dual-stack clusters (`dual-a`, `dual-b`) and an IPv6-only one
//! (`v6`). Each test breaks a line or two of a copy and expects the rule at the line it broke;
//! the IPv6-only cluster must be held to the same rules as the dual-stack ones.

use std::process::Output;

use crate::common::*;
use serde_json::Value;

/// A checked copy of the fixture: the copy (kept alive for reading), the exit and the JSON
/// diagnostics of `kcc check --format json`.
struct Checked {
    project: tempfile::TempDir,
    out: Output,
    diagnostics: Vec<Value>,
}

/// A copy of the fixture with every `(file, from, to)` edit applied (each must match once),
/// checked.
#[track_caller]
fn check_edited(edits: &[(&str, &str, &str)]) -> Checked {
    let project = copy_project(&fixture("net"));
    for (file, from, to) in edits {
        edit_file(&project.path().join(file), from, to);
    }
    let (out, diagnostics) = check_json(project.path());
    Checked {
        project,
        out,
        diagnostics,
    }
}

impl Checked {
    #[track_caller]
    fn line_of(&self, file: &str, needle: &str) -> u64 {
        line_of(self.project.path(), file, needle)
    }

    fn with_rule(&self, rule: &str) -> Vec<&Value> {
        self.diagnostics
            .iter()
            .filter(|d| d["rule"] == rule)
            .collect()
    }

    /// Asserts exit 1 and exactly one `rule` diagnostic, at `file:line`; returns its message.
    #[track_caller]
    fn one_at_line(&self, rule: &str, file: &str, line: u64) -> String {
        assert_exit(&self.out, 1);
        let found = self.with_rule(rule);
        assert_eq!(found.len(), 1, "one {rule} in {:#?}", self.diagnostics);
        let d = found[0];
        assert_eq!(d["file"], file, "{d:#}");
        assert_eq!(d["line"], line, "{d:#}");
        assert!(d["column"].as_u64().is_some_and(|c| c > 0), "{d:#}");
        d["message"].as_str().unwrap().to_string()
    }

    /// Asserts exit 1 and exactly one `rule` diagnostic, at the line of `file` holding
    /// `needle`; returns its message.
    #[track_caller]
    fn one(&self, rule: &str, file: &str, needle: &str) -> String {
        self.one_at_line(rule, file, self.line_of(file, needle))
    }
}

/// Asserts that `message` contains every one of `parts`.
#[track_caller]
fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "`{part}` in: {message}");
    }
}

/// The CoreDNS clusterIP of each cluster in the fixture.
fn dns_ip(cluster: &str) -> &'static str {
    match cluster {
        "dual-a" => "10.10.64.3",
        "dual-b" => "10.20.64.3",
        "v6" => "2001:db8:c:64::3",
        _ => panic!("no cluster {cluster}"),
    }
}

/// The fixture with `cluster`'s CoreDNS clusterIP set to `ip`, checked.
fn with_dns_ip(cluster: &str, ip: &str) -> (Checked, String) {
    let file = format!("values/{cluster}/coredns-values.yaml");
    let from = format!("clusterIP: \"{}\"", dns_ip(cluster));
    let checked = check_edited(&[(&file, &from, &format!("clusterIP: \"{ip}\""))]);
    (checked, file)
}

/// The one `network/coredns-ip` message when `cluster`'s CoreDNS clusterIP is `ip`, which
/// must be reported at the values line that set it.
#[track_caller]
fn coredns_error(cluster: &str, ip: &str) -> String {
    let (checked, file) = with_dns_ip(cluster, ip);
    checked.one("network/coredns-ip", &file, "clusterIP")
}

#[test]
fn the_fixture_is_clean() {
    let (out, diagnostics) = check_json(&fixture("net"));
    assert_exit(&out, 0);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
}

// network/coredns-ip

#[test]
fn coredns_at_the_kubernetes_api_address_dual_stack() {
    let m = coredns_error("dual-a", "10.10.64.1");
    assert_mentions(&m, &["first address", "10.10.64.0/24", "`kubernetes` API"]);
}

#[test]
fn coredns_at_the_kubernetes_api_address_ipv6_only() {
    let m = coredns_error("v6", "2001:db8:c:64::1");
    assert_mentions(
        &m,
        &["first address", "2001:db8:c:64::/116", "`kubernetes` API"],
    );
}

#[test]
fn coredns_at_the_network_address_dual_stack() {
    let m = coredns_error("dual-a", "10.10.64.0");
    assert_mentions(&m, &["network address", "10.10.64.0/24"]);
}

#[test]
fn coredns_at_the_network_address_ipv6_only() {
    let m = coredns_error("v6", "2001:db8:c:64::");
    assert_mentions(&m, &["network address", "2001:db8:c:64::/116"]);
}

#[test]
fn coredns_outside_the_service_range_dual_stack() {
    let m = coredns_error("dual-a", "10.10.65.3");
    assert_mentions(&m, &["outside the service range 10.10.64.0/24"]);
}

#[test]
fn coredns_outside_the_service_range_ipv6_only() {
    // Just past the /116: the range is 2001:db8:c:64::0 to ::fff.
    let m = coredns_error("v6", "2001:db8:c:64::1000");
    assert_mentions(&m, &["outside the service range 2001:db8:c:64::/116"]);
}

#[test]
fn coredns_at_the_ipv4_broadcast_address() {
    let m = coredns_error("dual-a", "10.10.64.255");
    assert_mentions(&m, &["broadcast address", "10.10.64.0/24"]);
}

#[test]
fn the_last_ipv6_address_is_usable() {
    // IPv6 has no broadcast address: the range's last address is a valid clusterIP.
    let (checked, _) = with_dns_ip("v6", "2001:db8:c:64::fff");
    // The only finding is the changed render against golden/.
    let rules: Vec<&Value> = checked.diagnostics.iter().map(|d| &d["rule"]).collect();
    assert_eq!(rules, ["golden/drift"], "{:#?}", checked.diagnostics);
}

#[test]
fn coredns_ipv4_address_in_the_ipv6_only_cluster() {
    let m = coredns_error("v6", "10.30.64.3");
    assert_mentions(&m, &["is ipv4", "cluster `v6` has no ipv4 service range"]);
}

// network/ippool

#[test]
fn ippool_outside_the_pod_range_dual_stack() {
    let file = "values/dual-a/calico-values.yaml";
    let c = check_edited(&[(file, "\"10.10.128.0/18\"", "\"10.11.0.0/18\"")]);
    let m = c.one("network/ippool", file, "10.11.0.0/18");
    assert_mentions(
        &m,
        &[
            "IPPool `ipv4`",
            "outside the cluster's ipv4 pod range 10.10.128.0/18",
        ],
    );
}

#[test]
fn ippool_outside_the_pod_range_ipv6_only() {
    let file = "values/v6/calico-values.yaml";
    let c = check_edited(&[(file, "2001:db8:c:cabe::/64", "2001:db8:c:cafe::/64")]);
    let m = c.one("network/ippool", file, "2001:db8:c:cafe::/64");
    assert_mentions(
        &m,
        &[
            "IPPool `ipv6`",
            "outside the cluster's ipv6 pod range 2001:db8:c:cabe::/64",
        ],
    );
}

#[test]
fn an_ipv4_pool_in_the_ipv6_only_cluster() {
    let file = "values/v6/calico-values.yaml";
    let c = check_edited(&[(
        file,
        "IPPools:\n",
        "IPPools:\n  ipv4:\n    cidr: \"10.30.128.0/18\"\n",
    )]);
    let m = c.one("network/ippool", file, "10.30.128.0/18");
    assert_mentions(&m, &["is ipv4", "no ipv4 pod range"]);
}

#[test]
fn ippool_overlapping_the_control_plane_ipv6_only() {
    // A control-plane host inside the pod range (and so inside its pool).
    let c = check_edited(&[(
        "values/v6/values.yaml",
        "2001:db8:3::10/128",
        "2001:db8:c:cabe::10/128",
    )]);
    let file = "values/v6/calico-values.yaml";
    let m = c.one("network/ippool", file, "cidr: \"2001:db8:c:cabe::/64\"");
    assert_mentions(
        &m,
        &["overlaps the control-plane CIDR 2001:db8:c:cabe::10/128"],
    );
}

#[test]
fn ippool_overlapping_the_control_plane_dual_stack() {
    let c = check_edited(&[(
        "values/dual-a/values.yaml",
        "\"10.1.0.10/32\"",
        "\"10.10.128.10/32\"",
    )]);
    let file = "values/dual-a/calico-values.yaml";
    let m = c.one("network/ippool", file, "10.10.128.0/18");
    assert_mentions(
        &m,
        &[
            "IPPool `ipv4`",
            "overlaps the control-plane CIDR 10.10.128.10/32",
        ],
    );
}

#[test]
fn ippool_overlapping_the_service_range_dual_stack() {
    // A pod range (and its pool) that swallows the service range 10.10.64.0/24.
    let file = "values/dual-a/calico-values.yaml";
    let c = check_edited(&[
        (
            "values/dual-a/values.yaml",
            "\"10.10.128.0/18\"",
            "\"10.10.0.0/17\"",
        ),
        (file, "\"10.10.128.0/18\"", "\"10.10.0.0/17\""),
    ]);
    let m = c.one("network/ippool", file, "10.10.0.0/17");
    assert_mentions(&m, &["overlaps the service range 10.10.64.0/24"]);
}

#[test]
fn ippool_overlapping_the_service_range_ipv6_only() {
    // A pod range (and its pool) that swallows the service range 2001:db8:c:64::/116.
    let file = "values/v6/calico-values.yaml";
    let c = check_edited(&[
        (
            "values/v6/values.yaml",
            "2001:db8:c:cabe::/64",
            "2001:db8:c::/56",
        ),
        (file, "2001:db8:c:cabe::/64", "2001:db8:c::/56"),
    ]);
    let m = c.one("network/ippool", file, "2001:db8:c::/56");
    assert_mentions(&m, &["overlaps the service range 2001:db8:c:64::/116"]);
}

// network/fleet-overlap

#[test]
fn two_clusters_sharing_an_ipv4_range() {
    // dual-b's service range becomes dual-a's: reported at the later cluster.
    let file = "values/dual-b/values.yaml";
    let c = check_edited(&[(file, "\"10.20.64.0/24\"", "\"10.10.64.0/24\"")]);
    let m = c.one("network/fleet-overlap", file, "10.10.64.0/24");
    let other = c.line_of("values/dual-a/values.yaml", "10.10.64.0/24");
    assert_mentions(
        &m,
        &[
            "cluster `dual-b`",
            "cluster `dual-a`",
            &format!("values/dual-a/values.yaml:{other}"),
        ],
    );
}

#[test]
fn two_clusters_sharing_an_ipv6_range() {
    // v6's service range becomes the upper half of dual-a's.
    let file = "values/v6/values.yaml";
    let c = check_edited(&[(file, "2001:db8:c:64::/116", "2001:db8:a:64::800/117")]);
    let m = c.one("network/fleet-overlap", file, "2001:db8:a:64::800/117");
    let other = c.line_of("values/dual-a/values.yaml", "2001:db8:a:64::/116");
    assert_mentions(
        &m,
        &[
            "service range 2001:db8:a:64::800/117 of cluster `v6`",
            "service range 2001:db8:a:64::/116 of cluster `dual-a`",
            &format!("values/dual-a/values.yaml:{other}"),
        ],
    );
}

// network/cidr

#[test]
fn a_range_with_host_bits_dual_stack() {
    let file = "values/dual-a/values.yaml";
    let c = check_edited(&[(file, "\"10.10.64.0/24\"", "\"10.10.64.5/24\"")]);
    let m = c.one("network/cidr", file, "10.10.64.5/24");
    assert_mentions(&m, &["host bits set", "the network is 10.10.64.0/24"]);
}

#[test]
fn a_range_with_host_bits_ipv6_only() {
    let file = "values/v6/values.yaml";
    let c = check_edited(&[(file, "2001:db8:c:cabe::/64", "2001:db8:c:cabe::1/64")]);
    let m = c.one("network/cidr", file, "2001:db8:c:cabe::1/64");
    assert_mentions(
        &m,
        &["host bits set", "the network is 2001:db8:c:cabe::/64"],
    );
}

#[test]
fn an_ipv4_cidr_under_ipv6() {
    let file = "values/v6/values.yaml";
    let c = check_edited(&[(file, "2001:db8:c:64::/116", "10.30.64.0/24")]);
    let m = c.one("network/cidr", file, "10.30.64.0/24");
    assert_mentions(&m, &["network.serviceCIDRs.ipv6", "not an ipv6 CIDR"]);
}

#[test]
fn an_ipv4_mapped_ipv6_service_range() {
    let file = "values/v6/values.yaml";
    let c = check_edited(&[(file, "2001:db8:c:64::/116", "::ffff:10.64.72.0/120")]);
    let m = c.one("network/cidr", file, "::ffff:10.64.72.0/120");
    assert_mentions(&m, &["IPv4-mapped IPv6 range", "use the IPv4 range itself"]);
}

#[test]
fn control_plane_cidrs_that_are_not_a_list() {
    let file = "values/v6/values.yaml";
    let c = check_edited(&[(
        file,
        "cidrs: [\"2001:db8:3::10/128\"]",
        "cidrs: \"garbage\"",
    )]);
    let m = c.one("network/cidr", file, "cidrs: \"garbage\"");
    assert_mentions(
        &m,
        &["kubernetesMasters.cidrs must be a list of CIDRs, not a string"],
    );
}

// network/bgp

#[test]
fn a_public_as_number() {
    let file = "values/dual-a/calico-values.yaml";
    let c = check_edited(&[(file, "asNumber: 64601", "asNumber: 3356")]);
    let m = c.one("network/bgp", file, "asNumber");
    assert_mentions(&m, &["3356", "cluster `dual-a`", "not a private AS number"]);
}

#[test]
fn two_clusters_sharing_an_as_number() {
    let file = "values/v6/calico-values.yaml";
    let c = check_edited(&[(file, "asNumber: 64603", "asNumber: 64601")]);
    let m = c.one("network/bgp", file, "asNumber");
    let other = c.line_of("values/dual-a/calico-values.yaml", "asNumber");
    assert_mentions(
        &m,
        &[
            "cluster `v6`",
            "cluster `dual-a`",
            &format!("values/dual-a/calico-values.yaml:{other}"),
        ],
    );
}

#[test]
fn cluster_as_equal_to_the_peers_as() {
    let file = "values/v6/calico-values.yaml";
    let c = check_edited(&[(
        file,
        "    ipv6: \"2001:db8:3::1\"\n",
        "    ipv6: \"2001:db8:3::1\"\n    asNumber: 64603\n",
    )]);
    // Reported at the cluster's own asNumber, the line after `BGPConfiguration:`.
    let m = c.one_at_line(
        "network/bgp",
        file,
        c.line_of(file, "BGPConfiguration:") + 1,
    );
    assert_mentions(&m, &["64603", "also the AS of its BGP peer `tor-c`"]);
}

#[test]
fn a_bgp_peer_address_of_the_wrong_family() {
    let file = "values/v6/calico-values.yaml";
    let c = check_edited(&[(file, "ipv6: \"2001:db8:3::1\"", "ipv6: \"10.3.0.1\"")]);
    let m = c.one("network/bgp", file, "10.3.0.1");
    assert_mentions(&m, &["BGP peer `tor-c` (ipv6)", "is an ipv4 address"]);
}

#[test]
fn an_ipv4_bgp_peer_in_the_ipv6_only_cluster() {
    let file = "values/v6/calico-values.yaml";
    let c = check_edited(&[(
        file,
        "    ipv6: \"2001:db8:3::1\"\n",
        "    ipv6: \"2001:db8:3::1\"\n    ipv4: \"10.3.0.1\"\n",
    )]);
    let m = c.one("network/bgp", file, "10.3.0.1");
    assert_mentions(
        &m,
        &[
            "BGP peer `tor-c` (ipv4)",
            "cluster `v6` has no ipv4 pod or service range",
        ],
    );
}

#[test]
fn advertised_service_ips_outside_the_service_range_ipv6_only() {
    let file = "values/v6/calico-values.yaml";
    let c = check_edited(&[(
        file,
        "cidr: \"2001:db8:c:64::/116\"",
        "cidr: \"2001:db8:c:65::/116\"",
    )]);
    let m = c.one("network/bgp", file, "2001:db8:c:65::/116");
    assert_mentions(
        &m,
        &[
            "serviceClusterIPs 2001:db8:c:65::/116",
            "outside the cluster's service range 2001:db8:c:64::/116",
        ],
    );
}

#[test]
fn advertised_service_ips_outside_the_service_range_dual_stack() {
    let file = "values/dual-a/calico-values.yaml";
    let c = check_edited(&[(file, "cidr: \"10.10.64.0/24\"", "cidr: \"10.10.0.0/16\"")]);
    let m = c.one("network/bgp", file, "10.10.0.0/16");
    assert_mentions(&m, &["outside the cluster's service range 10.10.64.0/24"]);
}

#[test]
fn advertised_ipv4_service_ips_in_the_ipv6_only_cluster() {
    let file = "values/v6/calico-values.yaml";
    let c = check_edited(&[(
        file,
        "    - cidr: \"2001:db8:c:64::/116\"\n",
        "    - cidr: \"2001:db8:c:64::/116\"\n    - cidr: \"10.30.64.0/24\"\n",
    )]);
    let m = c.one("network/bgp", file, "10.30.64.0/24");
    assert_mentions(&m, &["the cluster has no ipv4 service range"]);
}

// Human output

#[test]
fn human_output_points_at_the_values_line() {
    let project = copy_project(&fixture("net"));
    let file = "values/v6/coredns-values.yaml";
    edit_file(
        &project.path().join(file),
        "clusterIP: \"2001:db8:c:64::3\"",
        "clusterIP: \"2001:db8:c:64::\"",
    );
    let out = kcc(project.path(), &["check"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let line = line_of(project.path(), file, "clusterIP");
    let source = std::fs::read_to_string(project.path().join(file)).unwrap();
    let column = source
        .lines()
        .nth(line as usize - 1)
        .unwrap()
        .find("clusterIP")
        .unwrap()
        + 1;
    assert_mentions(
        &text,
        &[
            "error[network/coredns-ip]",
            &format!("{file}:{line}:{column}"),
            "network address",
        ],
    );
}

// network/missing

/// The `network/missing` diagnostics of a checked copy: (file, line, message).
fn missing(c: &Checked) -> Vec<(String, u64, String)> {
    c.with_rule("network/missing")
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_cluster_without_network_ranges() {
    let file = "values/v6/values.yaml";
    let c = check_edited(&[(
        file,
        "network:\n  serviceCIDRs:\n    ipv6: \"2001:db8:c:64::/116\"\n  podCIDRs:\n    ipv6: \"2001:db8:c:cabe::/64\"\n",
        "",
    )]);
    assert_exit(&c.out, 1);
    let found = missing(&c);
    assert_eq!(found.len(), 2, "{found:#?}");
    for ((f, line, message), key) in found.iter().zip(["serviceCIDRs", "podCIDRs"]) {
        assert_eq!((f.as_str(), *line), (file, 1));
        assert_mentions(message, &["cluster `v6`", &format!("`network.{key}`")]);
    }
}

#[test]
fn a_calico_cluster_without_as_number_or_pools() {
    let file = "values/v6/calico-values.yaml";
    let c = check_edited(&[
        (file, "  asNumber: 64603\n", ""),
        (
            file,
            "IPPools:\n  ipv6:\n    cidr: \"2001:db8:c:cabe::/64\"\n",
            "",
        ),
    ]);
    assert_exit(&c.out, 1);
    let found = missing(&c);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found.iter().all(|(f, line, _)| f == file && *line == 1));
    assert_mentions(&found[0].2, &["`BGPConfiguration.asNumber`"]);
    assert_mentions(&found[1].2, &["`IPPools`"]);
}

#[test]
fn a_new_cluster_with_no_values_points_at_its_kcc_yaml_entry() {
    // Only the CoreDNS address, which the chart cannot render without.
    let project = copy_project(&fixture("net"));
    edit_file(
        &project.path().join("kcc.yaml"),
        "releases:\n",
        "  - name: fresh\n    group: lab\n    kubernetesVersion: \"1.23\"\n    toggles: []\nreleases:\n",
    );
    write(
        &project.path().join("values/fresh/coredns-values.yaml"),
        "service:\n  clusterIP: \"10.40.64.3\"\n",
    );
    let (out, diagnostics) = check_json(project.path());
    let c = Checked {
        project,
        out,
        diagnostics,
    };
    assert_exit(&c.out, 1);
    let found = missing(&c);
    let line = c.line_of("kcc.yaml", "name: fresh");
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(found.iter().all(|(f, l, _)| f == "kcc.yaml" && *l == line));
    assert_mentions(&found[0].2, &["in values/fresh/values.yaml"]);
}
