//! `network/bgp`: each cluster's calico BGP settings. The cluster's AS number
//! (`BGPConfiguration.asNumber`) is private, differs from its peers' AS (`PeerAS`, or a
//! peer's own `asNumber`) and from every other cluster's; every peer address parses and
//! belongs to the family it is listed under, and to a family the cluster has ranges of (an
//! IPv6-only cluster has no use for an IPv4 peer); the service ranges calico advertises
//! (`serviceClusterIPs`) lie inside the cluster's service ranges.
//!
//! Read from the merged values of the calico release (the chart renders them as given),
//! so each finding points at the line that set it.

use std::net::IpAddr;

use super::{place, releases_of_chart, trace_value};
use crate::check::{ClusterFacts, ClusterView};
use crate::diagnostic::Diagnostic;
use crate::network::{Family, Network, parse_cidr};
use crate::render::Fleet;
use crate::source::Origin;
use crate::yaml::{Node, Value};

const RULE: &str = "network/bgp";

/// True for the AS numbers reserved for private use (RFC 6996).
pub fn is_private_asn(asn: u64) -> bool {
    (64512..=65534).contains(&asn) || (4_200_000_000..=4_294_967_294).contains(&asn)
}

/// An AS number written as an integer (or a string of digits), 1 to 2³²-1.
pub fn parse_asn(node: &Node) -> Result<u64, String> {
    let n = match &node.value {
        Value::Int(i) => u64::try_from(*i).map_err(|_| format!("{i} is not an AS number"))?,
        Value::Str(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("`{s}` is not an AS number"))?,
        _ => return Err(format!("expected an AS number, not {}", node.a_type_name())),
    };
    if n == 0 || n > u64::from(u32::MAX) {
        return Err(format!("{n} is not an AS number (1 to 4294967295)"));
    }
    Ok(n)
}

/// The top-level values key holding a cluster's AS number.
pub const VALUES_KEY: &str = "BGPConfiguration";

/// The cluster's own AS number and where it was set, if the values set one.
fn cluster_asn(values: &Node) -> Option<(Result<u64, String>, Option<&Origin>)> {
    let node = values
        .lookup([VALUES_KEY, "asNumber"])
        .filter(|n| !matches!(n.value, Value::Null))?;
    Some((parse_asn(node), node.origin.as_ref()))
}

pub fn cluster(fleet: &Fleet, view: &ClusterView) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let cluster = &view.cluster.name;
    for release in releases_of_chart(fleet, view, super::BGP_CHART) {
        let values = &release.values;
        let (network, _) = Network::from_values(values);
        out.extend(advertised_service_ranges(release, &network, cluster));
        let own = match cluster_asn(values) {
            Some((Ok(asn), origin)) => {
                if !is_private_asn(asn) {
                    out.push(
                        Diagnostic::error(
                            RULE,
                            format!("AS number {asn} of cluster `{cluster}` is not a private AS number"),
                        )
                        .at(origin)
                        .note("private AS numbers are 64512–65534 and 4200000000–4294967294 (RFC 6996)"),
                    );
                }
                Some((asn, origin))
            }
            Some((Err(e), origin)) => {
                out.push(
                    Diagnostic::error(RULE, format!("BGPConfiguration.asNumber: {e}")).at(origin),
                );
                None
            }
            None => None,
        };
        let peer_as = values
            .get("PeerAS")
            .filter(|n| !matches!(n.value, Value::Null));
        if let Some(node) = peer_as
            && let Err(e) = parse_asn(node)
        {
            out.push(Diagnostic::error(RULE, format!("PeerAS: {e}")).at(node.origin.as_ref()));
        }
        let Some(peers) = values.get("BGPPeers").and_then(Node::as_map) else {
            continue;
        };
        let mut same_as_reported = false;
        let mut unreachable: std::collections::BTreeMap<Family, Vec<(&String, &Node)>> =
            Default::default();
        for (name, peer) in peers {
            if peer.as_map().is_none() {
                continue;
            }
            let own_as_node = peer
                .get("asNumber")
                .filter(|n| !matches!(n.value, Value::Null));
            if let Some(node) = own_as_node
                && let Err(e) = parse_asn(node)
            {
                out.push(
                    Diagnostic::error(RULE, format!("BGPPeers.{name}.asNumber: {e}"))
                        .at(node.origin.as_ref()),
                );
            }
            let effective = own_as_node.or(peer_as);
            if let (Some((asn, origin)), Some(node)) = (own, effective)
                && parse_asn(node) == Ok(asn)
                && !same_as_reported
            {
                same_as_reported = true;
                out.push(
                    Diagnostic::error(
                        RULE,
                        format!(
                            "AS number {asn} of cluster `{cluster}` is also the AS of its BGP peer `{name}` ({}): calico peers over eBGP, the cluster needs its own AS",
                            place(node.origin.as_ref())
                        ),
                    )
                    .at(origin),
                );
            }
            for family in Family::ALL {
                let Some(node) = peer
                    .get(family.key())
                    .filter(|n| !matches!(n.value, Value::Null))
                else {
                    continue;
                };
                let problem = match node.as_str().map(|s| s.parse::<IpAddr>()) {
                    Some(Ok(addr)) if Family::of_addr(&addr) == family => None,
                    Some(Ok(addr)) => Some(format!(
                        "{addr} is listed under {family} but is an {} address",
                        Family::of_addr(&addr)
                    )),
                    Some(Err(_)) => Some(format!(
                        "`{}` is not an IP address",
                        node.as_str().unwrap_or_default()
                    )),
                    None => Some(format!(
                        "expected an IP address, not {}",
                        node.a_type_name()
                    )),
                };
                if let Some(problem) = problem {
                    out.push(
                        Diagnostic::error(RULE, format!("BGP peer `{name}` ({family}): {problem}"))
                            .at(node.origin.as_ref()),
                    );
                    continue;
                }
                let families = network.families();
                if !families.is_empty() && !families.contains(&family) {
                    unreachable.entry(family).or_default().push((name, node));
                }
            }
        }
        // Peers of a family the cluster has no ranges of: one such peer is likely a mistake
        // in its address, at its line; many are one cause (the cluster lacks the family's
        // ranges), told once, at the cluster's network block.
        for (family, peers) in unreachable {
            if let [(name, node)] = peers.as_slice() {
                out.push(
                    Diagnostic::error(
                        RULE,
                        format!(
                            "BGP peer `{name}` ({family}): cluster `{cluster}` has no {family} pod or service range (network.podCIDRs / network.serviceCIDRs), so an {family} peer carries none of its routes"
                        ),
                    )
                    .at(node.origin.as_ref()),
                );
                continue;
            }
            let names: Vec<&str> = peers.iter().map(|(n, _)| n.as_str()).collect();
            let shown = if names.len() > 8 {
                format!("{}, … ({} more)", names[..8].join(", "), names.len() - 8)
            } else {
                names.join(", ")
            };
            let first = peers[0].1.origin.as_ref();
            let at = values
                .get("network")
                .and_then(|n| n.origin.as_ref())
                .or(first);
            let mut d = Diagnostic::error(
                RULE,
                format!(
                    "cluster `{cluster}` has no {family} pod or service range (network.podCIDRs / network.serviceCIDRs), but {} BGP peer(s) have an {family} address, which would carry none of its routes: {shown}",
                    names.len()
                ),
            )
            .at(at);
            if let Some(first) = first {
                d = d.note(format!(
                    "give the cluster its {family} ranges, or its peers no {family} address (the first is at {first})"
                ));
            }
            out.push(d);
        }
    }
    out
}

/// The `serviceClusterIPs` of the rendered BGPConfigurations: each lies inside a service
/// range of the cluster, else calico would announce addresses the cluster does not own.
fn advertised_service_ranges(
    release: &crate::render::ReleaseRender,
    network: &Network,
    cluster: &str,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if network.services.is_empty() {
        return out;
    }
    let configs = release
        .objects
        .iter()
        .filter(|o| o.id.kind == "BGPConfiguration" && o.id.group() == "crd.projectcalico.org");
    for object in configs {
        let Some(items) = object
            .body
            .lookup(["spec", "serviceClusterIPs"])
            .and_then(Node::as_seq)
        else {
            continue;
        };
        let written = release
            .values
            .lookup(["BGPConfiguration", "serviceClusterIPs"])
            .and_then(Node::as_seq);
        for (i, item) in items.iter().enumerate() {
            let Some(text) = item.get("cidr").and_then(Node::as_str) else {
                continue;
            };
            // The values line that wrote this entry, if the chart passed the list through.
            let origin = written
                .and_then(|w| w.get(i))
                .and_then(|w| w.get("cidr"))
                .filter(|w| w.as_str() == Some(text))
                .and_then(|w| w.origin.as_ref())
                .or_else(|| trace_value(&release.values, text))
                .or(object.origin.as_ref());
            let problem = match parse_cidr(text) {
                Err(e) => Some(format!(": {e}")),
                Ok(net) => match network.service(Family::of_net(&net)) {
                    Some(range) if range.net.contains(&net) => None,
                    Some(range) => Some(format!(", outside the cluster's {}", range.describe())),
                    None => Some(format!(
                        ", but the cluster has no {} service range",
                        Family::of_net(&net)
                    )),
                },
            };
            if let Some(problem) = problem {
                out.push(
                    Diagnostic::error(
                        RULE,
                        format!(
                            "BGPConfiguration `{}` of cluster `{cluster}` advertises serviceClusterIPs {text}{problem}",
                            object.id.name
                        ),
                    )
                    .at(origin),
                );
            }
        }
    }
    out
}

/// The AS numbers a cluster's calico releases give it, with where each is written.
pub fn cluster_asns(fleet: &Fleet, view: &ClusterView) -> Vec<(u64, Option<Origin>)> {
    releases_of_chart(fleet, view, super::BGP_CHART)
        .filter_map(|release| match cluster_asn(&release.values)? {
            (Ok(asn), origin) => Some((asn, origin.cloned())),
            _ => None,
        })
        .collect()
}

/// No two clusters share an AS number: reported at the later cluster's asNumber.
pub fn fleet_unique(facts: &[ClusterFacts]) -> Vec<Diagnostic> {
    let mut seen: Vec<(&str, u64, Option<&Origin>)> = Vec::new();
    let mut out = Vec::new();
    for f in facts {
        let cluster = f.cluster.as_str();
        for (asn, origin) in &f.asns {
            let (asn, origin) = (*asn, origin.as_ref());
            if let Some((first, _, first_origin)) = seen.iter().find(|(_, a, _)| *a == asn) {
                out.push(
                    Diagnostic::error(
                        RULE,
                        format!(
                            "AS number {asn} of cluster `{cluster}` is already the AS of cluster `{first}` ({})",
                            place(*first_origin)
                        ),
                    )
                    .at(origin)
                    .note("every cluster peers with the same routers, so each needs its own private AS"),
                );
            }
            seen.push((cluster, asn, origin));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(value: Value) -> Node {
        Node::new(value, None)
    }

    #[test]
    fn private_asn_ranges() {
        assert!(!is_private_asn(64511));
        assert!(is_private_asn(64512));
        assert!(is_private_asn(64601));
        assert!(is_private_asn(65534));
        assert!(!is_private_asn(65535));
        assert!(!is_private_asn(14907));
        assert!(!is_private_asn(4_199_999_999));
        assert!(is_private_asn(4_200_000_000));
        assert!(is_private_asn(4_294_967_294));
        assert!(!is_private_asn(4_294_967_295));
    }

    #[test]
    fn asn_parsing() {
        assert_eq!(parse_asn(&node(Value::Int(64601))), Ok(64601));
        assert_eq!(parse_asn(&node(Value::Str("64601".into()))), Ok(64601));
        assert!(parse_asn(&node(Value::Int(0))).is_err());
        assert!(parse_asn(&node(Value::Int(-1))).is_err());
        assert!(parse_asn(&node(Value::Int(4_294_967_296))).is_err());
        assert!(parse_asn(&node(Value::Str("AS64601".into()))).is_err());
        assert!(parse_asn(&node(Value::Bool(true))).is_err());
    }
}
