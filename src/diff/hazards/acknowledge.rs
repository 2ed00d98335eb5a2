//! Accepting a hazard: a reviewer who knows what an apply will break says so in the change
//! itself, one commit-message trailer per hazard —
//! `Kcc-Accept-Hazard: hazard/immutable-field eqiad Deployment kube-system/coredns`
//! (the line each hazard prints; `*` for the cluster accepts it in every cluster). The
//! trailer is part of what is reviewed and lives only as long as the change: nothing
//! accepts a hazard by default, and no later change inherits the acceptance.

use crate::diff::FleetDiff;

/// The commit-message trailer that accepts a hazard.
pub const ACKNOWLEDGE_TRAILER: &str = "Kcc-Accept-Hazard";

/// One `Kcc-Accept-Hazard:` trailer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledgement {
    /// The commit whose message holds it (abbreviated).
    pub commit: String,
    pub rule: String,
    /// A cluster, or `*` for all.
    pub cluster: String,
    /// The object as kcc writes it: `Kind name` or `Kind namespace/name`.
    pub object: String,
}

impl Acknowledgement {
    /// Reads a trailer's value: `RULE CLUSTER KIND [NAMESPACE/]NAME`.
    pub fn parse(commit: &str, value: &str) -> Option<Acknowledgement> {
        let mut words = value.split_whitespace();
        let rule = words.next()?.to_string();
        let cluster = words.next()?.to_string();
        let object = words.collect::<Vec<_>>().join(" ");
        (rule.starts_with("hazard/") && !object.is_empty()).then(|| Acknowledgement {
            commit: commit.to_string(),
            rule,
            cluster,
            object,
        })
    }
}

impl FleetDiff {
    /// Marks the hazards that `acks` accept.
    pub fn acknowledge(&mut self, acks: &[Acknowledgement]) {
        for h in &mut self.hazards {
            let object = h.object.to_string();
            h.acknowledged_by = acks
                .iter()
                .find(|a| {
                    a.rule == h.rule
                        && (a.cluster == "*" || a.cluster == h.cluster)
                        && a.object == object
                })
                .map(|a| a.commit.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailer_names_rule_cluster_and_object() {
        let a = Acknowledgement::parse(
            "abc123",
            "hazard/immutable-field  eqiad Deployment kube-system/coredns",
        )
        .unwrap();
        assert_eq!(
            (a.rule.as_str(), a.cluster.as_str(), a.object.as_str()),
            (
                "hazard/immutable-field",
                "eqiad",
                "Deployment kube-system/coredns"
            )
        );
        assert!(Acknowledgement::parse("c", "yes please").is_none());
        assert!(Acknowledgement::parse("c", "hazard/rename eqiad").is_none());
    }
}
