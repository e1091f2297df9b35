//! `GET /metrics`: Prometheus text exposition of requests, errors, attempts, latency, time to
//! first token, tokens and cost (docs/http-api.md).
//!
//! Label sets are bounded: `route` and `status`/`class`/`outcome` come from fixed lists, and
//! `channel`/`model` only ever from the catalog (never from what a client typed). Past
//! `MAX_SERIES` (channel, model) pairs, further pairs are counted under `channel="other"`.
//! Updates take one uncontended mutex; rendering copies nothing it does not print. Connection
//! counters are atomics (every accept and close updates them).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::usage::backlog::UsageCounts;

const MAX_SERIES: usize = 5_000;
/// Histogram bucket upper bounds, seconds.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default, Clone)]
struct PairSeries {
    latency: Histogram,
    ttft: Histogram,
    input_tokens: u64,
    output_tokens: u64,
    cached_tokens: u64,
    cost: f64,
    attempts: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(&'static str, u16), u64>,
    errors: BTreeMap<&'static str, u64>,
    /// channel → model → series; looked up by `&str`, so an update allocates only for a new pair.
    pairs: BTreeMap<String, BTreeMap<String, PairSeries>>,
    series: usize,
    /// Client key name → (requests admitted, requests refused, cost USD, tokens).
    keys: BTreeMap<String, KeySeries>,
    /// Calls to the shared state (Redis) that failed or timed out.
    shared_state_errors: u64,
    /// Claims answered by the shared state: (won, lost).
    shared_state_claims: (u64, u64),
}

#[derive(Debug, Default)]
struct KeySeries {
    requests: u64,
    refused: u64,
    cost: f64,
    tokens: u64,
}

impl Inner {
    /// The series of a pair (or of `other/other` once `MAX_SERIES` pairs exist).
    fn pair(&mut self, channel: &str, model: &str) -> Option<&mut PairSeries> {
        let known = self
            .pairs
            .get(channel)
            .is_some_and(|m| m.contains_key(model));
        let (channel, model) = if known || self.series < MAX_SERIES {
            (channel, model)
        } else {
            ("other", "other")
        };
        if !self.pairs.contains_key(channel) {
            self.pairs.insert(channel.to_string(), BTreeMap::new());
        }
        let models = self.pairs.get_mut(channel)?;
        if !models.contains_key(model) {
            models.insert(model.to_string(), PairSeries::default());
            self.series += 1;
        }
        models.get_mut(model)
    }
}

/// The gateway's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    /// Client connections (`server::listen`), lock-free: updated on every accept and close.
    pub connections: ConnectionCounters,
}

/// Client connections: open now, accepted, closed by a limit, accept errors.
#[derive(Debug, Default)]
pub struct ConnectionCounters {
    open: AtomicU64,
    accepted: AtomicU64,
    accept_errors: AtomicU64,
    /// Closed by the gateway: header_timeout, idle, send_stalled.
    closed_by_limit: [AtomicU64; 3],
}

const CLOSE_REASONS: [&str; 3] = ["header_timeout", "idle", "send_stalled"];

impl ConnectionCounters {
    pub fn opened(&self) {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection ended; `by_limit` names the limit that closed it, if one did.
    pub fn closed(&self, by_limit: Option<&str>) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        if let Some(i) = by_limit.and_then(|r| CLOSE_REASONS.iter().position(|x| *x == r)) {
            self.closed_by_limit[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn open_now(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP sar_connections_open Client connections open now."
        );
        let _ = writeln!(out, "# TYPE sar_connections_open gauge");
        let _ = writeln!(out, "sar_connections_open {}", self.open_now());
        let _ = writeln!(
            out,
            "# HELP sar_connections_accepted_total Client connections accepted."
        );
        let _ = writeln!(out, "# TYPE sar_connections_accepted_total counter");
        let _ = writeln!(
            out,
            "sar_connections_accepted_total {}",
            self.accepted.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# HELP sar_connections_closed_by_limit_total Client connections the gateway closed, by the limit they broke.");
        let _ = writeln!(out, "# TYPE sar_connections_closed_by_limit_total counter");
        for (reason, n) in CLOSE_REASONS.iter().zip(&self.closed_by_limit) {
            let n = n.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "sar_connections_closed_by_limit_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP sar_accept_errors_total Failed accepts (such as out of file descriptors)."
        );
        let _ = writeln!(out, "# TYPE sar_accept_errors_total counter");
        let _ = writeln!(
            out,
            "sar_accept_errors_total {}",
            self.accept_errors.load(Ordering::Relaxed)
        );
    }
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A client request finished with `status` on `route` (`chat`, `completion`, `embedding`).
    pub fn request(&self, route: &'static str, status: u16) {
        *self.lock().requests.entry((route, status)).or_default() += 1;
    }

    /// An error by class (`invalid_key`, `rate_limited`, `server_error`, `bad_request`, ...).
    pub fn error(&self, class: &'static str) {
        *self.lock().errors.entry(class).or_default() += 1;
    }

    /// One upstream attempt and how it went (`success` or an error class).
    pub fn attempt(&self, channel: &str, model: &str, outcome: &'static str) {
        if let Some(pair) = self.lock().pair(channel, model) {
            *pair.attempts.entry(outcome).or_default() += 1;
        }
    }

    /// A finished call's latency and time to first token, seconds.
    pub fn timing(&self, channel: &str, model: &str, total_s: f64, ttft_s: Option<f64>) {
        let mut inner = self.lock();
        if let Some(pair) = inner.pair(channel, model) {
            pair.latency.observe(total_s);
            if let Some(ttft) = ttft_s {
                pair.ttft.observe(ttft);
            }
        }
    }

    /// Tokens and cost of a finished call (from its usage record).
    pub fn usage(
        &self,
        channel: &str,
        model: &str,
        input: u64,
        output: u64,
        cached: u64,
        cost: f64,
    ) {
        let mut inner = self.lock();
        if let Some(pair) = inner.pair(channel, model) {
            pair.input_tokens += input;
            pair.output_tokens += output;
            pair.cached_tokens += cached;
            pair.cost += cost;
        }
    }

    fn key(&self, name: &str, update: impl FnOnce(&mut KeySeries)) {
        let mut inner = self.lock();
        if let Some(series) = inner.keys.get_mut(name) {
            return update(series);
        }
        if inner.keys.len() < MAX_SERIES {
            update(inner.keys.entry(name.to_string()).or_default());
        }
    }

    /// A request of client key `name` was let through.
    pub fn key_request(&self, name: &str) {
        self.key(name, |k| k.requests += 1);
    }

    /// A request of client key `name` was refused (budget, rate, disabled, expired).
    pub fn key_refused(&self, name: &str) {
        self.key(name, |k| k.refused += 1);
    }

    /// Tokens and cost of a call made with client key `name`.
    pub fn key_usage(&self, name: &str, tokens: u64, cost: f64) {
        self.key(name, |k| {
            k.tokens += tokens;
            k.cost += cost;
        });
    }

    /// A call to the shared state failed or timed out.
    pub fn shared_state_error(&self) {
        self.lock().shared_state_errors += 1;
    }

    /// A claim (a half-open trial, an alert) answered by the shared state: `won` by this
    /// instance, or left to another.
    pub fn shared_state_claim(&self, won: bool) {
        let mut inner = self.lock();
        let (wins, losses) = &mut inner.shared_state_claims;
        *if won { wins } else { losses } += 1;
    }

    /// The Prometheus text body, with the usage writer's counters.
    pub fn render(&self, usage: UsageCounts) -> String {
        let inner = self.lock();
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP sar_requests_total Client requests by route and final HTTP status."
        );
        let _ = writeln!(out, "# TYPE sar_requests_total counter");
        for ((route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "sar_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP sar_errors_total Errors by class.");
        let _ = writeln!(out, "# TYPE sar_errors_total counter");
        for (class, n) in &inner.errors {
            let _ = writeln!(out, "sar_errors_total{{class=\"{class}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP sar_usage_records_dropped_total Usage records lost: the writer queue was full, or writing failed with the backlog full.");
        let _ = writeln!(out, "# TYPE sar_usage_records_dropped_total counter");
        let _ = writeln!(out, "sar_usage_records_dropped_total {}", usage.dropped);
        let _ = writeln!(out, "# HELP sar_usage_write_errors_total Usage records and alerts whose write to the log failed (kept in the backlog or dropped).");
        let _ = writeln!(out, "# TYPE sar_usage_write_errors_total counter");
        let _ = writeln!(out, "sar_usage_write_errors_total {}", usage.write_errors);
        let _ = writeln!(out, "# HELP sar_usage_backlog_records Usage records waiting in memory for the log directory.");
        let _ = writeln!(out, "# TYPE sar_usage_backlog_records gauge");
        let _ = writeln!(out, "sar_usage_backlog_records {}", usage.backlog);
        self.connections.render(&mut out);
        render_pairs(&mut out, &inner.pairs);
        render_keys(&mut out, &inner);
        out
    }
}

/// A per-key series: metric name, help text, value.
type KeyColumn = (&'static str, &'static str, fn(&KeySeries) -> f64);

fn render_keys(out: &mut String, inner: &Inner) {
    let _ = writeln!(out, "# HELP sar_shared_state_errors_total Calls to the shared state (Redis) that failed or timed out.");
    let _ = writeln!(out, "# TYPE sar_shared_state_errors_total counter");
    let _ = writeln!(
        out,
        "sar_shared_state_errors_total {}",
        inner.shared_state_errors
    );
    let _ = writeln!(out, "# HELP sar_shared_state_claims_total Claims (half-open trials, alerts) answered by the shared state, won by this instance or left to another.");
    let _ = writeln!(out, "# TYPE sar_shared_state_claims_total counter");
    let (won, lost) = inner.shared_state_claims;
    let _ = writeln!(
        out,
        "sar_shared_state_claims_total{{outcome=\"won\"}} {won}"
    );
    let _ = writeln!(
        out,
        "sar_shared_state_claims_total{{outcome=\"lost\"}} {lost}"
    );
    let series: [KeyColumn; 4] = [
        (
            "sar_key_requests_total",
            "Requests let through, by client key.",
            |k| k.requests as f64,
        ),
        (
            "sar_key_refused_total",
            "Requests refused (budget, rate, disabled, expired), by client key.",
            |k| k.refused as f64,
        ),
        ("sar_key_tokens_total", "Tokens used, by client key.", |k| {
            k.tokens as f64
        }),
        (
            "sar_key_cost_usd_total",
            "Cost in USD, by client key.",
            |k| k.cost,
        ),
    ];
    for (name, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for (key, k) in &inner.keys {
            let _ = writeln!(out, "{name}{{key=\"{}\"}} {}", label(key), value(k));
        }
    }
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

type Pairs = BTreeMap<String, BTreeMap<String, PairSeries>>;

fn each_pair(pairs: &Pairs) -> impl Iterator<Item = ((&String, &String), &PairSeries)> {
    pairs
        .iter()
        .flat_map(|(c, models)| models.iter().map(move |(m, s)| ((c, m), s)))
}

fn render_pairs(out: &mut String, pairs: &Pairs) {
    let _ = writeln!(
        out,
        "# HELP sar_attempts_total Upstream attempts by channel, model and outcome."
    );
    let _ = writeln!(out, "# TYPE sar_attempts_total counter");
    for ((channel, model), s) in each_pair(pairs) {
        let (c, m) = (label(channel), label(model));
        for (outcome, n) in &s.attempts {
            let _ = writeln!(
                out,
                "sar_attempts_total{{channel=\"{c}\",model=\"{m}\",outcome=\"{outcome}\"}} {n}"
            );
        }
    }
    for (name, help, pick) in [
        ("sar_latency_seconds", "Total time of successful calls.", 0),
        (
            "sar_ttft_seconds",
            "Time to first token of successful calls.",
            1,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for ((channel, model), s) in each_pair(pairs) {
            let h = if pick == 0 { &s.latency } else { &s.ttft };
            if h.count == 0 {
                continue;
            }
            let (c, m) = (label(channel), label(model));
            for (bound, count) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{channel=\"{c}\",model=\"{m}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{{channel=\"{c}\",model=\"{m}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "{name}_sum{{channel=\"{c}\",model=\"{m}\"}} {}", h.sum);
            let _ = writeln!(
                out,
                "{name}_count{{channel=\"{c}\",model=\"{m}\"}} {}",
                h.count
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP sar_tokens_total Tokens by channel, model and kind."
    );
    let _ = writeln!(out, "# TYPE sar_tokens_total counter");
    for ((channel, model), s) in each_pair(pairs) {
        let (c, m) = (label(channel), label(model));
        for (kind, n) in [
            ("input", s.input_tokens),
            ("output", s.output_tokens),
            ("cached", s.cached_tokens),
        ] {
            let _ = writeln!(
                out,
                "sar_tokens_total{{channel=\"{c}\",model=\"{m}\",kind=\"{kind}\"}} {n}"
            );
        }
    }
    let _ = writeln!(out, "# HELP sar_cost_total Cost in the channel's currency.");
    let _ = writeln!(out, "# TYPE sar_cost_total counter");
    for ((channel, model), s) in each_pair(pairs) {
        let _ = writeln!(
            out,
            "sar_cost_total{{channel=\"{}\",model=\"{}\"}} {}",
            label(channel),
            label(model),
            s.cost
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request("chat", 200);
        m.request("chat", 200);
        m.error("rate_limited");
        m.attempt("groq", "llama-3.1-8b-instant", "success");
        m.timing("groq", "llama-3.1-8b-instant", 0.3, Some(0.04));
        m.usage("groq", "llama-3.1-8b-instant", 10, 5, 2, 0.5);
        m.connections.opened();
        m.connections.opened();
        m.connections.closed(Some("idle"));
        m.connections.accept_error();
        let text = m.render(UsageCounts {
            dropped: 3,
            write_errors: 7,
            backlog: 2,
        });
        for line in [
            "sar_requests_total{route=\"chat\",status=\"200\"} 2",
            "sar_errors_total{class=\"rate_limited\"} 1",
            "sar_usage_records_dropped_total 3",
            "sar_usage_write_errors_total 7",
            "sar_usage_backlog_records 2",
            "sar_connections_open 1",
            "sar_connections_accepted_total 2",
            "sar_connections_closed_by_limit_total{reason=\"idle\"} 1",
            "sar_connections_closed_by_limit_total{reason=\"header_timeout\"} 0",
            "sar_accept_errors_total 1",
            "sar_attempts_total{channel=\"groq\",model=\"llama-3.1-8b-instant\",outcome=\"success\"} 1",
            "sar_latency_seconds_bucket{channel=\"groq\",model=\"llama-3.1-8b-instant\",le=\"0.25\"} 0",
            "sar_latency_seconds_bucket{channel=\"groq\",model=\"llama-3.1-8b-instant\",le=\"0.5\"} 1",
            "sar_ttft_seconds_bucket{channel=\"groq\",model=\"llama-3.1-8b-instant\",le=\"0.05\"} 1",
            "sar_latency_seconds_count{channel=\"groq\",model=\"llama-3.1-8b-instant\"} 1",
            "sar_tokens_total{channel=\"groq\",model=\"llama-3.1-8b-instant\",kind=\"output\"} 5",
            "sar_cost_total{channel=\"groq\",model=\"llama-3.1-8b-instant\"} 0.5",
        ] {
            assert!(text.contains(line), "missing {line}\n{text}");
        }
    }

    #[test]
    fn series_are_bounded() {
        let m = Metrics::default();
        for i in 0..(MAX_SERIES + 10) {
            m.attempt("c", &format!("m{i}"), "success");
        }
        let inner = m.lock();
        assert_eq!(inner.series, MAX_SERIES + 1);
        assert_eq!(inner.pairs["other"]["other"].attempts["success"], 10);
    }
}
