//! Rebuilding [`UsageAggregates`] from the usage logs on disk (at start-up, docs/usage-records.md).
//!
//! Owns reading `usage_YYYYMMDD.jsonl` and `archive/usage_YYYYMMDD.jsonl.gz` line by line. It
//! must never fail on a bad line or a bad file and never hold more than one line per reader in
//! memory; it never writes.
//!
//! Rules decided here:
//! - Each line is deserialized into a minimal borrowed struct (only the fields the aggregates
//!   read; unknown fields are skipped). Missing token/cost fields read as 0, a missing
//!   `cost_known` as true and a missing or null `response_time_ms` as "no time", so logs of
//!   older versions still count. `timestamp` and `status` are required.
//! - A line that is not such a JSON object (truncated, garbage, a timestamp without a date,
//!   longer than 1 MiB) is skipped and counted in `corrupt_lines`; the first 10 are listed
//!   with file, 1-based line number and reason. Lines of only whitespace are counted apart in
//!   `blank_lines`.
//! - A file that cannot be opened, or whose gzip stream breaks, is listed in
//!   `unreadable_files`; the lines read before the break still count.
//! - When both `usage_D.jsonl` and `archive/usage_D.jsonl.gz` exist (the archiver stopped
//!   between writing the archive and removing the original), the plain file is the source of
//!   truth and the archive is listed in `shadowed_archives`, not read.
//! - Files are read on up to 4 threads (one file per task) and merged in date order, so the
//!   result equals reading them one after another.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use flate2::read::MultiGzDecoder;
use serde::Deserialize;

use super::aggregate::{RecordView, UsageAggregates};
use crate::usage::logfiles::{list_usage_files, UsageFile, UsageFileKind};
use crate::usage::record::CallStatus;

/// Longest line accepted; longer ones are corrupt.
const MAX_LINE_BYTES: usize = 1 << 20;
/// How many corrupt lines the report lists in full.
const MAX_CORRUPT_EXAMPLES: usize = 10;
const MAX_THREADS: usize = 4;
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// One skipped line, as listed in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptLine {
    pub file: PathBuf,
    /// 1-based.
    pub line: u64,
    pub reason: String,
}

/// What a rebuild read and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Plain `usage_*.jsonl` files read.
    pub files_read: usize,
    /// `archive/usage_*.jsonl.gz` files read.
    pub archives_read: usize,
    /// Records counted.
    pub records: u64,
    pub blank_lines: u64,
    pub corrupt_lines: u64,
    /// The first few corrupt lines, in file order.
    pub first_corrupt: Vec<CorruptLine>,
    /// Files that could not be opened or read to the end, with the error.
    pub unreadable_files: Vec<(PathBuf, String)>,
    /// Archives not read because the plain file of the same date exists.
    pub shadowed_archives: Vec<PathBuf>,
}

/// The fields of a usage line that the aggregates read.
#[derive(Deserialize)]
struct UsageLine<'a> {
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow, default)]
    provider: Cow<'a, str>,
    #[serde(borrow, default)]
    channel_id: Cow<'a, str>,
    #[serde(borrow, default)]
    channel_name: Cow<'a, str>,
    #[serde(borrow, default)]
    model: Cow<'a, str>,
    #[serde(borrow, default)]
    key_name: Option<Cow<'a, str>>,
    status: CallStatus,
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
    #[serde(default)]
    cached_tokens: u64,
    #[serde(default)]
    reasoning_tokens: u64,
    #[serde(default)]
    total_cost: f64,
    #[serde(borrow, default)]
    cost_currency: Cow<'a, str>,
    #[serde(default = "known")]
    cost_known: bool,
    #[serde(default)]
    response_time_ms: Option<u64>,
}

fn known() -> bool {
    true
}

impl UsageLine<'_> {
    fn view(&self) -> RecordView<'_> {
        RecordView {
            timestamp: &self.timestamp,
            provider: &self.provider,
            channel_id: &self.channel_id,
            channel_name: &self.channel_name,
            model: &self.model,
            key_name: self.key_name.as_deref().unwrap_or(""),
            status: self.status,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            total_tokens: self.total_tokens,
            cached_tokens: self.cached_tokens,
            reasoning_tokens: self.reasoning_tokens,
            total_cost: self.total_cost,
            cost_currency: &self.cost_currency,
            cost_known: self.cost_known,
            response_time_ms: self.response_time_ms,
        }
    }
}

/// The result of reading one file.
#[derive(Default)]
struct FileTally {
    aggregates: UsageAggregates,
    records: u64,
    blank_lines: u64,
    corrupt_lines: u64,
    examples: Vec<CorruptLine>,
    error: Option<String>,
}

impl UsageAggregates {
    /// Reads every usage log (plain and archived) under `dir`. Only listing `dir` can fail;
    /// a missing directory gives empty aggregates.
    pub fn rebuild_from_dir(dir: &Path) -> io::Result<(UsageAggregates, RebuildReport)> {
        let mut report = RebuildReport::default();
        let files = files_to_read(list_usage_files(dir)?, &mut report);
        let tallies = read_all(&files);
        let mut aggregates = UsageAggregates::new();
        for (file, tally) in files.iter().zip(tallies) {
            match file.kind {
                UsageFileKind::Plain => report.files_read += 1,
                UsageFileKind::Archived => report.archives_read += 1,
            }
            report.records += tally.records;
            report.blank_lines += tally.blank_lines;
            report.corrupt_lines += tally.corrupt_lines;
            let room = MAX_CORRUPT_EXAMPLES.saturating_sub(report.first_corrupt.len());
            report
                .first_corrupt
                .extend(tally.examples.into_iter().take(room));
            if let Some(error) = tally.error {
                report.unreadable_files.push((file.path.clone(), error));
            }
            aggregates.merge(tally.aggregates);
        }
        Ok((aggregates, report))
    }
}

/// Drops archives shadowed by a plain file of the same date (the list is sorted by date,
/// plain first).
fn files_to_read(files: Vec<UsageFile>, report: &mut RebuildReport) -> Vec<UsageFile> {
    let mut kept: Vec<UsageFile> = Vec::with_capacity(files.len());
    for file in files {
        let shadowed = file.kind == UsageFileKind::Archived
            && kept
                .last()
                .is_some_and(|k| k.date == file.date && k.kind == UsageFileKind::Plain);
        if shadowed {
            report.shadowed_archives.push(file.path);
        } else {
            kept.push(file);
        }
    }
    kept
}

/// Reads the files on a few threads; the tallies come back in the files' order. A file no
/// thread got to (a thread could not be started) is read on this one.
fn read_all(files: &[UsageFile]) -> Vec<FileTally> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS)
        .min(files.len());
    if threads <= 1 {
        return files.iter().map(read_file).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, FileTally)>> = Mutex::new(Vec::with_capacity(files.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let worker = || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(index) else { break };
                let tally = read_file(file);
                if let Ok(mut done) = done.lock() {
                    done.push((index, tally));
                }
            };
            if std::thread::Builder::new()
                .spawn_scoped(scope, worker)
                .is_err()
            {
                break;
            }
        }
    });
    let mut slots: Vec<Option<FileTally>> = files.iter().map(|_| None).collect();
    let done = done
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (index, tally) in done {
        if let Some(slot) = slots.get_mut(index) {
            *slot = Some(tally);
        }
    }
    files
        .iter()
        .zip(slots)
        .map(|(file, slot)| slot.unwrap_or_else(|| read_file(file)))
        .collect()
}

fn read_file(file: &UsageFile) -> FileTally {
    let opened = File::open(&file.path);
    let mut tally = FileTally::default();
    let result = match (opened, file.kind) {
        (Err(e), _) => Err(e),
        (Ok(f), UsageFileKind::Plain) => read_lines(
            BufReader::with_capacity(READ_BUFFER_BYTES, f),
            file,
            &mut tally,
        ),
        (Ok(f), UsageFileKind::Archived) => {
            let gz = MultiGzDecoder::new(BufReader::with_capacity(READ_BUFFER_BYTES, f));
            read_lines(
                BufReader::with_capacity(READ_BUFFER_BYTES, gz),
                file,
                &mut tally,
            )
        }
    };
    if let Err(e) = result {
        tally.error = Some(e.to_string());
    }
    tally
}

fn read_lines(mut reader: impl BufRead, file: &UsageFile, tally: &mut FileTally) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    while let Some(too_long) = read_line_capped(&mut reader, &mut buf, MAX_LINE_BYTES)? {
        line_no += 1;
        if too_long {
            tally.corrupt(
                file,
                line_no,
                format!("line longer than {MAX_LINE_BYTES} bytes"),
            );
            continue;
        }
        let line = buf.trim_ascii();
        if line.is_empty() {
            tally.blank_lines += 1;
            continue;
        }
        match serde_json::from_slice::<UsageLine<'_>>(line) {
            Ok(record) => {
                if tally.aggregates.add_view(&record.view()) {
                    tally.records += 1;
                } else {
                    let reason = format!("timestamp {:?} has no UTC date", record.timestamp);
                    tally.corrupt(file, line_no, reason);
                }
            }
            Err(e) => tally.corrupt(file, line_no, e.to_string()),
        }
    }
    Ok(())
}

impl FileTally {
    fn corrupt(&mut self, file: &UsageFile, line: u64, mut reason: String) {
        self.corrupt_lines += 1;
        if self.examples.len() < MAX_CORRUPT_EXAMPLES {
            truncate_on_char(&mut reason, 200);
            self.examples.push(CorruptLine {
                file: file.path.clone(),
                line,
                reason,
            });
        }
    }
}

/// Reads one line (through `\n`) into `buf`. `None` at end of input; `Some(true)` when the
/// line was longer than `cap` (its bytes are dropped, the reader moves past it).
fn read_line_capped(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let (used, complete) = {
            let available = match reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(read_any.then_some(too_long));
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let used = newline.map_or(available.len(), |i| i + 1);
            let part = available.get(..used).unwrap_or(available);
            if !too_long && buf.len() + part.len() > cap {
                too_long = true;
                buf.clear();
            }
            if !too_long {
                buf.extend_from_slice(part);
            }
            (used, newline.is_some())
        };
        read_any = true;
        reader.consume(used);
        if complete {
            return Ok(Some(too_long));
        }
    }
}

fn truncate_on_char(text: &mut String, max: usize) {
    if text.len() > max {
        let cut = (0..=max)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
    }
}

#[cfg(test)]
#[path = "from_logs_tests.rs"]
mod tests;
