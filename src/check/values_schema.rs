//! Merged values against each chart's values.schema.json.

use super::ClusterView;
use crate::diagnostic::Diagnostic;
use crate::render::Fleet;

pub fn check(_fleet: &Fleet, _view: &ClusterView) -> Vec<Diagnostic> {
    Vec::new()
}
