//! Queries (SPEC §5): the client's `model` string parsed (`parse`) and resolved against the
//! catalog into candidates (`resolve`).

mod parse;
mod resolve;

pub use parse::{parse_query, Comparison, Filter, FilterField, Query, QueryError, TagQuery};
pub use resolve::{resolve, split_name, Dropped, Needs, NoMatch, Resolution};
