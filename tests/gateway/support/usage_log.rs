//! Usage logs in tests: read `usage_YYYYMMDD.jsonl` files back, check a line against the docs/usage-records.md
//! record shape, and write hand-made log lines for tests that pre-seed a usage directory.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// The docs/usage-records.md fields (and the accounting fields added since) and the JSON type each must have.
const FIELDS: [(&str, Kind); 34] = [
    ("timestamp", Kind::Str),
    ("request_id", Kind::Str),
    ("query", Kind::Str),
    ("model", Kind::Str),
    ("channel_id", Kind::Str),
    ("channel_name", Kind::Str),
    ("provider", Kind::Str),
    ("strategy", Kind::Str),
    ("attempts", Kind::Count),
    ("stream", Kind::Bool),
    ("status", Kind::Str),
    ("http_status", Kind::Count),
    ("input_tokens", Kind::Count),
    ("output_tokens", Kind::Count),
    ("total_tokens", Kind::Count),
    ("cached_tokens", Kind::Count),
    ("reasoning_tokens", Kind::Count),
    ("input_cost", Kind::Number),
    ("output_cost", Kind::Number),
    ("total_cost", Kind::Number),
    ("cost_currency", Kind::Str),
    ("usage_estimated", Kind::Bool),
    ("cost_known", Kind::Bool),
    ("request_type", Kind::Str),
    ("response_time_ms", Kind::Count),
    ("ttft_ms", Kind::CountOrNull),
    ("tags", Kind::Strings),
    ("error_message", Kind::StrOrNull),
    ("cache_write_tokens", Kind::Count),
    ("audio_input_tokens", Kind::Count),
    ("audio_output_tokens", Kind::Count),
    ("cache_price_unknown", Kind::Bool),
    ("request_format", Kind::Str),
    ("channel_format", Kind::Str),
];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    StrOrNull,
    Bool,
    /// A non-negative integer.
    Count,
    CountOrNull,
    Number,
    Strings,
}

impl Kind {
    fn accepts(self, value: &Value) -> bool {
        match self {
            Kind::Str => value.is_string(),
            Kind::StrOrNull => value.is_string() || value.is_null(),
            Kind::Bool => value.is_boolean(),
            Kind::Count => value.is_u64(),
            Kind::CountOrNull => value.is_u64() || value.is_null(),
            Kind::Number => value.is_number(),
            Kind::Strings => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
        }
    }
}

/// Fields written only when they apply (`key_name`: the call came with a client key).
const OPTIONAL_FIELDS: &[&str] = &["key_name"];

/// Panics unless `record` has exactly the docs/usage-records.md fields, each of the right type, a
/// millisecond UTC timestamp and a known status.
pub fn assert_record_shape(record: &Value) {
    let object = record
        .as_object()
        .unwrap_or_else(|| panic!("a usage line is a JSON object: {record}"));
    for (field, kind) in FIELDS {
        let value = object
            .get(field)
            .unwrap_or_else(|| panic!("usage record lacks {field}: {record}"));
        assert!(
            kind.accepts(value),
            "{field} should be {kind:?}, is {value}: {record}"
        );
    }
    let mut expected: Vec<&str> = FIELDS.iter().map(|(f, _)| *f).collect();
    expected.sort_unstable();
    let mut present: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|f| !OPTIONAL_FIELDS.contains(f))
        .collect();
    present.sort_unstable();
    for field in OPTIONAL_FIELDS {
        if let Some(value) = object.get(*field) {
            assert!(
                value.is_string(),
                "{field} is a string when present: {record}"
            );
        }
    }
    assert_eq!(present, expected, "usage record fields: {record}");
    let timestamp = object["timestamp"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(timestamp).is_ok()
            && timestamp.len() == "2026-11-21T12:30:45.123Z".len()
            && timestamp.ends_with('Z'),
        "timestamp is RFC 3339 UTC with milliseconds: {timestamp}"
    );
    assert!(
        matches!(
            object["status"].as_str(),
            Some("success" | "error" | "cancelled")
        ),
        "status: {record}"
    );
}

/// Every `usage_*.jsonl` file directly in `dir`, sorted by name.
pub fn usage_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("usage_") && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    files
}

/// The records of one file; every line must parse and have the docs/usage-records.md shape.
pub fn read_usage_file(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}: {line}", path.display(), i + 1));
            assert_record_shape(&record);
            record
        })
        .collect()
}

/// The records of every usage file in `dir`, in file then line order.
pub fn read_usage(dir: &Path) -> Vec<Value> {
    usage_files(dir)
        .iter()
        .flat_map(|p| read_usage_file(p))
        .collect()
}

/// A complete usage record (as the gateway writes one) with `overrides` applied on top.
pub fn usage_record(overrides: Value) -> Value {
    let mut record = json!({
        "timestamp": "2026-11-18T12:00:00.000Z", "request_id": "req_seeded", "query": "q",
        "model": "m", "channel_id": "c", "channel_name": "C", "provider": "mock",
        "strategy": "cost_first", "attempts": 1, "stream": false, "status": "success",
        "http_status": 200, "input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
        "cached_tokens": 0, "reasoning_tokens": 0, "input_cost": 0.0, "output_cost": 0.0,
        "total_cost": 0.0, "cost_currency": "USD", "usage_estimated": false, "cost_known": true,
        "request_type": "chat", "response_time_ms": 100, "ttft_ms": null, "tags": [],
        "error_message": null
    });
    if let (Some(base), Value::Object(extra)) = (record.as_object_mut(), overrides) {
        merge(base, extra);
    }
    record
}

fn merge(base: &mut Map<String, Value>, extra: Map<String, Value>) {
    for (key, value) in extra {
        base.insert(key, value);
    }
}

/// Write `lines` (already JSON text, or anything else for corrupt lines) as `name` in `dir`.
pub fn write_log(dir: &Path, name: &str, lines: &[String]) {
    std::fs::create_dir_all(dir).expect("usage dir");
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(dir.join(name), text).expect("write usage log");
}

/// `usage_YYYYMMDD.jsonl` of a UTC date.
pub fn usage_file_name(date: chrono::NaiveDate) -> String {
    format!("usage_{}.jsonl", date.format("%Y%m%d"))
}
