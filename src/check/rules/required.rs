//! `network/missing`: the per-cluster facts the network rules need are there. Without them
//! the rules would have nothing to check and stay silent, so a new cluster copied without
//! its allocations would pass. Where calico or CoreDNS is installed the cluster needs
//! `network.serviceCIDRs` and `network.podCIDRs`; where calico is, also its AS number
//! (`BGPConfiguration.asNumber`) and at least one IP pool (`IPPools`).
//!
//! Reported at the start of the file the key belongs in (or, when that file does not
//! exist, at the cluster's kcc.yaml entry), naming the key.

use super::releases_of_chart;
use crate::check::ClusterView;
use crate::diagnostic::Diagnostic;
use crate::network::Network;
use crate::render::Fleet;
use crate::source::{Origin, SourceFile};
use crate::yaml::Value;

const RULE: &str = "network/missing";

pub fn cluster(fleet: &Fleet, view: &ClusterView) -> Vec<Diagnostic> {
    let calico: Vec<_> = releases_of_chart(fleet, view, "calico").collect();
    let coredns = releases_of_chart(fleet, view, "coredns").next().is_some();
    if calico.is_empty() && !coredns {
        return Vec::new();
    }
    let Some(values) = view.values() else {
        return Vec::new();
    };
    let name = &view.cluster.name;
    let mut missing: Vec<(String, &str, &str)> = Vec::new();
    let (network, _) = Network::from_values(values);
    let cluster_file = format!("values/{name}/values.yaml");
    if network.services.is_empty() {
        missing.push((
            cluster_file.clone(),
            "network.serviceCIDRs",
            "the cluster's service range(s), e.g. `{ipv4: 10.64.72.0/24, ipv6: 2620:0:861:306::/116}`",
        ));
    }
    if network.pods.is_empty() {
        missing.push((
            cluster_file,
            "network.podCIDRs",
            "the cluster's pod range(s), e.g. `{ipv6: 2620:0:861:cabe::/64}`",
        ));
    }
    for release in calico {
        let file = crate::project::cluster_release_values(name, &release.release);
        let asn = release
            .values
            .lookup(["BGPConfiguration", "asNumber"])
            .filter(|n| !matches!(n.value, Value::Null));
        if asn.is_none() {
            missing.push((
                file.clone(),
                "BGPConfiguration.asNumber",
                "the cluster's own private AS number",
            ));
        }
        let pools = release
            .objects
            .iter()
            .any(|o| o.id.kind == "IPPool" && o.id.group() == "crd.projectcalico.org");
        if !pools {
            missing.push((
                file,
                "IPPools",
                "the cluster's calico IP pool(s), inside its pod ranges",
            ));
        }
    }
    missing
        .into_iter()
        .map(|(file, key, what)| {
            let path = fleet.root().join(&file);
            let origin = match crate::confine::read_inside(&path, fleet.root()) {
                Ok(text) => Origin::new(&SourceFile::new(file.as_str(), text), 1, 1),
                Err(_) => view.cluster.origin.clone(),
            };
            Diagnostic::error(
                RULE,
                format!("cluster `{name}` does not set `{key}`: {what}, in {file}"),
            )
            .at(Some(&origin))
            .note("the network rules need it to check the cluster's addresses")
        })
        .collect()
}
