//! The rate windows of one routing candidate: its channel as a whole (`limits`), the group
//! of its `model_limits` entry (an exact model id, or every `*suffix` model of the channel
//! together), and the (channel, model) itself, where the upstream's headers are learned.

use super::{Full, RateWindows};
use crate::catalog::CatalogEntry;
use crate::config::RateLimits;

const UNLIMITED: RateLimits = RateLimits {
    rpm: None,
    rpd: None,
    tpm: None,
    concurrency: None,
};

/// Count one request to `entry`, or say which window is full. Nothing is counted for a
/// candidate without limits unless its upstream's headers said it is exhausted.
pub fn admit_candidate(
    windows: &RateWindows,
    entry: &CatalogEntry,
    now_ms: u64,
) -> Result<(), Full> {
    with_scopes(entry, |scopes| windows.admit(scopes, now_ms))
}

/// Whether `entry` could be tried now, counting nothing (for explain).
pub fn peek_candidate(
    windows: &RateWindows,
    entry: &CatalogEntry,
    now_ms: u64,
) -> Result<(), Full> {
    with_scopes(entry, |scopes| {
        scopes
            .iter()
            .try_for_each(|(scope, limits)| windows.peek(scope, limits, now_ms))
    })
}

/// An attempt on `entry` ended (its concurrency slot is free again).
pub fn release_candidate(windows: &RateWindows, entry: &CatalogEntry) {
    with_scopes(entry, |scopes| windows.release(scopes));
}

fn with_scopes<T>(entry: &CatalogEntry, f: impl FnOnce(&[(&str, &RateLimits)]) -> T) -> T {
    let channel = &entry.channel;
    match channel.limits_of_model(&entry.model_id) {
        Some((pattern, limits)) if pattern != entry.model_id => {
            let group = format!("{}/{pattern}", channel.id);
            f(&[
                (&channel.id, &channel.limits),
                (&group, &limits),
                (&entry.health_key, &UNLIMITED),
            ])
        }
        Some((_, limits)) => f(&[(&channel.id, &channel.limits), (&entry.health_key, &limits)]),
        None => f(&[
            (&channel.id, &channel.limits),
            (&entry.health_key, &UNLIMITED),
        ]),
    }
}
