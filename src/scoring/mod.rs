//! Ranking candidates: sub-scores, strategies, and the deterministic order (SPEC §6).

pub mod rank;
pub mod strategy;

pub use rank::{rank, LiveScores, Ranked};
pub use strategy::{Strategy, SubScore};
