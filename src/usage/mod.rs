//! Usage capture: the record (`record`), usage and errors read from answers and stream events
//! (`tap`, on `lenient_json`), the generated text of a stream (`stream_text`), token estimates
//! (`tokens`), cost (`cost`), and the JSONL writer and its files (`writer`, `logfiles`).

pub mod anthropic_usage;
pub mod backlog;
pub mod cost;
pub mod details;
mod lenient_json;
pub mod logfiles;
pub mod record;
pub mod responses_usage;
pub mod stream_text;
pub mod tap;
pub mod tokens;
pub mod writer;
