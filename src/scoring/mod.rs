//! Ranking candidates: sub-scores, strategies, and the deterministic order (docs/ranking.md).

pub mod plan;
pub mod rank;

pub use crate::config::strategy::{Strategy, SubScore};
pub use plan::{plan, Plan, PlanError};
pub use rank::{rank, LiveScores, Ranked};
