//! Ranking candidates: sub-scores, strategies, and the deterministic order (SPEC §6).

pub mod strategy;
