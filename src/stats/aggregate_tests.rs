//! Tests of stats::aggregate.

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn view<'a>(ts: &'a str, channel: &'a str, cost: f64) -> RecordView<'a> {
    RecordView {
        timestamp: ts,
        provider: "groq",
        channel_id: channel,
        channel_name: "Groq",
        model: "llama-3.1-8b-instant",
        key_name: "",
        status: CallStatus::Success,
        input_tokens: 10,
        output_tokens: 5,
        total_tokens: 15,
        cached_tokens: 0,
        reasoning_tokens: 0,
        total_cost: cost,
        cost_currency: "USD",
        cost_known: true,
        response_time_ms: Some(100),
    }
}

#[test]
fn aggregates_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<UsageAggregates>();
}

#[test]
fn utc_dates() {
    let cases = [
        ("2026-11-21T12:30:45.123Z", Some(date(2026, 11, 21))),
        ("2026-11-21T23:59:59+00:00", Some(date(2026, 11, 21))),
        ("2026-11-21T01:00:00+08:00", Some(date(2026, 11, 20))),
        ("2026-11-21T23:30:00-02:00", Some(date(2026, 11, 22))),
        ("2028-02-29T00:00:00Z", Some(date(2028, 2, 29))),
        ("2027-02-29T00:00:00Z", None),
        ("2026-1-21T00:00:00Z", None),
        ("2026/11/21T00:00:00Z", None),
        ("yesterday", None),
        ("", None),
        ("Z", None),
    ];
    for (ts, want) in cases {
        assert_eq!(utc_date_of(ts), want, "{ts}");
    }
}

#[test]
fn costs_to_nanos() {
    assert_eq!(cost_to_nanos(0.000123456), 123_456);
    assert_eq!(cost_to_nanos(1.5), 1_500_000_000);
    assert_eq!(cost_to_nanos(-1.0), 0);
    assert_eq!(cost_to_nanos(f64::NAN), 0);
    assert_eq!(cost_to_nanos(f64::INFINITY), 0);
    assert_eq!(cost_to_nanos(1e300), u64::MAX);
}

#[test]
fn spend_on_day_and_channel() {
    let mut agg = UsageAggregates::new();
    assert!(agg.add_view(&view("2026-11-21T10:00:00Z", "a", 0.25)));
    assert!(agg.add_view(&view("2026-11-21T11:00:00Z", "b", 0.5)));
    assert!(agg.add_view(&view("2026-11-22T00:00:00Z", "a", 1.0)));
    assert!(!agg.add_view(&view("not a time", "a", 9.0)));
    assert_eq!(agg.spend_on(date(2026, 11, 21), None), 0.75);
    assert_eq!(agg.spend_on(date(2026, 11, 21), Some("a")), 0.25);
    assert_eq!(agg.spend_on(date(2026, 11, 21), Some("zzz")), 0.0);
    assert_eq!(agg.spend_on(date(2026, 11, 22), Some("a")), 1.0);
    assert_eq!(agg.spend_on(date(2026, 11, 23), None), 0.0);
    assert_eq!(agg.unplaced_records(), 1);
}

#[test]
fn empty_keys_and_channel_renames() {
    let mut agg = UsageAggregates::new();
    let mut v = view("2026-11-21T10:00:00Z", "", 0.0);
    v.provider = "";
    v.model = "";
    v.status = CallStatus::Error;
    agg.add_view(&v);
    let mut renamed = view("2026-11-22T10:00:00Z", "a", 0.0);
    agg.add_view(&renamed);
    renamed.timestamp = "2026-11-23T10:00:00Z";
    renamed.channel_name = "Groq (new)";
    agg.add_view(&renamed);
    let range = agg.between(date(2026, 11, 21), date(2026, 11, 23));
    assert_eq!(range.providers.get(NO_KEY).map(|t| t.requests), Some(1));
    assert_eq!(range.models.get(NO_KEY).map(|t| t.failed_requests), Some(1));
    assert_eq!(
        range.channels.get(NO_KEY).map(|c| c.name.as_str()),
        Some("Groq")
    );
    assert_eq!(
        range.channels.get("a").map(|c| c.name.as_str()),
        Some("Groq (new)")
    );
    assert_eq!(range.total.requests, 3);
    assert_eq!(
        agg.between(date(2026, 11, 23), date(2026, 11, 21)),
        Default::default()
    );
}

#[test]
fn merge_equals_adding_in_one() {
    let records = [
        view("2026-11-21T10:00:00Z", "a", 0.1),
        view("2026-11-21T11:00:00Z", "b", 0.2),
        view("2026-11-22T12:00:00Z", "a", 0.3),
    ];
    let mut all = UsageAggregates::new();
    let (mut first, mut second) = (UsageAggregates::new(), UsageAggregates::new());
    for (i, r) in records.iter().enumerate() {
        all.add_view(r);
        if i == 0 {
            first.add_view(r);
        } else {
            second.add_view(r);
        }
    }
    first.merge(second);
    assert_eq!(first, all);
}

#[test]
fn a_cost_in_another_currency_is_counted_apart_never_added_as_usd() {
    let mut totals = UsageTotals::default();
    totals.add(&view("2026-11-21T10:00:00Z", "usd", 0.1));
    totals.add(&RecordView {
        cost_currency: "CNY",
        ..view("2026-11-21T10:00:01Z", "cny", 0.006)
    });
    totals.add(&RecordView {
        cost_currency: "",
        ..view("2026-11-21T10:00:02Z", "old", 0.2)
    });
    assert_eq!(totals.requests, 3);
    assert_eq!(totals.cost_usd(), 0.3);
    assert_eq!(totals.other_currency_requests, 1);
}
