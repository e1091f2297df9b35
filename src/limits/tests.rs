//! Tests of the rate windows: exact counts, window ends, learned exhaustion, remote counts.

use super::*;

const T0: u64 = 1_764_892_830_000; // 2025-12-05T00:00:30Z: 30 s into a minute

fn limits(
    rpm: Option<u32>,
    rpd: Option<u32>,
    tpm: Option<u64>,
    concurrency: Option<u32>,
) -> RateLimits {
    RateLimits {
        rpm,
        rpd,
        tpm,
        concurrency,
    }
}

#[test]
fn rpm_fills_then_resets_with_the_next_minute() {
    let windows = RateWindows::new();
    let rpm = limits(Some(3), None, None, None);
    for _ in 0..3 {
        assert_eq!(windows.admit(&[("c/m", &rpm)], T0), Ok(()));
    }
    let full = windows.admit(&[("c/m", &rpm)], T0 + 1000).expect_err("4th");
    assert_eq!(full.kind, LimitKind::Rpm);
    assert_eq!(full.limit, 3);
    assert_eq!(full.retry_after, Duration::from_secs(29));
    assert_eq!(windows.peek("c/m", &rpm, T0 + 1000), Err(full));
    assert_eq!(windows.admit(&[("c/m", &rpm)], T0 + 30_000), Ok(()));
}

#[test]
fn a_full_scope_counts_nothing_on_the_others() {
    let windows = RateWindows::new();
    let channel = limits(Some(10), None, None, None);
    let model = limits(Some(1), None, None, None);
    assert_eq!(
        windows.admit(&[("c", &channel), ("c/m", &model)], T0),
        Ok(())
    );
    assert!(windows
        .admit(&[("c", &channel), ("c/m", &model)], T0)
        .is_err());
    // The refused request was not counted on the channel: 9 more fit.
    for _ in 0..9 {
        assert_eq!(windows.admit(&[("c", &channel)], T0), Ok(()));
    }
    assert!(windows.admit(&[("c", &channel)], T0).is_err());
}

#[test]
fn rpd_tpm_and_concurrency() {
    let windows = RateWindows::new();
    let rpd = limits(None, Some(2), None, None);
    assert_eq!(windows.admit(&[("d", &rpd)], T0), Ok(()));
    assert_eq!(windows.admit(&[("d", &rpd)], T0 + 120_000), Ok(()));
    let full = windows
        .admit(&[("d", &rpd)], T0 + 180_000)
        .expect_err("rpd");
    assert_eq!(full.kind, LimitKind::Rpd);
    assert_eq!(
        full.retry_after,
        Duration::from_millis(86_400_000 - 210_000)
    );

    let tpm = limits(None, None, Some(100), None);
    assert_eq!(windows.admit(&[("t", &tpm)], T0), Ok(()));
    windows.add_tokens("t", 100, T0);
    assert_eq!(
        windows.admit(&[("t", &tpm)], T0).map_err(|f| f.kind),
        Err(LimitKind::Tpm)
    );

    let one = limits(None, None, None, Some(1));
    assert_eq!(windows.admit(&[("k", &one)], T0), Ok(()));
    let busy = windows
        .admit(&[("k", &one)], T0)
        .expect_err("one in flight");
    assert_eq!(busy.describe(), "concurrency limit of 1 reached");
    windows.release(&[("k", &one)]);
    assert_eq!(windows.admit(&[("k", &one)], T0), Ok(()));
}

#[test]
fn zero_remaining_in_the_headers_waits_for_the_reset() {
    let windows = RateWindows::new();
    let none = RateLimits::default();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-ratelimit-remaining-requests",
        "0".parse().expect("value"),
    );
    headers.insert("x-ratelimit-reset-requests", "2.5s".parse().expect("value"));
    windows.observe_headers("groq/llama", &headers, T0);
    let full = windows
        .admit(&[("groq/llama", &none)], T0 + 500)
        .expect_err("exhausted");
    assert_eq!(full.kind, LimitKind::Exhausted);
    assert_eq!(full.retry_after, Duration::from_millis(2000));
    assert_eq!(windows.admit(&[("groq/llama", &none)], T0 + 2500), Ok(()));
}

#[test]
fn counts_go_out_once_and_remote_counts_fill_the_same_window() {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let windows = RateWindows::new();
    let sink = sent.clone();
    windows.set_outbox(Box::new(move |e| sink.lock().expect("lock").push(e)));
    let rpm = limits(Some(2), None, None, None);
    assert_eq!(windows.admit(&[("key:team", &rpm)], T0), Ok(()));
    let events = sent.lock().expect("lock").clone();
    assert_eq!(
        events,
        vec![WindowEvent::Counted {
            scope: "key:team".into(),
            at_ms: T0,
            requests: 1,
            tokens: 0
        }]
    );
    // Another instance's count, and a stale one from the last minute.
    let other = RateWindows::new();
    other.apply_remote(&events[0], T0 + 10);
    other.apply_remote(
        &WindowEvent::Counted {
            scope: "key:team".into(),
            at_ms: T0 - 60_000,
            requests: 5,
            tokens: 0,
        },
        T0 + 10,
    );
    assert_eq!(other.admit(&[("key:team", &rpm)], T0 + 20), Ok(()));
    assert!(other.admit(&[("key:team", &rpm)], T0 + 20).is_err());
    // Applying remote counts sends nothing.
    windows.apply_remote(&events[0], T0);
    assert_eq!(sent.lock().expect("lock").len(), 1);
}
