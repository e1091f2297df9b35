//! Tests of stats::alerts.

use super::*;
use chrono::TimeZone;

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, h, m, s)
        .single()
        .expect("valid time")
}

fn scratch_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sar-alerts-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir.join("logs").join("channel_alerts.jsonl")
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn cleanup(path: &Path) {
    if let Some(dir) = path.parent().and_then(Path::parent) {
        let _ = fs::remove_dir_all(dir);
    }
}

#[test]
fn invalid_key_alerts_at_once_then_quiet_for_an_hour() {
    let path = scratch_file("key");
    let mut log = AlertLog::open(&path).expect("open");
    let first = log
        .record_error(
            "groq_main",
            "Groq",
            ErrorClass::InvalidApiKey,
            "401 Invalid API Key",
            at(10, 0, 0),
        )
        .expect("write");
    let want = ChannelAlert {
        channel_id: "groq_main".into(),
        channel_name: "Groq".into(),
        alert_type: "invalid_api_key".into(),
        message: "API key rejected by the upstream: 401 Invalid API Key".into(),
        timestamp: "2026-11-30T10:00:00.000Z".into(),
        details: Some(json!({"error_class": "invalid_api_key"})),
    };
    assert_eq!(first, Some(want.clone()));
    let second = log.record_error(
        "groq_main",
        "Groq",
        ErrorClass::InvalidApiKey,
        "401",
        at(10, 30, 0),
    );
    assert_eq!(second.ok(), Some(None));
    let almost = log.record_error(
        "groq_main",
        "Groq",
        ErrorClass::InvalidApiKey,
        "401",
        at(10, 59, 59),
    );
    assert_eq!(almost.ok(), Some(None));
    // Another type and another channel are not quiet.
    let quota = log.record_error(
        "groq_main",
        "Groq",
        ErrorClass::QuotaExhausted,
        "402 balance",
        at(10, 31, 0),
    );
    assert_eq!(
        quota.ok().flatten().map(|a| a.alert_type),
        Some("quota_exhausted".to_owned())
    );
    let other = log.record_error(
        "openrouter",
        "OpenRouter",
        ErrorClass::InvalidApiKey,
        "401",
        at(10, 32, 0),
    );
    assert!(matches!(other, Ok(Some(_))));
    let after = log.record_error(
        "groq_main",
        "Groq",
        ErrorClass::InvalidApiKey,
        "401 again",
        at(11, 0, 0),
    );
    assert_eq!(
        after.ok().flatten().map(|a| a.timestamp),
        Some("2026-11-30T11:00:00.000Z".to_owned())
    );
    assert_eq!(lines(&path).len(), 4);
    assert_eq!(
        lines(&path)
            .first()
            .map(|l| serde_json::from_str::<ChannelAlert>(l).ok()),
        Some(Some(want))
    );
    assert_eq!(
        log.last_alert_at("groq_main", AlertType::InvalidApiKey),
        Some(at(11, 0, 0))
    );
    assert_eq!(
        log.last_alert_at("groq_main", AlertType::BudgetWarning),
        None
    );

    // The quiet hour survives a restart.
    let mut reopened = AlertLog::open(&path).expect("reopen");
    let quiet = reopened.record_error(
        "groq_main",
        "Groq",
        ErrorClass::InvalidApiKey,
        "401",
        at(11, 10, 0),
    );
    assert_eq!(quiet.ok(), Some(None));
    cleanup(&path);
}

#[test]
fn three_errors_within_five_minutes() {
    let path = scratch_file("errors");
    let mut log = AlertLog::open(&path).expect("open");
    let mut error = |channel: &str, t: DateTime<Utc>| {
        log.record_error(
            channel,
            "Name",
            ErrorClass::ServerError,
            "502 Bad Gateway",
            t,
        )
        .expect("write")
        .map(|a| (a.alert_type, a.message, a.details))
    };
    // 0, 3 and 6 minutes: 3 errors spread over 6 minutes, no alert.
    assert_eq!(error("a", at(9, 0, 0)), None);
    assert_eq!(error("a", at(9, 3, 0)), None);
    assert_eq!(error("a", at(9, 6, 0)), None);
    assert_eq!(error("a", at(9, 12, 0)), None); // 3, 6, 12
    assert_eq!(error("b", at(9, 12, 30)), None); // other channels do not count
    assert_eq!(error("b", at(9, 12, 40)), None);
    assert_eq!(error("a", at(9, 13, 0)), None); // 6, 12, 13
    let alert = error("a", at(9, 14, 0)); // 12, 13, 14
    let want = (
        "repeated_errors".to_owned(),
        "3 errors within 5 minutes; last (server_error): 502 Bad Gateway".to_owned(),
        Some(json!({"error_class": "server_error", "errors": 3, "window_seconds": 300})),
    );
    assert_eq!(alert, Some(want));
    // Quiet for an hour even with 3 more errors; counting starts afresh after an alert.
    assert_eq!(error("a", at(9, 15, 0)), None);
    assert_eq!(error("a", at(9, 15, 1)), None);
    assert_eq!(error("a", at(9, 15, 2)), None);
    assert_eq!(error("a", at(9, 15, 3)), None);
    // After the hour, first and third exactly 5 minutes apart: inclusive, alert.
    assert_eq!(error("a", at(10, 14, 0)), None);
    assert_eq!(error("a", at(10, 16, 0)), None);
    assert!(error("a", at(10, 19, 0)).is_some());
    assert_eq!(lines(&path).len(), 2);
    cleanup(&path);
}

#[test]
fn two_errors_do_not_alert() {
    let path = scratch_file("two");
    let mut log = AlertLog::open(&path).expect("open");
    for t in [at(9, 0, 0), at(9, 0, 1)] {
        let got = log.record_error("a", "A", ErrorClass::Timeout, "timed out", t);
        assert_eq!(got.ok(), Some(None));
    }
    assert!(!path.exists());
    cleanup(&path);
}

#[test]
fn clear_channel_and_clear_all_are_persisted() {
    let path = scratch_file("clear");
    let mut log = AlertLog::open(&path).expect("open");
    for (channel, minute) in [("a", 0), ("b", 1), ("a", 2)] {
        let class = if minute == 2 {
            ErrorClass::QuotaExhausted
        } else {
            ErrorClass::InvalidApiKey
        };
        log.record_error(channel, channel, class, "x", at(9, minute, 0))
            .expect("write");
    }
    assert_eq!(lines(&path).len(), 3);
    assert_eq!(log.clear_channel("a").ok(), Some(2));
    let reopened = AlertLog::open(&path).expect("reopen");
    let report = reopened.recent(24, at(10, 0, 0));
    let channels: Vec<&str> = report
        .alerts
        .iter()
        .map(|a| a.channel_id.as_str())
        .collect();
    assert_eq!(channels, ["b"]);
    assert!(!path.with_extension("jsonl.tmp").exists());
    // The quiet hour of a cleared channel is gone too.
    let again = log.record_error("a", "a", ErrorClass::InvalidApiKey, "x", at(9, 3, 0));
    assert!(matches!(again, Ok(Some(_))));
    assert_eq!(log.clear_all().ok(), Some(2));
    assert_eq!(fs::read_to_string(&path).ok().as_deref(), Some(""));
    let reopened = AlertLog::open(&path).expect("reopen");
    assert_eq!(reopened.recent(168, at(10, 0, 0)).total_alerts, 0);
    cleanup(&path);
}

#[test]
fn open_skips_corrupt_lines_and_keeps_foreign_types() {
    let path = scratch_file("corrupt");
    fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
    let text = [
        r#"{"channel_id":"old","channel_name":"Old","alert_type":"api_key_invalid","message":"m","timestamp":"2026-11-30T09:00:00.123456Z","details":null}"#,
        "not json",
        r#"{"channel_id":"x","channel_name":"X","alert_type":"quota_exhausted","message":"m","timestamp":"yesterday","details":null}"#,
        "",
        r#"{"channel_id":"new","channel_name":"New","alert_type":"budget_warning","message":"m","timestamp":"2026-11-30T09:30:00.000Z"}"#,
        r#"{"channel_id":"new","channel_name":"New","alert_type":"budget_wa"#,
    ]
    .join("\n");
    fs::write(&path, text).expect("write");
    let log = AlertLog::open(&path).expect("open");
    assert_eq!(log.skipped_lines(), 3);
    let report = log.recent(24, at(10, 0, 0));
    let got: Vec<(&str, &str)> = report
        .alerts
        .iter()
        .map(|a| (a.channel_id.as_str(), a.alert_type.as_str()))
        .collect();
    assert_eq!(got, [("new", "budget_warning"), ("old", "api_key_invalid")]);
    cleanup(&path);
}

#[test]
fn recent_filters_counts_and_orders_newest_first() {
    let path = scratch_file("recent");
    let mut log = AlertLog::open(&path).expect("open");
    let push = |log: &mut AlertLog, channel: &str, kind: AlertType, t: DateTime<Utc>| {
        let alert = ChannelAlert::new(channel, "N", kind, "spend at 80 % of budget", None, t);
        log.push(alert).expect("push");
    };
    push(&mut log, "a", AlertType::BudgetWarning, at(1, 0, 0));
    push(&mut log, "b", AlertType::BudgetExceeded, at(9, 30, 0));
    push(&mut log, "a", AlertType::BudgetWarning, at(9, 0, 0)); // written later, older
    push(&mut log, "c", AlertType::BudgetWarning, at(9, 59, 59));
    let now = at(10, 0, 0);
    let last_hour = log.recent(1, now);
    let times: Vec<&str> = last_hour
        .alerts
        .iter()
        .map(|a| a.timestamp.as_str())
        .collect();
    assert_eq!(
        times,
        [
            "2026-11-30T09:59:59.000Z",
            "2026-11-30T09:30:00.000Z",
            "2026-11-30T09:00:00.000Z"
        ]
    );
    let counts: Vec<(&str, usize)> = last_hour
        .alert_counts
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(counts, [("budget_exceeded", 1), ("budget_warning", 2)]);
    assert_eq!((last_hour.time_range_hours, last_hour.total_alerts), (1, 3));
    assert_eq!(log.recent(24, now).total_alerts, 4);
    assert_eq!(log.recent(0, now).time_range_hours, 1);
    assert_eq!(log.recent(500, now).time_range_hours, 168);
    let json = serde_json::to_value(log.recent(1, at(9, 45, 0))).expect("serializable");
    let want = json!({
        "time_range_hours": 1,
        "total_alerts": 2,
        "alert_counts": {"budget_exceeded": 1, "budget_warning": 1},
        "alerts": [
            {"channel_id": "b", "channel_name": "N", "alert_type": "budget_exceeded",
             "message": "spend at 80 % of budget", "timestamp": "2026-11-30T09:30:00.000Z", "details": null},
            {"channel_id": "a", "channel_name": "N", "alert_type": "budget_warning",
             "message": "spend at 80 % of budget", "timestamp": "2026-11-30T09:00:00.000Z", "details": null}
        ]
    });
    assert_eq!(json, want);
    cleanup(&path);
}

#[test]
fn push_rejects_bad_timestamps_and_redacts() {
    let path = scratch_file("push");
    let mut log = AlertLog::open(&path).expect("open");
    let mut alert = ChannelAlert::new(
        "a",
        "A",
        AlertType::BudgetExceeded,
        "over",
        None,
        at(9, 0, 0),
    );
    alert.timestamp = "9 o'clock".into();
    let err = log.push(alert).expect_err("bad timestamp");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let mut alert = ChannelAlert::new(
        "a",
        "A",
        AlertType::BudgetExceeded,
        "over",
        None,
        at(9, 0, 0),
    );
    alert.message = "key=sk-live-0123456789abcdef".into();
    log.push(alert).expect("push");
    let written = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written.contains(r#""message":"key=[REDACTED]""#),
        "{written}"
    );
    assert!(!written.contains("0123456789abcdef"));
    cleanup(&path);
}

#[test]
fn secrets_never_reach_the_file() {
    let path = scratch_file("secret");
    let mut log = AlertLog::open(&path).expect("open");
    let key = "sk-proj-Abc123Def456Ghi789Jkl012";
    let message = format!("Incorrect API key provided: {key}. Authorization: Bearer {key}");
    let alert = log
        .record_error(
            "openai",
            "OpenAI",
            ErrorClass::InvalidApiKey,
            &message,
            at(9, 0, 0),
        )
        .expect("write")
        .map(|a| a.message);
    let want = "API key rejected by the upstream: Incorrect API key provided: [REDACTED]. Authorization: Bearer [REDACTED]";
    assert_eq!(alert.as_deref(), Some(want));
    let written = fs::read_to_string(&path).unwrap_or_default();
    assert!(!written.contains("Abc123"), "{written}");
    cleanup(&path);
}

#[test]
fn alert_log_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<AlertLog>();
}

#[test]
fn long_messages_are_cut() {
    let alert = ChannelAlert::new(
        "a",
        "A",
        AlertType::RepeatedErrors,
        &"é".repeat(600),
        None,
        at(9, 0, 0),
    );
    assert_eq!(alert.message, format!("{}...", "é".repeat(500)));
}
