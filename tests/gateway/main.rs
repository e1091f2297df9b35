//! The gateway's integration tests: one binary, one module per capability, sharing
//! `support` (mock upstreams, the gateway harness, catalogs and usage-log helpers), so
//! `cargo test` compiles the harness once.

mod support;

mod anthropic_sdk;
mod auth;
mod budget;
mod cli;
mod config;
mod discovery;
mod failover;
mod fuzz;
mod hardening;
mod openai_formats;
mod openai_sdk;
mod protocols;
mod query;
mod ranking;
mod reload;
mod routing;
mod secrets;
mod server;
mod soak;
mod stats_api;
mod streaming;
mod usage;
