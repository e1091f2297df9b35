//! SSE framing of an upstream stream: bytes in, whole events out, each with its raw bytes
//! exactly as received (so the relay forwards or drops whole events and never changes a byte
//! the client sees) and its `data` payload.
//!
//! - **SSE framing.** An event is every line up to and including the first blank line; its raw
//!   bytes keep the original line ends. A lone blank line is an event too (no data, comment-only),
//!   so no byte is lost. A `\r` at the end of the buffered bytes holds the event until the next
//!   byte shows whether `\n` follows (or [`SseEventSplitter::finish`]). A UTF-8 BOM that opens the
//!   stream is kept in the raw bytes and skipped when reading fields. Only `data` is read; `event`,
//!   `id` and `retry` stay in the raw bytes. `data` without a colon is an empty data line. An
//!   incomplete event is buffered without limit: the relay bounds a stream's size and time
//!   ([`SseEventSplitter::buffered_len`]).

use bytes::{Bytes, BytesMut};

// ---------------------------------------------------------------------------------------------
// SSE framing

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One SSE event: its raw bytes exactly as received (blank-line terminator included) and its
/// data payload (`data:` lines joined with `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    raw: Bytes,
    data: DataField,
    has_fields: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DataField {
    Absent,
    /// One `data:` line: its value's range in `raw` (no copy).
    Line {
        start: usize,
        end: usize,
    },
    /// Several `data:` lines, joined.
    Joined(Vec<u8>),
}

impl SseEvent {
    /// The bytes to forward to the client, unchanged.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    pub fn into_raw(self) -> Bytes {
        self.raw
    }

    /// The data payload; `None` when the event has no `data` field.
    pub fn data(&self) -> Option<&[u8]> {
        match &self.data {
            DataField::Absent => None,
            DataField::Line { start, end } => self.raw.get(*start..*end),
            DataField::Joined(joined) => Some(joined),
        }
    }

    /// The stream's end marker: data is `[DONE]` (surrounding ASCII space ignored).
    pub fn is_done(&self) -> bool {
        self.data().is_some_and(|d| d.trim_ascii() == b"[DONE]")
    }

    /// True when the event has no field at all: only comment lines (`: keep-alive`) or nothing
    /// but its blank line.
    pub fn is_comment_only(&self) -> bool {
        !self.has_fields
    }

    fn parse(raw: Bytes, opens_stream: bool) -> Self {
        let fields_start = if opens_stream && raw.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        let mut data = DataField::Absent;
        let mut has_fields = false;
        for (start, end) in LineRanges::new(&raw, fields_start) {
            let line = raw.get(start..end).unwrap_or_default();
            if line.is_empty() || line.starts_with(b":") {
                continue;
            }
            has_fields = true;
            let (name, value_start) = match memchr::memchr(b':', line) {
                Some(colon) => {
                    let skip_space = usize::from(line.get(colon + 1) == Some(&b' '));
                    (
                        line.get(..colon).unwrap_or_default(),
                        start + colon + 1 + skip_space,
                    )
                }
                None => (line, end),
            };
            if name == b"data" {
                data.append(&raw, value_start, end);
            }
        }
        SseEvent {
            raw,
            data,
            has_fields,
        }
    }
}

impl DataField {
    fn append(&mut self, raw: &[u8], start: usize, end: usize) {
        let value = raw.get(start..end).unwrap_or_default();
        *self = match std::mem::replace(self, DataField::Absent) {
            DataField::Absent => DataField::Line { start, end },
            DataField::Line { start: s, end: e } => {
                let first = raw.get(s..e).unwrap_or_default();
                let mut joined = Vec::with_capacity(first.len() + 1 + value.len());
                joined.extend_from_slice(first);
                joined.push(b'\n');
                joined.extend_from_slice(value);
                DataField::Joined(joined)
            }
            DataField::Joined(mut joined) => {
                joined.push(b'\n');
                joined.extend_from_slice(value);
                DataField::Joined(joined)
            }
        };
    }
}

/// Line ranges (terminators excluded) of a complete buffer; `\r\n`, `\n` and `\r` end a line.
struct LineRanges<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> LineRanges<'a> {
    fn new(buf: &'a [u8], at: usize) -> Self {
        LineRanges { buf, at }
    }
}

impl Iterator for LineRanges<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let start = self.at;
        let rest = self.buf.get(start..).filter(|rest| !rest.is_empty())?;
        let Some(rel) = memchr::memchr2(b'\n', b'\r', rest) else {
            self.at = self.buf.len();
            return Some((start, self.buf.len()));
        };
        let end = start + rel;
        let crlf = self.buf.get(end..end + 2) == Some(b"\r\n");
        self.at = end + if crlf { 2 } else { 1 };
        Some((start, end))
    }
}

/// Splits an upstream SSE byte stream into complete events, whatever the read boundaries.
#[derive(Debug, Default)]
pub struct SseEventSplitter {
    pending: Pending,
    /// Start of the current, not yet ended, line in `pending`.
    line_start: usize,
    /// Where to look for the next line end (everything before it has been scanned).
    scan_from: usize,
    emitted_any: bool,
}

/// Bytes not yet handed out: a shared read while reads align with events (no copy), a growing
/// buffer once an event spans reads.
#[derive(Debug)]
enum Pending {
    Shared(Bytes),
    Growing(BytesMut),
}

impl Default for Pending {
    fn default() -> Self {
        Pending::Shared(Bytes::new())
    }
}

impl Pending {
    fn as_slice(&self) -> &[u8] {
        match self {
            Pending::Shared(bytes) => bytes,
            Pending::Growing(buf) => buf,
        }
    }

    fn push(&mut self, bytes: Bytes) {
        if self.as_slice().is_empty() {
            *self = Pending::Shared(bytes);
        } else {
            self.push_slice(&bytes);
        }
    }

    fn push_slice(&mut self, bytes: &[u8]) {
        match self {
            Pending::Growing(buf) => buf.extend_from_slice(bytes),
            Pending::Shared(shared) => {
                let mut buf = BytesMut::with_capacity(shared.len() + bytes.len());
                buf.extend_from_slice(shared);
                buf.extend_from_slice(bytes);
                *self = Pending::Growing(buf);
            }
        }
    }

    fn split_to(&mut self, at: usize) -> Bytes {
        let at = at.min(self.as_slice().len());
        match self {
            Pending::Shared(bytes) => bytes.split_to(at),
            Pending::Growing(buf) => buf.split_to(at).freeze(),
        }
    }
}

impl SseEventSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next read from upstream; kept without a copy while reads end on event ends.
    pub fn push(&mut self, bytes: Bytes) {
        self.pending.push(bytes);
    }

    /// Feed the next read from upstream (copied).
    pub fn push_slice(&mut self, bytes: &[u8]) {
        self.pending.push_slice(bytes);
    }

    /// The next complete event, if one is buffered.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        let end = self.find_event_end()?;
        let raw = self.pending.split_to(end);
        self.line_start = 0;
        self.scan_from = 0;
        Some(self.event(raw))
    }

    /// At end of stream: the next complete event if one is left, else whatever partial event is
    /// left (an upstream that closes without a final blank line). Call until `None`.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if let Some(event) = self.next_event() {
            return Some(event);
        }
        let left = self.pending.split_to(usize::MAX);
        self.line_start = 0;
        self.scan_from = 0;
        (!left.is_empty()).then(|| self.event(left))
    }

    /// Bytes buffered for the incomplete event.
    pub fn buffered_len(&self) -> usize {
        self.pending.as_slice().len()
    }

    fn event(&mut self, raw: Bytes) -> SseEvent {
        let opens_stream = !self.emitted_any;
        self.emitted_any = true;
        SseEvent::parse(raw, opens_stream)
    }

    /// The end (after the blank line) of the first complete event in `pending`, scanning only
    /// bytes not scanned before.
    fn find_event_end(&mut self) -> Option<usize> {
        let buf = self.pending.as_slice();
        loop {
            let rest = buf.get(self.scan_from..)?;
            let Some(rel) = memchr::memchr2(b'\n', b'\r', rest) else {
                self.scan_from = buf.len();
                return None;
            };
            let at = self.scan_from + rel;
            let line_end = match (buf.get(at), buf.get(at + 1)) {
                (Some(b'\r'), Some(b'\n')) => at + 2,
                (Some(b'\r'), None) => {
                    self.scan_from = at;
                    return None;
                }
                _ => at + 1,
            };
            let blank = at == self.line_start;
            self.line_start = line_end;
            self.scan_from = line_end;
            if blank {
                return Some(line_end);
            }
        }
    }
}
