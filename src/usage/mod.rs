//! Usage capture: records, the SSE tap, token estimates, cost, and the JSONL writer (SPEC §9).

pub mod cost;
pub mod details;
pub mod logfiles;
pub mod record;
pub mod tap;
pub mod tokens;
pub mod writer;
