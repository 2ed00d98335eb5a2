//! The rules of `kcc check`, each with a stable id.

use super::ClusterView;
use crate::diagnostic::Diagnostic;
use crate::render::Fleet;

/// Rules about one cluster.
pub fn cluster_rules(_fleet: &Fleet, _view: &ClusterView) -> Vec<Diagnostic> {
    Vec::new()
}

/// Rules across clusters.
pub fn fleet_rules(_fleet: &Fleet, _views: &[ClusterView]) -> Vec<Diagnostic> {
    Vec::new()
}
