//! The gateway's integration tests: one binary, one module per capability, sharing
//! `support` (mock upstreams, the gateway harness, catalogs and usage-log helpers), so
//! `cargo test` compiles the harness once.
#![expect(
    clippy::expect_used,
    reason = "a test stops on the first broken expectation, helpers included"
)]

mod support;

mod auth;
mod budget;
mod cli;
mod config;
mod discovery;
mod durability;
mod failover;
mod fuzz;
mod hardening;
mod history;
mod layers;
mod limits;
mod openai_sdk;
mod query;
mod ranking;
mod reload;
mod routing;
mod secrets;
mod server;
mod soak;
mod stats_api;
mod streaming;
mod ui;
mod usage;
