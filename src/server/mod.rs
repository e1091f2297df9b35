//! The HTTP surface: routes, handlers, and the error mapping (SPEC §8).

pub mod error;
mod router;
mod status;

pub use router::build_router;
