//! The history writer: one OS thread that turns finished usage records and their
//! [`CallDetails`] into rows and stores them in batches, one transaction per batch (with the
//! records themselves, for a store that keeps them: PostgreSQL).
//!
//! It is fed by the usage writer thread (never by the request path) through a bounded queue:
//! [`HistoryWriter::submit`] never waits; a full queue drops the row and counts it. A store
//! error is logged (the first and every 100th), counted and kept for `/health`; it never
//! reaches a client. Once an hour (and at start) rows older than `retention_days` are deleted.
//!
//! The writer batches by time: after storing a batch it sleeps [`BATCH_WINDOW`] and then takes
//! everything that queued meanwhile, in one transaction. Under load that is one commit (and
//! one wake-up) per window instead of one per handful of rows; a row is searchable at most a
//! window after the usage writer hands it over. Building and storing a batch rests every
//! 200 µs of work ([`Pacer`]), so a batch never holds a CPU for long, unless the writer is
//! behind (a batch of [`BEHIND`] rows or more). [`HistoryWriter::flush`] wakes the thread at
//! once and waits until everything queued before it is stored; shutdown flushes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

use super::pacer::Pacer;
use super::row::{BodyPolicy, HistoryRow};
use super::{CallDetails, HistoryStore};
use crate::usage::record::UsageRecord;

/// Rows stored per transaction, at most (the queue holds [`super::QUEUE_CAPACITY`]).
pub const MAX_BATCH: usize = 4_096;
/// How long the writer lets rows gather after storing a batch. At 40,000 calls a second a
/// window queues 4,000 rows, within the queue's capacity.
pub const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// A batch of this many rows or more means the writer is behind: it does not rest
/// ([`Pacer`]) on the next one.
const BEHIND: usize = MAX_BATCH / 2;
/// How often old rows are deleted.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

enum Message {
    Row(Box<UsageRecord>, Option<Box<CallDetails>>),
    Flush(oneshot::Sender<()>),
}

/// What `/health` shows of the history.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HistoryHealth {
    pub enabled: bool,
    /// `sqlite` or `postgres`; absent when the history is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<&'static str>,
    pub stored: u64,
    pub dropped: u64,
    pub write_errors: u64,
    pub last_error: Option<String>,
    pub size_bytes: u64,
}

#[derive(Default)]
struct Counters {
    stored: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn failed(&self, what: &str, error: &super::HistoryError) {
        let errors = self.errors.fetch_add(1, Ordering::Relaxed) + 1;
        let message = format!("{what}: {error}");
        if errors == 1 || errors % 100 == 0 {
            tracing::error!(errors, "request history: {message}");
        }
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
    }
}

/// Handle to the history writer thread, and to the store for reads.
pub struct HistoryWriter {
    sender: Mutex<Option<SyncSender<Message>>>,
    store: Arc<dyn HistoryStore>,
    counters: Arc<Counters>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The writer thread, to wake it from its batch window for a flush.
    waker: Option<std::thread::Thread>,
}

impl std::fmt::Debug for HistoryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryWriter").finish_non_exhaustive()
    }
}

/// How the writer treats rows.
#[derive(Debug, Clone, Copy)]
pub struct WriterSettings {
    pub bodies: BodyPolicy,
    pub retention_days: u32,
    pub capacity: usize,
}

impl HistoryWriter {
    /// Start the writer thread over `store`.
    pub fn start(store: Arc<dyn HistoryStore>, settings: WriterSettings) -> Arc<Self> {
        let (sender, receiver) = sync_channel(settings.capacity.max(1));
        let counters = Arc::new(Counters::default());
        let thread = {
            let (store, counters) = (store.clone(), counters.clone());
            std::thread::Builder::new()
                .name("history-writer".into())
                .spawn(move || run(&*store, &counters, &receiver, settings))
        };
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!("cannot start the history writer thread: {e}");
                None
            }
        };
        Arc::new(Self {
            sender: Mutex::new(Some(sender)),
            store,
            counters,
            waker: thread.as_ref().map(|t| t.thread().clone()),
            thread: Mutex::new(thread),
        })
    }

    fn sender(&self) -> Option<SyncSender<Message>> {
        self.sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Queue a finished record; never waits. A full queue drops it (counted).
    pub fn submit(&self, record: UsageRecord, details: Option<Box<CallDetails>>) {
        let Some(sender) = self.sender() else {
            return;
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            sender.try_send(Message::Row(Box::new(record), details))
        {
            let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped == 1 || dropped % 1000 == 0 {
                tracing::warn!(dropped, "history queue full: row dropped");
            }
        }
    }

    /// Wait until every row queued before this call is stored (or failed).
    pub async fn flush(&self) {
        let Some(sender) = self.sender() else {
            return;
        };
        let (done, wait) = oneshot::channel();
        let sent = tokio::task::spawn_blocking(move || sender.send(Message::Flush(done))).await;
        if let Some(writer) = &self.waker {
            writer.unpark();
        }
        if matches!(sent, Ok(Ok(()))) {
            let _ = wait.await;
        }
    }

    /// Store what is queued and stop the thread.
    pub async fn shutdown(&self) {
        self.flush().await;
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// The store, for reads.
    pub fn store(&self) -> Arc<dyn HistoryStore> {
        self.store.clone()
    }

    pub fn health(&self) -> HistoryHealth {
        HistoryHealth {
            enabled: true,
            engine: Some(self.store.engine()),
            stored: self.counters.stored.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            write_errors: self.counters.errors.load(Ordering::Relaxed),
            last_error: self
                .counters
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            size_bytes: self.store.size_bytes(),
        }
    }
}

/// What the writer gathered for one transaction.
struct Batch {
    rows: Vec<HistoryRow>,
    /// The records of `rows`, for an engine that keeps them too (PostgreSQL's usage records);
    /// `None` for one that does not.
    records: Option<Vec<UsageRecord>>,
    flushes: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn take(&mut self, message: Message, bodies: BodyPolicy, pacer: &mut Pacer) {
        match message {
            Message::Row(record, details) => {
                self.rows
                    .push(HistoryRow::build(&record, details.as_deref(), bodies));
                if let Some(records) = &mut self.records {
                    records.push(*record);
                }
                pacer.breathe();
            }
            Message::Flush(done) => self.flushes.push(done),
        }
    }
}

fn run(
    store: &dyn HistoryStore,
    counters: &Counters,
    receiver: &Receiver<Message>,
    settings: WriterSettings,
) {
    let mut next_retention = Instant::now();
    let mut batch = Batch {
        rows: Vec::with_capacity(MAX_BATCH),
        records: store
            .keeps_usage_records()
            .then(|| Vec::with_capacity(MAX_BATCH)),
        flushes: Vec::new(),
    };
    let mut pacer = Pacer::new();
    loop {
        if Instant::now() >= next_retention {
            apply_retention(store, counters, settings.retention_days);
            next_retention = Instant::now() + RETENTION_EVERY;
        }
        let first = match receiver.recv_timeout(RETENTION_EVERY) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        pacer.rested();
        batch.take(first, settings.bodies, &mut pacer);
        while batch.rows.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(message) => batch.take(message, settings.bodies, &mut pacer),
                Err(_) => break,
            }
        }
        if !batch.rows.is_empty() {
            pacer.set_resting(batch.rows.len() < BEHIND);
            let records = batch.records.as_deref().unwrap_or_default();
            match store.insert_calls(&batch.rows, records, &mut pacer) {
                Ok(()) => {
                    counters
                        .stored
                        .fetch_add(batch.rows.len() as u64, Ordering::Relaxed);
                }
                Err(e) => counters.failed("cannot store rows", &e),
            }
            batch.rows.clear();
            if let Some(records) = &mut batch.records {
                records.clear();
            }
        }
        let flushed = !batch.flushes.is_empty();
        for done in batch.flushes.drain(..) {
            let _ = done.send(());
        }
        // Let the next batch gather (a flush wakes the thread early). After a flush, go back
        // to waiting on the queue at once: a test or a shutdown may be waiting for more.
        if !flushed {
            std::thread::park_timeout(BATCH_WINDOW);
        }
    }
}

fn apply_retention(store: &dyn HistoryStore, counters: &Counters, days: u32) {
    if days == 0 {
        return;
    }
    let before = super::query::now_ms() - i64::from(days) * 86_400_000;
    match store.delete_before(before) {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, days, "request history: old rows deleted"),
        Err(e) => counters.failed("cannot delete old rows", &e),
    }
}

impl crate::usage::writer::FinishedRecords for HistoryWriter {
    fn finished(&self, record: UsageRecord, details: Option<Box<CallDetails>>) {
        self.submit(record, details);
    }
}
