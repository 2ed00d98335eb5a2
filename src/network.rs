//! A cluster's network allocations (service and pod CIDRs), read from its values.
//!
//! `values/<cluster>/values.yaml` holds them (no chart reads them):
//!
//! ```yaml
//! kubernetesMasters:
//!   cidrs: ["10.64.0.117/32", "2620:0:861:101:10:64:0:117/128"]
//! network:
//!   serviceCIDRs: {ipv4: "10.64.72.0/24", ipv6: "2620:0:861:306::/116"}
//!   podCIDRs: {ipv4: "10.67.128.0/18", ipv6: "2620:0:861:cabe::/64"}
//! ```
//!
//! Every range keeps the origin of the values line that set it, so a rule can point there.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::diagnostic::Diagnostic;
use crate::source::Origin;
use crate::yaml::{Node, Value};

/// An IP address family, spelt as the values spell it (`ipv4`, `ipv6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    pub fn of_net(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    pub fn of_addr(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The values key for this family.
    pub fn key(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// What a range is for, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Services,
    Pods,
    ControlPlane,
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Purpose::Services => "service range",
            Purpose::Pods => "pod range",
            Purpose::ControlPlane => "control-plane CIDR",
        })
    }
}

/// One allocated range and where it was written.
#[derive(Clone, Debug)]
pub struct Range {
    pub net: IpNet,
    pub purpose: Purpose,
    pub origin: Option<Origin>,
}

impl Range {
    pub fn family(&self) -> Family {
        Family::of_net(&self.net)
    }

    /// `service range 10.64.72.0/24 (values/eqiad/values.yaml:14:5)`.
    pub fn describe(&self) -> String {
        match &self.origin {
            Some(o) => format!("{} {} ({o})", self.purpose, self.net),
            None => format!("{} {}", self.purpose, self.net),
        }
    }
}

/// A cluster's allocations. Empty when its values have no `network` block.
#[derive(Clone, Debug, Default)]
pub struct Network {
    pub services: Vec<Range>,
    pub pods: Vec<Range>,
    /// `kubernetesMasters.cidrs`: the control-plane hosts.
    pub masters: Vec<Range>,
}

/// The top-level values key holding a cluster's ranges.
pub const VALUES_KEY: &str = "network";

impl Network {
    /// Reads the allocations from a cluster's merged values; malformed entries are left
    /// out and reported as `network/cidr`.
    pub fn from_values(values: &Node) -> (Network, Vec<Diagnostic>) {
        let mut network = Network::default();
        let mut problems = Vec::new();
        for (key, purpose) in [
            ("serviceCIDRs", Purpose::Services),
            ("podCIDRs", Purpose::Pods),
        ] {
            let Some(block) = values.lookup([VALUES_KEY, key]) else {
                continue;
            };
            let Some(map) = block.as_map() else {
                if !matches!(block.value, Value::Null) {
                    problems.push(
                        Diagnostic::error(
                            "network/cidr",
                            format!("network.{key} must be a map of ipv4/ipv6 CIDRs"),
                        )
                        .at(block.origin.as_ref()),
                    );
                }
                continue;
            };
            for (name, node) in map {
                let want = match name.as_str() {
                    "ipv4" => Family::V4,
                    "ipv6" => Family::V6,
                    _ => {
                        problems.push(
                            Diagnostic::error(
                                "network/cidr",
                                format!("network.{key}.{name}: expected `ipv4` or `ipv6`"),
                            )
                            .at(node.origin.as_ref()),
                        );
                        continue;
                    }
                };
                if matches!(node.value, Value::Null) {
                    continue;
                }
                let parsed = scalar_text(node)
                    .ok_or_else(|| format!("expected a CIDR, not {}", node.a_type_name()))
                    .and_then(|t| parse_cidr(&t));
                match parsed {
                    Ok(net) if Family::of_net(&net) == want => {
                        let range = Range {
                            net,
                            purpose,
                            origin: node.origin.clone(),
                        };
                        match purpose {
                            Purpose::Services => network.services.push(range),
                            _ => network.pods.push(range),
                        }
                    }
                    Ok(net) => problems.push(
                        Diagnostic::error(
                            "network/cidr",
                            format!("network.{key}.{name}: {net} is not an {want} CIDR"),
                        )
                        .at(node.origin.as_ref()),
                    ),
                    Err(e) => problems.push(
                        Diagnostic::error("network/cidr", format!("network.{key}.{name}: {e}"))
                            .at(node.origin.as_ref()),
                    ),
                }
            }
        }
        let masters = values
            .lookup(["kubernetesMasters", "cidrs"])
            .filter(|n| !matches!(n.value, Value::Null));
        if let Some(node) = masters.filter(|n| n.as_seq().is_none()) {
            problems.push(
                Diagnostic::error(
                    "network/cidr",
                    format!(
                        "kubernetesMasters.cidrs must be a list of CIDRs, not {}",
                        node.a_type_name()
                    ),
                )
                .at(node.origin.as_ref()),
            );
        }
        if let Some(cidrs) = masters.and_then(Node::as_seq) {
            for node in cidrs {
                let parsed = scalar_text(node)
                    .ok_or_else(|| format!("expected a CIDR, not {}", node.a_type_name()))
                    .and_then(|t| parse_cidr(&t));
                match parsed {
                    Ok(net) => network.masters.push(Range {
                        net,
                        purpose: Purpose::ControlPlane,
                        origin: node.origin.clone(),
                    }),
                    Err(e) => problems.push(
                        Diagnostic::error("network/cidr", format!("kubernetesMasters.cidrs: {e}"))
                            .at(node.origin.as_ref()),
                    ),
                }
            }
        }
        (network, problems)
    }

    /// The address families the cluster has pod or service ranges of.
    pub fn families(&self) -> Vec<Family> {
        Family::ALL
            .into_iter()
            .filter(|f| self.service(*f).is_some() || self.pod(*f).is_some())
            .collect()
    }

    pub fn service(&self, family: Family) -> Option<&Range> {
        self.services.iter().find(|r| r.family() == family)
    }

    pub fn pod(&self, family: Family) -> Option<&Range> {
        self.pods.iter().find(|r| r.family() == family)
    }

    /// The service and pod ranges: what no other cluster may overlap.
    pub fn allocations(&self) -> impl Iterator<Item = &Range> {
        self.pods.iter().chain(&self.services)
    }
}

/// A scalar's text (strings as written, integers in decimal).
pub fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// A CIDR as a network: `addr/len` with no host bits set.
pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let net: IpNet = text.trim().parse().map_err(|_| {
        if text.parse::<IpAddr>().is_ok() {
            format!("`{text}` is an address, not a CIDR (add its prefix length, e.g. /32)")
        } else {
            format!("`{text}` is not a valid CIDR")
        }
    })?;
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
    {
        // ::ffff:a.b.c.d is how an IPv6 socket sees an IPv4 peer, not an IPv6 range.
        return Err(format!(
            "`{text}` is an IPv4-mapped IPv6 range (::ffff:{v4}): use the IPv4 range itself"
        ));
    }
    if net.trunc() != net {
        return Err(format!(
            "`{text}` has host bits set: the network is {}",
            net.trunc()
        ));
    }
    Ok(net)
}

/// True if two networks share an address (never across families).
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Why `addr` cannot be a service's cluster IP in `range`, if it cannot: outside the range,
/// its network address, its first address (the `kubernetes` API service) or, for IPv4,
/// its broadcast address.
pub fn service_ip_problem(range: &IpNet, addr: &IpAddr) -> Option<String> {
    if !range.contains(addr) {
        return Some(format!("is outside the service range {range}"));
    }
    if *addr == range.network() {
        return Some(format!(
            "is the network address of the service range {range}"
        ));
    }
    if Some(*addr) == nth_host(range, 1) {
        return Some(format!(
            "is the first address of the service range {range}, which Kubernetes gives to the `kubernetes` API service"
        ));
    }
    if matches!(range, IpNet::V4(_)) && *addr == range.broadcast() {
        return Some(format!(
            "is the broadcast address of the service range {range}"
        ));
    }
    None
}

/// The `n`th address of a network (0 is the network address), if it has one.
pub fn nth_host(net: &IpNet, n: u128) -> Option<IpAddr> {
    match net {
        IpNet::V4(v4) => {
            let base = u32::from(v4.network()) as u128;
            let addr = u32::try_from(base.checked_add(n)?).ok()?;
            let addr = std::net::Ipv4Addr::from(addr);
            v4.contains(&addr).then_some(IpAddr::V4(addr))
        }
        IpNet::V6(v6) => {
            let addr = std::net::Ipv6Addr::from(u128::from(v6.network()).checked_add(n)?);
            v6.contains(&addr).then_some(IpAddr::V6(addr))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::yaml::load_one;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn overlap_is_containment_either_way_and_never_across_families() {
        assert!(overlaps(&net("10.0.0.0/8"), &net("10.1.2.0/24")));
        assert!(overlaps(&net("10.1.2.0/24"), &net("10.0.0.0/8")));
        assert!(overlaps(&net("10.1.2.0/24"), &net("10.1.2.0/24")));
        assert!(!overlaps(&net("10.1.2.0/24"), &net("10.1.3.0/24")));
        assert!(!overlaps(&net("10.1.2.0/25"), &net("10.1.2.128/25")));
        assert!(overlaps(
            &net("2620:0:860:306::/116"),
            &net("2620:0:860:306::800/117")
        ));
        assert!(!overlaps(
            &net("2620:0:860:306::/116"),
            &net("2620:0:860:306::1000/116")
        ));
        assert!(!overlaps(&net("0.0.0.0/0"), &net("::/0")));
    }

    #[test]
    fn cidrs_must_be_networks() {
        assert_eq!(parse_cidr("10.64.72.0/24"), Ok(net("10.64.72.0/24")));
        assert!(
            parse_cidr("10.64.72.5/24")
                .unwrap_err()
                .contains("10.64.72.0/24")
        );
        assert!(parse_cidr("10.64.72.0").unwrap_err().contains("not a CIDR"));
        assert!(parse_cidr("10.64.72.0/33").is_err());
        assert!(parse_cidr("banana").is_err());
        assert!(parse_cidr("2620:0:860:306::1000/116").is_ok());
    }

    #[test]
    fn service_ip_rules() {
        let range = net("10.64.72.0/24");
        assert_eq!(service_ip_problem(&range, &addr("10.64.72.3")), None);
        assert!(
            service_ip_problem(&range, &addr("10.64.72.1"))
                .unwrap()
                .contains("first address")
        );
        assert!(
            service_ip_problem(&range, &addr("10.64.72.0"))
                .unwrap()
                .contains("network address")
        );
        assert!(
            service_ip_problem(&range, &addr("10.64.72.255"))
                .unwrap()
                .contains("broadcast")
        );
        assert!(
            service_ip_problem(&range, &addr("10.64.73.3"))
                .unwrap()
                .contains("outside")
        );
        let v6 = net("2620:0:860:306::1000/116");
        assert_eq!(service_ip_problem(&v6, &addr("2620:0:860:306::1fff")), None);
        assert!(
            service_ip_problem(&v6, &addr("2620:0:860:306::1001"))
                .unwrap()
                .contains("first address")
        );
    }

    #[test]
    fn nth_host_stays_in_the_network() {
        assert_eq!(nth_host(&net("10.0.0.0/30"), 3), Some(addr("10.0.0.3")));
        assert_eq!(nth_host(&net("10.0.0.0/30"), 4), None);
        assert_eq!(nth_host(&net("255.255.255.255/32"), 1), None);
        assert_eq!(nth_host(&net("::/127"), 1), Some(addr("::1")));
    }

    #[test]
    fn reads_allocations_with_origins() {
        let file = SourceFile::new(
            "values/x/values.yaml",
            "kubernetesMasters:\n  cidrs:\n    - 10.0.0.1/32\n    - nope\nnetwork:\n  serviceCIDRs:\n    ipv4: 10.1.0.0/24\n    ipv6: 10.2.0.0/24\n  podCIDRs:\n    ipv4: \"10.3.0.0/16\"\n",
        );
        let values = load_one(&file).unwrap();
        let (network, problems) = Network::from_values(&values);
        assert_eq!(network.masters.len(), 1);
        assert_eq!(network.service(Family::V4).unwrap().net, net("10.1.0.0/24"));
        assert!(network.service(Family::V6).is_none());
        let pod = network.pod(Family::V4).unwrap();
        assert_eq!(
            pod.origin.as_ref().unwrap().to_string(),
            "values/x/values.yaml:10:5"
        );
        let rendered: Vec<String> = problems.iter().map(|d| d.to_string()).collect();
        assert_eq!(rendered.len(), 2, "{rendered:?}");
        assert!(rendered[0].starts_with("values/x/values.yaml:8:5: error[network/cidr]"));
        assert!(rendered[1].starts_with("values/x/values.yaml:4:7: error[network/cidr]"));
    }
}
