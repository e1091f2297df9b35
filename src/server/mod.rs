//! The HTTP surface: routes, handlers, and the error mapping (docs/http-api.md).

mod admin;
pub mod auth;
mod body;
pub mod busy_poll;
mod catalog_api;
pub mod connection;
pub mod error;
pub(crate) mod history_api;
pub mod listen;
pub(crate) mod path_text;
mod protocol_routes;
mod router;
mod routes;
pub(crate) mod stats_api;
mod status;

pub use router::build_router;
