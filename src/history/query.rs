//! A history query: search text, filters and a page, parsed once from URL parameters (the API
//! and the Requests page share it), and the page of rows it answers.
//!
//! Search: the text is split on whitespace; every word must appear (in any order) in the
//! request or response body, the model, the channel, the app or the error. Words of three or
//! more characters use the full-text index (trigrams, so Chinese and other scripts without
//! spaces are found inside a longer text); shorter words are matched by a scan, slower.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::row::HistoryRow;

/// Rows per page unless `per_page` says otherwise.
pub const DEFAULT_PER_PAGE: u32 = 50;
/// The largest `per_page`.
pub const MAX_PER_PAGE: u32 = 200;
/// Matches are counted up to this many; past it the total is a lower bound.
pub const COUNT_LIMIT: u64 = 1_000;

/// Filters and a page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryQuery {
    pub search: Option<String>,
    pub model: Option<String>,
    pub channel: Option<String>,
    /// `ok`, `error` or `cancelled`.
    pub status: Option<String>,
    pub app: Option<String>,
    pub key: Option<String>,
    pub format: Option<String>,
    /// Unix milliseconds, inclusive.
    pub from_ms: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub to_ms: Option<i64>,
    /// From 1.
    pub page: u32,
    pub per_page: u32,
}

/// One page of rows, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryPage {
    pub object: &'static str,
    pub data: Vec<HistoryRow>,
    pub page: u32,
    pub per_page: u32,
    /// Matching rows, counted up to [`COUNT_LIMIT`].
    pub total: u64,
    /// `total` stopped counting at [`COUNT_LIMIT`].
    pub total_is_lower_bound: bool,
    pub has_more: bool,
}

/// A parameter that does not parse; the message names it and says what it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError {
    pub param: &'static str,
    pub message: String,
}

impl HistoryQuery {
    /// Parse `search, model, channel, status, app, key, format, from, to, page, per_page`.
    /// Empty values mean "no filter".
    pub fn from_params(params: &HashMap<String, String>) -> Result<Self, QueryError> {
        let text = |name: &str| {
            params
                .get(name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let status = text("status");
        if let Some(s) = &status {
            if !matches!(s.as_str(), "ok" | "error" | "cancelled") {
                return Err(QueryError {
                    param: "status",
                    message: format!("`status` is ok, error or cancelled, not {s:?}."),
                });
            }
        }
        Ok(Self {
            search: text("search"),
            model: text("model"),
            channel: text("channel"),
            status,
            app: text("app"),
            key: text("key"),
            format: text("format"),
            from_ms: time_param("from", text("from").as_deref(), false)?,
            to_ms: time_param("to", text("to").as_deref(), true)?,
            page: number("page", text("page").as_deref(), 1)?.max(1),
            per_page: number("per_page", text("per_page").as_deref(), DEFAULT_PER_PAGE)?
                .clamp(1, MAX_PER_PAGE),
        })
    }

    /// Rows to skip before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.max(1) - 1) * u64::from(self.per_page)
    }

    /// The words of the search text.
    /// The search's words. One of one or two ASCII punctuation characters (`-`, `:`, `"`) is
    /// left out: it would match the punctuation of every stored body.
    pub fn words(&self) -> Vec<&str> {
        self.search
            .as_deref()
            .map(|s| {
                s.split_whitespace()
                    .filter(|w| {
                        w.chars().count() >= 3 || !w.chars().all(|c| c.is_ascii_punctuation())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An FTS5 match expression for the words of three characters or more (each a quoted phrase,
/// all required); `None` when there is none.
pub fn fts_expression(words: &[&str]) -> Option<String> {
    let phrases: Vec<String> = words
        .iter()
        .filter(|w| w.chars().count() >= 3)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!phrases.is_empty()).then(|| phrases.join(" AND "))
}

/// Words too short for the trigram index, matched by a scan.
pub fn short_words<'a>(words: &[&'a str]) -> Vec<&'a str> {
    words
        .iter()
        .copied()
        .filter(|w| w.chars().count() < 3)
        .collect()
}

fn number(param: &'static str, value: Option<&str>, default: u32) -> Result<u32, QueryError> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| QueryError {
            param,
            message: format!("`{param}` is a whole number, not {v:?}."),
        }),
    }
}

/// RFC 3339, a date (`2026-11-21`, the start of that UTC day; for `to`, its end), or Unix ms.
fn time_param(
    param: &'static str,
    value: Option<&str>,
    end_of_day: bool,
) -> Result<Option<i64>, QueryError> {
    let Some(v) = value else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.timestamp_millis()));
    }
    if let Ok(day) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let day = if end_of_day {
            day.succ_opt()
        } else {
            Some(day)
        };
        if let Some(start) = day.and_then(|d| d.and_hms_opt(0, 0, 0)) {
            return Ok(Some(start.and_utc().timestamp_millis()));
        }
    }
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(Some(ms));
    }
    Err(QueryError {
        param,
        message: format!(
            "`{param}` is a date (2026-11-21), an RFC 3339 time or Unix milliseconds, not {v:?}."
        ),
    })
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parameters_parse_into_a_query() {
        let q = HistoryQuery::from_params(&params(&[
            ("search", " 量子 计算机 "),
            ("status", "error"),
            ("from", "2026-11-21"),
            ("to", "2026-11-21"),
            ("page", "3"),
            ("per_page", "1000"),
            ("model", ""),
        ]))
        .expect("parses");
        assert_eq!(q.words(), vec!["量子", "计算机"]);
        assert_eq!(q.status.as_deref(), Some("error"));
        assert_eq!(q.model, None);
        assert_eq!(q.from_ms, Some(1_795_219_200_000));
        assert_eq!(q.to_ms, Some(1_795_305_600_000));
        assert_eq!((q.page, q.per_page, q.offset()), (3, 200, 400));
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let e = HistoryQuery::from_params(&params(&[("status", "fine")])).unwrap_err();
        assert_eq!(e.param, "status");
        let e = HistoryQuery::from_params(&params(&[("page", "two")])).unwrap_err();
        assert_eq!(e.message, "`page` is a whole number, not \"two\".");
        let e = HistoryQuery::from_params(&params(&[("from", "yesterday")])).unwrap_err();
        assert_eq!(e.param, "from");
    }

    #[test]
    fn long_words_go_to_the_index_and_short_ones_to_a_scan() {
        let words = ["量子计算", "ab", "say \"hi\""];
        assert_eq!(
            fts_expression(&words).as_deref(),
            Some("\"量子计算\" AND \"say \"\"hi\"\"\"")
        );
        assert_eq!(short_words(&words), vec!["ab"]);
        assert_eq!(fts_expression(&["ab"]), None);
    }
}
