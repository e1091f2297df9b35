//! Tests of stats::report.

use super::*;
use crate::usage::record::UsageRecord;
use serde_json::{json, Value};
use std::path::Path;

const KNOWN_LOGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/stats/usage_logs");

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// The hand-written log: 20 records, 2026-11-29 (Sun) .. 2026-12-01 (Tue).
fn known() -> UsageAggregates {
    let (agg, report) = UsageAggregates::rebuild_from_dir(Path::new(KNOWN_LOGS)).expect("rebuild");
    assert_eq!(report.records, 20);
    agg
}

fn to_json(value: impl Serialize) -> Value {
    serde_json::to_value(value).expect("serializable")
}

fn top(period: Period, target: NaiveDate, limit: usize, by: RankBy) -> TopParams {
    TopParams {
        period,
        target_date: target,
        limit,
        by,
    }
}

#[test]
fn daily_stats_object_exact() {
    let got = to_json(daily(
        &known(),
        &DailyParams {
            date: date(2026, 11, 29),
        },
    ));
    let want = json!({
        "date": "2026-11-29",
        "total_requests": 6, "successful_requests": 5, "failed_requests": 1,
        "total_input_tokens": 7650, "total_output_tokens": 4300,
        "total_cached_tokens": 1200, "total_reasoning_tokens": 400, "total_tokens": 12350,
        "total_cost": 0.00331, "unknown_cost_requests": 0, "unrouted_requests": 0,
        "avg_cost_per_request": 0.000551667, "avg_cost_per_1k_tokens": 0.000268016,
        "avg_response_time_ms": 1266.7, "p95_response_time_ms": 3008,
        "providers": {
            "groq": {"requests": 3, "cost": 0.00166, "tokens": 5400},
            "openrouter": {"requests": 3, "cost": 0.00165, "tokens": 6950}
        },
        "channels": {
            "groq_main": {"name": "Groq", "requests": 3, "cost": 0.00166, "tokens": 5400},
            "openrouter": {"name": "OpenRouter", "requests": 2, "cost": 0.00045, "tokens": 1950},
            "or_backup": {"name": "OpenRouter Backup", "requests": 1, "cost": 0.0012, "tokens": 5000}
        },
        "models": {
            "llama-3.1-8b-instant": {"requests": 2, "cost": 0.00018, "tokens": 3000},
            "llama-3.3-70b-versatile": {"requests": 1, "cost": 0.00148, "tokens": 2400},
            "openai/gpt-4o-mini": {"requests": 2, "cost": 0.00165, "tokens": 6500},
            "qwen/qwen3-30b-a3b:free": {"requests": 1, "cost": 0.0, "tokens": 450}
        }
    });
    assert_eq!(got, want);
    // p95 of [150, 300, 800, 1250, 2100, 3000] is 3000; 3008 is within 1/32.
    assert!((3008.0_f64 - 3000.0).abs() / 3000.0 <= 1.0 / 32.0);
}

#[test]
fn daily_of_the_busy_day_counts_failures_unknown_cost_and_no_channel() {
    let d = daily(
        &known(),
        &DailyParams {
            date: date(2026, 11, 30),
        },
    );
    assert_eq!(
        (d.total_requests, d.successful_requests, d.failed_requests),
        (9, 6, 3)
    );
    assert_eq!(
        (
            d.total_tokens,
            d.total_cached_tokens,
            d.total_reasoning_tokens
        ),
        (9800, 500, 0)
    );
    assert_eq!((d.total_cost, d.unknown_cost_requests), (0.003255, 1));
    assert_eq!(
        (d.avg_cost_per_request, d.avg_cost_per_1k_tokens),
        (0.000361667, 0.000332143)
    );
    assert_eq!(
        (d.avg_response_time_ms, d.p95_response_time_ms),
        (839.4, 2496)
    );
    // The call that reached no channel is counted as such, not as a model/provider/channel.
    assert_eq!(d.unrouted_requests, 1);
    assert_eq!(d.models.get("(none)"), None);
    assert_eq!(d.providers.get("(none)"), None);
    assert!(!d.channels.contains_key("(none)"));
    let requests: u64 = d.channels.values().map(|c| c.requests).sum();
    assert_eq!(requests + d.unrouted_requests, d.total_requests);
}

#[test]
fn weekly_runs_monday_to_sunday() {
    let agg = known();
    let sunday = weekly(
        &agg,
        &WeeklyParams {
            target_date: date(2026, 11, 29),
        },
    );
    assert_eq!(
        (sunday.week_start, sunday.week_end),
        (Some(date(2026, 11, 23)), Some(date(2026, 11, 29)))
    );
    assert_eq!((sunday.total_requests, sunday.total_cost), (6, 0.00331));
    let monday = weekly(
        &agg,
        &WeeklyParams {
            target_date: date(2026, 11, 30),
        },
    );
    assert_eq!(
        (monday.week_start, monday.week_end),
        (Some(date(2026, 11, 30)), Some(date(2026, 12, 6)))
    );
    assert_eq!(
        (
            monday.total_requests,
            monday.failed_requests,
            monday.total_tokens
        ),
        (14, 4, 22400)
    );
    assert_eq!(
        (monday.total_cost, monday.unknown_cost_requests),
        (0.008285, 1)
    );
    assert_eq!(
        (monday.avg_response_time_ms, monday.p95_response_time_ms),
        (3143.2, 30208)
    );
    assert_eq!(monday.avg_cost_per_request, 0.000591786);
    let next_sunday = weekly(
        &agg,
        &WeeklyParams {
            target_date: date(2026, 12, 6),
        },
    );
    assert_eq!(next_sunday, monday);
    let json = to_json(&monday);
    assert_eq!(json.get("date"), None);
    assert_eq!(json.get("week_start"), Some(&json!("2026-11-30")));
    assert_eq!(json.get("week_end"), Some(&json!("2026-12-06")));
}

#[test]
fn monthly_splits_at_the_month_boundary() {
    let agg = known();
    let nov = monthly(
        &agg,
        &MonthlyParams {
            year: 2026,
            month: 11,
        },
    );
    assert_eq!(
        (nov.year, nov.month, nov.date),
        (Some(2026), Some(11), None)
    );
    assert_eq!(
        (
            nov.total_requests,
            nov.successful_requests,
            nov.total_tokens
        ),
        (15, 11, 22150)
    );
    assert_eq!(
        (nov.total_cost, nov.avg_cost_per_request),
        (0.006565, 0.000437667)
    );
    assert_eq!(
        (nov.avg_response_time_ms, nov.p95_response_time_ms),
        (1010.3, 3008)
    );
    let openrouter = ChannelFigures {
        name: "OpenRouter".into(),
        requests: 6,
        cost: 0.001425,
        tokens: 5450,
    };
    assert_eq!(nov.channels.get("openrouter"), Some(&openrouter));
    let dec = monthly(
        &agg,
        &MonthlyParams {
            year: 2026,
            month: 12,
        },
    );
    assert_eq!(
        (
            dec.total_requests,
            dec.total_cost,
            dec.total_reasoning_tokens
        ),
        (5, 0.00503, 500)
    );
    assert_eq!(
        (dec.avg_response_time_ms, dec.p95_response_time_ms),
        (7290.0, 30208)
    );
}

#[test]
fn leap_day_weeks_and_months() {
    let mut agg = UsageAggregates::new();
    for ts in [
        "2028-02-28T23:59:59.999Z",
        "2028-02-29T12:00:00Z",
        "2028-03-01T00:00:00Z",
        "2028-01-31T00:00:00Z",
    ] {
        agg.add(&record(ts, 0.001));
    }
    let feb = monthly(
        &agg,
        &MonthlyParams {
            year: 2028,
            month: 2,
        },
    );
    assert_eq!((feb.total_requests, feb.total_cost), (2, 0.002));
    let mar = monthly(
        &agg,
        &MonthlyParams {
            year: 2028,
            month: 3,
        },
    );
    assert_eq!(mar.total_requests, 1);
    let leap = daily(
        &agg,
        &DailyParams {
            date: date(2028, 2, 29),
        },
    );
    assert_eq!(leap.total_requests, 1);
    let week = weekly(
        &agg,
        &WeeklyParams {
            target_date: date(2028, 2, 29),
        },
    );
    assert_eq!(
        (week.week_start, week.week_end),
        (Some(date(2028, 2, 28)), Some(date(2028, 3, 5)))
    );
    assert_eq!(week.total_requests, 3);
}

#[test]
fn summary_and_comparison() {
    let s = summary(
        &known(),
        &SummaryParams {
            today: date(2026, 12, 1),
            days: 30,
        },
    );
    assert_eq!(
        (s.today.date, s.today.total_requests),
        (Some(date(2026, 12, 1)), 5)
    );
    assert_eq!(
        (s.this_week.week_start, s.this_week.total_requests),
        (Some(date(2026, 11, 30)), 14)
    );
    assert_eq!(
        (s.this_month.month, s.this_month.total_requests),
        (Some(12), 5)
    );
    let last = &s.last_days;
    assert_eq!(
        (last.days, last.start_date, last.end_date),
        (Some(30), Some(date(2026, 11, 2)), Some(date(2026, 12, 1)))
    );
    assert_eq!(
        (
            last.total_requests,
            last.total_cost,
            last.unknown_cost_requests
        ),
        (20, 0.011595, 1)
    );
    assert_eq!(
        (last.avg_cost_per_request, last.avg_cost_per_1k_tokens),
        (0.00057975, 0.000333669)
    );
    assert_eq!(
        (last.avg_response_time_ms, last.p95_response_time_ms),
        (2580.3, 4032)
    );
    // 51605 ms / 20 = 2580.25, rounded half away from zero.
    // week_avg = 0.008285 / 2 days = 0.0041425; month_avg = 0.00503 / 1 day.
    // (0.00503 - 0.0041425) / 0.0041425 = 0.21424..; (0.0041425 - 0.00503) / 0.00503 = -0.17644..
    let want = Comparison {
        daily_vs_weekly_avg: 0.2142,
        weekly_vs_monthly_avg: -0.1764,
    };
    assert_eq!(s.comparison, want);
    let keys: Vec<String> = to_json(&s)
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "comparison",
            "last_days",
            "this_month",
            "this_week",
            "today"
        ]
    );

    let quiet = summary(
        &known(),
        &SummaryParams {
            today: date(2027, 1, 1),
            days: 1,
        },
    );
    assert_eq!(
        quiet.comparison,
        Comparison {
            daily_vs_weekly_avg: 0.0,
            weekly_vs_monthly_avg: 0.0
        }
    );
    assert_eq!(quiet.last_days.total_requests, 0);
}

#[test]
fn top_models_orders_and_breaks_ties_by_name() {
    let agg = known();
    let monday = date(2026, 11, 30);
    let names = |r: &TopModelsReport| r.models.iter().map(|m| m.model.clone()).collect::<Vec<_>>();
    let by_requests = top_models(&agg, &top(Period::Weekly, monday, 10, RankBy::Requests));
    assert_eq!(
        names(&by_requests),
        [
            "openai/gpt-4o-mini",
            "llama-3.3-70b-versatile",
            "qwen/qwen3-30b-a3b:free",
            "llama-3.1-8b-instant",
        ]
    );
    let first = ModelRank {
        model: "openai/gpt-4o-mini".into(),
        requests: 5,
        cost: 0.00237,
        tokens: 8000,
        avg_cost_per_request: 0.000474,
        avg_tokens_per_request: 1600.0,
    };
    assert_eq!(by_requests.models.first(), Some(&first));
    assert_eq!(
        (by_requests.period, by_requests.by, by_requests.days),
        ("weekly", "requests", None)
    );
    assert_eq!(
        (by_requests.start_date, by_requests.end_date),
        (monday, date(2026, 12, 6))
    );
    let by_cost = top_models(&agg, &top(Period::Weekly, monday, 10, RankBy::Cost));
    assert_eq!(
        names(&by_cost),
        [
            "llama-3.3-70b-versatile",
            "openai/gpt-4o-mini",
            "llama-3.1-8b-instant",
            "qwen/qwen3-30b-a3b:free"
        ]
    );
    let by_tokens = top_models(&agg, &top(Period::Weekly, monday, 2, RankBy::Tokens));
    assert_eq!(
        names(&by_tokens),
        ["llama-3.3-70b-versatile", "openai/gpt-4o-mini"]
    );
    let last_two = top_models(&agg, &top(Period::Days(2), monday, 1, RankBy::Requests));
    assert_eq!(
        (last_two.period, last_two.days, last_two.start_date),
        ("days", Some(2), date(2026, 11, 29))
    );
    assert_eq!(names(&last_two), ["openai/gpt-4o-mini"]);
    assert_eq!(last_two.models.first().map(|m| m.requests), Some(5));
    let json = to_json(&last_two);
    assert_eq!(json.get("days"), Some(&json!(2)));
    assert_eq!(json.get("target_date"), Some(&json!("2026-11-30")));
}

#[test]
fn top_channels_rows() {
    let agg = known();
    let report = top_channels(
        &agg,
        &top(Period::Monthly, date(2026, 11, 30), 10, RankBy::Cost),
    );
    let ids: Vec<&str> = report
        .channels
        .iter()
        .map(|c| c.channel_id.as_str())
        .collect();
    assert_eq!(ids, ["groq_main", "openrouter", "or_backup"]);
    let groq = ChannelRank {
        channel_id: "groq_main".into(),
        channel: "Groq".into(),
        requests: 6,
        cost: 0.003895,
        tokens: 11400,
        avg_cost_per_request: 0.000649167,
        avg_tokens_per_request: 1900.0,
        successful_requests: 5,
        failed_requests: 1,
        success_rate: 0.8333,
        avg_response_time_ms: 1325.0,
        p95_response_time_ms: 3008,
    };
    assert_eq!(report.channels.first(), Some(&groq));
    assert_eq!(
        (report.start_date, report.end_date),
        (date(2026, 11, 1), date(2026, 11, 30))
    );
    let by_requests = top_channels(
        &agg,
        &top(Period::Monthly, date(2026, 11, 30), 10, RankBy::Requests),
    );
    let ids: Vec<&str> = by_requests
        .channels
        .iter()
        .map(|c| c.channel_id.as_str())
        .collect();
    assert_eq!(ids, ["groq_main", "openrouter", "or_backup"]);
    let empty = top_channels(
        &agg,
        &top(Period::Daily, date(2027, 5, 5), 10, RankBy::Cost),
    );
    assert!(empty.channels.is_empty());
}

#[test]
fn cost_breakdowns_with_percentages() {
    let agg = known();
    let params = |period, target, breakdown_by| BreakdownParams {
        period,
        target_date: target,
        breakdown_by,
    };
    let by_channel = cost_breakdown(
        &agg,
        &params(Period::Monthly, date(2026, 11, 30), BreakdownBy::Channel),
    );
    let got = to_json(&by_channel);
    let want = json!({
        "period": "monthly", "breakdown_by": "channel", "target_date": "2026-11-30",
        "start_date": "2026-11-01", "end_date": "2026-11-30", "total_cost": 0.006565,
        "breakdown": [
            {"key": "groq_main", "channel": "groq_main", "name": "Groq", "cost": 0.003895, "percentage": 59.33, "requests": 6, "tokens": 11400},
            {"key": "openrouter", "channel": "openrouter", "name": "OpenRouter", "cost": 0.001425, "percentage": 21.71, "requests": 6, "tokens": 5450},
            {"key": "or_backup", "channel": "or_backup", "name": "OpenRouter Backup", "cost": 0.001245, "percentage": 18.96, "requests": 2, "tokens": 5300}
        ],
        "unrouted_requests": 1
    });
    assert_eq!(got, want);

    let by_provider = cost_breakdown(
        &agg,
        &params(Period::Daily, date(2026, 12, 1), BreakdownBy::Provider),
    );
    let rows: Vec<(&str, f64, f64)> = by_provider
        .breakdown
        .iter()
        .map(|b| (b.key.as_str(), b.cost, b.percentage))
        .collect();
    assert_eq!(
        rows,
        [("groq", 0.00368, 73.16), ("openrouter", 0.00135, 26.84)]
    );
    assert_eq!(
        by_provider.breakdown.first().and_then(|b| b.name.clone()),
        None
    );
    let first = to_json(&by_provider.breakdown[0]);
    assert_eq!(first["provider"], json!("groq"));
    assert_eq!((first.get("model"), first.get("channel")), (None, None));

    let by_model = cost_breakdown(
        &agg,
        &params(Period::Days(3), date(2026, 12, 1), BreakdownBy::Model),
    );
    let rows: Vec<(&str, f64)> = by_model
        .breakdown
        .iter()
        .map(|b| (b.key.as_str(), b.percentage))
        .collect();
    assert_eq!(
        rows,
        [
            ("llama-3.3-70b-versatile", 62.1),
            ("openai/gpt-4o-mini", 34.67),
            ("llama-3.1-8b-instant", 3.23),
            ("qwen/qwen3-30b-a3b:free", 0.0)
        ]
    );
    assert_eq!(
        by_model.breakdown[0].model.as_deref(),
        Some("llama-3.3-70b-versatile")
    );
    assert_eq!(by_model.unrouted_requests, 1);
    assert_eq!((by_model.total_cost, by_model.days), (0.011595, Some(3)));
}

#[test]
fn empty_period_is_all_zeros() {
    let got = to_json(daily(
        &known(),
        &DailyParams {
            date: date(2025, 1, 1),
        },
    ));
    let want = json!({
        "date": "2025-01-01",
        "total_requests": 0, "successful_requests": 0, "failed_requests": 0,
        "total_input_tokens": 0, "total_output_tokens": 0,
        "total_cached_tokens": 0, "total_reasoning_tokens": 0, "total_tokens": 0,
        "total_cost": 0.0, "unknown_cost_requests": 0, "unrouted_requests": 0,
        "avg_cost_per_request": 0.0, "avg_cost_per_1k_tokens": 0.0,
        "avg_response_time_ms": 0.0, "p95_response_time_ms": 0,
        "providers": {}, "channels": {}, "models": {}
    });
    assert_eq!(got, want);
    let breakdown = cost_breakdown(
        &known(),
        &BreakdownParams {
            period: Period::Daily,
            target_date: date(2025, 1, 1),
            breakdown_by: BreakdownBy::Model,
        },
    );
    assert_eq!((breakdown.total_cost, breakdown.breakdown.len()), (0.0, 0));
}

fn record(ts: &str, cost: f64) -> UsageRecord {
    UsageRecord {
        timestamp: ts.into(),
        request_id: "r".into(),
        query: "q".into(),
        model: "m".into(),
        channel_id: "c".into(),
        channel_name: "C".into(),
        provider: "p".into(),
        strategy: "cost_first".into(),
        input_tokens: 1,
        output_tokens: 1,
        total_tokens: 2,
        output_cost: cost,
        total_cost: cost,
        response_time_ms: 10,
        ..UsageRecord::default()
    }
}
