//! Tests of stats::params.

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn query(pairs: &[(&str, &str)]) -> QueryPairs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

type Pairs<'a> = &'a [(&'a str, &'a str)];

const TODAY: fn() -> NaiveDate = || date(2026, 11, 30);

#[test]
fn defaults() {
    let none = query(&[]);
    assert_eq!(
        parse_daily(&none, TODAY()),
        Ok(DailyParams { date: TODAY() })
    );
    assert_eq!(
        parse_monthly(&none, TODAY()),
        Ok(MonthlyParams {
            year: 2026,
            month: 11
        })
    );
    assert_eq!(
        parse_summary(&none, TODAY()),
        Ok(SummaryParams {
            today: TODAY(),
            days: 30
        })
    );
    let top = parse_top_models(&none, TODAY());
    let want = TopParams {
        period: Period::Daily,
        target_date: TODAY(),
        limit: 10,
        by: RankBy::Requests,
    };
    assert_eq!(top, Ok(want));
    assert_eq!(
        parse_top_channels(&none, TODAY()).map(|p| p.by),
        Ok(RankBy::Cost)
    );
    assert_eq!(
        parse_cost_breakdown(&none, TODAY()).map(|p| p.breakdown_by),
        Ok(BreakdownBy::Provider)
    );
    assert_eq!(parse_alerts(&none), Ok(AlertsParams { hours: 24 }));
    let empty = query(&[("target_date", ""), ("limit", "")]);
    assert_eq!(parse_top_models(&empty, TODAY()), Ok(want));
}

#[test]
fn accepted_values() {
    let q = query(&[
        ("period", "weekly"),
        ("limit", "50"),
        ("by", "tokens"),
        ("target_date", "2028-02-29"),
        ("unknown", "ignored"),
    ]);
    let want = TopParams {
        period: Period::Weekly,
        target_date: date(2028, 2, 29),
        limit: 50,
        by: RankBy::Tokens,
    };
    assert_eq!(parse_top_channels(&q, TODAY()), Ok(want));
    let q = query(&[("days", "7"), ("breakdown_by", "model")]);
    let got = parse_cost_breakdown(&q, TODAY());
    assert_eq!(
        got.map(|p| (p.period, p.breakdown_by)),
        Ok((Period::Days(7), BreakdownBy::Model))
    );
    let q = query(&[("year", "2028"), ("month", "2")]);
    assert_eq!(
        parse_monthly(&q, TODAY()),
        Ok(MonthlyParams {
            year: 2028,
            month: 2
        })
    );
    assert_eq!(
        parse_alerts(&query(&[("hours", "168")])),
        Ok(AlertsParams { hours: 168 })
    );
}

#[test]
fn error_messages() {
    let cases: [(Pairs, &str, &str); 14] = [
        (&[("target_date", "2026-13-01")], "target_date", "invalid target_date \"2026-13-01\": expected a date YYYY-MM-DD, e.g. 2026-11-21"),
        (&[("target_date", "2027-02-29")], "target_date", "invalid target_date \"2027-02-29\": expected a date YYYY-MM-DD, e.g. 2026-11-21"),
        (&[("target_date", "2026-1-05")], "target_date", "invalid target_date \"2026-1-05\": expected a date YYYY-MM-DD, e.g. 2026-11-21"),
        (&[("target_date", "yesterday")], "target_date", "invalid target_date \"yesterday\": expected a date YYYY-MM-DD, e.g. 2026-11-21"),
        (&[("limit", "0")], "limit", "invalid limit \"0\": expected an integer from 1 to 50"),
        (&[("limit", "51")], "limit", "invalid limit \"51\": expected an integer from 1 to 50"),
        (&[("limit", "-3")], "limit", "invalid limit \"-3\": expected an integer from 1 to 50"),
        (&[("by", "latency")], "by", "invalid by \"latency\": expected one of requests, cost, tokens"),
        (&[("period", "yearly")], "period", "invalid period \"yearly\": expected one of daily, weekly, monthly (or days=N)"),
        (&[("period", "weekly"), ("days", "7")], "period", "invalid period \"weekly\": expected either period or days, not both"),
        (&[("days", "0")], "days", "invalid days \"0\": expected an integer from 1 to 365"),
        (&[("days", "366")], "days", "invalid days \"366\": expected an integer from 1 to 365"),
        (&[("by", "x".repeat(45).leak())], "by", "invalid by \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\": expected one of requests, cost, tokens"),
        (&[("limit", "ten")], "limit", "invalid limit \"ten\": expected an integer from 1 to 50"),
    ];
    for (pairs, param, message) in cases {
        let err = parse_top_models(&query(pairs), TODAY()).expect_err("must fail");
        assert_eq!((err.param(), err.to_string().as_str()), (param, message));
    }
    let monthly = [
        (
            &[("month", "13")][..],
            "invalid month \"13\": expected an integer from 1 to 12",
        ),
        (
            &[("month", "0")][..],
            "invalid month \"0\": expected an integer from 1 to 12",
        ),
        (
            &[("year", "0")][..],
            "invalid year \"0\": expected an integer from 1 to 9999",
        ),
    ];
    for (pairs, message) in monthly {
        let err = parse_monthly(&query(pairs), TODAY()).expect_err("must fail");
        assert_eq!(err.message(), message);
    }
    let err = parse_summary(&query(&[("days", "0")]), TODAY()).expect_err("must fail");
    assert_eq!(
        err.message(),
        "invalid days \"0\": expected an integer from 1 to 365"
    );
    let err = parse_alerts(&query(&[("hours", "169")])).expect_err("must fail");
    assert_eq!(
        err.message(),
        "invalid hours \"169\": expected an integer from 1 to 168"
    );
    let err = parse_alerts(&query(&[("hours", "0")])).expect_err("must fail");
    assert_eq!(
        err.message(),
        "invalid hours \"0\": expected an integer from 1 to 168"
    );
    let q = query(&[("breakdown_by", "region")]);
    let err = parse_cost_breakdown(&q, TODAY()).expect_err("must fail");
    let want = "invalid breakdown_by \"region\": expected one of provider, channel, model, key";
    assert_eq!(err.message(), want);
    let err = parse_daily(&query(&[("target_date", "2026-11-31")]), TODAY());
    assert_eq!(err.map_err(|e| e.param()), Err("target_date"));
}

#[test]
fn ranges() {
    // 2026-11-29 is a Sunday, 2026-11-30 a Monday.
    let sunday = DateRange::week_of(date(2026, 11, 29));
    assert_eq!(
        (sunday.first, sunday.last),
        (date(2026, 11, 23), date(2026, 11, 29))
    );
    let monday = DateRange::week_of(date(2026, 11, 30));
    assert_eq!(
        (monday.first, monday.last),
        (date(2026, 11, 30), date(2026, 12, 6))
    );
    let leap = DateRange::week_of(date(2028, 2, 29));
    assert_eq!(
        (leap.first, leap.last),
        (date(2028, 2, 28), date(2028, 3, 5))
    );
    let feb = DateRange::month(2028, 2).expect("month exists");
    assert_eq!((feb.first, feb.last), (date(2028, 2, 1), date(2028, 2, 29)));
    let feb = DateRange::month(2027, 2).expect("month exists");
    assert_eq!(feb.last, date(2027, 2, 28));
    let dec = DateRange::month(2026, 12).expect("month exists");
    assert_eq!(dec.last, date(2026, 12, 31));
    assert_eq!(DateRange::month(2026, 13), None);
    let seven = Period::Days(7).range(date(2026, 12, 1));
    assert_eq!(
        (seven.first, seven.last),
        (date(2026, 11, 25), date(2026, 12, 1))
    );
    let month = Period::Monthly.range(date(2026, 11, 30));
    assert_eq!(
        (month.first, month.last),
        (date(2026, 11, 1), date(2026, 11, 30))
    );
}
