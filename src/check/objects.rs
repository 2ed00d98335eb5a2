//! Object schemas: Kubernetes 1.23 (local-strict) and CRD openAPIV3Schemas.

use super::ClusterView;
use crate::diagnostic::Diagnostic;

pub fn check(_view: &ClusterView) -> Vec<Diagnostic> {
    Vec::new()
}
