//! Network rules: the allocations themselves (`network/cidr`), the CoreDNS service address
//! (`network/coredns-ip`), calico's IP pools (`network/ippool`) and ranges shared between
//! clusters (`network/fleet-overlap`).

use std::net::IpAddr;

use super::{place, releases_of_chart, text, trace};
use crate::check::{ClusterFacts, ClusterView};
use crate::diagnostic::Diagnostic;
use crate::network::{Family, Network, Range, nth_host, overlaps, parse_cidr, service_ip_problem};
use crate::render::Fleet;

/// The per-cluster network rules.
pub fn cluster(fleet: &Fleet, view: &ClusterView) -> Vec<Diagnostic> {
    let Some(values) = view.values() else {
        return Vec::new();
    };
    let (network, mut d) = Network::from_values(values);
    d.extend(coredns_ip(fleet, view, &network));
    d.extend(ippools(view, &network));
    d
}

/// `network/coredns-ip`: the CoreDNS Service's clusterIP is a usable address of the
/// cluster's service range of its family.
fn coredns_ip(fleet: &Fleet, view: &ClusterView, network: &Network) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if network.services.is_empty() {
        return out;
    }
    let cluster = &view.cluster.name;
    for release in releases_of_chart(fleet, view, "coredns") {
        for object in release.objects.iter().filter(|o| o.id.kind == "Service") {
            let Some(ip) = text(object, &["spec", "clusterIP"]) else {
                continue;
            };
            if ip.is_empty() || ip == "None" {
                continue;
            }
            let origin =
                trace(&release.values, &["service", "clusterIP"], ip).or(object.origin.as_ref());
            let addr: IpAddr = match ip.parse() {
                Ok(a) => a,
                Err(_) => {
                    out.push(
                        Diagnostic::error(
                            "network/coredns-ip",
                            format!("CoreDNS service clusterIP `{ip}` is not an IP address"),
                        )
                        .at(origin),
                    );
                    continue;
                }
            };
            let family = Family::of_addr(&addr);
            let Some(range) = network.service(family) else {
                out.push(
                    Diagnostic::error(
                        "network/coredns-ip",
                        format!(
                            "CoreDNS service clusterIP {ip} is {family}, but cluster `{cluster}` has no {family} service range (network.serviceCIDRs.{family})"
                        ),
                    )
                    .at(origin),
                );
                continue;
            };
            if let Some(problem) = service_ip_problem(&range.net, &addr) {
                let mut d = Diagnostic::error(
                    "network/coredns-ip",
                    format!("CoreDNS service clusterIP {ip} of cluster `{cluster}` {problem}"),
                )
                .at(origin)
                .note(format!("the cluster's {}", range.describe()));
                if let Some(third) = nth_host(&range.net, 3) {
                    d = d.note(format!(
                        "the fleet's convention is the range's third address: {third}"
                    ));
                }
                out.push(d);
            }
        }
    }
    out
}

/// `network/ippool`: every calico IPPool's CIDR is a network inside the pod range of its
/// family, and overlaps no other pool, the service ranges or the control-plane CIDRs.
fn ippools(view: &ClusterView, network: &Network) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let cluster = &view.cluster.name;
    let mut seen: Vec<(ipnet::IpNet, String, Option<crate::source::Origin>)> = Vec::new();
    for (release, object) in view.objects() {
        if object.id.kind != "IPPool" || object.id.group() != "crd.projectcalico.org" {
            continue;
        }
        let name = &object.id.name;
        let Some(cidr) = text(object, &["spec", "cidr"]) else {
            continue; // schema/crd reports a missing cidr
        };
        let origin =
            trace(&release.values, &["IPPools", name, "cidr"], cidr).or(object.origin.as_ref());
        let error = |message: String| {
            Diagnostic::error(
                "network/ippool",
                format!("IPPool `{name}` of cluster `{cluster}`: {message}"),
            )
            .at(origin)
        };
        let pool = match parse_cidr(cidr) {
            Ok(p) => p,
            Err(e) => {
                out.push(error(e));
                continue;
            }
        };
        let family = Family::of_net(&pool);
        if !network.pods.is_empty() {
            match network.pod(family) {
                None => out.push(error(format!(
                    "{pool} is {family}, but the cluster has no {family} pod range (network.podCIDRs.{family})"
                ))),
                Some(range) if !range.net.contains(&pool) => out.push(
                    error(format!("{pool} is outside the cluster's {family} pod range {}", range.net))
                        .note(format!("the cluster's {}", range.describe())),
                ),
                Some(_) => {}
            }
        }
        for (other, other_name, other_origin) in &seen {
            if overlaps(&pool, other) {
                out.push(error(format!(
                    "{pool} overlaps IPPool `{other_name}` ({other}, {})",
                    place(other_origin.as_ref())
                )));
            }
        }
        for range in network.services.iter().chain(&network.masters) {
            if overlaps(&pool, &range.net) {
                out.push(error(format!("{pool} overlaps the {}", range.describe())));
            }
        }
        seen.push((pool, name.clone(), origin.cloned()));
    }
    out
}

/// `network/fleet-overlap`: no two clusters' pod or service ranges overlap. Reported at
/// the later cluster's range, naming the earlier one.
pub fn fleet_overlap(facts: &[ClusterFacts]) -> Vec<Diagnostic> {
    let networks: Vec<(&str, &Network)> = facts
        .iter()
        .map(|f| (f.cluster.as_str(), &f.network))
        .collect();
    let mut out = Vec::new();
    for (j, i, b, a) in overlapping(&networks) {
        let (second, first) = (networks[j].0, networks[i].0);
        out.push(
            Diagnostic::error(
                "network/fleet-overlap",
                format!(
                    "the {} {} of cluster `{second}` overlaps the {} {} of cluster `{first}` ({})",
                    b.purpose,
                    b.net,
                    a.purpose,
                    a.net,
                    place(a.origin.as_ref())
                ),
            )
            .at(b.origin.as_ref()),
        );
    }
    out
}

/// Every pair of allocations of two clusters that overlap, as (later cluster, earlier
/// cluster, its allocation, the earlier's allocation), in the order of comparing each
/// cluster with every earlier one. Found by one sweep over the networks sorted by address,
/// not by comparing every pair (a fleet of 1,000 clusters has 18 million pairs): CIDRs are
/// nested or disjoint, so the networks still open when one starts are exactly those
/// containing it.
fn overlapping<'a>(networks: &[(&str, &'a Network)]) -> Vec<(usize, usize, &'a Range, &'a Range)> {
    let key = |net: &ipnet::IpNet| match net {
        ipnet::IpNet::V4(n) => (0u8, u128::from(u32::from(n.network())), n.prefix_len()),
        ipnet::IpNet::V6(n) => (1u8, u128::from(n.network()), n.prefix_len()),
    };
    let mut all: Vec<(usize, usize, &Range)> = networks
        .iter()
        .enumerate()
        .flat_map(|(c, (_, n))| n.allocations().enumerate().map(move |(k, r)| (c, k, r)))
        .collect();
    all.sort_by_key(|(c, k, r)| (key(&r.net), *c, *k));
    let mut open: Vec<(usize, usize, &Range)> = Vec::new();
    let mut found = Vec::new();
    for item in all {
        while open
            .last()
            .is_some_and(|top| !overlaps(&top.2.net, &item.2.net))
        {
            open.pop();
        }
        for other in &open {
            let (later, earlier) = match other.0.cmp(&item.0) {
                std::cmp::Ordering::Less => (item, *other),
                std::cmp::Ordering::Greater => (*other, item),
                std::cmp::Ordering::Equal => continue,
            };
            found.push(((later.0, earlier.0, later.1, earlier.1), later.2, earlier.2));
        }
        open.push(item);
    }
    found.sort_by_key(|(order, _, _)| *order);
    found
        .into_iter()
        .map(|((j, i, _, _), b, a)| (j, i, b, a))
        .collect()
}

#[cfg(test)]
mod sweep_tests {
    use super::*;
    use crate::network::Purpose;

    /// The sweep finds exactly the overlaps that comparing every pair finds, in order.
    #[test]
    fn the_sweep_finds_what_every_pair_finds() {
        let nets = [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.0/24",
            "10.2.0.0/16",
            "10.1.0.0/16",
            "192.168.0.0/24",
            "fd00::/8",
            "fd00:1::/32",
            "10.1.2.128/25",
            "192.168.1.0/24",
        ];
        // Deterministic pseudo-random fleets of 1–3 ranges per cluster.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for _ in 0..200 {
            let fleet: Vec<Network> = (0..5)
                .map(|_| {
                    let mut n = Network::default();
                    for _ in 0..1 + next() % 3 {
                        n.pods.push(Range {
                            net: nets[next() % nets.len()].parse().unwrap(),
                            purpose: Purpose::Pods,
                            origin: None,
                        });
                    }
                    n
                })
                .collect();
            let networks: Vec<(&str, &Network)> = fleet.iter().map(|n| ("c", n)).collect();
            let mut brute = Vec::new();
            for (j, (_, later)) in networks.iter().enumerate() {
                for (i, (_, earlier)) in networks[..j].iter().enumerate() {
                    for b in later.allocations() {
                        for a in earlier.allocations() {
                            if overlaps(&a.net, &b.net) {
                                brute.push((j, i, b.net, a.net));
                            }
                        }
                    }
                }
            }
            let swept: Vec<_> = overlapping(&networks)
                .into_iter()
                .map(|(j, i, b, a)| (j, i, b.net, a.net))
                .collect();
            assert_eq!(swept, brute);
        }
    }
}
