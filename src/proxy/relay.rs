//! Streaming relay: upstream SSE to the client event by event, as it arrives, with the usage
//! tap on the side (docs/failover.md, docs/usage-records.md).
//!
//! When the client's API differs from the upstream's (`format`), a [`StreamAdapter`] turns
//! each upstream event into the client's events as it passes; usage is read in the upstream's
//! own terms ([`StreamShape::events`]: chat chunks, Anthropic events, Responses events), and an
//! in-stream error is written in the client's shape.
//!
//! [`open_stream`] waits for the upstream's first event so that a stream which fails before
//! sending anything can still fail over (nothing has reached the client yet). After that,
//! [`RelayStream`] forwards each complete event's bytes unchanged — except the usage-only chunk
//! the gateway asked for on the client's behalf, which is removed — and reads usage, text and
//! errors from them without copying the body. An upstream failure after the first byte ends
//! the client's stream with an SSE error event; an error event the upstream sends itself is
//! relayed as is and makes the call an error too. A content-policy refusal is the client's
//! answer even as the first event: relayed, never failed over, no mark on the channel's health. Once `[DONE]` has passed, the answer is
//! complete: the relay waits at most [`DRAIN_AFTER_DONE`] for the upstream to end, and a break
//! or silence then is no error. The relay's end (done, broken, idle timeout, or the client
//! gone: the body is dropped, which cancels the upstream request) is reported once through the
//! `on_end` callback, which finishes the call. A client that closes after `[DONE]` was handed
//! to it, before the upstream's end was seen, received the whole answer: `completed` says so.

use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::time::Instant;

use super::format::{stream_error_event, StreamAdapter, UpstreamEvents};
use super::RouteKind;
use crate::upstream::classify::{classify_error_body, Failure};
use crate::upstream::sse::{SseEvent, SseEventSplitter};
use crate::usage::anthropic_usage::AnthropicStreamUsage;
use crate::usage::cost::{cost_of, with_usage_cost};
use crate::usage::responses_usage;
use crate::usage::stream_text::StreamText;
use crate::usage::tap::{inspect_chunk, Usage};

/// The longest event the relay buffers before calling the stream broken.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// After `[DONE]`, how long the relay waits for the upstream to end its body (so the
/// connection can be reused) before ending the client's stream anyway.
pub const DRAIN_AFTER_DONE: Duration = Duration::from_secs(1);

type ByteStream = http_body_util::BodyDataStream<crate::upstream::client::UpstreamBody>;

/// Why a relayed stream is an error.
#[derive(Debug, Clone)]
pub struct StreamError {
    /// What it means for the channel's health.
    pub failure: Failure,
    pub message: String,
}

/// How a relayed stream ended.
#[derive(Debug, Clone)]
pub struct RelayEnd {
    pub usage: Option<Usage>,
    pub text: String,
    /// Set when the stream broke after its first byte (the client got an error event) or the
    /// upstream sent an error event.
    pub error: Option<StreamError>,
    /// The client went away before the upstream's end was seen.
    pub client_gone: bool,
    /// The final event (`[DONE]`) was handed to the client: the answer is complete, whatever
    /// the order of the client's close and the upstream's end.
    pub completed: bool,
    pub ended_at: Instant,
}

/// Called once when the relay ends.
pub type OnEnd = Box<dyn FnOnce(RelayEnd) + Send>;

/// What the client's stream is made of: the upstream's events as they are, or translated.
pub struct StreamShape {
    /// Remove the usage-only chunk the gateway asked for on the client's behalf.
    pub strip_usage_only: bool,
    /// What the upstream sends: chat chunks, Anthropic events (usage in `message_start` +
    /// `message_delta`, the end is `message_stop`) or Responses events (usage and the end in
    /// `response.completed`).
    pub events: UpstreamEvents,
    /// The client's API, for the shape of an in-stream error.
    pub route: RouteKind,
    /// Translates each event into the client's format (`None`: passthrough).
    pub adapter: Option<Box<StreamAdapter>>,
    /// `Some(price)`: an OpenAI chat stream whose client asked for usage: its usage chunk gains
    /// `usage.cost` at this price (when the cost is known), as non-streamed answers do.
    pub cost_price: Option<Option<crate::catalog::ModelPrice>>,
}

/// What the tap keeps while events pass.
struct Tap {
    splitter: SseEventSplitter,
    text: StreamText,
    usage: Option<Usage>,
    shape: StreamShape,
    /// Usage of an Anthropic upstream's events (boxed: only those streams pay for it).
    anthropic_usage: Option<Box<AnthropicStreamUsage>>,
    saw_done: bool,
    /// The first error event the upstream sent.
    upstream_error: Option<StreamError>,
}

impl Tap {
    fn new(shape: StreamShape) -> Self {
        Tap {
            splitter: SseEventSplitter::new(),
            text: StreamText::new(),
            usage: None,
            anthropic_usage: (shape.events == UpstreamEvents::Anthropic)
                .then(|| Box::new(AnthropicStreamUsage::new())),
            shape,
            saw_done: false,
            upstream_error: None,
        }
    }

    /// The client's in-stream error event.
    fn error_event(&mut self, message: &str) -> Bytes {
        match self.shape.adapter.as_mut() {
            Some(adapter) => {
                let mut out = String::new();
                adapter.error(message, &mut out);
                Bytes::from(out)
            }
            None => stream_error_event(self.shape.route, message),
        }
    }

    /// The adapter's bytes for one upstream event's data (`None` when it writes nothing).
    fn translate(&mut self, data: &[u8]) -> Option<Option<Bytes>> {
        let adapter = self.shape.adapter.as_mut()?;
        let mut out = String::new();
        adapter.push(data, &mut out);
        Some((!out.is_empty()).then(|| Bytes::from(out)))
    }

    /// Inspect one event; the bytes to forward, or None for the stripped usage chunk.
    fn pass(&mut self, event: SseEvent) -> Option<Bytes> {
        if event.is_done() {
            self.saw_done = true;
            if let Some(translated) = self.translate(b"[DONE]") {
                return translated;
            }
        } else if let Some(data) = event.data() {
            let facts = inspect_chunk(data);
            if let Some(anthropic) = self.anthropic_usage.as_mut() {
                anthropic.observe(data);
                self.usage = anthropic.usage();
                if memchr::memmem::find(data, b"\"message_stop\"").is_some() {
                    self.saw_done = true;
                }
            } else if self.shape.events == UpstreamEvents::Responses {
                if responses_usage::is_final_event(data) {
                    self.saw_done = true;
                    self.usage = responses_usage::usage_of_event(data).or(self.usage);
                }
            } else if let Some(usage) = facts.usage {
                self.usage = Some(usage);
            }
            if let (None, Some(message)) = (&self.upstream_error, facts.error) {
                self.upstream_error = Some(StreamError {
                    failure: classify_error_body(data),
                    message: format!("upstream sent an error event: {message}"),
                });
            }
            self.text.add_chunk(data);
            if let Some(translated) = self.translate(data) {
                return translated;
            }
            if facts.usage_only && self.shape.strip_usage_only {
                return None;
            }
            if let (true, Some(usage), Some(price)) =
                (facts.usage_only, facts.usage, self.shape.cost_price)
            {
                let cost = cost_of(&usage, price.as_ref());
                return Some(with_usage_cost(
                    event.into_raw(),
                    cost.total_cost,
                    cost.known,
                ));
            }
        }
        Some(event.into_raw())
    }

    fn all_text(&self) -> String {
        let mut text = String::with_capacity(self.text.text().len() + self.text.other_text().len());
        text.push_str(self.text.text());
        text.push_str(self.text.other_text());
        text
    }
}

/// Whether `raw` ends with the blank line that ends an SSE event.
fn ends_event(raw: &[u8]) -> bool {
    raw.ends_with(b"\n\n") || raw.ends_with(b"\r\n\r\n") || raw.ends_with(b"\r\r")
}

/// `bytes` with the line ends an SSE event needs after it, when they are missing.
fn ended_as_event(bytes: Bytes) -> Bytes {
    if ends_event(&bytes) {
        return bytes;
    }
    let mut ended = Vec::with_capacity(bytes.len() + 2);
    ended.extend_from_slice(&bytes);
    if !ended.ends_with(b"\n") {
        ended.push(b'\n');
    }
    ended.push(b'\n');
    ended.into()
}

/// A stream whose first event arrived.
pub struct OpenedStream {
    pub first: Vec<Bytes>,
    pub relay: RelayStream,
}

/// Read up to the first data event. Fails (so the caller may fail over) when the upstream
/// ends, breaks, stalls past `timeout` or sends an error event before any data (except a
/// content-policy refusal, which is relayed).
pub async fn open_stream(
    upstream: crate::upstream::client::UpstreamResponse,
    shape: StreamShape,
    timeout: Duration,
) -> Result<OpenedStream, (Failure, String)> {
    let mut bytes: ByteStream = http_body_util::BodyDataStream::new(upstream.into_body());
    let mut tap = Tap::new(shape);
    let deadline = Instant::now() + timeout;
    let mut first = Vec::new();
    loop {
        while let Some(event) = tap.splitter.next_event() {
            if let Some(data) = event.data() {
                if !event.is_done() {
                    if let Some(message) = inspect_chunk(data).error {
                        let failure = classify_error_body(data);
                        if failure.fails_over() {
                            return Err((
                                failure,
                                format!("error event before any data: {message}"),
                            ));
                        }
                    }
                }
                let done = event.is_done();
                first.extend(tap.pass(event));
                if done {
                    return Err((
                        Failure::BadResponse,
                        "stream ended ([DONE]) before any data".into(),
                    ));
                }
                return Ok(OpenedStream {
                    first,
                    relay: RelayStream::new(bytes, tap, timeout),
                });
            }
            first.extend(tap.pass(event));
        }
        if tap.splitter.buffered_len() > MAX_EVENT_BYTES {
            return Err((
                Failure::BadResponse,
                "first event larger than 16 MiB".into(),
            ));
        }
        match tokio::time::timeout_at(deadline, bytes.next()).await {
            Ok(Some(Ok(chunk))) => tap.splitter.push(chunk),
            Ok(Some(Err(e))) => {
                return Err((
                    Failure::BadResponse,
                    format!("stream broke before any data: {e}"),
                ))
            }
            Ok(None) => return Err((Failure::BadResponse, "stream closed before any data".into())),
            Err(_) => {
                return Err((
                    Failure::Timeout,
                    format!("no data within {}s", timeout.as_secs_f64()),
                ))
            }
        }
    }
}

/// The rest of a stream, relayed event by event.
pub struct RelayStream {
    upstream: ByteStream,
    tap: Tap,
    idle: Duration,
    on_end: Option<OnEnd>,
    finished: bool,
}

impl RelayStream {
    fn new(upstream: ByteStream, tap: Tap, idle: Duration) -> Self {
        Self {
            upstream,
            tap,
            idle,
            on_end: None,
            finished: false,
        }
    }

    /// The callback run once at the end (or when the client goes away).
    pub fn on_end(mut self, on_end: OnEnd) -> Self {
        self.on_end = Some(on_end);
        self
    }

    fn end(&mut self, error: Option<StreamError>, client_gone: bool) {
        self.finished = true;
        let error = error.or_else(|| self.tap.upstream_error.take());
        if let Some(on_end) = self.on_end.take() {
            on_end(RelayEnd {
                usage: self.tap.usage,
                text: self.tap.all_text(),
                error,
                client_gone,
                completed: self.tap.saw_done,
                ended_at: Instant::now(),
            });
        }
    }

    /// The next bytes for the client, or None at the end.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if self.finished {
                return None;
            }
            if let Some(event) = self.tap.splitter.next_event() {
                if let Some(bytes) = self.tap.pass(event) {
                    return Some(bytes);
                }
                continue;
            }
            if self.tap.splitter.buffered_len() > MAX_EVENT_BYTES {
                return self.break_off(
                    Failure::BadResponse,
                    "upstream sent an event larger than 16 MiB".into(),
                );
            }
            // After [DONE] the answer is complete: a short wait for the upstream's end, and no
            // error if it breaks or stays silent instead.
            let wait = if self.tap.saw_done {
                self.idle.min(DRAIN_AFTER_DONE)
            } else {
                self.idle
            };
            match tokio::time::timeout(wait, self.upstream.next()).await {
                Ok(Some(Ok(chunk))) => self.tap.splitter.push(chunk),
                Ok(Some(Err(_))) | Err(_) if self.tap.saw_done => return self.finish_at_eof(),
                Ok(Some(Err(e))) => {
                    return self
                        .break_off(Failure::BadResponse, format!("upstream stream broke: {e}"))
                }
                Ok(None) => return self.finish_at_eof(),
                Err(_) => {
                    let message = format!("upstream sent nothing for {}s", self.idle.as_secs_f64());
                    return self.break_off(Failure::Timeout, message);
                }
            }
        }
    }

    /// End the stream for an upstream failure: the client's last bytes are an error event.
    fn break_off(&mut self, failure: Failure, message: String) -> Option<Bytes> {
        let event = self.tap.error_event(&message);
        self.end(Some(StreamError { failure, message }), false);
        Some(event)
    }

    fn finish_at_eof(&mut self) -> Option<Bytes> {
        let mut tail = Vec::new();
        while let Some(event) = self.tap.splitter.finish() {
            // The upstream closed inside an event. What came is passed on, ended as an event,
            // only when it is whole (`[DONE]`, or a JSON payload short of its blank line); a
            // cut payload is dropped, so the error event after it reaches the client intact.
            let whole = ends_event(event.raw())
                || event.is_done()
                || event.data().is_some_and(|data| {
                    serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok()
                });
            if whole {
                tail.extend(self.tap.pass(event).map(ended_as_event));
            }
        }
        let error = (!self.tap.saw_done).then(|| StreamError {
            failure: Failure::BadResponse,
            message: "upstream closed the stream before [DONE]".to_string(),
        });
        if let Some(error) = &error {
            tail.push(self.tap.error_event(&error.message));
        }
        self.end(error, false);
        (!tail.is_empty()).then(|| tail.concat().into())
    }

    /// As a body stream for the response.
    pub fn into_stream(
        self,
        first: Vec<Bytes>,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
        let head = futures::stream::iter(first.into_iter().map(Ok));
        let rest = futures::stream::unfold(self, |mut relay| async move {
            relay.next_chunk().await.map(|bytes| (Ok(bytes), relay))
        });
        head.chain(rest)
    }
}

impl Drop for RelayStream {
    fn drop(&mut self) {
        if !self.finished {
            // The client went away (hyper dropped the body): the upstream request is cancelled
            // with `upstream`. The call is cancelled unless `[DONE]` already went out.
            self.end(None, true);
        }
    }
}
