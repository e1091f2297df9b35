use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::time::Instant;

use super::*;
use crate::history::sqlite::SqliteStore;
use crate::history::{Bucket, HistoryError, HistoryPage, HistoryQuery};
use crate::usage::record::CallStatus;

/// A served call's record, as the usage writer hands it over (also used by the spool's tests).
pub fn record(id: &str) -> UsageRecord {
    UsageRecord {
        timestamp: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string(),
        request_id: id.into(),
        query: "m1".into(),
        model: "m1".into(),
        channel_id: "a".into(),
        channel_name: "A".into(),
        provider: "mock".into(),
        status: CallStatus::Success,
        input_tokens: 12,
        total_cost: 0.25,
        ..UsageRecord::default()
    }
}

fn settings(dir: &Path) -> WriterSettings {
    WriterSettings {
        bodies: BodyPolicy {
            capture: true,
            max_bytes: 1024,
            secrets: Default::default(),
        },
        retention_days: 0,
        capacity: 64,
        spool_dir: dir.join("history.db.spool"),
        spool_max_bytes: u64::MAX,
    }
}

fn sqlite(dir: &Path) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(&dir.join("history.db")).expect("database"))
}

/// A writer over a new SQLite database in `dir`.
fn started(dir: &Path) -> (Arc<SqliteStore>, Arc<HistoryWriter>) {
    let store = sqlite(dir);
    let writer = HistoryWriter::start(store.clone(), settings(dir)).expect("writer");
    (store, writer)
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn rows_go_through_the_spool_into_the_database_and_leave_it_empty() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, writer) = started(dir.path());
    for n in 0..3 {
        writer.submit(record(&format!("req_{n}")), None);
    }
    writer.flush().await;
    let health = writer.health();
    assert_eq!(
        (health.stored, health.dropped, health.write_errors),
        (3, 0, 0)
    );
    assert_eq!(health.spool_bytes, 0);
    let row = store.get("req_1").expect("read").expect("stored");
    assert_eq!((row.input_tokens, row.total_cost), (12, 0.25));
    writer.shutdown().await;
}

#[tokio::test]
async fn rows_are_stored_without_a_flush() {
    // The writer's window and the importer's gathering end on their own: nothing waits for a
    // flush (or for the hourly retention pass) to store what was spooled.
    let dir = tempfile::tempdir().expect("dir");
    let (store, writer) = started(dir.path());
    for round in 0..2 {
        for n in 0..3 {
            writer.submit(record(&format!("req_{round}_{n}")), None);
        }
        let stored = 3 * (round + 1);
        wait_until("the rows are stored", || writer.health().stored == stored).await;
    }
    assert!(store.get("req_1_2").expect("read").is_some());
    writer.shutdown().await;
}

#[tokio::test]
async fn rows_a_killed_run_left_in_the_spool_are_stored_at_the_next_start() {
    let dir = tempfile::tempdir().expect("dir");
    let settings = settings(dir.path());
    {
        // What a killed gateway leaves: a spooled batch that never reached the database.
        let shared = Arc::new(SpoolShared::default());
        let mut spool = SpoolWriter::open(&settings.spool_dir, u64::MAX, shared).expect("spool");
        let mut entries = Vec::new();
        let row = HistoryRow::build(record("req_left"), None, &settings.bodies);
        push_entry(&mut entries, row, None).expect("serialises");
        spool.append(&entries).expect("append");
    }
    let store = sqlite(dir.path());
    assert!(store.get("req_left").expect("read").is_none());
    let writer = HistoryWriter::start(store.clone(), settings).expect("writer");
    writer.flush().await;
    assert!(store.get("req_left").expect("read").is_some());
    assert_eq!(writer.health().stored, 1);
    assert_eq!(writer.health().spool_bytes, 0);
    writer.shutdown().await;
}

/// SQLite underneath, refusing the first `refusals` batches as a database that is down would.
struct Refusing {
    inner: Arc<SqliteStore>,
    refusals: AtomicUsize,
}

impl HistoryStore for Refusing {
    fn insert_calls(
        &self,
        rows: &[HistoryRow],
        records: &[UsageRecord],
        pacer: &mut Pacer,
    ) -> Result<(), HistoryError> {
        let left = self.refusals.load(Ordering::SeqCst);
        if left > 0 {
            self.refusals.store(left - 1, Ordering::SeqCst);
            return Err(HistoryError::Postgres("connection refused".into()));
        }
        self.inner.insert_calls(rows, records, pacer)
    }
    fn search(&self, query: &HistoryQuery) -> Result<HistoryPage, HistoryError> {
        self.inner.search(query)
    }
    fn get(&self, request_id: &str) -> Result<Option<HistoryRow>, HistoryError> {
        self.inner.get(request_id)
    }
    fn delete_before(&self, before_ms: i64) -> Result<u64, HistoryError> {
        self.inner.delete_before(before_ms)
    }
    fn buckets(&self, from_ms: i64, width_ms: i64) -> Result<Vec<Bucket>, HistoryError> {
        self.inner.buckets(from_ms, width_ms)
    }
    fn size_bytes(&self) -> u64 {
        self.inner.size_bytes()
    }
}

/// A writer over SQLite that refuses its first `refusals` batches; and the SQLite underneath.
fn refusing_writer(dir: &Path, refusals: usize) -> (Arc<SqliteStore>, Arc<HistoryWriter>) {
    let inner = sqlite(dir);
    let store = Arc::new(Refusing {
        inner: inner.clone(),
        refusals: AtomicUsize::new(refusals),
    });
    let writer = HistoryWriter::start(store, settings(dir)).expect("writer");
    (inner, writer)
}

#[tokio::test]
async fn a_refused_batch_waits_in_the_spool_and_is_stored_once_the_database_takes_it() {
    let dir = tempfile::tempdir().expect("dir");
    let (inner, writer) = refusing_writer(dir.path(), 2);
    writer.submit(record("req_waits"), None);
    writer.flush().await;
    let health = writer.health();
    assert_eq!((health.stored, health.dropped), (0, 0), "{health:?}");
    assert!(health.write_errors >= 1);
    assert!(health.spool_bytes > 0, "the row waits in the spool");
    let last = health.last_error.unwrap_or_default();
    assert!(last.contains("connection refused"), "{last}");

    // Tried again after RETRY_AFTER, then twice that: stored on the third try.
    wait_until("the row is stored", || writer.health().stored == 1).await;
    assert!(inner.get("req_waits").expect("read").is_some());
    let health = writer.health();
    assert_eq!(
        (health.write_errors, health.dropped, health.spool_bytes),
        (2, 0, 0)
    );
    writer.shutdown().await;
}

#[tokio::test]
async fn a_full_spool_drops_and_counts_rows() {
    let dir = tempfile::tempdir().expect("dir");
    let store = sqlite(dir.path());
    let settings = WriterSettings {
        spool_max_bytes: 10,
        ..settings(dir.path())
    };
    let writer = HistoryWriter::start(store.clone(), settings).expect("writer");
    writer.submit(record("req_too_big"), None);
    writer.flush().await;
    let health = writer.health();
    assert_eq!(
        (health.stored, health.dropped, health.write_errors),
        (0, 1, 0)
    );
    assert!(store.get("req_too_big").expect("read").is_none());
    writer.shutdown().await;
}

/// The scheduling policy of each thread of this process named `name` (Linux: field 41 of
/// `/proc/self/task/<tid>/stat`; 5 is `SCHED_IDLE`).
#[cfg(target_os = "linux")]
fn policies_of(name: &str) -> Vec<u32> {
    let mut policies = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("tasks") {
        let path = task.expect("task").path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // Fields after the parenthesised name, which may hold spaces: state is field 3.
        let after_name = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        policies.push(
            fields
                .get(41 - 3)
                .and_then(|p| p.parse().ok())
                .unwrap_or(u32::MAX),
        );
    }
    policies
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_importer_runs_at_idle_priority_and_the_writer_does_not() {
    let dir = tempfile::tempdir().expect("dir");
    let writer = HistoryWriter::start(sqlite(dir.path()), settings(dir.path())).expect("writer");
    writer.flush().await;
    // Other tests start importers too; one that has just started may not have lowered its
    // priority yet, a matter of microseconds: look again for a while before failing.
    wait_until("every importer thread runs at SCHED_IDLE", || {
        let importers = policies_of("history-import");
        !importers.is_empty() && importers.iter().all(|p| *p == 5)
    })
    .await;
    let writers = policies_of("history-writer");
    assert!(
        !writers.is_empty() && writers.iter().all(|p| *p == 0),
        "{writers:?}"
    );
    writer.shutdown().await;
}

#[tokio::test]
async fn shutdown_leaves_what_the_database_refuses_in_the_spool_for_the_next_start() {
    let dir = tempfile::tempdir().expect("dir");
    let (inner, writer) = refusing_writer(dir.path(), usize::MAX);
    writer.submit(record("req_kept"), None);
    writer.submit(record("req_kept_too"), None);
    let started = Instant::now();
    writer.shutdown().await;
    assert!(
        started.elapsed() < crate::history::importer::LAST_PASS + Duration::from_secs(5),
        "shutdown does not wait out the retries"
    );
    assert!(inner.get("req_kept").expect("read").is_none());

    let writer = HistoryWriter::start(inner.clone(), settings(dir.path())).expect("writer");
    writer.flush().await;
    assert!(inner.get("req_kept").expect("read").is_some());
    assert!(inner.get("req_kept_too").expect("read").is_some());
    assert_eq!(writer.health().stored, 2);
    writer.shutdown().await;
}
