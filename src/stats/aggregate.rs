//! Running usage aggregates: per UTC day, totals overall and by provider, channel and model,
//! so the stats endpoints and budget checks never re-read the logs (docs/http-api.md, docs/usage-records.md, docs/http-api.md).
//!
//! Owns the in-memory totals and the rule that places a record on a day. It must never keep a
//! record or a latency sample: memory is bounded by days × distinct keys, not by call count.
//! It does no I/O (rebuilding from the log files is `stats::rebuild`).
//!
//! Rules decided here:
//! - A record's day is the UTC date of its `timestamp` (RFC 3339; an offset is converted to
//!   UTC). A record whose timestamp has no date is not counted; [`UsageAggregates::unplaced_records`]
//!   says how many.
//! - `successful_requests` counts `status: success`; `failed_requests` counts everything else
//!   (`error` and `cancelled`), so requests = successful + failed.
//! - Cost is summed in integer nano-USD (`total_cost` rounded to 1e-9 USD per record; negative,
//!   NaN and infinite costs count as 0). A record whose `cost_currency` is not USD adds no cost
//!   (there is no rate to convert it by; adding it as USD would be wrong): it is counted in
//!   `other_currency_requests`, and the config names such channels at load. Integer sums are exact and order-independent, so a
//!   rebuild equals the incremental sums bit for bit. Records with `cost_known: false` still add
//!   their (usually 0) cost and are counted in `unknown_cost_requests`.
//! - Response times feed a sum and a [`LatencyHistogram`] over every record, failures included
//!   (the time the client waited); records without a response time are left out of both.
//! - An empty provider, channel id or model (a call that reached no channel) is keyed as
//!   [`NO_KEY`], so breakdowns still add up to the totals.
//! - A channel's display name is the last one seen: per day the last record's, over a range
//!   the latest day's.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::latency::LatencyHistogram;
use crate::usage::record::{utc_date_of, CallStatus, UsageRecord};

/// The key used for an empty provider, channel id or model.
pub const NO_KEY: &str = "(none)";

const NANOS_PER_USD: f64 = 1e9;

/// Sums over a set of records (a day, a key within a day, or a range of days).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageTotals {
    pub requests: u64,
    pub successful_requests: u64,
    pub failed_requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub total_tokens: u64,
    /// Sum of `total_cost` in nano-USD (1e-9 USD).
    pub cost_nanos: u64,
    /// Records with `cost_known: false`.
    pub unknown_cost_requests: u64,
    /// Records whose cost is in another currency than USD (not in `cost_nanos`).
    pub other_currency_requests: u64,
    /// Records that carried a response time.
    pub timed_requests: u64,
    pub response_time_ms_sum: u64,
    pub latency: LatencyHistogram,
}

impl UsageTotals {
    fn add(&mut self, r: &RecordView<'_>) {
        self.requests += 1;
        if r.status == CallStatus::Success {
            self.successful_requests += 1;
        } else {
            self.failed_requests += 1;
        }
        self.input_tokens = self.input_tokens.saturating_add(r.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(r.output_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(r.cached_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(r.reasoning_tokens);
        self.total_tokens = self.total_tokens.saturating_add(r.total_tokens);
        if is_usd(r.cost_currency) {
            self.cost_nanos = self.cost_nanos.saturating_add(cost_to_nanos(r.total_cost));
        } else {
            self.other_currency_requests += 1;
        }
        if !r.cost_known {
            self.unknown_cost_requests += 1;
        }
        if let Some(ms) = r.response_time_ms {
            self.timed_requests += 1;
            self.response_time_ms_sum = self.response_time_ms_sum.saturating_add(ms);
            self.latency.record(ms);
        }
    }

    /// Adds every sum of `other` to these totals.
    pub fn merge(&mut self, other: &UsageTotals) {
        self.requests += other.requests;
        self.successful_requests += other.successful_requests;
        self.failed_requests += other.failed_requests;
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
        self.cost_nanos = self.cost_nanos.saturating_add(other.cost_nanos);
        self.unknown_cost_requests += other.unknown_cost_requests;
        self.other_currency_requests += other.other_currency_requests;
        self.timed_requests += other.timed_requests;
        self.response_time_ms_sum = self
            .response_time_ms_sum
            .saturating_add(other.response_time_ms_sum);
        self.latency.merge(&other.latency);
    }

    /// Total cost in USD (exact to 1e-9).
    pub fn cost_usd(&self) -> f64 {
        nanos_to_usd(self.cost_nanos)
    }

    /// Mean response time over the records that had one; `None` when none had.
    pub fn avg_response_time_ms(&self) -> Option<f64> {
        (self.timed_requests > 0)
            .then(|| self.response_time_ms_sum as f64 / self.timed_requests as f64)
    }

    /// 95th percentile response time, within the histogram's 1/32 relative resolution.
    pub fn p95_response_time_ms(&self) -> Option<u64> {
        self.latency.p95()
    }
}

/// A channel's totals and its display name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelTotals {
    pub name: String,
    pub totals: UsageTotals,
}

/// Totals overall and keyed by provider, channel id and model, for one day or a range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageBreakdown {
    pub total: UsageTotals,
    pub providers: HashMap<String, UsageTotals>,
    pub channels: HashMap<String, ChannelTotals>,
    pub models: HashMap<String, UsageTotals>,
    /// By client key name (`auth.keys`); calls without a key under [`NO_KEY`].
    pub keys: HashMap<String, UsageTotals>,
}

impl UsageBreakdown {
    fn add(&mut self, r: &RecordView<'_>) {
        self.total.add(r);
        with_slot(&mut self.providers, key_or_none(r.provider), |t| t.add(r));
        with_slot(&mut self.models, key_or_none(r.model), |t| t.add(r));
        with_slot(&mut self.keys, key_or_none(r.key_name), |t| t.add(r));
        with_slot(&mut self.channels, key_or_none(r.channel_id), |c| {
            if c.name != r.channel_name {
                r.channel_name.clone_into(&mut c.name);
            }
            c.totals.add(r);
        });
    }

    /// Adds `other` into this breakdown; `other`'s channel names win (merge in date order).
    pub fn merge(&mut self, other: &UsageBreakdown) {
        self.total.merge(&other.total);
        for (key, totals) in &other.providers {
            with_slot(&mut self.providers, key, |t| t.merge(totals));
        }
        for (key, totals) in &other.models {
            with_slot(&mut self.models, key, |t| t.merge(totals));
        }
        for (key, totals) in &other.keys {
            with_slot(&mut self.keys, key, |t| t.merge(totals));
        }
        for (key, channel) in &other.channels {
            with_slot(&mut self.channels, key, |c| {
                if c.name != channel.name {
                    c.name.clone_from(&channel.name);
                }
                c.totals.merge(&channel.totals);
            });
        }
    }
}

/// The fields of a usage record that the aggregates read, borrowed from wherever they live.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    pub timestamp: &'a str,
    pub provider: &'a str,
    pub channel_id: &'a str,
    pub channel_name: &'a str,
    pub model: &'a str,
    /// The client key's name; empty without one.
    pub key_name: &'a str,
    pub status: CallStatus,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub total_cost: f64,
    /// `cost_currency`; empty (a record written before the field) is USD.
    pub cost_currency: &'a str,
    pub cost_known: bool,
    pub response_time_ms: Option<u64>,
}

impl<'a> From<&'a UsageRecord> for RecordView<'a> {
    fn from(r: &'a UsageRecord) -> Self {
        RecordView {
            timestamp: &r.timestamp,
            provider: &r.provider,
            channel_id: &r.channel_id,
            channel_name: &r.channel_name,
            model: &r.model,
            key_name: r.key_name.as_deref().unwrap_or(""),
            status: r.status,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            total_tokens: r.total_tokens,
            cached_tokens: r.cached_tokens,
            reasoning_tokens: r.reasoning_tokens,
            total_cost: r.total_cost,
            cost_currency: &r.cost_currency,
            cost_known: r.cost_known,
            response_time_ms: Some(r.response_time_ms),
        }
    }
}

/// Usage totals per UTC day. The lead wraps it in a lock; every method is synchronous and
/// allocation-free on the hot path except for a key seen for the first time that day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageAggregates {
    days: BTreeMap<NaiveDate, UsageBreakdown>,
    unplaced_records: u64,
    /// The same aggregates for each client key alone (`key=` of the stats API, key budgets).
    by_key: HashMap<String, UsageAggregates>,
}

impl UsageAggregates {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one routed call on the UTC day of its timestamp.
    pub fn add(&mut self, record: &UsageRecord) {
        self.add_view(&RecordView::from(record));
    }

    /// Counts one record; returns `false` (and counts it as unplaced) when its timestamp has
    /// no UTC date.
    pub fn add_view(&mut self, record: &RecordView<'_>) -> bool {
        if !record.key_name.is_empty() {
            with_slot(&mut self.by_key, record.key_name, |k| {
                k.add_day(record);
            });
        }
        self.add_day(record)
    }

    fn add_day(&mut self, record: &RecordView<'_>) -> bool {
        match utc_date_of(record.timestamp) {
            Some(date) => {
                self.days.entry(date).or_default().add(record);
                true
            }
            None => {
                self.unplaced_records += 1;
                false
            }
        }
    }

    /// Adds `other` into these aggregates (e.g. partial results of a parallel rebuild).
    /// Days of `other` are merged after the days already here, so its channel names win.
    pub fn merge(&mut self, other: UsageAggregates) {
        self.unplaced_records += other.unplaced_records;
        for (key, aggregates) in other.by_key {
            match self.by_key.get_mut(&key) {
                Some(mine) => mine.merge(aggregates),
                None => {
                    self.by_key.insert(key, aggregates);
                }
            }
        }
        for (date, day) in other.days {
            match self.days.get_mut(&date) {
                Some(mine) => mine.merge(&day),
                None => {
                    self.days.insert(date, day);
                }
            }
        }
    }

    /// Spend in USD on `date`, over all channels or for one channel id (budgets, docs/http-api.md).
    pub fn spend_on(&self, date: NaiveDate, channel: Option<&str>) -> f64 {
        let Some(day) = self.days.get(&date) else {
            return 0.0;
        };
        match channel {
            None => day.total.cost_usd(),
            Some(id) => day.channels.get(id).map_or(0.0, |c| c.totals.cost_usd()),
        }
    }

    /// The aggregates of the calls made with one client key (empty when it made none).
    pub fn for_key(&self, key_name: &str) -> &UsageAggregates {
        static EMPTY: std::sync::OnceLock<UsageAggregates> = std::sync::OnceLock::new();
        self.by_key
            .get(key_name)
            .unwrap_or_else(|| EMPTY.get_or_init(UsageAggregates::default))
    }

    /// Spend in USD of the days `first..=last` (a key's monthly budget).
    pub fn spend_between(&self, first: NaiveDate, last: NaiveDate) -> f64 {
        if first > last {
            return 0.0;
        }
        self.days
            .range(first..=last)
            .map(|(_, d)| d.total.cost_nanos)
            .map(nanos_to_usd)
            .sum()
    }

    /// The totals of one day, if anything was counted on it.
    pub fn day(&self, date: NaiveDate) -> Option<&UsageBreakdown> {
        self.days.get(&date)
    }

    /// The totals of the days `first..=last` merged (empty when `first > last`).
    pub fn between(&self, first: NaiveDate, last: NaiveDate) -> UsageBreakdown {
        let mut merged = UsageBreakdown::default();
        if first <= last {
            for day in self.days.range(first..=last).map(|(_, d)| d) {
                merged.merge(day);
            }
        }
        merged
    }

    /// Every day with usage, oldest first.
    pub fn days(&self) -> impl Iterator<Item = (NaiveDate, &UsageBreakdown)> {
        self.days.iter().map(|(d, b)| (*d, b))
    }

    /// Records not counted because their timestamp had no UTC date.
    pub fn unplaced_records(&self) -> u64 {
        self.unplaced_records
    }
}

/// Runs `update` on the value under `key`, inserting a default first; allocates the key only
/// when it is new.
fn with_slot<V: Default>(map: &mut HashMap<String, V>, key: &str, update: impl FnOnce(&mut V)) {
    if let Some(value) = map.get_mut(key) {
        update(value);
        return;
    }
    let mut value = V::default();
    update(&mut value);
    map.insert(key.to_owned(), value);
}

fn key_or_none(key: &str) -> &str {
    if key.is_empty() {
        NO_KEY
    } else {
        key
    }
}

/// Whether a record's `cost_currency` is USD (empty counts as USD, any ASCII case).
pub fn is_usd(currency: &str) -> bool {
    currency.is_empty() || currency.eq_ignore_ascii_case("USD")
}

/// `total_cost` in nano-USD; negative, NaN and infinite costs are 0.
pub fn cost_to_nanos(cost: f64) -> u64 {
    if cost.is_finite() && cost > 0.0 {
        (cost * NANOS_PER_USD).round() as u64 // saturates above u64::MAX
    } else {
        0
    }
}

/// Nano-USD back to USD.
pub fn nanos_to_usd(nanos: u64) -> f64 {
    nanos as f64 / NANOS_PER_USD
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
