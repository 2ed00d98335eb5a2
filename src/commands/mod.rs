//! The subcommands, as library functions: each takes parsed options and returns what to
//! print, or a [`Failure`](crate::Failure) that the binary maps to an exit code.

pub mod affected;
pub mod check;
pub mod complete;
pub mod diff;
mod explain;
mod list;
pub mod man;
mod render;
mod update;
mod validate;
mod validate_report;

pub use explain::explain;
pub use list::list;
pub use render::{Options as RenderOptions, render};
pub use update::update;
pub use validate::{Options as ValidateOptions, validate_manifests};
