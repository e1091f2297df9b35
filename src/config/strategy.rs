//! Ranking strategies: named weightings of the eight sub-scores (docs/ranking.md).
//!
//! Owns the sub-score names users write in `routing.sorting_strategies`, the seven built-in
//! strategies with the original router's weights, and the merge of user-defined ones over them.
//! It must never compute a score: that is `scoring::rank`. It lives in `config` because a
//! strategy is configuration (named weights); scoring reads it.

use std::collections::BTreeMap;
use std::fmt;

/// The sub-scores a strategy may weigh, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubScore {
    Cost,
    Parameter,
    Context,
    Speed,
    Reliability,
    Quality,
    Free,
    Local,
}

impl SubScore {
    pub const ALL: [SubScore; 8] = [
        SubScore::Cost,
        SubScore::Parameter,
        SubScore::Context,
        SubScore::Speed,
        SubScore::Reliability,
        SubScore::Quality,
        SubScore::Free,
        SubScore::Local,
    ];

    /// The field name used in config and explain output, e.g. `cost_score`.
    pub fn field(self) -> &'static str {
        match self {
            SubScore::Cost => "cost_score",
            SubScore::Parameter => "parameter_score",
            SubScore::Context => "context_score",
            SubScore::Speed => "speed_score",
            SubScore::Reliability => "reliability_score",
            SubScore::Quality => "quality_score",
            SubScore::Free => "free_score",
            SubScore::Local => "local_score",
        }
    }

    /// Accepts `cost_score` and the short form `cost`.
    pub fn from_field(name: &str) -> Option<SubScore> {
        let name = name.trim().to_ascii_lowercase();
        let short = name.strip_suffix("_score").unwrap_or(&name);
        SubScore::ALL
            .into_iter()
            .find(|s| s.field().strip_suffix("_score") == Some(short))
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SubScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field())
    }
}

/// A named weighting of sub-scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    pub name: String,
    /// Indexed by [`SubScore::index`].
    pub weights: [f64; 8],
}

impl Strategy {
    pub fn new(name: &str, pairs: &[(SubScore, f64)]) -> Self {
        let mut weights = [0.0; 8];
        for (score, weight) in pairs {
            weights[score.index()] += weight;
        }
        Self {
            name: name.to_string(),
            weights,
        }
    }

    pub fn weight(&self, score: SubScore) -> f64 {
        self.weights[score.index()]
    }

    /// The non-zero weights, in sub-score order.
    pub fn nonzero(&self) -> impl Iterator<Item = (SubScore, f64)> + '_ {
        SubScore::ALL
            .into_iter()
            .map(|s| (s, self.weight(s)))
            .filter(|(_, w)| *w != 0.0)
    }
}

/// The seven built-in strategies, weights from the original router (docs/ranking.md).
pub fn builtin_strategies() -> BTreeMap<String, Strategy> {
    use SubScore::*;
    let table: [(&str, &[(SubScore, f64)]); 7] = [
        (
            "cost_first",
            &[
                (Cost, 0.40),
                (Parameter, 0.25),
                (Context, 0.20),
                (Speed, 0.15),
            ],
        ),
        (
            "free_first",
            &[
                (Free, 0.50),
                (Cost, 0.30),
                (Speed, 0.15),
                (Reliability, 0.05),
            ],
        ),
        (
            "local_first",
            &[
                (Local, 0.60),
                (Speed, 0.25),
                (Cost, 0.10),
                (Reliability, 0.05),
            ],
        ),
        (
            "cost_optimized",
            &[(Cost, 0.70), (Reliability, 0.20), (Speed, 0.10)],
        ),
        (
            "speed_optimized",
            &[
                (Speed, 0.40),
                (Cost, 0.30),
                (Parameter, 0.20),
                (Context, 0.10),
            ],
        ),
        (
            "quality_optimized",
            &[
                (Parameter, 0.40),
                (Context, 0.30),
                (Quality, 0.20),
                (Cost, 0.10),
            ],
        ),
        (
            "balanced",
            &[
                (Cost, 0.30),
                (Parameter, 0.25),
                (Context, 0.20),
                (Speed, 0.15),
                (Reliability, 0.10),
            ],
        ),
    ];
    table
        .into_iter()
        .map(|(name, pairs)| (name.to_string(), Strategy::new(name, pairs)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_round_trip_and_accept_short_forms() {
        for score in SubScore::ALL {
            assert_eq!(SubScore::from_field(score.field()), Some(score));
        }
        assert_eq!(SubScore::from_field("cost"), Some(SubScore::Cost));
        assert_eq!(SubScore::from_field(" Speed_Score "), Some(SubScore::Speed));
        assert_eq!(SubScore::from_field("latency"), None);
    }

    #[test]
    fn builtins_have_the_original_weights() {
        let all = builtin_strategies();
        assert_eq!(all.len(), 7);
        let cost_first = &all["cost_first"];
        assert_eq!(cost_first.weight(SubScore::Cost), 0.40);
        assert_eq!(cost_first.weight(SubScore::Parameter), 0.25);
        assert_eq!(cost_first.weight(SubScore::Context), 0.20);
        assert_eq!(cost_first.weight(SubScore::Speed), 0.15);
        assert_eq!(all["local_first"].weight(SubScore::Local), 0.60);
        for strategy in all.values() {
            let sum: f64 = strategy.weights.iter().sum();
            assert!((sum - 1.0).abs() < 1e-9, "{} sums to {sum}", strategy.name);
        }
    }
}
