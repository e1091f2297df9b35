//! The history writer: one OS thread that turns finished usage records and their
//! [`CallDetails`] into rows (redaction and truncation happen here) and appends them, a batch
//! at a time, to the spool on disk ([`super::spool`]); the importer thread
//! ([`super::importer`]) stores them in the database at idle priority.
//!
//! It is fed by the usage writer thread (never by the request path) through a bounded queue:
//! [`HistoryWriter::submit`] never waits; a full queue drops the row and counts it, and so
//! does a full spool (`history.spool_max_mb`) or one that cannot be written. Errors are logged
//! (the first and every 100th), counted and kept for `/health`; they never reach a client.
//!
//! The writer batches by time: after a batch it sleeps [`BATCH_WINDOW`] and then takes
//! everything that queued meanwhile, in one write. Building a batch rests every 50 µs of
//! work ([`Pacer`]), so it never holds a CPU for long, unless the writer is behind (a batch
//! of [`BEHIND`] rows or more). [`HistoryWriter::flush`] wakes the thread at once and waits
//! until everything queued before it has been through the importer (stored, or refused by
//! the database and kept in the spool). Shutdown spools what is queued and gives the importer
//! a bounded last pass ([`super::importer::LAST_PASS`]).

use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::health::{Counters, HistoryHealth};
use super::importer::{ImportControl, BEHIND, MAX_BATCH};
use super::pacer::Pacer;
use super::row::{BodyPolicy, HistoryRow};
use super::spool::{push_entry, AppendError, SpoolReader, SpoolShared, SpoolWriter};
use super::{CallDetails, HistoryStore};
use crate::usage::record::UsageRecord;

/// How long the writer lets rows gather after spooling a batch. At 40,000 calls a second a
/// window queues 400 rows. (Against 100 ms: 12% less of the writer's CPU per row at 64
/// connections, in two pairs of profiles; smaller writes, and bodies freed sooner.)
pub const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// After this long without a call, a spool segment whose rows are all stored is closed (and
/// then deleted by the importer).
const SPOOL_IDLE: Duration = Duration::from_secs(60);

enum Message {
    Row(Box<UsageRecord>, Option<Box<CallDetails>>),
    Flush(oneshot::Sender<()>),
}

/// Handle to the history writer and importer threads, and to the store for reads.
pub struct HistoryWriter {
    sender: Mutex<Option<SyncSender<Message>>>,
    store: Arc<dyn HistoryStore>,
    counters: Arc<Counters>,
    spool: Arc<SpoolShared>,
    /// The writer thread, then the importer thread.
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// The writer thread, to wake it from its batch window for a flush.
    waker: std::thread::Thread,
    /// The gateway's own secrets, which the writer takes out of rows.
    secrets: Arc<super::known_secrets::KnownSecrets>,
}

impl std::fmt::Debug for HistoryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryWriter").finish_non_exhaustive()
    }
}

/// How the writer treats rows.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    pub bodies: BodyPolicy,
    pub retention_days: u32,
    pub capacity: usize,
    /// The spool's folder.
    pub spool_dir: std::path::PathBuf,
    /// Rows are dropped while the spool holds this many bytes.
    pub spool_max_bytes: u64,
}

impl HistoryWriter {
    /// Open the spool and start the writer and importer threads over `store`.
    pub fn start(
        store: Arc<dyn HistoryStore>,
        settings: WriterSettings,
    ) -> std::io::Result<Arc<Self>> {
        let shared = Arc::new(SpoolShared::default());
        let spool = SpoolWriter::open(
            &settings.spool_dir,
            settings.spool_max_bytes,
            shared.clone(),
        )?;
        let reader = SpoolReader::open(&settings.spool_dir, shared.clone())?;
        let counters = Arc::new(Counters::default());
        let (importer, import_thread) = super::importer::start(
            store.clone(),
            reader,
            counters.clone(),
            settings.retention_days,
        )?;
        let (sender, receiver) = sync_channel(settings.capacity.max(1));
        let keeps_records = store.keeps_usage_records();
        let secrets = settings.bodies.secrets.clone();
        let writer_thread = {
            let counters = counters.clone();
            std::thread::Builder::new()
                .name("history-writer".into())
                .spawn(move || {
                    run(
                        spool,
                        &importer,
                        &counters,
                        &receiver,
                        &settings,
                        keeps_records,
                    );
                    importer.close();
                })?
        };
        Ok(Arc::new(Self {
            sender: Mutex::new(Some(sender)),
            store,
            counters,
            spool: shared,
            waker: writer_thread.thread().clone(),
            secrets,
            threads: Mutex::new(vec![writer_thread, import_thread]),
        }))
    }

    fn sender(&self) -> Option<SyncSender<Message>> {
        self.sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The secrets the writer takes out of rows; set them from the config at start and
    /// after each reload.
    pub fn known_secrets(&self) -> &super::known_secrets::KnownSecrets {
        &self.secrets
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
            if dropped == 1 || dropped.is_multiple_of(1000) {
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
        self.waker.unpark();
        if matches!(sent, Ok(Ok(()))) {
            let _ = wait.await;
        }
    }

    /// Spool what is queued and stop both threads. The importer stores for at most
    /// [`super::importer::LAST_PASS`] more; what it does not (or the database refuses) waits
    /// in the spool for the next start.
    pub async fn shutdown(&self) {
        // The writer spools what the queue still holds, then sees it closed and stops the
        // importer after its last pass.
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.waker.unpark();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }

    /// The store, for reads.
    pub fn store(&self) -> Arc<dyn HistoryStore> {
        self.store.clone()
    }

    pub fn health(&self) -> HistoryHealth {
        self.counters.health(
            self.store.engine(),
            self.store.size_bytes(),
            self.spool.bytes(),
        )
    }
}

fn run(
    mut spool: SpoolWriter,
    importer: &ImportControl,
    counters: &Counters,
    receiver: &Receiver<Message>,
    settings: &WriterSettings,
    keeps_records: bool,
) {
    let mut entries: Vec<u8> = Vec::new();
    let mut flushes = Vec::new();
    let mut pacer = Pacer::new();
    let mut behind = false;
    let mut full = false;
    loop {
        let first = match receiver.recv_timeout(SPOOL_IDLE) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => {
                // Quiet, and everything spooled is stored: close the segment so that the
                // importer deletes it (stored rows do not linger in the spool).
                if spool.stored_all() {
                    if let Err(e) = spool.close_segment() {
                        counters
                            .failed("cannot start a spool segment", &super::HistoryError::Io(e));
                    }
                    importer.wake();
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        pacer.rested();
        pacer.set_resting(!behind);
        let mut rows = 0;
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Row(record, details) => {
                    // The Postgres store keeps the usage record too: only then is it copied.
                    let kept = keeps_records.then(|| (*record).clone());
                    let row = HistoryRow::build(*record, details.map(|d| *d), &settings.bodies);
                    match push_entry(&mut entries, row, kept.as_ref()) {
                        Ok(()) => rows += 1,
                        Err(e) => {
                            counters.dropped.fetch_add(1, Ordering::Relaxed);
                            counters.failed("cannot spool a row", &super::HistoryError::Io(e));
                        }
                    }
                    pacer.breathe();
                }
                Message::Flush(done) => flushes.push(done),
            }
            next = if rows < MAX_BATCH {
                receiver.try_recv().ok()
            } else {
                None
            };
        }
        behind = rows >= BEHIND;
        match spool.append(&entries) {
            Ok(()) => full = false,
            Err(e) => {
                counters.dropped.fetch_add(rows as u64, Ordering::Relaxed);
                match e {
                    AppendError::Full if !full => {
                        full = true;
                        tracing::warn!("request history: the spool is full (history.spool_max_mb): rows are dropped until the importer catches up");
                    }
                    AppendError::Full => {}
                    AppendError::Io(e) => {
                        full = false;
                        counters.failed("cannot write the spool", &super::HistoryError::Io(e));
                    }
                }
            }
        }
        entries.clear();
        let flushed = !flushes.is_empty();
        importer.flush(flushes.drain(..));
        // Let the next batch gather (a flush wakes the thread early). After a flush, go back
        // to waiting on the queue at once: a test may be waiting for more.
        if !flushed {
            std::thread::park_timeout(BATCH_WINDOW);
        }
    }
}

impl crate::usage::writer::FinishedRecords for HistoryWriter {
    fn finished(&self, record: UsageRecord, details: Option<Box<CallDetails>>) {
        self.submit(record, details);
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
pub(crate) mod tests;
