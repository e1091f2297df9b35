//! The usage writer: one background thread that finishes records and appends them to
//! `logs/usage_YYYYMMDD.jsonl` (SPEC §9).
//!
//! The request path only hands a [`PendingUsage`] to a bounded queue with `try_send`: it never
//! blocks on disk, never tokenizes, never computes a cost. The writer thread (a plain OS
//! thread, so file I/O never stalls the async runtime) takes records in batches, estimates
//! tokens with a real tokenizer when the upstream sent no usage, prices them, hands each
//! finished record to the `on_record` observer (aggregates, metrics, budgets), and appends the
//! batch to the file of the record's UTC date (a new file at midnight), flushing after every
//! batch. [`UsageWriter::shutdown`] drains the queue, flushes and fsyncs: N calls give N lines.
//! Other small writes that belong with a call (its channel alert) run on the same thread, in
//! order with the records ([`UsageWriter::run_in_order`]), so they are off the request path
//! and covered by `flush` and shutdown too.
//!
//! When the queue is full (the disk is far behind), the record is dropped, counted in
//! [`UsageWriter::dropped`] (shown by `/health` and `/metrics`), and a warning is logged for
//! the first drop and every 1000th after; records are never dropped silently. With
//! `usage.enabled: false` records still reach the observer (stats and budgets keep working)
//! but no file is written.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use tokio::sync::{mpsc, oneshot};

use super::cost::{billable_output, cost_of};
use super::record::UsageRecord;
use super::tap::Usage;
use super::tokens::{count_text_tokens, estimate_prompt_tokens};
use crate::catalog::ModelPrice;
use crate::stats::aggregate::utc_date_of;
use crate::stats::logfiles::usage_file_name;

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

/// Handle to the writer thread.
pub struct UsageWriter {
    tx: mpsc::Sender<Message>,
    dropped: AtomicU64,
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
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let started = std::thread::Builder::new()
            .name("usage-writer".into())
            .spawn(move || run(rx, dir, on_record));
        if let Err(e) = started {
            tracing::error!("cannot start the usage writer thread: {e}");
        }
        Arc::new(Self {
            tx,
            dropped: AtomicU64::new(0),
        })
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
        if self.tx.try_send(message).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped == 1 || dropped % 1000 == 0 {
                tracing::warn!(
                    dropped,
                    "usage queue full: record dropped (the writer is behind the disk)"
                );
            }
        }
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Wait until everything queued so far is written and flushed.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Drain the queue, then flush and fsync the log: every record submitted before this call
    /// is on disk when it returns. The thread itself ends when the last handle is dropped.
    pub async fn shutdown(&self) {
        self.flush().await;
    }
}

struct DailyFile {
    dir: PathBuf,
    date: Option<NaiveDate>,
    file: Option<BufWriter<File>>,
}

impl DailyFile {
    fn writer_for(&mut self, date: NaiveDate) -> Option<&mut BufWriter<File>> {
        if self.date != Some(date) {
            self.finish();
            if let Err(e) = std::fs::create_dir_all(&self.dir) {
                tracing::error!(dir = %self.dir.display(), "cannot create the usage log dir: {e}");
                return None;
            }
            let path = self.dir.join(usage_file_name(date));
            match OpenOptions::new().create(true).append(true).open(&path) {
                Ok(file) => {
                    self.file = Some(BufWriter::with_capacity(64 * 1024, file));
                    self.date = Some(date);
                }
                Err(e) => {
                    tracing::error!(path = %path.display(), "cannot open the usage log: {e}");
                    return None;
                }
            }
        }
        self.file.as_mut()
    }

    fn flush(&mut self) {
        if let Some(file) = self.file.as_mut() {
            if let Err(e) = file.flush() {
                tracing::error!("cannot write the usage log: {e}");
            }
        }
    }

    fn finish(&mut self) {
        self.flush();
        if let Some(file) = self.file.take() {
            if let Err(e) = file.get_ref().sync_all() {
                tracing::warn!("cannot fsync the usage log: {e}");
            }
        }
        self.date = None;
    }
}

fn run(mut rx: mpsc::Receiver<Message>, dir: Option<PathBuf>, on_record: RecordObserver) {
    let mut out = dir.map(|dir| DailyFile {
        dir,
        date: None,
        file: None,
    });
    let mut batch = Vec::with_capacity(512);
    while rx.blocking_recv_many(&mut batch, 512) > 0 {
        for message in batch.drain(..) {
            match message {
                Message::Record(pending) => {
                    let record = finish_record(*pending);
                    on_record(&record);
                    if let Some(out) = out.as_mut() {
                        append(out, &record);
                    }
                }
                Message::Job(job) => job(),
                Message::Flush(done) => {
                    if let Some(out) = out.as_mut() {
                        out.finish();
                    }
                    let _ = done.send(());
                }
            }
        }
        if let Some(out) = out.as_mut() {
            out.flush();
        }
    }
    if let Some(out) = out.as_mut() {
        out.finish();
    }
}

fn append(out: &mut DailyFile, record: &UsageRecord) {
    let date = utc_date_of(&record.timestamp).unwrap_or_else(|| chrono::Utc::now().date_naive());
    let Some(file) = out.writer_for(date) else {
        return;
    };
    let written = serde_json::to_writer(&mut *file, record)
        .map_err(std::io::Error::from)
        .and_then(|_| file.write_all(b"\n"));
    if let Err(e) = written {
        tracing::error!("cannot append a usage record: {e}");
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
    }
}

#[cfg(test)]
mod tests {
    use super::answer_text;

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
