//! Ordering candidates: the eight sub-scores, the weighted sum, and the deterministic tie-break
//! (docs/ranking.md).
//!
//! Sub-scores, each in [0, 1]:
//! - `cost_score`: free = 1; paid with a known price on a log scale over the paid candidates of
//!   this request, cheapest 0.9 down to 0.1 for the dearest (0.9 when they all cost the same);
//!   unknown price 0.5. The blended price is a 3:1 input:output token mix.
//! - `parameter_score`, `context_score`, `quality_score`, `free_score`, `local_score`: static,
//!   computed when the catalog is built (`catalog::build`); unknown = 0.5.
//! - `speed_score`, `reliability_score`: live figures of the (channel, model) from `health`;
//!   neutral 0.5 until observed.
//!
//! Ties break by channel `priority` (lower first), then channel id, then model id: the
//! catalog numbers its entries in that order when it is built (`tie_order`), so a tie costs
//! one integer comparison. The sort is total, so equal inputs always give the same order. Nothing here does I/O or allocates per
//! sub-score.

use crate::catalog::{Catalog, CatalogEntry, EntryId};
use crate::config::strategy::{Strategy, SubScore};

/// Live figures of one (channel, model) in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveScores {
    pub speed: f64,
    pub reliability: f64,
}

impl LiveScores {
    pub const NEUTRAL: LiveScores = LiveScores {
        speed: 0.5,
        reliability: 0.5,
    };
}

/// A candidate with its score and every sub-score (indexed by [`SubScore::index`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub entry: EntryId,
    pub score: f64,
    pub sub_scores: [f64; 8],
}

/// Rank `candidates` best first.
pub fn rank(
    catalog: &Catalog,
    candidates: &[EntryId],
    strategy: &Strategy,
    live: &dyn Fn(&CatalogEntry) -> LiveScores,
) -> Vec<Ranked> {
    let (low, high) = price_range(catalog, candidates);
    let mut ranked = Vec::with_capacity(candidates.len());
    // Sorted: small keys (score, tie order, position), not the 80-byte candidates.
    let mut keys: Vec<(f64, u32, u32)> = Vec::with_capacity(candidates.len());
    for &id in candidates {
        let Some(entry) = catalog.entry(id) else {
            continue;
        };
        let sub_scores = sub_scores(entry, low, high, live(entry));
        let score = SubScore::ALL
            .iter()
            .map(|s| strategy.weights[s.index()] * sub_scores[s.index()])
            .sum();
        keys.push((score, entry.tie_order, ranked.len() as u32));
        ranked.push(Ranked {
            entry: id,
            score,
            sub_scores,
        });
    }
    // The key is total (no two entries share a tie order), so an unstable sort is as
    // deterministic as a stable one.
    keys.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    keys.iter()
        .filter_map(|&(_, _, at)| ranked.get(at as usize).cloned())
        .collect()
}

/// The lowest and highest log price among paid candidates with a known price.
fn price_range(catalog: &Catalog, candidates: &[EntryId]) -> (f64, f64) {
    candidates
        .iter()
        .filter_map(|&id| catalog.entry(id)?.scores.ln_price)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p), hi.max(p))
        })
}

fn sub_scores(entry: &CatalogEntry, low: f64, high: f64, live: LiveScores) -> [f64; 8] {
    let s = &entry.scores;
    let cost = if entry.is_free {
        1.0
    } else {
        match s.ln_price {
            Some(p) if high - low > 1e-12 => 0.9 - 0.8 * (p - low) / (high - low),
            Some(_) => 0.9,
            None => 0.5,
        }
    };
    let mut scores = [0.0; 8];
    scores[SubScore::Cost.index()] = cost;
    scores[SubScore::Parameter.index()] = s.parameter;
    scores[SubScore::Context.index()] = s.context;
    scores[SubScore::Speed.index()] = live.speed;
    scores[SubScore::Reliability.index()] = live.reliability;
    scores[SubScore::Quality.index()] = s.quality;
    scores[SubScore::Free.index()] = s.free;
    scores[SubScore::Local.index()] = s.local;
    scores
}
