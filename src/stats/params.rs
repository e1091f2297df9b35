//! Query parameters of the stats endpoints (docs/http-api.md), parsed once into typed values.
//!
//! Owns every accepted parameter name, range and default, and the 400 messages. It must never
//! read the clock (`today` is passed in) nor look at usage data.
//!
//! Rules decided here:
//! - Parameters are the raw query pairs; unknown names are ignored and an empty value counts
//!   as absent (`?target_date=` means today).
//! - Dates are strictly `YYYY-MM-DD` (zero-padded) and must exist; defaults are `today` (UTC).
//! - `period` is `daily` (default), `weekly` (Monday..Sunday of `target_date`'s week) or
//!   `monthly` (the calendar month of `target_date`); `days=N` (1..=365) instead means the N
//!   days ending on `target_date`. Giving both is an error.
//! - `limit` 1..=50 (default 10); `by` defaults to `requests` for top-models and to `cost` for
//!   top-channels (the original router's orders); `breakdown_by` defaults to `provider`;
//!   summary `days` 1..=365 (default 30); alerts `hours` 1..=168 (default 24); `year`
//!   1..=9999 and `month` 1..=12 default to today's.
//! - A message names the parameter, echoes the value (cut to 40 characters) and says what is
//!   accepted: `invalid limit "0": expected an integer from 1 to 50`.

use std::collections::HashMap;
use std::fmt;

use chrono::{Datelike, Days, NaiveDate};

/// The raw query pairs of a request.
pub type QueryPairs = HashMap<String, String>;

/// Longest part of a bad value echoed back in a message.
const MAX_ECHO_CHARS: usize = 40;

/// A bad stats parameter: the handler answers 400 with [`StatsParamError::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsParamError {
    param: &'static str,
    message: String,
}

impl StatsParamError {
    fn invalid(param: &'static str, value: &str, expected: &str) -> Self {
        let shown: String = value.chars().take(MAX_ECHO_CHARS).collect();
        let ellipsis = if value.chars().count() > MAX_ECHO_CHARS {
            "..."
        } else {
            ""
        };
        StatsParamError {
            param,
            message: format!("invalid {param} \"{shown}{ellipsis}\": expected {expected}"),
        }
    }

    /// The parameter that was wrong.
    pub fn param(&self) -> &'static str {
        self.param
    }

    /// The message for the 400 body.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StatsParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StatsParamError {}

/// An inclusive range of UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl DateRange {
    /// Monday..Sunday of the week holding `date`.
    pub fn week_of(date: NaiveDate) -> DateRange {
        let since_monday = u64::from(date.weekday().num_days_from_monday());
        let first = date
            .checked_sub_days(Days::new(since_monday))
            .unwrap_or(date);
        let last = first.checked_add_days(Days::new(6)).unwrap_or(first);
        DateRange { first, last }
    }

    /// The calendar month `year`-`month`; `None` when it does not exist.
    pub fn month(year: i32, month: u32) -> Option<DateRange> {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let next = first.checked_add_months(chrono::Months::new(1))?;
        let last = next.pred_opt()?;
        Some(DateRange { first, last })
    }

    /// The `days` days ending on `last` (at least one).
    pub fn ending_on(last: NaiveDate, days: u32) -> DateRange {
        let back = u64::from(days.max(1) - 1);
        let first = last.checked_sub_days(Days::new(back)).unwrap_or(last);
        DateRange { first, last }
    }
}

/// The span a top list or breakdown covers, relative to its `target_date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Daily,
    Weekly,
    Monthly,
    /// The N days ending on the target date.
    Days(u32),
}

impl Period {
    /// The `period` value echoed in responses (`days` for `days=N`).
    pub fn name(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Days(_) => "days",
        }
    }

    /// The days covered when the target date is `target`.
    pub fn range(self, target: NaiveDate) -> DateRange {
        match self {
            Period::Daily => DateRange::ending_on(target, 1),
            Period::Weekly => DateRange::week_of(target),
            Period::Monthly => DateRange::month(target.year(), target.month())
                .unwrap_or(DateRange::ending_on(target, 1)),
            Period::Days(n) => DateRange::ending_on(target, n),
        }
    }
}

/// What a top list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    Requests,
    Cost,
    Tokens,
}

impl RankBy {
    pub fn name(self) -> &'static str {
        match self {
            RankBy::Requests => "requests",
            RankBy::Cost => "cost",
            RankBy::Tokens => "tokens",
        }
    }
}

/// The dimension of a cost breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakdownBy {
    Provider,
    Channel,
    Model,
    /// By client key name.
    Key,
}

impl BreakdownBy {
    pub fn name(self) -> &'static str {
        match self {
            BreakdownBy::Provider => "provider",
            BreakdownBy::Channel => "channel",
            BreakdownBy::Model => "model",
            BreakdownBy::Key => "key",
        }
    }
}

/// GET /v1/stats/daily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyParams {
    pub date: NaiveDate,
}

/// GET /v1/stats/weekly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyParams {
    pub target_date: NaiveDate,
}

/// GET /v1/stats/monthly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthlyParams {
    pub year: i32,
    pub month: u32,
}

/// GET /v1/stats/summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryParams {
    pub today: NaiveDate,
    pub days: u32,
}

/// GET /v1/stats/top-models and /v1/stats/top-channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopParams {
    pub period: Period,
    pub target_date: NaiveDate,
    pub limit: usize,
    pub by: RankBy,
}

/// GET /v1/stats/cost-breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakdownParams {
    pub period: Period,
    pub target_date: NaiveDate,
    pub breakdown_by: BreakdownBy,
}

/// GET /v1/stats/alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertsParams {
    pub hours: u32,
}

pub fn parse_daily(q: &QueryPairs, today: NaiveDate) -> Result<DailyParams, StatsParamError> {
    Ok(DailyParams {
        date: target_date(q, today)?,
    })
}

pub fn parse_weekly(q: &QueryPairs, today: NaiveDate) -> Result<WeeklyParams, StatsParamError> {
    Ok(WeeklyParams {
        target_date: target_date(q, today)?,
    })
}

pub fn parse_monthly(q: &QueryPairs, today: NaiveDate) -> Result<MonthlyParams, StatsParamError> {
    let year = int_in(q, "year", 1, 9999)?.map_or(today.year(), |y| y as i32);
    let month = int_in(q, "month", 1, 12)?.map_or(today.month(), |m| m as u32);
    Ok(MonthlyParams { year, month })
}

pub fn parse_summary(q: &QueryPairs, today: NaiveDate) -> Result<SummaryParams, StatsParamError> {
    let days = int_in(q, "days", 1, 365)?.map_or(30, |d| d as u32);
    Ok(SummaryParams { today, days })
}

pub fn parse_top_models(q: &QueryPairs, today: NaiveDate) -> Result<TopParams, StatsParamError> {
    parse_top(q, today, RankBy::Requests)
}

pub fn parse_top_channels(q: &QueryPairs, today: NaiveDate) -> Result<TopParams, StatsParamError> {
    parse_top(q, today, RankBy::Cost)
}

pub fn parse_cost_breakdown(
    q: &QueryPairs,
    today: NaiveDate,
) -> Result<BreakdownParams, StatsParamError> {
    let breakdown_by = match value(q, "breakdown_by") {
        None | Some("provider") => BreakdownBy::Provider,
        Some("channel") => BreakdownBy::Channel,
        Some("model") => BreakdownBy::Model,
        Some("key") => BreakdownBy::Key,
        Some(other) => {
            let expected = "one of provider, channel, model, key";
            return Err(StatsParamError::invalid("breakdown_by", other, expected));
        }
    };
    Ok(BreakdownParams {
        period: period(q)?,
        target_date: target_date(q, today)?,
        breakdown_by,
    })
}

pub fn parse_alerts(q: &QueryPairs) -> Result<AlertsParams, StatsParamError> {
    let hours = int_in(q, "hours", 1, 168)?.map_or(24, |h| h as u32);
    Ok(AlertsParams { hours })
}

fn parse_top(
    q: &QueryPairs,
    today: NaiveDate,
    default_by: RankBy,
) -> Result<TopParams, StatsParamError> {
    let by = match value(q, "by") {
        None => default_by,
        Some("requests") => RankBy::Requests,
        Some("cost") => RankBy::Cost,
        Some("tokens") => RankBy::Tokens,
        Some(other) => {
            let expected = "one of requests, cost, tokens";
            return Err(StatsParamError::invalid("by", other, expected));
        }
    };
    Ok(TopParams {
        period: period(q)?,
        target_date: target_date(q, today)?,
        limit: int_in(q, "limit", 1, 50)?.map_or(10, |l| l as usize),
        by,
    })
}

fn period(q: &QueryPairs) -> Result<Period, StatsParamError> {
    let days = int_in(q, "days", 1, 365)?;
    match (value(q, "period"), days) {
        (Some(p), Some(_)) => Err(StatsParamError::invalid(
            "period",
            p,
            "either period or days, not both",
        )),
        (None, Some(n)) => Ok(Period::Days(n as u32)),
        (None | Some("daily"), None) => Ok(Period::Daily),
        (Some("weekly"), None) => Ok(Period::Weekly),
        (Some("monthly"), None) => Ok(Period::Monthly),
        (Some(other), None) => Err(StatsParamError::invalid(
            "period",
            other,
            "one of daily, weekly, monthly (or days=N)",
        )),
    }
}

fn target_date(q: &QueryPairs, today: NaiveDate) -> Result<NaiveDate, StatsParamError> {
    match value(q, "target_date") {
        None => Ok(today),
        Some(text) => parse_date(text).ok_or_else(|| {
            StatsParamError::invalid("target_date", text, "a date YYYY-MM-DD, e.g. 2026-11-21")
        }),
    }
}

/// A strict `YYYY-MM-DD` calendar date.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// An optional integer parameter within `min..=max`.
fn int_in(
    q: &QueryPairs,
    param: &'static str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, StatsParamError> {
    let Some(text) = value(q, param) else {
        return Ok(None);
    };
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => {
            let expected = format!("an integer from {min} to {max}");
            Err(StatsParamError::invalid(param, text, &expected))
        }
    }
}

/// The parameter's value; empty counts as absent.
fn value<'q>(q: &'q QueryPairs, param: &str) -> Option<&'q str> {
    q.get(param).map(String::as_str).filter(|v| !v.is_empty())
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
