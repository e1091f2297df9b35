//! The request history at scale: fill a SQLite history with `HISTORY_BENCH_ROWS` synthetic
//! calls (default 1,000,000; bodies of a few hundred bytes in English and Chinese, 5% errors,
//! 20 models, 5 channels), kept at `target/bench-history/history-<rows>.db` so later runs only
//! query; then time the queries the API and the Requests page make, and report the database
//! size per request.
//!
//! Targets: a search answers in ≤ 100 ms, a page in ≤ 50 ms (median over 20 runs).
//! Run: `cargo bench --bench history` (or `scripts/bench_history.sh`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use smart_ai_router::history::sqlite::SqliteStore;
use smart_ai_router::history::{AttemptLog, HistoryError, HistoryQuery, HistoryRow, HistoryStore};

const MODELS: [&str; 20] = [
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "o3-mini",
    "claude-3-5-haiku",
    "claude-sonnet-4",
    "gemini-2.0-flash",
    "gemini-2.5-pro",
    "llama-3.3-70b-instruct",
    "llama-3.1-8b-instant",
    "qwen3-235b-a22b",
    "qwen3-32b",
    "qwen2.5-coder-32b",
    "deepseek-chat",
    "deepseek-r1",
    "mistral-large",
    "mistral-small",
    "command-r-plus",
    "grok-3-mini",
    "kimi-k2",
];
const CHANNELS: [&str; 5] = ["openrouter", "groq", "siliconflow", "together", "local"];
const WORDS: [&str; 32] = [
    "explain",
    "summarise",
    "the",
    "report",
    "about",
    "database",
    "latency",
    "invoice",
    "customer",
    "weather",
    "translate",
    "poem",
    "function",
    "python",
    "rust",
    "error",
    "请",
    "解释",
    "这个",
    "问题",
    "数据库",
    "性能",
    "翻译",
    "天气",
    "and",
    "with",
    "quickly",
    "budget",
    "meeting",
    "notes",
    "recipe",
    "travel",
];

/// A small deterministic generator (xorshift), so every run builds the same database.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| self.pick(&WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn row(i: u64, rng: &mut Rng, start_ms: i64) -> HistoryRow {
    let model = rng.pick(&MODELS);
    let channel = rng.pick(&CHANNELS);
    let error = i % 20 == 7;
    let prompt_words = 30 + (rng.next() % 30) as usize;
    let mut prompt = rng.sentence(prompt_words);
    if i % 1000 == 500 {
        prompt.push_str(" 量子计算机的原理是什么");
    }
    if i % 100_000 == 12_345 {
        prompt.push_str(" zanzibar-needle");
    }
    let answer_words = 30 + (rng.next() % 40) as usize;
    let answer = rng.sentence(answer_words);
    let time_ms = start_ms + i as i64 * 500;
    HistoryRow {
        id: format!("req_{i:024x}"),
        timestamp: chrono::DateTime::from_timestamp_millis(time_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default(),
        time_ms,
        request_format: if i.is_multiple_of(10) {
            "embedding"
        } else {
            "chat"
        }
        .into(),
        app: Some(format!("app-{}", i % 10)),
        key_name: None,
        query: model.into(),
        strategy: "balanced".into(),
        model: model.into(),
        channel_id: channel.into(),
        channel_name: channel.into(),
        provider: channel.into(),
        status: if error { "error" } else { "ok" }.into(),
        http_status: if error { 502 } else { 200 },
        stream: i.is_multiple_of(3),
        input_tokens: 120,
        output_tokens: 80,
        total_tokens: 200,
        cached_tokens: 0,
        reasoning_tokens: 0,
        input_cost: 0.00012,
        output_cost: 0.00024,
        total_cost: 0.00036,
        cost_currency: "USD".into(),
        cost_known: true,
        usage_estimated: false,
        latency_ms: 800 + rng.next() % 2000,
        ttft_ms: Some(200),
        error: error.then(|| "every attempt failed".to_string()),
        attempts: vec![AttemptLog {
            channel: channel.into(),
            model: model.into(),
            http_status: Some(if error { 502 } else { 200 }),
            error_class: if error { "server_error" } else { "success" }.into(),
            duration_ms: 900,
            message: error.then(|| "HTTP 502: bad gateway".to_string()),
        }],
        route: Some(format!("{channel}/{model} 0.8123\n")),
        request_body: Some(format!(
            r#"{{"model":"{model}","messages":[{{"role":"user","content":"{prompt}"}}]}}"#
        )),
        response_body: Some(format!(
            r#"{{"choices":[{{"message":{{"role":"assistant","content":"{answer}"}}}}]}}"#
        )),
    }
}

fn fill(store: &SqliteStore, rows: u64) -> Result<(), HistoryError> {
    let started = Instant::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start_ms = chrono::Utc::now().timestamp_millis() - rows as i64 * 500;
    let mut batch = Vec::with_capacity(512);
    for i in 0..rows {
        batch.push(row(i, &mut rng, start_ms));
        if batch.len() == 512 || i + 1 == rows {
            store.insert(&batch)?;
            batch.clear();
        }
        if (i + 1) % 100_000 == 0 {
            eprintln!(
                "  {} rows ({:.0} s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "filled {rows} rows in {:.1} s ({:.0} rows/s)",
        started.elapsed().as_secs_f64(),
        rows as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn query(pairs: &[(&str, &str)]) -> Result<HistoryQuery, HistoryError> {
    let params: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    HistoryQuery::from_params(&params).map_err(|e| HistoryError::BadQuery(e.message))
}

/// Median, worst, rows shown and total of one query.
type Timing = (Duration, Duration, usize, u64);
/// Kind (`page` or `search`), name, parameters.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Median and worst of 20 runs (after one warm-up).
fn time(store: &SqliteStore, pairs: &[(&str, &str)]) -> Result<Timing, HistoryError> {
    let q = query(pairs)?;
    let warm = store.search(&q)?;
    let mut times = Vec::with_capacity(20);
    for _ in 0..20 {
        let t = Instant::now();
        std::hint::black_box(store.search(&q)?);
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times[10], times[19], warm.data.len(), warm.total))
}

fn main() -> Result<(), HistoryError> {
    let rows: u64 = std::env::var("HISTORY_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-history");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("history-{rows}.db"));
    let exists = path.exists();
    let store = SqliteStore::open(&path)?;
    if !exists {
        fill(&store, rows)?;
    }
    let size = store.size_bytes();
    println!(
        "history bench: {rows} rows, {:.1} MB, {:.0} bytes per request",
        size as f64 / 1e6,
        size as f64 / rows as f64
    );
    let cases: [Case<'_>; 10] = [
        ("page", "newest 50", &[]),
        ("page", "page 200 of 50", &[("page", "200")]),
        ("page", "model filter", &[("model", "qwen3-32b")]),
        ("page", "errors only", &[("status", "error")]),
        (
            "page",
            "app + day range",
            &[("app", "app-3"), ("from", "2026-01-01")],
        ),
        ("search", "rare word", &[("search", "zanzibar-needle")]),
        ("search", "Chinese phrase", &[("search", "量子计算机")]),
        ("search", "common word", &[("search", "database")]),
        ("search", "two words", &[("search", "invoice weather")]),
        (
            "search",
            "phrase + model",
            &[("search", "量子计算机"), ("model", "gpt-4o")],
        ),
    ];
    for (kind, name, pairs) in cases {
        let (median, worst, shown, total) = time(&store, pairs)?;
        let target = if kind == "search" { 100 } else { 50 };
        println!(
            "{kind:6} {name:18} median {:7.2} ms  worst {:7.2} ms  (target {target} ms)  rows {shown}, total {total}",
            median.as_secs_f64() * 1000.0,
            worst.as_secs_f64() * 1000.0,
        );
    }
    Ok(())
}
