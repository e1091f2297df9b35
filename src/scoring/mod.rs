//! Ranking candidates: sub-scores, strategies, and the deterministic order (SPEC §6).

pub mod rank;

pub use crate::config::strategy::{Strategy, SubScore};
pub use rank::{rank, LiveScores, Ranked};
