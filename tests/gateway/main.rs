//! The gateway's integration tests: one binary, one module per capability, sharing
//! `support` (mock upstreams, the gateway harness, catalogs and usage-log helpers), so
//! `cargo test` compiles the harness once.
#![expect(
    clippy::expect_used,
    reason = "a test stops on the first broken expectation, helpers included"
)]

mod support;

mod anthropic_sdk;
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
mod import;
mod keys;
mod layers;
mod legacy;
mod limits;
mod openai_formats;
mod openai_sdk;
mod operability;
mod postgres;
mod protocols;
mod query;
mod ranking;
mod rate_limits;
mod reload;
mod routing;
mod secrets;
mod server;
mod shared_health;
mod shared_state;
mod soak;
mod stats_api;
mod stats_compat;
mod streaming;
mod ui;
mod upstream_proxy;
mod usage;
