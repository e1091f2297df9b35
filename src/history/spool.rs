//! The history's spool: an append-only queue on disk between the writer thread, which builds
//! rows as calls finish, and the importer thread, which stores them in the database at idle
//! priority ([`super::importer`]).
//!
//! Owns the files, their order and the entry format. A spool is a folder of segments,
//! `NNNNNNNNNNNN.spool` (twelve digits, in the order written), each a run of framed entries,
//! one [`SpoolEntry`] each: the row, already redacted and cut (a spool holds nothing the
//! database would not), and the usage record for an engine that keeps records. A frame is a
//! tag byte, three lengths and three parts ([`push_entry`]): the row's fields and the record as
//! JSON, then the request and response bodies as they are, so the bodies (most of an entry)
//! are neither escaped by the writer nor unescaped by the importer. The writer appends whole
//! batches with one write and publishes the new end ([`SpoolShared`]); the reader never reads
//! past a published end, so it never sees half a batch. A segment grows to [`SEGMENT_BYTES`],
//! then the writer starts the next one (or sooner: a writer that has been idle for a minute
//! with every row stored closes its segment, so stored rows do not linger); the reader deletes
//! a closed segment once every entry of it has been handed over and the next read shows it
//! was stored. Segments an earlier version wrote as JSON lines (`NNNNNNNNNNNN.jsonl`, one
//! [`SpoolEntry`] per line) are read as well.
//!
//! One process owns a spool: the writer holds an exclusive lock on `lock` in the folder for
//! as long as it runs (released by the system if the process dies), and a second process on
//! the same folder is refused. Two would delete each other's segments.
//!
//! What a crash leaves is imported at the next start: the writer opens a new segment after
//! the last one left, and the reader starts from the oldest. Rows of a batch stored just
//! before the crash are read again; both engines ignore a row whose id they already hold. An
//! entry cut short at the end of a segment (a torn write) is skipped and counted, and so is
//! one that does not parse.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::row::HistoryRow;
use crate::usage::logfiles::{create_private_dir, make_private, owner_only};
use crate::usage::record::UsageRecord;

/// A segment is closed once it holds this many bytes (the batch that crosses it included).
pub const SEGMENT_BYTES: u64 = 8 << 20;
/// Bytes read from a segment at a time (more when a single entry is longer).
const READ_BYTES: usize = 1 << 20;

/// One spooled call, as the importer reads it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpoolEntry {
    pub row: HistoryRow,
    /// The usage record, for an engine that keeps them ([`super::HistoryStore::keeps_usage_records`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<UsageRecord>,
}

/// [`SpoolEntry`] as the writer serialises it, without copying the row.
#[derive(Serialize)]
struct EntryRef<'a> {
    row: &'a HistoryRow,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<&'a UsageRecord>,
}

/// The first byte of a frame: never the first byte of a JSON line (`{`), nor of any UTF-8
/// text, so a segment of JSON lines reads too.
const FRAME_TAG: u8 = 0xF1;
/// Tag, then the lengths of the JSON part, the request body and the response body.
const FRAME_HEADER: usize = 13;
/// The length of a body the row does not have.
const ABSENT: u32 = u32::MAX;

/// Append one entry, framed, to `buffer`: [`FRAME_TAG`]; the lengths of the three parts
/// (`u32`, little-endian; a body the row lacks is [`ABSENT`]); the row without its bodies and
/// `record`, as JSON; the request body; the response body. On an error nothing is appended.
pub fn push_entry(
    buffer: &mut Vec<u8>,
    mut row: HistoryRow,
    record: Option<&UsageRecord>,
) -> std::io::Result<()> {
    let request = row.request_body.take();
    let response = row.response_body.take();
    let request_length = part_length(request.as_ref().map(String::len))?;
    let response_length = part_length(response.as_ref().map(String::len))?;
    let start = buffer.len();
    buffer.push(FRAME_TAG);
    buffer.extend_from_slice(&[0; FRAME_HEADER - 1]);
    let json = serde_json::to_writer(&mut *buffer, &EntryRef { row: &row, record })
        .map_err(std::io::Error::other)
        .and_then(|()| part_length(Some(buffer.len() - start - FRAME_HEADER)));
    let json_length = match json {
        Ok(length) => length,
        Err(e) => {
            buffer.truncate(start);
            return Err(e);
        }
    };
    for (n, length) in [json_length, request_length, response_length]
        .iter()
        .enumerate()
    {
        let at = start + 1 + 4 * n;
        buffer[at..at + 4].copy_from_slice(&length.to_le_bytes());
    }
    for body in [request, response].into_iter().flatten() {
        buffer.extend_from_slice(body.as_bytes());
    }
    Ok(())
}

fn part_length(length: Option<usize>) -> std::io::Result<u32> {
    match length {
        None => Ok(ABSENT),
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|&n| n != ABSENT)
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "entry too large to spool")
            }),
    }
}

/// How much of `bytes` the entry at its start takes.
enum Measured {
    /// The whole entry is there, this many bytes.
    Whole(usize),
    /// It is not whole; when known, its full length.
    Partial(Option<u64>),
}

/// A frame's header: the lengths of its parts.
struct Frame {
    json: u32,
    request: Option<u32>,
    response: Option<u32>,
}

impl Frame {
    /// The header at the start of `bytes`, if it is whole.
    fn read(bytes: &[u8]) -> Option<Self> {
        let header = bytes.get(1..FRAME_HEADER)?;
        let length = |n: usize| {
            let mut le = [0; 4];
            le.copy_from_slice(&header[4 * n..4 * n + 4]);
            u32::from_le_bytes(le)
        };
        let body = |n: usize| Some(length(n)).filter(|&l| l != ABSENT);
        Some(Self {
            json: length(0),
            request: body(1),
            response: body(2),
        })
    }

    /// The whole frame's length, header included.
    fn length(&self) -> u64 {
        [Some(self.json), self.request, self.response]
            .into_iter()
            .flatten()
            .map(u64::from)
            .sum::<u64>()
            + FRAME_HEADER as u64
    }
}

/// Measure the entry at the start of `bytes`: a frame, or a JSON line to its newline.
fn measure(bytes: &[u8]) -> Measured {
    if bytes.first() != Some(&FRAME_TAG) {
        return match memchr::memchr(b'\n', bytes) {
            Some(end) => Measured::Whole(end + 1),
            None => Measured::Partial(None),
        };
    }
    let Some(frame) = Frame::read(bytes) else {
        return Measured::Partial(None);
    };
    let total = frame.length();
    match usize::try_from(total) {
        Ok(total) if total <= bytes.len() => Measured::Whole(total),
        _ => Measured::Partial(Some(total)),
    }
}

/// Decode one whole entry (as [`measure`] cut it); `None` if it does not parse.
fn decode(entry: &[u8]) -> Option<SpoolEntry> {
    let Some(frame) = Frame::read(entry).filter(|_| entry.first() == Some(&FRAME_TAG)) else {
        let line = entry.strip_suffix(b"\n").unwrap_or(entry);
        return serde_json::from_slice(line).ok();
    };
    let mut rest = entry.get(FRAME_HEADER..)?;
    let mut take = |length: u32| -> Option<&[u8]> {
        let (part, after) = rest.split_at_checked(usize::try_from(length).ok()?)?;
        rest = after;
        Some(part)
    };
    let json = take(frame.json)?;
    let request = frame.request.map(&mut take);
    let response = frame.response.map(&mut take);
    let mut decoded: SpoolEntry = serde_json::from_slice(json).ok()?;
    let text = |part: Option<Option<&[u8]>>| -> Option<Option<String>> {
        match part {
            None => Some(None),
            Some(bytes) => Some(Some(std::str::from_utf8(bytes?).ok()?.to_owned())),
        }
    };
    decoded.row.request_body = text(request)?;
    decoded.row.response_body = text(response)?;
    Some(decoded)
}

/// What the writer and the reader share: where the written data ends, and the bytes on disk.
#[derive(Debug, Default)]
pub struct SpoolShared {
    /// (segment, length): the reader reads that segment up to that length, and every earlier
    /// segment to its end.
    end: Mutex<(u64, u64)>,
    /// Bytes written and not yet stored (handed over and marked consumed).
    bytes: AtomicU64,
}

impl SpoolShared {
    fn end(&self) -> (u64, u64) {
        *self.end.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, segment: u64, length: u64) {
        *self.end.lock().unwrap_or_else(|p| p.into_inner()) = (segment, length);
    }

    /// Bytes waiting on disk to be stored.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// Why an append stored nothing.
#[derive(Debug)]
pub enum AppendError {
    /// The spool holds `max_bytes` already: the rows are dropped.
    Full,
    Io(std::io::Error),
}

/// The extension of the segments this version writes.
const SEGMENT_EXTENSION: &str = "spool";
/// The extension of segments an earlier version wrote as JSON lines (read, never written).
const JSON_LINES_EXTENSION: &str = "jsonl";

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:012}.{SEGMENT_EXTENSION}"))
}

/// Open `segment` to read: this version's file, else one an earlier version left.
fn open_segment(dir: &Path, segment: u64) -> std::io::Result<(File, PathBuf)> {
    let path = segment_path(dir, segment);
    match File::open(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let earlier = dir.join(format!("{segment:012}.{JSON_LINES_EXTENSION}"));
            File::open(&earlier)
                .map(|file| (file, earlier))
                .map_err(|_| e)
        }
        opened => opened.map(|file| (file, path)),
    }
}

/// The segments in `dir`, oldest first, with their sizes.
fn segments(dir: &Path) -> std::io::Result<Vec<(u64, u64)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(number) = name.to_str().and_then(|n| {
            n.strip_suffix(SEGMENT_EXTENSION)
                .or_else(|| n.strip_suffix(JSON_LINES_EXTENSION))
                .and_then(|n| n.strip_suffix('.'))
        }) else {
            continue;
        };
        if number.len() != 12 || !number.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(segment) = number.parse::<u64>() {
            found.push((segment, entry.metadata()?.len()));
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// The writing end, owned by the writer thread.
#[derive(Debug)]
pub struct SpoolWriter {
    /// Holds the folder's lock while open.
    _lock: File,
    dir: PathBuf,
    shared: std::sync::Arc<SpoolShared>,
    max_bytes: u64,
    segment: u64,
    file: File,
    length: u64,
}

impl SpoolWriter {
    /// Open the spool in `dir` (created if missing): count what a previous run left, and
    /// start a new segment after it.
    pub fn open(
        dir: &Path,
        max_bytes: u64,
        shared: std::sync::Arc<SpoolShared>,
    ) -> std::io::Result<Self> {
        // Rows hold prompts and answers: the spool is its owner's only, like the database.
        create_private_dir(dir)?;
        make_private(dir)?;
        let lock = owner_only(OpenOptions::new().create(true).truncate(false).write(true))
            .open(dir.join("lock"))?;
        if let Err(e) = lock.try_lock() {
            let why = match e {
                std::fs::TryLockError::WouldBlock => {
                    "another process is using this spool (give each instance its own history.path)"
                        .to_string()
                }
                std::fs::TryLockError::Error(e) => format!("cannot lock it: {e}"),
            };
            return Err(std::io::Error::new(std::io::ErrorKind::WouldBlock, why));
        }
        let left = segments(dir)?;
        shared
            .bytes
            .store(left.iter().map(|(_, size)| size).sum(), Ordering::Relaxed);
        let segment = left.last().map_or(1, |(last, _)| last + 1);
        let file = create_segment(dir, segment)?;
        shared.publish(segment, 0);
        Ok(Self {
            _lock: lock,
            dir: dir.to_path_buf(),
            shared,
            max_bytes,
            segment,
            file,
            length: 0,
        })
    }

    /// Append `entries` (whole ones, from [`push_entry`]) with one write, and publish them.
    /// On an error nothing of them stays: the segment is cut back, or closed if it cannot be.
    pub fn append(&mut self, entries: &[u8]) -> Result<(), AppendError> {
        if entries.is_empty() {
            return Ok(());
        }
        if self.shared.bytes() + entries.len() as u64 > self.max_bytes {
            return Err(AppendError::Full);
        }
        if let Err(e) = self.file.write_all(entries) {
            let cut = self
                .file
                .set_len(self.length)
                .and_then(|()| self.file.seek(SeekFrom::Start(self.length)).map(drop));
            if cut.is_err() {
                // The segment ends with a torn entry the reader will skip; go on in a new one.
                let _ = self.close_segment();
            }
            return Err(AppendError::Io(e));
        }
        self.length += entries.len() as u64;
        self.shared
            .bytes
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        self.shared.publish(self.segment, self.length);
        if self.length >= SEGMENT_BYTES {
            // A failure here leaves the full segment open; the next append tries again.
            let _ = self.close_segment();
        }
        Ok(())
    }

    /// Whether every row written is stored, and the open segment holds any.
    pub fn stored_all(&self) -> bool {
        self.length > 0 && self.shared.bytes() == 0
    }

    /// Start a new segment, so that the reader deletes this one once read past.
    pub fn close_segment(&mut self) -> std::io::Result<()> {
        let file = create_segment(&self.dir, self.segment + 1)?;
        self.segment += 1;
        self.file = file;
        self.length = 0;
        self.shared.publish(self.segment, 0);
        Ok(())
    }
}

fn create_segment(dir: &Path, segment: u64) -> std::io::Result<File> {
    owner_only(OpenOptions::new().create(true).append(true)).open(segment_path(dir, segment))
}

/// Entries read from the spool, and where the read ended.
#[derive(Debug)]
pub struct Chunk {
    pub rows: Vec<HistoryRow>,
    /// The record of each row, when every entry carried one.
    pub records: Option<Vec<UsageRecord>>,
    /// Entries that did not parse or were cut short (torn writes), skipped.
    pub unreadable: u64,
    segment: u64,
    start: u64,
    end: u64,
}

/// The reading end, owned by the importer thread.
#[derive(Debug)]
pub struct SpoolReader {
    dir: PathBuf,
    shared: std::sync::Arc<SpoolShared>,
    segment: u64,
    offset: u64,
}

impl SpoolReader {
    /// A reader from the oldest segment in `dir` (open the writer first: it creates `dir`).
    pub fn open(dir: &Path, shared: std::sync::Arc<SpoolShared>) -> std::io::Result<Self> {
        let oldest = segments(dir)?
            .first()
            .map_or_else(|| shared.end().0, |(first, _)| *first);
        Ok(Self {
            dir: dir.to_path_buf(),
            shared,
            segment: oldest,
            offset: 0,
        })
    }

    /// Up to `max_entries` entries after the last chunk marked [`Self::consumed`]; `None` when
    /// everything published is stored. Deletes the segments read to their end.
    pub fn next_chunk(&mut self, max_entries: usize) -> std::io::Result<Option<Chunk>> {
        loop {
            let (last, published) = self.shared.end();
            if self.segment > last {
                return Ok(None);
            }
            let (mut file, path) = match open_segment(&self.dir, self.segment) {
                Ok(opened) => opened,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.segment < last => {
                    self.segment += 1;
                    self.offset = 0;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let closed = self.segment < last;
            let limit = if closed {
                file.metadata()?.len()
            } else {
                published
            };
            if self.offset >= limit {
                if !closed {
                    return Ok(None);
                }
                drop(file);
                fs::remove_file(&path)?;
                self.segment += 1;
                self.offset = 0;
                continue;
            }
            file.seek(SeekFrom::Start(self.offset))?;
            let chunk = self.read_entries(&mut file, limit, closed, max_entries)?;
            // No whole entry yet: cannot happen with a writer that publishes whole entries.
            return Ok((chunk.end > self.offset).then_some(chunk));
        }
    }

    fn read_entries(
        &self,
        file: &mut File,
        limit: u64,
        closed: bool,
        max_entries: usize,
    ) -> std::io::Result<Chunk> {
        let left = limit - self.offset;
        let mut want = (READ_BYTES as u64).min(left);
        let mut bytes = Vec::new();
        loop {
            let more = want - bytes.len() as u64;
            Read::by_ref(file).take(more).read_to_end(&mut bytes)?;
            if bytes.len() as u64 >= left || (bytes.len() as u64) < want {
                break;
            }
            // Grow the read until it holds a whole entry, or the segment's end.
            match measure(&bytes) {
                Measured::Whole(_) => break,
                Measured::Partial(length) => {
                    want = length.unwrap_or(0).max(want * 2).min(left);
                }
            }
        }
        let mut chunk = Chunk {
            rows: Vec::new(),
            records: Some(Vec::new()),
            unreadable: 0,
            segment: self.segment,
            start: self.offset,
            end: self.offset,
        };
        let mut used = 0;
        while used < bytes.len() && chunk.rows.len() < max_entries {
            let rest = &bytes[used..];
            let Measured::Whole(length) = measure(rest) else {
                // Cut short: torn at the end of a closed segment, or not yet read whole (the
                // writer publishes whole entries only, so an open segment never ends so).
                if closed && self.offset + bytes.len() as u64 >= limit {
                    chunk.unreadable += 1;
                    used = bytes.len();
                }
                break;
            };
            match decode(&rest[..length]) {
                Some(entry) => {
                    chunk.rows.push(entry.row);
                    match (entry.record, &mut chunk.records) {
                        (Some(record), Some(records)) => records.push(record),
                        _ => chunk.records = None,
                    }
                }
                None => chunk.unreadable += 1,
            }
            used += length;
        }
        chunk.end = self.offset + used as u64;
        Ok(chunk)
    }

    /// Everything of `chunk` is stored (or given up): the next read starts after it.
    pub fn consumed(&mut self, chunk: &Chunk) {
        if chunk.segment == self.segment && chunk.start == self.offset {
            self.offset = chunk.end;
            let stored = chunk.end - chunk.start;
            let _ = self
                .shared
                .bytes
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                    Some(b.saturating_sub(stored))
                });
        }
    }
}

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
