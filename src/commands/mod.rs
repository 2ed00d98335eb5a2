//! The subcommands, as library functions: each takes parsed options and returns what to
//! print, or a [`Failure`](crate::Failure) that the binary maps to an exit code.

mod explain;
mod list;
mod render;

pub use explain::explain;
pub use list::list;
pub use render::render;
