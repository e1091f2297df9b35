//! The `data` bodies of the usage stats endpoints (docs/http-api.md), built from [`UsageAggregates`].
//!
//! Owns the response shapes, field names, orderings, averages and output rounding. Pure
//! functions: they must never read the clock, the disk or a lock (the handler passes the
//! aggregates and parsed parameters in).
//!
//! Rules decided here:
//! - Output rounding (sums stay exact integers inside; halves round away from zero): costs
//!   in USD to 9 decimals (nano-USD, the internal unit; cheap models cost ~1e-8 USD per
//!   token, so 6 decimals would erase them); `percentage` to 2 decimals; `avg_tokens_per_request` to 2; `avg_response_time_ms` to 1;
//!   `success_rate` (0..1) and the summary `comparison` ratios to 4. `p95_response_time_ms` is
//!   a histogram bucket midpoint, within 1/32 (3.1 %) of the exact value (`stats::latency`).
//! - Empty periods give zeros, never nulls: averages and p95 are 0 when nothing was counted.
//! - Weekly is Monday..Sunday of the target date's ISO week, monthly the whole calendar
//!   month; days after today are included (they are simply empty).
//! - Stats objects key `providers` by provider, `channels` by channel id (each with its
//!   display `name`) and `models` by model id; each entry is `{requests, cost, tokens}` with
//!   `tokens` = summed `total_tokens`. Maps serialize in key order. A call that reached no
//!   channel (no candidate, bad request, budget) is in no map and no list: it is counted in
//!   `unrouted_requests` (and in the totals). Extra fields: `unknown_cost_requests` (records
//!   with `cost_known: false`, whose cost is missing from the sums), and, when there are any,
//!   `other_currency_requests` (records priced in another currency, left out of the USD sums).
//! - Cost-breakdown items carry the original router's key field (`model`, `channel` or
//!   `provider`, after `breakdown_by`) and the same value as `key`.
//! - Top lists sort by the `by` figure descending, ties by key ascending (model id, channel
//!   id), then keep `limit`. Cost breakdown sorts by cost descending, ties by key; the
//!   percentage is of the period's total cost (0 when the total is 0).
//! - Summary `comparison` (cost based, like the original router): with `week_avg` = this
//!   week's cost / days of the week elapsed including today (Monday = 1) and `month_avg` =
//!   this month's cost / today's day of month, `daily_vs_weekly_avg` = (today − week_avg) /
//!   week_avg and `weekly_vs_monthly_avg` = (week_avg − month_avg) / month_avg; 0 when the
//!   divisor is 0. 0.25 means 25 % above. (The original compared the week's running total
//!   with 7 × month_avg, which reads low early in every week.)
//! - Top lists, breakdowns and `last_days` also carry `start_date` and `end_date`; `days=N`
//!   gives `period: "days"` and `days: N`.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::aggregate::{nanos_to_usd, UsageAggregates, UsageBreakdown, UsageTotals, NO_KEY};
use super::params::{
    BreakdownBy, BreakdownParams, DailyParams, DateRange, MonthlyParams, Period, RankBy,
    SummaryParams, TopParams, WeeklyParams,
};

/// `{requests, cost, tokens}` of one provider or model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyFigures {
    pub requests: u64,
    pub cost: f64,
    pub tokens: u64,
}

/// `{name, requests, cost, tokens}` of one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelFigures {
    pub name: String,
    pub requests: u64,
    pub cost: f64,
    pub tokens: u64,
}

/// The stats object of docs/http-api.md, labelled with the period it covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub week_start: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub week_end: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    pub total_requests: u64,
    pub successful_requests: u64,
    pub failed_requests: u64,
    pub total_input_tokens: u64,
    pub total_output_tokens: u64,
    pub total_cached_tokens: u64,
    pub total_reasoning_tokens: u64,
    pub total_tokens: u64,
    pub total_cost: f64,
    pub unknown_cost_requests: u64,
    /// Calls priced in another currency than USD, whose cost is not in `total_cost` (present
    /// only when there are some).
    #[serde(skip_serializing_if = "is_zero")]
    pub other_currency_requests: u64,
    /// Calls that reached no channel (counted in the totals, in no map).
    pub unrouted_requests: u64,
    pub avg_cost_per_request: f64,
    pub avg_cost_per_1k_tokens: f64,
    pub avg_response_time_ms: f64,
    pub p95_response_time_ms: u64,
    pub providers: BTreeMap<String, KeyFigures>,
    pub channels: BTreeMap<String, ChannelFigures>,
    pub models: BTreeMap<String, KeyFigures>,
}

/// GET /v1/stats/summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryReport {
    pub today: StatsObject,
    pub this_week: StatsObject,
    pub this_month: StatsObject,
    pub last_days: StatsObject,
    pub comparison: Comparison,
}

/// Cost ratios of the summary (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub daily_vs_weekly_avg: f64,
    pub weekly_vs_monthly_avg: f64,
}

/// GET /v1/stats/top-models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopModelsReport {
    pub period: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    pub target_date: NaiveDate,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub by: &'static str,
    pub models: Vec<ModelRank>,
}

/// One row of top-models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRank {
    pub model: String,
    pub requests: u64,
    pub cost: f64,
    pub tokens: u64,
    pub avg_cost_per_request: f64,
    pub avg_tokens_per_request: f64,
}

/// GET /v1/stats/top-channels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopChannelsReport {
    pub period: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    pub target_date: NaiveDate,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub by: &'static str,
    pub channels: Vec<ChannelRank>,
}

/// One row of top-channels: `channel` is the display name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelRank {
    pub channel_id: String,
    pub channel: String,
    pub requests: u64,
    pub cost: f64,
    pub tokens: u64,
    pub avg_cost_per_request: f64,
    pub avg_tokens_per_request: f64,
    pub successful_requests: u64,
    pub failed_requests: u64,
    pub success_rate: f64,
    pub avg_response_time_ms: f64,
    pub p95_response_time_ms: u64,
}

/// GET /v1/stats/cost-breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostBreakdownReport {
    pub period: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    pub breakdown_by: &'static str,
    pub target_date: NaiveDate,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub total_cost: f64,
    pub breakdown: Vec<BreakdownItem>,
    /// Calls that reached no channel (in `total_cost`, in no item).
    pub unrouted_requests: u64,
}

/// One row of a cost breakdown; `name` is the channel's display name (channels only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownItem {
    pub key: String,
    /// The original router's field: `model` / `channel` / `provider` as `breakdown_by` says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub cost: f64,
    pub percentage: f64,
    pub requests: u64,
    pub tokens: u64,
}

/// GET /v1/stats/daily.
pub fn daily(agg: &UsageAggregates, p: &DailyParams) -> StatsObject {
    let mut stats = stats_object(&agg.between(p.date, p.date));
    stats.date = Some(p.date);
    stats
}

/// Any range of days, with `start_date` and `end_date` (the CLI's `stats --days N`).
pub fn range(agg: &UsageAggregates, first: NaiveDate, last: NaiveDate) -> StatsObject {
    let mut stats = stats_object(&agg.between(first, last));
    if first == last {
        stats.date = Some(first);
    } else {
        stats.start_date = Some(first);
        stats.end_date = Some(last);
    }
    stats
}

/// GET /v1/stats/weekly: Monday..Sunday of the target date's week.
pub fn weekly(agg: &UsageAggregates, p: &WeeklyParams) -> StatsObject {
    let week = DateRange::week_of(p.target_date);
    let mut stats = stats_object(&agg.between(week.first, week.last));
    stats.week_start = Some(week.first);
    stats.week_end = Some(week.last);
    stats
}

/// GET /v1/stats/monthly.
pub fn monthly(agg: &UsageAggregates, p: &MonthlyParams) -> StatsObject {
    let usage = DateRange::month(p.year, p.month)
        .map(|m| agg.between(m.first, m.last))
        .unwrap_or_default();
    let mut stats = stats_object(&usage);
    stats.year = Some(p.year);
    stats.month = Some(p.month);
    stats
}

/// GET /v1/stats/summary.
pub fn summary(agg: &UsageAggregates, p: &SummaryParams) -> SummaryReport {
    let today = daily(agg, &DailyParams { date: p.today });
    let this_week = weekly(
        agg,
        &WeeklyParams {
            target_date: p.today,
        },
    );
    let this_month = monthly(
        agg,
        &MonthlyParams {
            year: p.today.year(),
            month: p.today.month(),
        },
    );
    let range = DateRange::ending_on(p.today, p.days);
    let mut last_days = stats_object(&agg.between(range.first, range.last));
    last_days.days = Some(p.days);
    last_days.start_date = Some(range.first);
    last_days.end_date = Some(range.last);
    let comparison = comparison(p.today, &today, &this_week, &this_month);
    SummaryReport {
        today,
        this_week,
        this_month,
        last_days,
        comparison,
    }
}

/// GET /v1/stats/top-models.
pub fn top_models(agg: &UsageAggregates, p: &TopParams) -> TopModelsReport {
    let range = p.period.range(p.target_date);
    let usage = agg.between(range.first, range.last);
    let models = ranked(&usage.models, p.by, p.limit, |t| t)
        .into_iter()
        .map(|(model, t)| ModelRank {
            model: model.to_owned(),
            requests: t.requests,
            cost: t.cost_usd(),
            tokens: t.total_tokens,
            avg_cost_per_request: avg_cost(t.cost_nanos as f64, t.requests),
            avg_tokens_per_request: avg_tokens(t),
        })
        .collect();
    TopModelsReport {
        period: p.period.name(),
        days: days_of(p.period),
        target_date: p.target_date,
        start_date: range.first,
        end_date: range.last,
        by: p.by.name(),
        models,
    }
}

/// GET /v1/stats/top-channels.
pub fn top_channels(agg: &UsageAggregates, p: &TopParams) -> TopChannelsReport {
    let range = p.period.range(p.target_date);
    let usage = agg.between(range.first, range.last);
    let channels = ranked(&usage.channels, p.by, p.limit, |c| &c.totals)
        .into_iter()
        .map(|(id, c)| channel_rank(id, &c.name, &c.totals))
        .collect();
    TopChannelsReport {
        period: p.period.name(),
        days: days_of(p.period),
        target_date: p.target_date,
        start_date: range.first,
        end_date: range.last,
        by: p.by.name(),
        channels,
    }
}

/// GET /v1/stats/cost-breakdown.
pub fn cost_breakdown(agg: &UsageAggregates, p: &BreakdownParams) -> CostBreakdownReport {
    let range = p.period.range(p.target_date);
    let usage = agg.between(range.first, range.last);
    let total = usage.total.cost_nanos;
    let by = p.breakdown_by;
    let named = |wanted: BreakdownBy, key: &str| (by == wanted).then(|| key.to_owned());
    let item = |key: &str, name: Option<&str>, t: &UsageTotals| BreakdownItem {
        key: key.to_owned(),
        model: named(BreakdownBy::Model, key),
        channel: named(BreakdownBy::Channel, key),
        provider: named(BreakdownBy::Provider, key),
        name: name.map(str::to_owned),
        cost: t.cost_usd(),
        percentage: percentage(t.cost_nanos, total),
        requests: t.requests,
        tokens: t.total_tokens,
    };
    let breakdown = match p.breakdown_by {
        BreakdownBy::Provider => by_cost(&usage.providers, |t| t)
            .map(|(k, t)| item(k, None, t))
            .collect(),
        BreakdownBy::Model => by_cost(&usage.models, |t| t)
            .map(|(k, t)| item(k, None, t))
            .collect(),
        BreakdownBy::Key => by_cost(&usage.keys, |t| t)
            .map(|(k, t)| item(k, None, t))
            .collect(),
        BreakdownBy::Channel => by_cost(&usage.channels, |c| &c.totals)
            .map(|(k, t)| item(k, usage.channels.get(k).map(|c| c.name.as_str()), t))
            .collect(),
    };
    CostBreakdownReport {
        period: p.period.name(),
        days: days_of(p.period),
        breakdown_by: p.breakdown_by.name(),
        target_date: p.target_date,
        start_date: range.first,
        end_date: range.last,
        total_cost: usage.total.cost_usd(),
        breakdown,
        unrouted_requests: unrouted(&usage),
    }
}

/// The stats object of a merged breakdown, without a period label.
fn stats_object(usage: &UsageBreakdown) -> StatsObject {
    let t = &usage.total;
    let figures = |t: &UsageTotals| KeyFigures {
        requests: t.requests,
        cost: t.cost_usd(),
        tokens: t.total_tokens,
    };
    StatsObject {
        date: None,
        week_start: None,
        week_end: None,
        year: None,
        month: None,
        days: None,
        start_date: None,
        end_date: None,
        total_requests: t.requests,
        successful_requests: t.successful_requests,
        failed_requests: t.failed_requests,
        total_input_tokens: t.input_tokens,
        total_output_tokens: t.output_tokens,
        total_cached_tokens: t.cached_tokens,
        total_reasoning_tokens: t.reasoning_tokens,
        total_tokens: t.total_tokens,
        total_cost: t.cost_usd(),
        unknown_cost_requests: t.unknown_cost_requests,
        other_currency_requests: t.other_currency_requests,
        unrouted_requests: unrouted(usage),
        avg_cost_per_request: avg_cost(t.cost_nanos as f64, t.requests),
        avg_cost_per_1k_tokens: avg_cost(t.cost_nanos as f64 * 1000.0, t.total_tokens),
        avg_response_time_ms: round_to(t.avg_response_time_ms().unwrap_or(0.0), 1),
        p95_response_time_ms: t.p95_response_time_ms().unwrap_or(0),
        providers: usage
            .providers
            .iter()
            .filter(|(k, _)| k.as_str() != NO_KEY)
            .map(|(k, t)| (k.clone(), figures(t)))
            .collect(),
        channels: usage
            .channels
            .iter()
            .filter(|(k, _)| k.as_str() != NO_KEY)
            .map(|(k, c)| {
                let f = ChannelFigures {
                    name: c.name.clone(),
                    requests: c.totals.requests,
                    cost: c.totals.cost_usd(),
                    tokens: c.totals.total_tokens,
                };
                (k.clone(), f)
            })
            .collect(),
        models: usage
            .models
            .iter()
            .filter(|(k, _)| k.as_str() != NO_KEY)
            .map(|(k, t)| (k.clone(), figures(t)))
            .collect(),
    }
}

/// Calls that reached no channel.
fn unrouted(usage: &UsageBreakdown) -> u64 {
    usage.channels.get(NO_KEY).map_or(0, |c| c.totals.requests)
}

fn comparison(
    today: NaiveDate,
    day: &StatsObject,
    week: &StatsObject,
    month: &StatsObject,
) -> Comparison {
    let days_into_week = f64::from(today.weekday().num_days_from_monday() + 1);
    let week_avg = week.total_cost / days_into_week;
    let month_avg = month.total_cost / f64::from(today.day());
    Comparison {
        daily_vs_weekly_avg: relative_change(day.total_cost, week_avg),
        weekly_vs_monthly_avg: relative_change(week_avg, month_avg),
    }
}

fn relative_change(value: f64, base: f64) -> f64 {
    if base > 0.0 {
        round_to((value - base) / base, 4)
    } else {
        0.0
    }
}

fn channel_rank(id: &str, name: &str, t: &UsageTotals) -> ChannelRank {
    let success_rate = if t.requests > 0 {
        round_to(t.successful_requests as f64 / t.requests as f64, 4)
    } else {
        0.0
    };
    ChannelRank {
        channel_id: id.to_owned(),
        channel: name.to_owned(),
        requests: t.requests,
        cost: t.cost_usd(),
        tokens: t.total_tokens,
        avg_cost_per_request: avg_cost(t.cost_nanos as f64, t.requests),
        avg_tokens_per_request: avg_tokens(t),
        successful_requests: t.successful_requests,
        failed_requests: t.failed_requests,
        success_rate,
        avg_response_time_ms: round_to(t.avg_response_time_ms().unwrap_or(0.0), 1),
        p95_response_time_ms: t.p95_response_time_ms().unwrap_or(0),
    }
}

/// The top `limit` entries by `by`, descending, ties by key ascending.
fn ranked<'a, V>(
    map: &'a HashMap<String, V>,
    by: RankBy,
    limit: usize,
    totals: impl Fn(&'a V) -> &'a UsageTotals,
) -> Vec<(&'a str, &'a V)> {
    let figure = |t: &UsageTotals| match by {
        RankBy::Requests => t.requests,
        RankBy::Cost => t.cost_nanos,
        RankBy::Tokens => t.total_tokens,
    };
    let mut entries: Vec<(&str, &V, u64)> = map
        .iter()
        .filter(|(k, _)| k.as_str() != NO_KEY)
        .map(|(k, v)| (k.as_str(), v, figure(totals(v))))
        .collect();
    entries.sort_unstable_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(b.0)));
    entries.truncate(limit);
    entries.into_iter().map(|(k, v, _)| (k, v)).collect()
}

/// Every entry by cost descending, ties by key ascending.
fn by_cost<'a, V>(
    map: &'a HashMap<String, V>,
    totals: impl Fn(&'a V) -> &'a UsageTotals,
) -> impl Iterator<Item = (&'a str, &'a UsageTotals)> {
    let mut entries: Vec<(&str, &UsageTotals)> = map
        .iter()
        .filter(|(k, _)| k.as_str() != NO_KEY)
        .map(|(k, v)| (k.as_str(), totals(v)))
        .collect();
    entries.sort_unstable_by(|a, b| {
        b.1.cost_nanos
            .cmp(&a.1.cost_nanos)
            .then_with(|| a.0.cmp(b.0))
    });
    entries.into_iter()
}

fn days_of(period: Period) -> Option<u32> {
    match period {
        Period::Days(n) => Some(n),
        _ => None,
    }
}

/// `nanos / count` in USD, rounded to whole nano-USD; 0 when `count` is 0.
fn avg_cost(nanos: f64, count: u64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    nanos_to_usd((nanos / count as f64).round() as u64)
}

fn avg_tokens(t: &UsageTotals) -> f64 {
    if t.requests == 0 {
        return 0.0;
    }
    round_to(t.total_tokens as f64 / t.requests as f64, 2)
}

fn percentage(part: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    round_to(part as f64 * 100.0 / total as f64, 2)
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// For `skip_serializing_if`.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
