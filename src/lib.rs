//! kcc, the Kubernetes cluster compiler: hierarchical values + minijinja charts →
//! validated, canonical manifests for a whole fleet.
//!
//! The pipeline runs one way: [`project`] (kcc.yaml) → [`values`] (layers, merge) →
//! [`chart`] (render) → [`manifest`] (objects, canonical YAML). [`render::Fleet`] ties the
//! stages together; [`commands`] are what the CLI calls.

pub mod chart;
pub mod check;
pub mod commands;
pub mod confine;
pub mod diagnostic;
pub mod diff;
pub mod git;
pub mod golden;
pub mod helmfile;
pub mod inputs;
pub mod interrupt;
pub mod lock;
pub mod manifest;
pub mod memory;
pub mod network;
pub mod output;
pub mod owned_dir;
pub mod parse_cache;
pub mod policy;
pub mod project;
pub mod render;
pub mod report;
pub mod schema;
pub mod schema_errors;
pub mod secrets;
pub mod source;
pub mod suggest;
pub mod template_lines;
pub mod tree;
pub mod values;
pub mod yaml;

pub use diagnostic::{Diagnostic, Failure, Severity};
