//! smart-ai-router: a self-hosted, OpenAI-compatible LLM gateway.
//!
//! The request spine: parse → resolve the query against the catalog → rank → attempt with
//! failover → relay → record usage. Each step is a module below.

pub mod app;
pub mod budget;
pub mod catalog;
pub mod chunks;
pub mod cli;
pub mod config;
pub mod discovery;
pub mod explain;
pub mod health;
pub mod history;
pub mod import;
pub mod limits;
pub mod metrics;
pub mod protocol;
pub mod proxy;
pub mod query;
pub mod runtime;
pub mod scoring;
pub mod server;
pub mod shared_state;
pub mod state;
pub mod stats;
pub mod ui;
pub mod upstream;
pub mod usage;
