//! Tests of the PostgreSQL history's SQL building and value mapping (no server needed; the
//! engine itself is tested against a real server in tests/gateway/postgres.rs).

use super::*;

#[test]
fn nul_becomes_a_replacement_character() {
    assert_eq!(text("a\0b"), "a\u{FFFD}b");
    let json = without_nul_json(serde_json::json!({"m": ["x\0"], "k\0": 1}));
    assert_eq!(
        json,
        serde_json::json!({"m": ["x\u{FFFD}"], "k\u{FFFD}": 1})
    );
}

#[test]
fn a_query_binds_every_filter_in_order() {
    let query = HistoryQuery {
        search: Some("量子 50%_off".into()),
        status: Some("error".into()),
        from_ms: Some(5),
        page: 1,
        per_page: 50,
        ..HistoryQuery::default()
    };
    let (clause, values) = filtered(&query);
    assert_eq!(
        clause,
        " WHERE r.search_text ILIKE $1 AND r.search_text ILIKE $2 AND r.status = $3 \
         AND r.time_ms >= $4"
    );
    let shown: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::Text(s) => s.clone(),
            Value::Int(n) => n.to_string(),
        })
        .collect();
    assert_eq!(shown, ["%量子%", "%50\\%\\_off%", "error", "5"]);
}

#[test]
fn statuses_are_stored_as_the_record_writes_them() {
    for status in [
        CallStatus::Success,
        CallStatus::Error,
        CallStatus::Cancelled,
    ] {
        let json = serde_json::to_value(status).unwrap_or_default();
        assert_eq!(json, serde_json::json!(status_text(status)));
        assert_eq!(status_of(status_text(status)), status);
    }
}
