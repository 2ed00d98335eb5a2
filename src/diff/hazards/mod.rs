//! Apply hazards: what applying the new render over what the old one deployed would break,
//! which a review of the objects alone does not show. kcc has both renders, so it can tell:
//! a field the API server refuses to update (`hazard/immutable-field`), a removal that
//! deletes more than itself (`hazard/cascade-delete`), an object of a kind that holds state
//! renamed (`hazard/rename`). Each names its cluster and object, and says what to do.

mod acknowledge;
mod cascade;
mod immutable;

use serde::Serialize;

use super::{Files, FleetDiff};
use crate::manifest::Identity;

pub use acknowledge::{ACKNOWLEDGE_TRAILER, Acknowledgement};
pub(super) use cascade::deletes;
pub(super) use immutable::immutable;

pub const IMMUTABLE_FIELD: &str = "hazard/immutable-field";
pub const CASCADE_DELETE: &str = "hazard/cascade-delete";
pub const RENAME: &str = "hazard/rename";

/// A hazard found in one object, before it is placed in its cluster and file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    /// The field it is about, as a path (`spec.selector`).
    pub field: Option<String>,
    pub message: String,
}

/// What removing an object deletes with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deletes {
    /// A CustomResourceDefinition: every object of its group and kind.
    Kind { group: String, kind: String },
    /// A Namespace: every object in it.
    Namespace(String),
}

/// One hazard, where it is.
#[derive(Clone, Debug, Serialize)]
pub struct Hazard {
    pub rule: &'static str,
    pub cluster: String,
    #[serde(serialize_with = "super::serialize_identity")]
    pub object: Identity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    /// The golden file the object is in (the old one, for a removal).
    pub file: String,
    /// The line of the new file the change is on (None for a removal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The line that accepts it: `Kcc-Accept-Hazard: <this>` in a commit message.
    pub acknowledgement: String,
    /// The commit whose message accepted it, if one did.
    #[serde(rename = "acknowledgedBy", skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
}

impl Hazard {
    fn new(cluster: &str, file: &str, object: &Identity, line: Option<usize>, f: &Finding) -> Self {
        Hazard {
            rule: f.rule,
            cluster: cluster.to_string(),
            object: object.clone(),
            field: f.field.clone(),
            message: f.message.clone(),
            file: file.to_string(),
            line,
            acknowledgement: format!("{} {cluster} {object}", f.rule),
            acknowledged_by: None,
        }
    }

    /// One line: `hazard/immutable-field in eqiad: Deployment kube-system/coredns
    /// spec.selector: ...`.
    pub fn describe(&self) -> String {
        let field = self
            .field
            .as_ref()
            .map(|f| format!(" {f}"))
            .unwrap_or_default();
        let ack = match &self.acknowledged_by {
            Some(commit) => format!(" (accepted by {ACKNOWLEDGE_TRAILER} in {commit})"),
            None => String::new(),
        };
        format!(
            "{} in {}: {}{field}: {}{ack}",
            self.rule, self.cluster, self.object, self.message
        )
    }

    /// Sorted by cluster, file, object and rule.
    pub(super) fn order(&self) -> (String, String, String, &'static str, Option<String>) {
        (
            self.cluster.clone(),
            self.file.clone(),
            self.object.to_string(),
            self.rule,
            self.field.clone(),
        )
    }
}

/// Renaming an object of a kind that holds state loses the state.
pub(super) fn rename(old: &Identity, new: &Identity) -> Vec<Finding> {
    let what = match new.kind.as_str() {
        "PersistentVolumeClaim" => {
            "the claim under the new name is a new, empty volume, and the old claim is deleted with its data (as its reclaim policy says)"
        }
        "StatefulSet" => {
            "a new StatefulSet is created with new claims from its volumeClaimTemplates (named after the set): its pods start with empty volumes, and the old set is deleted, its claims left behind"
        }
        _ => return Vec::new(),
    };
    vec![Finding {
        rule: RENAME,
        field: None,
        message: format!("renamed from {old}: {what}"),
    }]
}

/// Every hazard of a diff (of one cluster or more) whose old side is `old`.
pub(super) fn find(d: &FleetDiff, old: &Files) -> Vec<Hazard> {
    let mut out = Vec::new();
    for file in &d.files {
        let Some(cluster) = &file.cluster else {
            continue;
        };
        for o in &file.objects {
            for f in &o.hazards {
                out.push(Hazard::new(
                    cluster,
                    &file.path,
                    &o.object,
                    o.changed_line,
                    f,
                ));
            }
        }
    }
    out.extend(cascade::find(d, old));
    out.sort_by(|a, b| a.order().cmp(&b.order()));
    out
}
