//! Renders shared between the two sides of `kcc diff --base`. A template is a pure function
//! of its chart's files and the context it is given, so a release whose chart files, value
//! layers and release and cluster facts (what its context is made of) are the same on both
//! sides renders the same objects: the second side takes the first side's objects
//! instead of rendering again. A review that touches one cluster then renders that
//! cluster twice and every other cluster once.
//!
//! Whichever side renders a release first offers it; the other takes it if the inputs
//! match, and the offer is gone either way. Callers drop a cluster's leftovers
//! ([`Reuse::forget_cluster`]) when done with it, so only one cluster's renders are held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::manifest::Object;
use crate::values::{Layer, ReadTree};

/// Everything a release's render reads, as one sha256: equal inputs, equal objects.
#[derive(PartialEq, Eq)]
pub struct RenderInput(Vec<u8>);

impl RenderInput {
    /// The inputs of a render: the chart (`Chart::digest`: its files, Chart.yaml and
    /// defaults), the value layers (role, privacy and text: the values merge from them),
    /// and the facts the template context holds besides values and chart (release and
    /// cluster). Hashing the layers' texts, each hashed once per file, is much cheaper
    /// than writing out the merged values of every release.
    pub fn of(chart: &[u8], layers: &[Arc<Layer>], facts: &[&str]) -> RenderInput {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        let mut part = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        part(chart);
        part(&(layers.len() as u64).to_le_bytes());
        for layer in layers {
            part(layer.role.as_bytes());
            part(&[u8::from(layer.file.private)]);
            part(layer.digest());
        }
        for fact in facts {
            part(fact.as_bytes());
        }
        RenderInput(hasher.finalize().to_vec())
    }
}

/// Offered renders by (cluster, release), with the inputs they were rendered from.
type Offers = HashMap<(String, String), (RenderInput, Vec<Object>, ReadTree)>;

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
    /// The objects of the same inputs, and what their render read.
    Same(Vec<Object>, ReadTree),
}

impl Reuse {
    /// What the other side offered for this release, given this side's `input`; the
    /// offer is removed.
    pub fn take(&self, cluster: &str, release: &str, input: &RenderInput) -> Offer {
        let key = (cluster.to_string(), release.to_string());
        match self.lock().remove(&key) {
            None => Offer::None,
            Some((offered, objects, reads)) if offered == *input => Offer::Same(objects, reads),
            Some(_) => Offer::Differs,
        }
    }

    /// Offers a render to the other side.
    pub fn offer(
        &self,
        cluster: &str,
        release: &str,
        input: RenderInput,
        objects: &[Object],
        reads: &ReadTree,
    ) {
        self.lock().insert(
            (cluster.to_string(), release.to_string()),
            (input, objects.to_vec(), reads.clone()),
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
