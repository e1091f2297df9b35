//! Where finished usage records go on the writer thread: the daily file, and a bounded backlog
//! in memory for the records the disk did not take.
//!
//! Every record is written as one complete line (`logfiles::append_lines`: a write
//! lands whole or is rolled back). A record whose write fails is counted once in
//! `write_errors` and kept, in order, in the backlog ([`MAX_BACKLOG_RECORDS`],
//! [`MAX_BACKLOG_BYTES`]); records past that bound are dropped and counted. The backlog is
//! written first at every batch and at least every [`RETRY`], so the log catches up once the
//! directory works again. While it fails, [`LogHealth`] says so (`/health` degraded with the
//! last error, an alert once per episode) and the error is logged at most once per
//! [`LOG_EVERY`]. It never blocks the request path: it runs only on the writer thread.

use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use super::logfiles::{append_lines, open_private_append, usage_file_name};

/// Records kept in memory while the log cannot be written.
pub const MAX_BACKLOG_RECORDS: usize = 10_000;
/// Bytes kept in memory while the log cannot be written.
pub const MAX_BACKLOG_BYTES: usize = 16 * 1024 * 1024;
/// How often a failing log is tried again when no record arrives.
pub const RETRY: Duration = Duration::from_secs(1);
/// The failure is logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Bytes written per system call when catching up.
const WRITE_CHUNK: usize = 1024 * 1024;

/// The usage writer's losses, for `/health` and `/metrics`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UsageCounts {
    /// Records lost: queue full, or a write failure with the backlog full.
    pub dropped: u64,
    /// Records whose write failed at least once.
    pub write_errors: u64,
    /// Records waiting in memory for the log directory to work again.
    pub backlog: u64,
}

/// Told the error when writing starts failing (once per episode).
pub type FailingHook = Box<dyn Fn(&str) + Send + Sync>;

/// What `/health` and `/metrics` see of the usage log; shared with the request side.
#[derive(Default)]
pub struct LogHealth {
    pub dropped: AtomicU64,
    pub write_errors: AtomicU64,
    pub backlog: AtomicU64,
    failing: AtomicBool,
    last_error: Mutex<Option<String>>,
    /// Test hook: every write fails as on a full disk.
    fail_writes: AtomicBool,
    /// Told when writing starts failing (the process raises an alert).
    on_failing: OnceLock<FailingHook>,
}

impl std::fmt::Debug for LogHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogHealth")
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl LogHealth {
    pub fn counts(&self) -> UsageCounts {
        UsageCounts {
            dropped: self.dropped.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            backlog: self.backlog.load(Ordering::Relaxed),
        }
    }

    /// The error of the failing log, while it fails.
    pub fn failing(&self) -> Option<String> {
        if !self.failing.load(Ordering::Relaxed) {
            return None;
        }
        self.last_error.lock().map(|e| e.clone()).unwrap_or(None)
    }

    /// The log directory failed its check at start: failing from now until a record is
    /// written, so `/health` is degraded before the first call finds out.
    pub fn failing_from_start(&self, message: String) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(message);
        }
        self.failing.store(true, Ordering::Relaxed);
    }

    pub fn set_on_failing(&self, hook: FailingHook) {
        let _ = self.on_failing.set(hook);
    }

    pub fn inject_write_failures(&self, on: bool) {
        self.fail_writes.store(on, Ordering::SeqCst);
    }

    fn raise_alert(&self, message: &str) {
        if let Some(hook) = self.on_failing.get() {
            hook(message);
        }
    }
}

struct Line {
    date: NaiveDate,
    bytes: Vec<u8>,
    /// Counted in `write_errors` already.
    failed: bool,
}

/// The daily file and the records waiting for it.
pub struct LogOut {
    dir: PathBuf,
    open: Option<(NaiveDate, File)>,
    torn: bool,
    waiting: VecDeque<Line>,
    waiting_bytes: usize,
    health: Arc<LogHealth>,
    last_logged: Option<Instant>,
}

impl LogOut {
    pub fn new(dir: PathBuf, health: Arc<LogHealth>) -> Self {
        Self {
            dir,
            open: None,
            torn: false,
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            health,
            last_logged: None,
        }
    }

    /// Queue one serialized record (a line ending in `\n`) for `date`'s file.
    pub fn push(&mut self, date: NaiveDate, bytes: Vec<u8>) {
        if self.waiting.len() >= MAX_BACKLOG_RECORDS
            || self.waiting_bytes + bytes.len() > MAX_BACKLOG_BYTES
        {
            self.health.dropped.fetch_add(1, Ordering::Relaxed);
            self.health.write_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.waiting_bytes += bytes.len();
        self.waiting.push_back(Line {
            date,
            bytes,
            failed: false,
        });
    }

    /// Records not written yet.
    pub fn has_backlog(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Write what waits, oldest first, until done or the disk fails.
    pub fn write(&mut self) {
        while !self.waiting.is_empty() {
            let (date, count, bytes) = self.next_group();
            match self.append(date, &bytes) {
                Ok(()) => {
                    for line in self.waiting.drain(..count) {
                        self.waiting_bytes -= line.bytes.len();
                    }
                }
                Err(e) => {
                    self.failed(&e);
                    break;
                }
            }
        }
        self.health
            .backlog
            .store(self.waiting.len() as u64, Ordering::Relaxed);
        if self.waiting.is_empty() && self.health.failing.swap(false, Ordering::Relaxed) {
            tracing::info!("the usage log is writable again; the backlog is written");
        }
    }

    /// Consecutive waiting lines of one date, up to [`WRITE_CHUNK`] bytes (at least one line).
    fn next_group(&self) -> (NaiveDate, usize, Vec<u8>) {
        let date = self.waiting.front().map_or(NaiveDate::MIN, |l| l.date);
        let mut bytes = Vec::new();
        let mut count = 0;
        for line in self.waiting.iter().take_while(|l| l.date == date) {
            if count > 0 && bytes.len() + line.bytes.len() > WRITE_CHUNK {
                break;
            }
            bytes.extend_from_slice(&line.bytes);
            count += 1;
        }
        (date, count, bytes)
    }

    fn append(&mut self, date: NaiveDate, bytes: &[u8]) -> std::io::Result<()> {
        if self.health.fail_writes.load(Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(28));
        }
        if self.open.as_ref().map(|(d, _)| *d) != Some(date) {
            self.sync();
            let path = self.dir.join(usage_file_name(date));
            self.open = Some((date, open_private_append(&path)?));
        }
        match self.open.as_mut() {
            Some((_, file)) => append_lines(file, bytes, &mut self.torn),
            None => Ok(()),
        }
    }

    fn failed(&mut self, error: &std::io::Error) {
        let mut newly = 0;
        for line in self.waiting.iter_mut().filter(|l| !l.failed) {
            line.failed = true;
            newly += 1;
        }
        self.health.write_errors.fetch_add(newly, Ordering::Relaxed);
        let message = format!(
            "cannot write the usage log in {}: {error}",
            self.dir.display()
        );
        if let Ok(mut last) = self.health.last_error.lock() {
            *last = Some(message.clone());
        }
        // A file handle that failed may be on a directory that went away: reopen next time.
        self.open = None;
        let episode_starts = !self.health.failing.swap(true, Ordering::Relaxed);
        if episode_starts {
            self.health.raise_alert(&format!(
                "{message}; records are kept in memory (up to {MAX_BACKLOG_RECORDS}) and written when it works again"
            ));
        }
        if self.last_logged.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
            self.last_logged = Some(Instant::now());
            tracing::error!(
                backlog = self.waiting.len(),
                write_errors = self.health.write_errors.load(Ordering::Relaxed),
                dropped = self.health.dropped.load(Ordering::Relaxed),
                "{message} (logged at most once a minute)"
            );
        }
    }

    /// fsync the open file.
    pub fn sync(&mut self) {
        if let Some((_, file)) = self.open.take() {
            if let Err(e) = file.sync_all() {
                tracing::warn!("cannot fsync the usage log: {e}");
            }
        }
    }

    /// Last chance at shutdown: write, fsync, and count what is still waiting as lost.
    pub fn finish(&mut self) {
        self.write();
        self.sync();
        if !self.waiting.is_empty() {
            let lost = self.waiting.len();
            self.health
                .dropped
                .fetch_add(lost as u64, Ordering::Relaxed);
            tracing::error!(
                lost,
                "usage records could not be written before exit and are lost"
            );
            self.waiting.clear();
            self.waiting_bytes = 0;
            self.health.backlog.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 4).expect("date")
    }

    #[test]
    fn failed_records_wait_in_order_and_are_written_when_the_disk_works_again() {
        let dir = tempfile::tempdir().expect("dir");
        let health = Arc::new(LogHealth::default());
        let mut out = LogOut::new(dir.path().to_path_buf(), health.clone());
        out.push(date(), b"{\"n\":1}\n".to_vec());
        out.write();
        health.inject_write_failures(true);
        out.push(date(), b"{\"n\":2}\n".to_vec());
        out.write();
        out.push(date(), b"{\"n\":3}\n".to_vec());
        out.write();
        assert_eq!(
            health.counts(),
            UsageCounts {
                dropped: 0,
                write_errors: 2,
                backlog: 2
            }
        );
        assert!(health
            .failing()
            .is_some_and(|e| e.contains("No space left on device")));
        health.inject_write_failures(false);
        out.write();
        assert_eq!(health.counts().backlog, 0);
        assert_eq!(health.failing(), None);
        let text = std::fs::read_to_string(dir.path().join("usage_20261204.jsonl")).expect("log");
        assert_eq!(text, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    }

    #[test]
    fn the_backlog_is_bounded_and_what_it_cannot_hold_is_counted() {
        let dir = tempfile::tempdir().expect("dir");
        let health = Arc::new(LogHealth::default());
        health.inject_write_failures(true);
        let mut out = LogOut::new(dir.path().to_path_buf(), health.clone());
        for _ in 0..MAX_BACKLOG_RECORDS + 5 {
            out.push(date(), b"{}\n".to_vec());
        }
        out.write();
        assert_eq!(
            health.counts(),
            UsageCounts {
                dropped: 5,
                write_errors: MAX_BACKLOG_RECORDS as u64 + 5,
                backlog: MAX_BACKLOG_RECORDS as u64
            }
        );
        out.finish();
        assert_eq!(health.counts().dropped, MAX_BACKLOG_RECORDS as u64 + 5);
    }
}
