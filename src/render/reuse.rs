//! Renders shared between the two sides of `kcc diff --base`. A template is a pure function
//! of its chart's files and the context it is given, so a release whose chart files,
//! context (values, release, chart and cluster facts) and private strings are the same on
//! both sides renders the same objects: the second side takes the first side's objects
//! instead of rendering again. A review that touches one cluster then renders that
//! cluster twice and every other cluster once.
//!
//! Whichever side renders a release first offers it; the other takes it if the inputs
//! match, and the offer is gone either way. Callers drop a cluster's leftovers
//! ([`Reuse::forget_cluster`]) when done with it, so only one cluster's renders are held.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::manifest::Object;

/// Everything a release's render reads, in a form compared byte for byte.
#[derive(PartialEq, Eq)]
pub struct RenderInput {
    /// sha256 of the chart's files (`Chart::digest`).
    pub chart: Vec<u8>,
    /// The template context as JSON (ints and floats stay distinct: `1` is not `1.0`).
    pub context: String,
    /// The private strings `secret/flow` checks the render against.
    pub private: Vec<String>,
}

impl RenderInput {
    /// The inputs of a render of the chart with `digest` in `context`; None if the context
    /// cannot be written as JSON (then the render is not shared).
    pub fn of(
        digest: &[u8],
        context: &minijinja::Value,
        private: &[crate::secrets::Secret],
    ) -> Option<RenderInput> {
        Some(RenderInput {
            chart: digest.to_vec(),
            context: serde_json::to_string(context).ok()?,
            // Which values are private: the values themselves are in the context.
            private: private
                .iter()
                .map(|s| format!("{}={}", s.key, s.mask))
                .collect(),
        })
    }
}

/// Offered renders by (cluster, release), with the inputs they were rendered from.
type Offers = HashMap<(String, String), (RenderInput, Vec<Object>)>;

/// Renders offered by one side of a diff to the other.
#[derive(Default)]
pub struct Reuse {
    offered: Mutex<Offers>,
}

/// What the other side left for a release.
pub enum Offer {
    /// Nothing: this side renders first, and offers its render.
    None,
    /// A render of other inputs: this side renders its own, and keeps it.
    Differs,
    /// The objects of the same inputs.
    Same(Vec<Object>),
}

impl Reuse {
    /// What the other side offered for this release, given this side's `input`; the
    /// offer is removed.
    pub fn take(&self, cluster: &str, release: &str, input: &RenderInput) -> Offer {
        let key = (cluster.to_string(), release.to_string());
        match self.lock().remove(&key) {
            None => Offer::None,
            Some((offered, objects)) if offered == *input => Offer::Same(objects),
            Some(_) => Offer::Differs,
        }
    }

    /// Offers a render to the other side.
    pub fn offer(&self, cluster: &str, release: &str, input: RenderInput, objects: &[Object]) {
        self.lock().insert(
            (cluster.to_string(), release.to_string()),
            (input, objects.to_vec()),
        );
    }

    /// Drops what one side offered for `cluster` and the other never took.
    pub fn forget_cluster(&self, cluster: &str) {
        self.lock().retain(|(c, _), _| c != cluster);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Offers> {
        self.offered.lock().expect("render reuse poisoned")
    }
}
