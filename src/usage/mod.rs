//! Usage capture: records, the SSE tap, token estimates, cost, and the JSONL writer (SPEC §9).

pub mod anthropic_usage;
pub mod cost;
pub mod logfiles;
pub mod record;
pub mod responses_usage;
pub mod tap;
pub mod tokens;
pub mod writer;
