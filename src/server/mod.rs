//! The HTTP surface: routes, handlers, and the error mapping (SPEC §8).

mod body;
mod catalog_api;
pub mod error;
mod router;
mod routes;
mod status;

pub use router::build_router;
