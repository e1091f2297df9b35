//! Spend made by other instances, per UTC day and budget scope (`global`, `channel:<id>`,
//! `key:<name>`), so budgets hold across instances. Each instance publishes its own totals
//! (idempotent: the latest total per instance wins); a budget reads local spend plus the
//! sum of the others'.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDate;

use super::SharedEvent;
use crate::stats::aggregate::UsageAggregates;
use crate::usage::record::UsageRecord;

/// Other instances' spend, and this instance's totals waiting to be published.
#[derive(Debug, Default)]
pub struct SpendBoard {
    /// (day, scope) → instance → total USD.
    totals: Mutex<HashMap<(NaiveDate, String), HashMap<u64, f64>>>,
    /// This instance's latest totals not yet published (coalesced: one event per scope per
    /// publishing tick, however many calls).
    pending: Mutex<HashMap<(String, String), f64>>,
}

/// The scope of a channel's budget.
pub fn channel_scope(id: &str) -> String {
    format!("channel:{id}")
}

/// The scope of a client key's budget.
pub fn key_scope(name: &str) -> String {
    format!("key:{name}")
}

impl SpendBoard {
    /// Another instance's total on `day` for `scope`.
    pub fn set(&self, from: u64, day: NaiveDate, scope: &str, total: f64) {
        if !total.is_finite() {
            return;
        }
        let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        // Yesterday's totals no longer decide anything.
        totals.retain(|(d, _), _| *d >= day.pred_opt().unwrap_or(day));
        let slot = totals.entry((day, scope.to_string())).or_default();
        let mine = slot.entry(from).or_insert(0.0);
        *mine = mine.max(total);
    }

    /// Keep this instance's latest totals for the next publishing tick.
    pub fn stage(&self, events: Vec<SharedEvent>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for event in events {
            if let SharedEvent::Spend { day, scope, total } = event {
                pending.insert((day, scope), total);
            }
        }
    }

    /// The staged totals, as events, emptied.
    pub fn take_staged(&self) -> Vec<SharedEvent> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .drain()
            .map(|((day, scope), total)| SharedEvent::Spend { day, scope, total })
            .collect()
    }

    /// What the other instances spent on `day` for `scope`.
    pub fn remote(&self, day: NaiveDate, scope: &str) -> f64 {
        let totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        totals
            .get(&(day, scope.to_string()))
            .map_or(0.0, |by_instance| by_instance.values().sum())
    }

    /// What the other instances spent from `first` to `last` for `scope` (a monthly budget).
    pub fn remote_between(&self, first: NaiveDate, last: NaiveDate, scope: &str) -> f64 {
        let totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        totals
            .iter()
            .filter(|((day, s), _)| s == scope && *day >= first && *day <= last)
            .map(|(_, by_instance)| by_instance.values().sum::<f64>())
            .sum()
    }
}

/// This instance's totals for the scopes a record counts toward, to publish after it.
pub fn totals_after(aggregates: &UsageAggregates, record: &UsageRecord) -> Vec<SharedEvent> {
    let Some(day) = crate::usage::record::utc_date_of(&record.timestamp) else {
        return Vec::new();
    };
    if record.total_cost <= 0.0 {
        return Vec::new();
    }
    let event = |scope: String, total: f64| SharedEvent::Spend {
        day: day.to_string(),
        scope,
        total,
    };
    let mut events = vec![event("global".into(), aggregates.spend_on(day, None))];
    if !record.channel_id.is_empty() {
        let total = aggregates.spend_on(day, Some(&record.channel_id));
        events.push(event(channel_scope(&record.channel_id), total));
    }
    if let Some(name) = &record.key_name {
        let total = aggregates.for_key(name).spend_on(day, None);
        events.push(event(key_scope(name), total));
    }
    events
}

/// After a usage record (on the writer thread): stage this instance's new totals for
/// publishing (nothing without a shared state).
pub fn stage_after_record(
    aggregates: &std::sync::RwLock<UsageAggregates>,
    board: &SpendBoard,
    shared: &dyn super::SharedState,
    record: &UsageRecord,
) {
    if shared.status() == super::SharedStatus::Local || record.total_cost <= 0.0 {
        return;
    }
    let events = {
        let aggregates = aggregates.read().unwrap_or_else(|p| p.into_inner());
        totals_after(&aggregates, record)
    };
    board.stage(events);
}

/// This instance's totals of `day` for every scope (sent again on `Hello`).
pub fn all_totals(aggregates: &UsageAggregates, day: NaiveDate) -> Vec<SharedEvent> {
    let Some(breakdown) = aggregates.day(day) else {
        return Vec::new();
    };
    let event = |scope: String, total: f64| SharedEvent::Spend {
        day: day.to_string(),
        scope,
        total,
    };
    let mut events = vec![event("global".into(), breakdown.total.cost_usd())];
    for (id, channel) in &breakdown.channels {
        events.push(event(channel_scope(id), channel.totals.cost_usd()));
    }
    for name in breakdown.keys.keys() {
        let total = aggregates.for_key(name).spend_on(day, None);
        events.push(event(key_scope(name), total));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_total_per_instance_counts_once() {
        let board = SpendBoard::default();
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).expect("date");
        board.set(1, day, "global", 0.10);
        board.set(1, day, "global", 0.25);
        board.set(1, day, "global", 0.20); // out of order: the larger total stays
        board.set(2, day, "global", 0.05);
        assert!((board.remote(day, "global") - 0.30).abs() < 1e-12);
        assert_eq!(board.remote(day, "key:team"), 0.0);
        let first = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        assert!((board.remote_between(first, day, "global") - 0.30).abs() < 1e-12);
    }
}
