//! Tests of stats::rebuild.

use super::*;
use crate::usage::record::UsageRecord;
use chrono::NaiveDate;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs;
use std::io::Write;

const KNOWN_LOGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/stats/usage_logs");

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sar-rebuild-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn line(ts: &str, channel: &str, cost: f64) -> String {
    format!(
        r#"{{"timestamp":"{ts}","model":"m","channel_id":"{channel}","channel_name":"C","provider":"p","status":"success","input_tokens":1,"output_tokens":2,"total_tokens":3,"total_cost":{cost},"response_time_ms":100}}"#
    )
}

fn gzip(path: &Path, text: &str) {
    let mut enc = GzEncoder::new(fs::File::create(path).expect("create"), Compression::fast());
    enc.write_all(text.as_bytes()).expect("write");
    enc.finish().expect("finish");
}

#[test]
fn rebuild_equals_incremental_add() {
    let (rebuilt, report) =
        UsageAggregates::rebuild_from_dir(Path::new(KNOWN_LOGS)).expect("rebuild");
    assert_eq!(
        (report.files_read, report.archives_read, report.records),
        (3, 0, 20)
    );
    assert_eq!((report.corrupt_lines, report.blank_lines), (0, 0));
    assert!(report.unreadable_files.is_empty() && report.shadowed_archives.is_empty());

    let mut added = UsageAggregates::new();
    for name in [
        "usage_20261129.jsonl",
        "usage_20261130.jsonl",
        "usage_20261201.jsonl",
    ] {
        let text = fs::read_to_string(Path::new(KNOWN_LOGS).join(name)).expect("read fixture");
        for l in text.lines() {
            let record: UsageRecord =
                serde_json::from_str(l).expect("fixture line is a UsageRecord");
            added.add(&record);
        }
    }
    assert_eq!(rebuilt, added);
    let days: Vec<NaiveDate> = rebuilt.days().map(|(d, _)| d).collect();
    assert_eq!(
        days,
        vec![date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1)]
    );
    // The +02:00 record of 2026-12-01T01:30 is 2026-11-30T23:30Z.
    assert_eq!(
        rebuilt.day(date(2026, 11, 30)).map(|d| d.total.requests),
        Some(9)
    );
    assert_eq!(rebuilt.spend_on(date(2026, 11, 29), None), 0.00331);
    assert_eq!(
        rebuilt.spend_on(date(2026, 11, 30), Some("groq_main")),
        0.002235
    );
}

#[test]
fn corrupt_and_blank_lines_are_skipped_and_counted() {
    let dir = scratch_dir("corrupt");
    let lines = [
        line("2026-11-21T10:00:00.000Z", "a", 0.5), // 1 ok
        r#"{"timestamp":"2026-11-21T10:00:00.000Z","status":"succ"#.to_owned(), // 2 truncated
        "garbage \u{0}\u{7f} not json".to_owned(),  // 3 garbage
        String::new(),                              // 4 blank
        "   \t ".to_owned(),                        // 5 blank
        line("yesterday", "a", 1.0),                // 6 no date
        r#"{"timestamp":"2026-11-21T11:00:00Z","model":"m"}"#.to_owned(), // 7 no status
        format!("{} trailing", line("2026-11-21T12:00:00Z", "a", 1.0)), // 8 trailing garbage
        line("2026-11-21T13:00:00.000Z", "b", 0.25), // 9 ok
        r#"{"timestamp":"2026-11-21T14:00:00Z","status":"error","response_time_ms":null}"#
            .to_owned(), // 10 ok, old shape
    ];
    let mut text = lines.join("\n");
    text.push_str("\r\n");
    text.push_str(&line("2026-11-21T15:00:00Z", "b", 0.25)); // 11 ok, no final newline
    fs::write(dir.join("usage_20261121.jsonl"), text).expect("write");

    let (agg, report) = UsageAggregates::rebuild_from_dir(&dir).expect("rebuild");
    assert_eq!(
        (report.records, report.corrupt_lines, report.blank_lines),
        (4, 5, 2)
    );
    let listed: Vec<u64> = report.first_corrupt.iter().map(|c| c.line).collect();
    assert_eq!(listed, vec![2, 3, 6, 7, 8]);
    let file = dir.join("usage_20261121.jsonl");
    assert!(report.first_corrupt.iter().all(|c| c.file == file));
    assert_eq!(
        report.first_corrupt[2].reason,
        "timestamp \"yesterday\" has no UTC date"
    );
    let day = agg.day(date(2026, 11, 21)).expect("day counted");
    assert_eq!((day.total.requests, day.total.failed_requests), (4, 1));
    assert_eq!(day.total.cost_nanos, 1_000_000_000);
    assert_eq!(day.total.timed_requests, 3);
    assert_eq!(
        day.models
            .get(super::super::aggregate::NO_KEY)
            .map(|t| t.requests),
        Some(1)
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn archives_are_read_unless_shadowed() {
    let dir = scratch_dir("archives");
    let archive = dir.join("archive");
    fs::create_dir_all(&archive).expect("mkdir");
    gzip(
        &archive.join("usage_20261120.jsonl.gz"),
        &format!("{}\n", line("2026-11-20T10:00:00Z", "a", 1.0)),
    );
    gzip(
        &archive.join("usage_20261121.jsonl.gz"),
        &format!("{}\n", line("2026-11-21T10:00:00Z", "a", 7.0)),
    );
    fs::write(
        dir.join("usage_20261121.jsonl"),
        format!("{}\n", line("2026-11-21T10:00:00Z", "a", 2.0)),
    )
    .expect("write");
    fs::write(archive.join("usage_20261122.jsonl.gz"), b"not gzip at all").expect("write");
    fs::write(dir.join("usage_20261123.jsonl.tmp"), "ignored").expect("write");

    let (agg, report) = UsageAggregates::rebuild_from_dir(&dir).expect("rebuild");
    assert_eq!(
        (report.files_read, report.archives_read, report.records),
        (1, 2, 2)
    );
    assert_eq!(
        report.shadowed_archives,
        vec![archive.join("usage_20261121.jsonl.gz")]
    );
    assert_eq!(report.unreadable_files.len(), 1);
    assert_eq!(
        report.unreadable_files[0].0,
        archive.join("usage_20261122.jsonl.gz")
    );
    assert_eq!(agg.spend_on(date(2026, 11, 20), None), 1.0);
    assert_eq!(agg.spend_on(date(2026, 11, 21), None), 2.0);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn overlong_lines_are_corrupt_and_reading_goes_on() {
    let mut reader = io::Cursor::new(format!("{}\nshort\n{}", "x".repeat(100), "y".repeat(30)));
    let mut buf = Vec::new();
    assert_eq!(
        read_line_capped(&mut reader, &mut buf, 64).ok(),
        Some(Some(true))
    );
    assert_eq!(
        read_line_capped(&mut reader, &mut buf, 64).ok(),
        Some(Some(false))
    );
    assert_eq!(buf, b"short\n");
    assert_eq!(
        read_line_capped(&mut reader, &mut buf, 64).ok(),
        Some(Some(false))
    );
    assert_eq!(buf.len(), 30);
    assert_eq!(read_line_capped(&mut reader, &mut buf, 64).ok(), Some(None));
}

#[test]
fn missing_dir_rebuilds_empty() {
    let dir = std::env::temp_dir().join(format!("sar-rebuild-none-{}", std::process::id()));
    let (agg, report) = UsageAggregates::rebuild_from_dir(&dir).expect("rebuild");
    assert_eq!(
        (agg, report),
        (UsageAggregates::new(), RebuildReport::default())
    );
}
