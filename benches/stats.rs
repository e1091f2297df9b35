//! Stats layer benchmarks: rebuilding the aggregates from 1,000,000 usage records (30 days,
//! 20 channels, 200 models, written as real JSONL files) and building every report from them.
//! Targets: each report under 50 ms, the rebuild in a few seconds, `add` well under 1 µs.

use std::fs::{self, File};
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{Days, NaiveDate};
use criterion::{criterion_group, criterion_main, Criterion};
use smart_ai_router::stats::aggregate::UsageAggregates;
use smart_ai_router::stats::params::{
    BreakdownBy, BreakdownParams, DailyParams, MonthlyParams, Period, RankBy, SummaryParams,
    TopParams, WeeklyParams,
};
use smart_ai_router::stats::report;
use smart_ai_router::usage::record::{CallStatus, UsageRecord};

const RECORDS: u64 = 1_000_000;
const DAYS: u64 = 30;
const CHANNELS: u64 = 20;
const MODELS: u64 = 200;
const PROVIDERS: [&str; 6] = [
    "openrouter",
    "groq",
    "siliconflow",
    "deepseek",
    "ollama",
    "together",
];

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default()
}

/// One realistic record: popular models are picked more often, each model lives on two
/// channels, about 4 % of calls fail.
fn record(rng: &mut Rng, day: NaiveDate, seq: u64) -> UsageRecord {
    let skew = rng.below(MODELS);
    let model_index = skew * rng.below(MODELS) / MODELS;
    let channel_index = (model_index + if rng.below(2) == 0 { 0 } else { 7 }) % CHANNELS;
    let provider = PROVIDERS[(channel_index % PROVIDERS.len() as u64) as usize];
    let ok = rng.below(100) >= 4;
    let input = if ok { 50 + rng.below(4000) } else { 0 };
    let output = if ok { 10 + rng.below(1500) } else { 0 };
    let cached = if ok && rng.below(4) == 0 {
        input / 2
    } else {
        0
    };
    let free = model_index.is_multiple_of(5);
    let (in_price, out_price) = if free {
        (0.0, 0.0)
    } else {
        (
            0.05 + (model_index % 13) as f64 * 0.1,
            0.1 + (model_index % 11) as f64 * 0.4,
        )
    };
    let input_cost = input as f64 * in_price / 1e6;
    let output_cost = output as f64 * out_price / 1e6;
    let secs = rng.below(86_400);
    UsageRecord {
        timestamp: format!(
            "{}T{:02}:{:02}:{:02}.{:03}Z",
            day.format("%Y-%m-%d"),
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            rng.below(1000)
        ),
        request_id: format!("req-{seq:016x}"),
        query: format!("tag:model{model_index},free"),
        model: format!("vendor{}/model-{model_index}-instruct", model_index % 17),
        channel_id: format!("channel_{channel_index}"),
        channel_name: format!("Channel {channel_index}"),
        provider: provider.to_owned(),
        strategy: "cost_first".to_owned(),
        attempts: if ok { 1 } else { 3 },
        stream: rng.below(2) == 0,
        status: if ok {
            CallStatus::Success
        } else {
            CallStatus::Error
        },
        http_status: if ok { 200 } else { 502 },
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        cached_tokens: cached,
        reasoning_tokens: if model_index.is_multiple_of(9) {
            output / 3
        } else {
            0
        },
        input_cost,
        output_cost,
        total_cost: input_cost + output_cost,
        cost_currency: "USD".to_owned(),
        usage_estimated: rng.below(20) == 0,
        cost_known: !model_index.is_multiple_of(31),
        request_type: "chat".to_owned(),
        response_time_ms: 80 + rng.below(3000) + if ok { 0 } else { 30_000 },
        ttft_ms: ok.then(|| 40 + rng.below(800)),
        tags: vec![
            format!("vendor{}", model_index % 17),
            format!("model{model_index}"),
            "instruct".to_owned(),
            if free { "free" } else { "paid" }.to_owned(),
        ],
        error_message: (!ok).then(|| "upstream 502 Bad Gateway".to_owned()),
        ..UsageRecord::default()
    }
}

/// Writes the records into `usage_YYYYMMDD.jsonl` files, one per day.
fn write_logs(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let per_day = RECORDS / DAYS;
    let first = last_day()
        .checked_sub_days(Days::new(DAYS - 1))
        .unwrap_or_default();
    let mut seq = 0;
    for d in 0..DAYS {
        let day = first.checked_add_days(Days::new(d)).unwrap_or_default();
        let name = format!("usage_{}.jsonl", day.format("%Y%m%d"));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(dir.join(name))?);
        let count = if d == DAYS - 1 {
            RECORDS - per_day * (DAYS - 1)
        } else {
            per_day
        };
        for _ in 0..count {
            serde_json::to_writer(&mut out, &record(&mut rng, day, seq))?;
            out.write_all(b"\n")?;
            seq += 1;
        }
        out.flush()?;
    }
    Ok(())
}

fn bench_dir() -> PathBuf {
    std::env::temp_dir().join(format!("sar-stats-bench-{}", std::process::id()))
}

fn stats_benches(c: &mut Criterion) {
    let dir = bench_dir();
    if let Err(e) = write_logs(&dir) {
        eprintln!("cannot write the bench logs in {}: {e}", dir.display());
        return;
    }
    let (agg, rebuild) = match UsageAggregates::rebuild_from_dir(&dir) {
        Ok(done) => done,
        Err(e) => {
            eprintln!("rebuild failed: {e}");
            return;
        }
    };
    eprintln!(
        "rebuilt {} records from {} files ({} corrupt)",
        rebuild.records, rebuild.files_read, rebuild.corrupt_lines
    );

    let mut group = c.benchmark_group("rebuild");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(40));
    group.bench_function("rebuild_from_dir_1M", |b| {
        b.iter(|| UsageAggregates::rebuild_from_dir(black_box(&dir)).map(|(a, _)| a.days().count()))
    });
    group.finish();

    bench_reports(c, &agg);
    bench_add(c);
    let _ = fs::remove_dir_all(&dir);
}

fn bench_reports(c: &mut Criterion, agg: &UsageAggregates) {
    let today = last_day();
    let mut group = c.benchmark_group("reports_1M");
    group.bench_function("daily", |b| {
        b.iter(|| report::daily(agg, black_box(&DailyParams { date: today })))
    });
    group.bench_function("weekly", |b| {
        b.iter(|| report::weekly(agg, black_box(&WeeklyParams { target_date: today })))
    });
    let month = MonthlyParams {
        year: 2026,
        month: 11,
    };
    group.bench_function("monthly", |b| {
        b.iter(|| report::monthly(agg, black_box(&month)))
    });
    let summary = SummaryParams { today, days: 30 };
    group.bench_function("summary", |b| {
        b.iter(|| report::summary(agg, black_box(&summary)))
    });
    let top = TopParams {
        period: Period::Monthly,
        target_date: today,
        limit: 10,
        by: RankBy::Cost,
    };
    group.bench_function("top_models_monthly", |b| {
        b.iter(|| report::top_models(agg, black_box(&top)))
    });
    group.bench_function("top_channels_monthly", |b| {
        b.iter(|| report::top_channels(agg, black_box(&top)))
    });
    let breakdown = BreakdownParams {
        period: Period::Days(30),
        target_date: today,
        breakdown_by: BreakdownBy::Model,
    };
    group.bench_function("cost_breakdown_30d_by_model", |b| {
        b.iter(|| report::cost_breakdown(agg, black_box(&breakdown)))
    });
    group.bench_function("summary_as_json", |b| {
        b.iter(|| serde_json::to_vec(&report::summary(agg, black_box(&summary))).map(|v| v.len()))
    });
    group.finish();
}

fn bench_add(c: &mut Criterion) {
    let mut rng = Rng(7);
    let records: Vec<UsageRecord> = (0..4096).map(|i| record(&mut rng, last_day(), i)).collect();
    let mut agg = UsageAggregates::new();
    for r in &records {
        agg.add(r);
    }
    let mut i = 0usize;
    c.bench_function("add_one_record", |b| {
        b.iter(|| {
            i = (i + 1) % records.len();
            if let Some(r) = records.get(i) {
                agg.add(black_box(r));
            }
        })
    });
}

criterion_group!(benches, stats_benches);
criterion_main!(benches);
