//! The history importer: one OS thread that stores what the writer spooled ([`super::spool`])
//! in the database, in transactions of up to [`MAX_BATCH`] rows, and applies retention. Woken
//! by the writer, it lets rows gather for [`GATHER`] before a pass (a flush or shutdown cuts
//! that short), so a transaction holds a tenth of a second of calls, not one writer batch.
//!
//! It runs at idle priority (Linux `SCHED_IDLE`): it gets a CPU only when no serving thread
//! wants one, so the database's work (indexing, commits, checkpoints) never delays a call. On
//! a saturated machine it waits, the spool grows on disk (up to `history.spool_max_mb`) and
//! it catches up once the load drops; nothing is lost meanwhile. Elsewhere it runs at normal
//! priority. Either way it rests as the writer does ([`Pacer`]): on a kernel that does not
//! preempt system calls, even an idle-priority thread delays a serving thread woken on its CPU
//! until its call returns, and without the rests the gateway's p99 rose while it caught up.
//!
//! A batch the database refuses stays in the spool and is tried again after [`RETRY_AFTER`]
//! (doubling up to [`RETRY_MAX`]): rows wait out a restart of PostgreSQL or a full disk. A
//! batch still refused after [`GIVE_UP_AFTER`] is dropped and counted, so one row the
//! database can never take does not hold the history back for good.
//!
//! A flush is answered after a pass that reached everything spooled before it (stored, or
//! tried and refused: the rows then wait in the spool; while the database refuses, the next
//! pass comes at the end of the wait). At shutdown the importer stores for
//! at most [`LAST_PASS`]: a backlog left by a long saturation waits in the spool for the next
//! start instead of holding the process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::health::Counters;
use super::pacer::Pacer;
use super::spool::{Chunk, SpoolReader};
use super::{HistoryError, HistoryStore};

/// Rows per database transaction, and per spool write of the writer, at most (the writer's
/// queue holds [`super::QUEUE_CAPACITY`]).
pub const MAX_BATCH: usize = 4_096;
/// A batch of this many rows or more means a thread is behind: it does not rest ([`Pacer`])
/// on the next one.
pub const BEHIND: usize = MAX_BATCH / 2;
/// How long the importer goes on storing at shutdown; the rest waits in the spool for the
/// next start.
pub const LAST_PASS: Duration = Duration::from_secs(5);
/// How long rows gather between passes: at most one transaction per this long.
const GATHER: Duration = Duration::from_millis(100);
/// How often old rows are deleted.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);
/// First wait before a refused batch is tried again.
pub const RETRY_AFTER: Duration = Duration::from_millis(500);
/// Longest wait between tries.
const RETRY_MAX: Duration = Duration::from_secs(30);
/// A batch refused this long is dropped.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(600);

/// What the writer thread and the handle tell the importer.
#[derive(Debug, Default)]
pub struct ImportControl {
    flushes: Mutex<Vec<oneshot::Sender<()>>>,
    closing: AtomicBool,
    thread: Mutex<Option<std::thread::Thread>>,
}

impl ImportControl {
    /// Rows were spooled: import them.
    pub fn wake(&self) {
        if let Some(thread) = &*self.thread.lock().unwrap_or_else(|p| p.into_inner()) {
            thread.unpark();
        }
    }

    /// Answer `done` after a pass over everything spooled so far.
    pub fn flush(&self, done: impl IntoIterator<Item = oneshot::Sender<()>>) {
        self.flushes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(done);
        self.wake();
    }

    /// Import what is spooled, then stop.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.wake();
    }
}

/// Start the importer thread.
pub fn start(
    store: Arc<dyn HistoryStore>,
    mut reader: SpoolReader,
    counters: Arc<Counters>,
    retention_days: u32,
) -> std::io::Result<(Arc<ImportControl>, std::thread::JoinHandle<()>)> {
    let control = Arc::new(ImportControl::default());
    let handle = {
        let control = control.clone();
        std::thread::Builder::new()
            .name("history-import".into())
            .spawn(move || {
                lower_priority();
                run(&*store, &mut reader, &control, &counters, retention_days);
            })?
    };
    *control.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle.thread().clone());
    Ok((control, handle))
}

/// Run the calling thread only when a CPU has nothing else to do (Linux `SCHED_IDLE`, which
/// any thread may choose for itself). Elsewhere, or if refused, it keeps its priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
            ThreadSchedulePolicy,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        let set = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            idle,
        );
        if let Err(e) = set {
            tracing::warn!("request history: the importer keeps normal priority: {e:?}");
        }
    }
}

/// How a pass over the spool ended.
enum Pass {
    /// Everything spooled is stored.
    CaughtUp,
    /// The database refused a batch: it stays in the spool.
    Refused,
}

/// A batch that keeps failing: since when, and how long to wait before the next try.
struct Failing {
    since: Instant,
    wait: Duration,
}

impl Failing {
    /// A batch refused now: tried again after [`RETRY_AFTER`].
    fn now() -> Self {
        Self {
            since: Instant::now(),
            wait: RETRY_AFTER,
        }
    }
}

fn run(
    store: &dyn HistoryStore,
    reader: &mut SpoolReader,
    control: &ImportControl,
    counters: &Counters,
    retention_days: u32,
) {
    let mut next_retention = Instant::now();
    let mut failing: Option<Failing> = None;
    let mut pacer = Pacer::new();
    loop {
        if Instant::now() >= next_retention {
            apply_retention(store, counters, retention_days);
            next_retention = Instant::now() + RETENTION_EVERY;
        }
        let closing = control.closing.load(Ordering::SeqCst);
        let flushes =
            std::mem::take(&mut *control.flushes.lock().unwrap_or_else(|p| p.into_inner()));
        // The last pass, at shutdown, stops after LAST_PASS: what is left waits in the spool.
        let stop_at = closing.then(|| Instant::now() + LAST_PASS);
        let pass = import_spooled(store, reader, counters, &mut pacer, &mut failing, stop_at);
        for done in flushes {
            let _ = done.send(());
        }
        if closing {
            break;
        }
        match (pass, &mut failing) {
            (Pass::Refused, Some(f)) => {
                // The whole wait: the writer wakes this thread after every batch, and a
                // flush waits for the next pass, at the end of it.
                wait(f.wait, || control.closing.load(Ordering::SeqCst));
                f.wait = (f.wait * 2).min(RETRY_MAX);
            }
            _ => {
                std::thread::park_timeout(RETENTION_EVERY);
                // Woken by rows: let more of them gather before the next pass, unless a flush
                // or shutdown is waiting. Each transaction leaves a new full-text segment to
                // merge, so a pass per writer batch (every 10 ms under load) would index each
                // row more often.
                wait(GATHER, || {
                    control.closing.load(Ordering::SeqCst)
                        || !control
                            .flushes
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .is_empty()
                });
            }
        }
    }
}

/// Park for `length`, through wake-ups, unless `cut_short` says otherwise at one of them.
fn wait(length: Duration, cut_short: impl Fn() -> bool) {
    let until = Instant::now() + length;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || cut_short() {
            return;
        }
        std::thread::park_timeout(left);
    }
}

/// Store everything spooled, chunk by chunk, until the spool is empty or a chunk is refused.
fn import_spooled(
    store: &dyn HistoryStore,
    reader: &mut SpoolReader,
    counters: &Counters,
    pacer: &mut Pacer,
    failing: &mut Option<Failing>,
    stop_at: Option<Instant>,
) -> Pass {
    loop {
        if stop_at.is_some_and(|at| Instant::now() >= at) {
            return Pass::CaughtUp;
        }
        let chunk = match reader.next_chunk(MAX_BATCH) {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Pass::CaughtUp,
            Err(e) => {
                counters.failed("cannot read the spool", &HistoryError::Io(e));
                failing.get_or_insert_with(Failing::now);
                return Pass::Refused;
            }
        };
        if chunk.unreadable > 0 {
            counters
                .dropped
                .fetch_add(chunk.unreadable, Ordering::Relaxed);
            let torn = std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} unreadable line(s) skipped", chunk.unreadable),
            );
            counters.failed("spool", &HistoryError::Io(torn));
        }
        pacer.rested();
        pacer.set_resting(chunk.rows.len() < BEHIND);
        match store_chunk(store, &chunk, pacer) {
            Ok(()) => {
                counters
                    .stored
                    .fetch_add(chunk.rows.len() as u64, Ordering::Relaxed);
                *failing = None;
            }
            Err(e) => {
                counters.failed("cannot store rows", &e);
                let since = failing.get_or_insert_with(Failing::now).since;
                if since.elapsed() < GIVE_UP_AFTER {
                    return Pass::Refused;
                }
                counters
                    .dropped
                    .fetch_add(chunk.rows.len() as u64, Ordering::Relaxed);
                *failing = None;
            }
        }
        reader.consumed(&chunk);
    }
}

fn store_chunk(
    store: &dyn HistoryStore,
    chunk: &Chunk,
    pacer: &mut Pacer,
) -> Result<(), HistoryError> {
    if chunk.rows.is_empty() {
        return Ok(());
    }
    // An engine that keeps records gets one per row; a spool written without them (the
    // engine changed between runs) stores the rows alone.
    let records = match &chunk.records {
        Some(records) if store.keeps_usage_records() => records.as_slice(),
        _ => &[],
    };
    store.insert_calls(&chunk.rows, records, pacer)
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
