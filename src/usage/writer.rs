//! The usage writer: one background thread that finishes records and appends them to
//! `logs/usage_YYYYMMDD.jsonl` (docs/usage-records.md).
//!
//! The request path only pushes a [`PendingUsage`] onto a bounded queue: it never blocks on
//! disk, never tokenizes, never computes a cost, and (under load) never makes a system call.
//! The writer thread (a plain OS thread, so file I/O never stalls the async runtime) takes
//! records in batches, estimates
//! tokens with a real tokenizer when the upstream sent no usage, prices them, hands each
//! finished record to the `on_record` observer (aggregates, metrics, budgets), and appends the
//! batch to the file of the record's UTC date (a new file at midnight), flushing after every
//! batch. [`UsageWriter::shutdown`] drains the queue, flushes and fsyncs: N calls give N lines.
//! Other small writes that belong with a call (its channel alert) run on the same thread, in
//! order with the records ([`UsageWriter::run_in_order`]), so they are off the request path
//! and covered by `flush` and shutdown too.
//!
//! Waking: a thread woken for every record costs each request a futex wake and the machine a
//! context switch (measured: about a tenth of the gateway's CPU at 20k requests/s, and tens
//! of microseconds of latency at one connection on a VM whose idle vCPUs wake slowly). So the
//! writer batches by time: after a batch it sleeps [`BATCH_WINDOW`] and takes whatever queued
//! meanwhile; only after [`LINGER`] without records does it park, and only then does a
//! submit wake it. A record therefore reaches the file and the aggregates within about
//! `BATCH_WINDOW`; [`UsageWriter::flush`] wakes the thread at once and waits.
//!
//! When the queue is full (the disk is far behind), the record is dropped, counted in
//! [`UsageWriter::dropped`] (shown by `/health` and `/metrics`), and a warning is logged for
//! the first drop and every 1000th after; records are never dropped silently. A write that
//! fails (full disk, read-only directory) loses nothing at once: the record waits in a bounded
//! backlog, is counted, turns `/health` degraded and raises an alert (`backlog`). With
//! `usage.enabled: false` records still reach the observer (stats and budgets keep working)
//! but no file is written.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::backlog::{LogHealth, LogOut, UsageCounts, RETRY};
use super::cost::{billable_output, cost_of};
use super::record::utc_date_of;
use super::record::UsageRecord;
use super::tap::Usage;
use super::tokens::{count_text_tokens, estimate_prompt_tokens};
use crate::catalog::ModelPrice;

/// How long the writer lets records gather before it takes the next batch.
pub const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// How long without a record before the writer parks (and a submit has to wake it).
pub const LINGER: Duration = Duration::from_secs(1);

/// What a routed call left to be finished by the writer.
#[derive(Debug, Clone)]
pub struct PendingUsage {
    /// Every field but tokens and costs is final.
    pub record: UsageRecord,
    /// Usage as the upstream reported it; `None` means estimate.
    pub usage: Option<Usage>,
    pub price: Option<ModelPrice>,
    /// The client's request body, for estimating prompt tokens when no usage arrived.
    pub request_body: Option<Bytes>,
    /// The text the model produced, for estimating output tokens when no usage arrived (for a
    /// non-streamed answer: [`answer_text`] of its body).
    pub output_text: String,
    /// What the request history keeps beside the record (app, bodies, attempts); handed with
    /// the finished record to the history writer, if one is attached.
    pub details: Option<Box<super::details::CallDetails>>,
}

/// Takes finished records with their call's details, on the writer thread; must not block
/// (the request history queues them for its own thread).
pub trait FinishedRecords: Send + Sync {
    fn finished(&self, record: UsageRecord, details: Option<Box<super::details::CallDetails>>);
}

/// A write run on the writer thread (see [`UsageWriter::run_in_order`]).
pub type WriterJob = Box<dyn FnOnce() + Send + 'static>;

enum Message {
    Record(Box<PendingUsage>),
    Job(WriterJob),
    Flush(oneshot::Sender<()>),
}

/// Called with every finished record, on the writer thread.
pub type RecordObserver = Box<dyn Fn(&UsageRecord) + Send + 'static>;

/// The queue between the request path and the writer thread.
struct Queue {
    messages: Mutex<Vec<Message>>,
    capacity: usize,
    /// The writer is parked until woken (not on its batch timer): a submit must wake it.
    parked: AtomicBool,
    /// Every handle is gone: drain and stop.
    closed: AtomicBool,
    thread: OnceLock<Thread>,
    /// Where finished records go next, with their details (the request history).
    history: OnceLock<Arc<dyn FinishedRecords>>,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Message>> {
        self.messages.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    /// Push unless full; wake the writer when it is parked (or `urgent`).
    fn push(&self, message: Message, urgent: bool) -> Result<(), Message> {
        {
            let mut messages = self.lock();
            if messages.len() >= self.capacity {
                return Err(message);
            }
            messages.push(message);
        }
        if self.parked.swap(false, Ordering::SeqCst) || urgent {
            self.wake();
        }
        Ok(())
    }
}

/// Handle to the writer thread.
pub struct UsageWriter {
    queue: Arc<Queue>,
    health: Arc<LogHealth>,
}

impl std::fmt::Debug for UsageWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageWriter")
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl UsageWriter {
    /// Start the writer thread. `dir: None` writes no files.
    pub fn start(dir: Option<PathBuf>, capacity: usize, on_record: RecordObserver) -> Arc<Self> {
        Self::start_with_linger(dir, capacity, on_record, LINGER)
    }

    fn start_with_linger(
        dir: Option<PathBuf>,
        capacity: usize,
        on_record: RecordObserver,
        linger: Duration,
    ) -> Arc<Self> {
        let queue = Arc::new(Queue {
            messages: Mutex::new(Vec::with_capacity(capacity.clamp(1, 1024))),
            capacity: capacity.max(1),
            parked: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            thread: OnceLock::new(),
            history: OnceLock::new(),
        });
        let health = Arc::new(LogHealth::default());
        let out = dir.map(|dir| LogOut::new(dir, health.clone()));
        let shared = queue.clone();
        let started = std::thread::Builder::new()
            .name("usage-writer".into())
            .spawn(move || {
                // Set before the thread ever parks, so no wake can be lost.
                let _ = shared.thread.set(std::thread::current());
                run(&shared, out, on_record, linger)
            });
        if let Err(e) = started {
            tracing::error!("cannot start the usage writer thread: {e}");
        }
        Arc::new(Self { queue, health })
    }

    /// Queue a record; never waits. A full queue drops it (counted and logged).
    pub fn submit(&self, pending: PendingUsage) {
        self.send_or_drop(Message::Record(Box::new(pending)));
    }

    /// Run `job` on the writer thread after everything queued before it; never waits. Used for
    /// channel alerts: written off the request path, in order, and waited for by [`flush`]
    /// and shutdown. A full queue drops it like a record.
    ///
    /// [`flush`]: UsageWriter::flush
    pub fn run_in_order(&self, job: WriterJob) {
        self.send_or_drop(Message::Job(job));
    }

    fn send_or_drop(&self, message: Message) {
        if self.queue.push(message, false).is_err() {
            let dropped = self.health.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped == 1 || dropped.is_multiple_of(1000) {
                tracing::warn!(
                    dropped,
                    "usage queue full: record dropped (the writer is behind the disk)"
                );
            }
        }
    }

    /// Hand every finished record (with its details) to `next` (the request history), after
    /// the log. Set once.
    pub fn send_finished_to(&self, history: Arc<dyn FinishedRecords>) {
        let _ = self.queue.history.set(history);
    }

    /// Records lost: the queue was full, or a write failed with the backlog full.
    pub fn dropped(&self) -> u64 {
        self.health.dropped.load(Ordering::Relaxed)
    }

    /// Drops, write errors and the backlog, for `/metrics` and `/health`.
    pub fn counts(&self) -> UsageCounts {
        self.health.counts()
    }

    /// The last write error while the log is failing (`/health` is then degraded).
    pub fn failing(&self) -> Option<String> {
        self.health.failing()
    }

    /// The log directory failed its check at start (see [`super::backlog::LogHealth::failing_from_start`]).
    pub fn failing_from_start(&self, message: String) {
        self.health.failing_from_start(message);
    }

    /// Called (on the writer thread) with the error when writing starts failing, once per
    /// episode: the process raises an alert with it.
    pub fn on_failing(&self, raise: super::backlog::FailingHook) {
        self.health.set_on_failing(raise);
    }

    /// For tests: make every write fail as on a full disk (`on: false` heals it).
    #[doc(hidden)]
    pub fn inject_write_failures(&self, on: bool) {
        self.health.inject_write_failures(on);
    }

    /// Wait until everything queued so far is written and flushed (wakes the writer at once).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        let mut message = Message::Flush(done);
        // A full queue: wait for room rather than drop the flush.
        loop {
            match self.queue.push(message, true) {
                Ok(()) => break,
                Err(back) => {
                    message = back;
                    self.queue.wake();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
        let _ = wait.await;
    }

    /// Drain the queue, then flush and fsync the log: every record submitted before this call
    /// is on disk when it returns. The thread itself ends when the last handle is dropped.
    pub async fn shutdown(&self) {
        self.flush().await;
    }
}

impl Drop for UsageWriter {
    fn drop(&mut self) {
        self.queue.closed.store(true, Ordering::SeqCst);
        self.queue.wake();
    }
}

fn run(queue: &Queue, mut out: Option<LogOut>, on_record: RecordObserver, linger: Duration) {
    let mut batch: Vec<Message> = Vec::new();
    let mut last_record = Instant::now();
    loop {
        std::mem::swap(&mut *queue.lock(), &mut batch);
        if batch.is_empty() {
            if queue.closed.load(Ordering::SeqCst) {
                break;
            }
            if last_record.elapsed() < linger {
                std::thread::park_timeout(BATCH_WINDOW);
                continue;
            }
            // A failing log is tried again now and then, records or not.
            if let Some(out) = out.as_mut().filter(|o| o.has_backlog()) {
                out.write();
                std::thread::park_timeout(RETRY);
                continue;
            }
            // Idle: park until a submit wakes us. Announce it first, then look again, so a
            // record pushed in between is not left waiting.
            queue.parked.store(true, Ordering::SeqCst);
            if queue.lock().is_empty() && !queue.closed.load(Ordering::SeqCst) {
                std::thread::park();
            }
            queue.parked.store(false, Ordering::SeqCst);
            continue;
        }
        last_record = Instant::now();
        for message in batch.drain(..) {
            match message {
                Message::Record(mut pending) => {
                    let details = pending.details.take();
                    let record = finish_record(*pending);
                    on_record(&record);
                    if let Some(out) = out.as_mut() {
                        append(out, &record);
                    }
                    if let Some(history) = queue.history.get() {
                        history.finished(record, details);
                    }
                }
                Message::Job(job) => job(),
                Message::Flush(done) => {
                    if let Some(out) = out.as_mut() {
                        out.write();
                        out.sync();
                    }
                    let _ = done.send(());
                }
            }
        }
        if let Some(out) = out.as_mut() {
            out.write();
        }
        // Let the next batch gather (a flush or shutdown cuts this short).
        std::thread::park_timeout(BATCH_WINDOW);
    }
    if let Some(out) = out.as_mut() {
        out.finish();
    }
}

fn append(out: &mut LogOut, record: &UsageRecord) {
    let date = utc_date_of(&record.timestamp).unwrap_or_else(|| chrono::Utc::now().date_naive());
    match serde_json::to_vec(record) {
        Ok(mut line) => {
            line.push(b'\n');
            out.push(date, line);
        }
        Err(e) => tracing::error!("cannot serialise a usage record: {e}"),
    }
}

/// Tokens (reported or estimated) and costs.
pub fn finish_record(pending: PendingUsage) -> UsageRecord {
    let PendingUsage {
        mut record,
        usage,
        price,
        request_body,
        output_text,
        details: _,
    } = pending;
    let usage = match usage {
        Some(usage) => usage,
        None => {
            record.usage_estimated = true;
            estimate(&record.model, request_body.as_deref(), &output_text)
        }
    };
    let cost = cost_of(&usage, price.as_ref());
    record.input_tokens = usage.input_tokens;
    record.output_tokens = billable_output(&usage);
    record.total_tokens = usage
        .total_tokens
        .max(usage.input_tokens + record.output_tokens);
    record.cached_tokens = usage.cached_tokens;
    record.reasoning_tokens = usage.reasoning_tokens;
    record.input_cost = cost.input_cost;
    record.output_cost = cost.output_cost;
    record.total_cost = cost.total_cost;
    record.cost_known = cost.known;
    record.cache_write_tokens = usage.cache_write_tokens;
    record.audio_input_tokens = usage.audio_input_tokens;
    record.audio_output_tokens = usage.audio_output_tokens;
    record.cache_price_unknown = cost.cache_price_unknown;
    record
}

/// The generated text of a non-streamed answer, for the estimate when it carried no usage: every
/// choice's `message.content` (a string, or the `text` of its parts), `message.reasoning_content`
/// (else `reasoning`) and tool-call `arguments`, and a completion's `text`. Empty when the body
/// is not such JSON. Meant for the rare answer without usage; it parses the whole body.
pub fn answer_text(body: &[u8]) -> String {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let mut text = String::new();
    let choices = answer.get("choices").and_then(|c| c.as_array());
    for choice in choices.into_iter().flatten() {
        push_str(&mut text, choice.get("text"));
        let Some(message) = choice.get("message") else {
            continue;
        };
        match message.get("content") {
            Some(serde_json::Value::Array(parts)) => {
                for part in parts {
                    push_str(&mut text, part.get("text"));
                }
            }
            content => push_str(&mut text, content),
        }
        push_str(
            &mut text,
            message
                .get("reasoning_content")
                .or_else(|| message.get("reasoning")),
        );
        let calls = message.get("tool_calls").and_then(|c| c.as_array());
        for call in calls.into_iter().flatten() {
            push_str(&mut text, call.pointer("/function/arguments"));
        }
    }
    text
}

fn push_str(text: &mut String, value: Option<&serde_json::Value>) {
    if let Some(piece) = value.and_then(|v| v.as_str()) {
        text.push_str(piece);
    }
}

fn estimate(model: &str, request_body: Option<&[u8]>, output_text: &str) -> Usage {
    let input = request_body
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .map_or(0, |body| estimate_prompt_tokens(model, &body));
    let output = if output_text.is_empty() {
        0
    } else {
        count_text_tokens(model, output_text)
    };
    Usage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        cached_tokens: 0,
        reasoning_tokens: 0,
        ..Usage::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(request_id: &str) -> PendingUsage {
        PendingUsage {
            record: UsageRecord {
                timestamp: "2026-11-21T12:30:45.123Z".into(),
                request_id: request_id.into(),
                query: "m".into(),
                model: "m".into(),
                channel_id: "c".into(),
                channel_name: "c".into(),
                provider: "p".into(),
                strategy: "cost_first".into(),
                response_time_ms: 1,
                ..UsageRecord::default()
            },
            usage: Some(Usage::default()),
            price: None,
            request_body: None,
            output_text: String::new(),
            details: None,
        }
    }

    /// A writer whose observer reports each record's id on a channel.
    fn observed(linger: Duration) -> (Arc<UsageWriter>, std::sync::mpsc::Receiver<String>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Mutex::new(tx);
        let observer: RecordObserver = Box::new(move |record: &UsageRecord| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(record.request_id.clone());
            }
        });
        (
            UsageWriter::start_with_linger(None, 16, observer, linger),
            rx,
        )
    }

    const WITHIN: Duration = Duration::from_secs(5);

    #[test]
    fn records_arrive_without_a_flush_while_batching() {
        let (writer, seen) = observed(LINGER);
        writer.submit(pending("a"));
        writer.submit(pending("b"));
        assert_eq!(seen.recv_timeout(WITHIN).ok().as_deref(), Some("a"));
        assert_eq!(seen.recv_timeout(WITHIN).ok().as_deref(), Some("b"));
    }

    #[test]
    fn a_parked_writer_is_woken_by_the_next_record() {
        // No linger: the writer parks as soon as its queue is empty, so every record below
        // arrives at a parked writer, or races its parking: neither may be lost.
        let (writer, seen) = observed(Duration::ZERO);
        for round in 0..50 {
            let id = format!("r{round}");
            writer.submit(pending(&id));
            assert_eq!(seen.recv_timeout(WITHIN).ok(), Some(id));
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let (writer, seen) = observed(LINGER);
        // Hold the writer inside a job, so the queue (capacity 16) fills and stays full.
        let (started, wait_started) = std::sync::mpsc::channel();
        let (release, wait_release) = std::sync::mpsc::channel::<()>();
        writer.run_in_order(Box::new(move || {
            let _ = started.send(());
            let _ = wait_release.recv_timeout(WITHIN);
        }));
        assert!(wait_started.recv_timeout(WITHIN).is_ok());
        for i in 0..20 {
            writer.submit(pending(&i.to_string()));
        }
        assert_eq!(writer.dropped(), 4);
        let _ = release.send(());
        let got: Vec<String> = (0..16)
            .filter_map(|_| seen.recv_timeout(WITHIN).ok())
            .collect();
        let expected: Vec<String> = (0..16).map(|i: i32| i.to_string()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn answer_text_reads_every_kind_of_generated_text() {
        let chat = br#"{"choices":[{"message":{"role":"assistant","content":"Forty-two.","reasoning_content":"6x7","tool_calls":[{"function":{"name":"f","arguments":"{\"a\":1}"}}]}},{"message":{"content":[{"type":"text","text":" Yes."}]}}]}"#;
        assert_eq!(answer_text(chat), "Forty-two.6x7{\"a\":1} Yes.");
        let completion = br#"{"choices":[{"text":"Once upon"},{"text":" a time"}]}"#;
        assert_eq!(answer_text(completion), "Once upon a time");
        assert_eq!(
            answer_text(br#"{"choices":[{"message":{"content":null}}]}"#),
            ""
        );
        assert_eq!(answer_text(b"not json"), "");
        assert_eq!(answer_text(br#"{"data":[{"embedding":[0.1]}]}"#), "");
    }
}
