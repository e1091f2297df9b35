//! One client connection, served with hyper directly (HTTP/1.1 and HTTP/2 on the same port)
//! under the gateway's limits, because `axum::serve` has no timer at all:
//! - a new connection must deliver a request head within `server.header_read_timeout_s`, and
//!   so must a kept-alive connection once the next head has begun (slowloris);
//! - a connection with no request in flight is closed after `server.idle_timeout_s`;
//! - a connection whose client stops reading an answer is closed after
//!   `server.idle_timeout_s` too: the answer's upstream is then dropped, not held forever.
//!   "Stops reading" is seen two ways: socket writes stay blocked (HTTP/1), or a response body
//!   that handed over a frame is not asked for the next one (HTTP/2 flow control: the client
//!   withholds its window updates, and no write ever blocks);
//! - HTTP/2: keep-alive pings, at most [`H2_MAX_STREAMS`] concurrent streams, and hyper's
//!   rapid-reset limits (a flood of opened-then-reset streams ends with GOAWAY).
//!
//! The watch is one small state per connection ([`Activity`]): the socket wrapper marks when
//! bytes arrive and when writes block; the service wrapper counts requests in flight (a
//! request ends when its response body is dropped). A timer per connection compares them with
//! the limits. Closing means dropping the connection: nothing is in flight then, or the client
//! is the one not listening. Shutdown asks hyper to finish gracefully; `listen` bounds how
//! long that may take.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::ConnectionLimits;

/// Concurrent HTTP/2 streams per connection.
pub const H2_MAX_STREAMS: u32 = 128;
/// Interval of HTTP/2 keep-alive pings, and how long a ping may go unanswered.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest the watch sleeps before looking again.
const MAX_CHECK: Duration = Duration::from_secs(1);
/// Marks a time that is not set.
const UNSET: u64 = u64::MAX;

/// Why the gateway closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// No complete request head in time.
    HeaderTimeout,
    /// Nothing in flight for too long.
    Idle,
    /// The client did not read its answer.
    SendStalled,
}

impl Closed {
    pub fn as_str(self) -> &'static str {
        match self {
            Closed::HeaderTimeout => "header_timeout",
            Closed::Idle => "idle",
            Closed::SendStalled => "send_stalled",
        }
    }
}

/// What the watch knows of one connection. Times are milliseconds since `epoch`.
struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    /// When bytes first arrived with nothing in flight (a head begun), or the accept.
    head_started: AtomicU64,
    /// When the last request ended (or the accept).
    last_done: AtomicU64,
    /// Since when writes have been blocked.
    write_blocked: AtomicU64,
    /// Response bodies that handed over a frame and have not been asked for the next one
    /// (HTTP/2 flow control can hold them without any socket write blocking).
    bodies_handed: AtomicUsize,
    /// When a response body was last asked for a frame.
    body_polled: AtomicU64,
    /// When a write last carried at least [`PROGRESS_BYTES`] (pings and window updates do not
    /// count: they keep an HTTP/2 connection alive without moving an answer).
    wrote: AtomicU64,
}

/// The smallest write that counts as moving an answer along.
const PROGRESS_BYTES: usize = 64;

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            head_started: AtomicU64::new(0),
            last_done: AtomicU64::new(0),
            write_blocked: AtomicU64::new(UNSET),
            bodies_handed: AtomicUsize::new(0),
            body_polled: AtomicU64::new(0),
            wrote: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(UNSET - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    fn read_some(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let now = self.now();
            let _ = self.head_started.compare_exchange(
                UNSET,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    fn write_pending(&self, pending: bool) {
        let value = if pending { self.now() } else { UNSET };
        if !pending || self.write_blocked.load(Ordering::Relaxed) == UNSET {
            self.write_blocked.store(value, Ordering::Relaxed);
        }
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(UNSET, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// When the connection is due to close if nothing changes, and why.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, Closed)> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            // Waiting for the client to take data: writes blocked, or a body's frame not taken.
            let mut waiting = self.write_blocked.load(Ordering::Relaxed);
            if self.bodies_handed.load(Ordering::Relaxed) > 0 {
                waiting = waiting.min(self.body_polled.load(Ordering::Relaxed));
            }
            // A client that reads slowly still lets writes through now and then.
            let since = waiting.max(self.wrote.load(Ordering::Relaxed));
            return (waiting != UNSET)
                .then(|| (self.at(since) + limits.idle_timeout, Closed::SendStalled));
        }
        let idle = (
            self.at(self.last_done.load(Ordering::Relaxed)) + limits.idle_timeout,
            Closed::Idle,
        );
        let head = self.head_started.load(Ordering::Relaxed);
        if head == UNSET {
            return Some(idle);
        }
        let header = (
            self.at(head) + limits.header_read_timeout,
            Closed::HeaderTimeout,
        );
        Some(if header.0 < idle.0 { header } else { idle })
    }
}

/// One request in flight; it ends when the response body is dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = self.0.now();
        self.0.last_done.store(now, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its request counted as in flight until it is dropped, and
/// tells the watch when it waits for the client to take a frame.
struct CountedBody {
    inner: Body,
    in_flight: InFlight,
    /// The last frame was handed over and the next not asked for yet.
    handed: bool,
}

impl CountedBody {
    /// A new body waits for the connection to ask for its first frame (HTTP/2 may never ask
    /// when the client grants no window).
    fn new(inner: Body, in_flight: InFlight) -> Self {
        let activity = &in_flight.0;
        activity
            .body_polled
            .store(activity.now(), Ordering::Relaxed);
        let mut body = Self {
            inner,
            in_flight,
            handed: false,
        };
        body.set_handed(true);
        body
    }

    fn set_handed(&mut self, handed: bool) {
        if self.handed == handed {
            return;
        }
        self.handed = handed;
        let activity = &self.in_flight.0;
        if handed {
            activity.bodies_handed.fetch_add(1, Ordering::Relaxed);
        } else {
            activity.bodies_handed.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for CountedBody {
    fn drop(&mut self) {
        self.set_handed(false);
    }
}

impl HttpBody for CountedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let activity = &self.in_flight.0;
        activity
            .body_polled
            .store(activity.now(), Ordering::Relaxed);
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        self.set_handed(matches!(polled, Poll::Ready(Some(Ok(_)))));
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The client socket, telling the watch when bytes arrive and when writes block.
struct Watched {
    tcp: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl Watched {
    fn note<T>(&self, polled: Poll<T>) -> Poll<T> {
        self.activity.write_pending(polled.is_pending());
        polled
    }

    fn note_written(&self, polled: Poll<std::io::Result<usize>>) -> Poll<std::io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = polled {
            if n >= PROGRESS_BYTES {
                self.activity
                    .wrote
                    .store(self.activity.now(), Ordering::Relaxed);
            }
        }
        self.note(polled)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.note_written(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.note_written(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.tcp).poll_flush(cx);
        self.note(polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// The HTTP/1.1 + HTTP/2 server settings of every connection.
pub fn builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // HTTP/1 head timing is the watch's (hyper's own timer would also cut idle keep-alive).
    builder.http1().keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(H2_PING_INTERVAL))
        .keep_alive_timeout(H2_PING_TIMEOUT)
        .max_concurrent_streams(H2_MAX_STREAMS)
        .max_pending_accept_reset_streams(Some(20))
        .max_local_error_reset_streams(Some(256));
    builder
}

/// Serve one connection until it ends, breaks a limit, or shutdown finishes it. Returns why
/// the gateway closed it, if it did.
pub async fn serve(
    tcp: TcpStream,
    router: Router,
    builder: &auto::Builder<TokioExecutor>,
    limits: &ConnectionLimits,
    stop: &CancellationToken,
) -> Option<Closed> {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        tcp,
        activity: activity.clone(),
    });
    let watch = activity.clone();
    let router = TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        super::busy_poll::request_started();
        let in_flight = watch.request_started();
        let response = hyper::service::Service::call(&router, request);
        async move {
            let response = response.await;
            response.map(|r| r.map(|inner| CountedBody::new(inner, in_flight)))
        }
    });
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        let due = activity.deadline(limits);
        let wake = due.map_or(Instant::now() + MAX_CHECK, |(at, _)| {
            at.min(Instant::now() + MAX_CHECK)
        });
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!("client connection ended: {e}");
                }
                return None;
            }
            _ = stop.cancelled(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep_until(wake) => {
                if let Some((at, why)) = activity.deadline(limits) {
                    if at <= Instant::now() {
                        return Some(why);
                    }
                }
            }
        }
    }
}

/// Client connections allowed when `server.max_connections` is 0: half the open-file limit
/// left after a reserve for logs, caches and the listeners (each client connection may need
/// an upstream connection too), between 16 and 10,000. 1,000 when the limit is unknown.
pub fn default_max_connections() -> usize {
    match open_file_limit() {
        Some(limit) => (limit.saturating_sub(64) / 2).clamp(16, 10_000),
        None => 1_000,
    }
}

/// The soft open-file limit of this process (Linux: `/proc/self/limits`).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(5),
            max_connections: 10,
            shutdown_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_deadline_follows_what_the_connection_is_doing() {
        let limits = limits();
        let a = Arc::new(Activity::new());
        // Just accepted: a head is expected within the header timeout.
        assert_eq!(
            a.deadline(&limits),
            Some((a.epoch + Duration::from_secs(2), Closed::HeaderTimeout))
        );
        let request = a.request_started();
        assert_eq!(
            a.deadline(&limits),
            None,
            "a request in flight, writes flowing"
        );
        a.write_pending(true);
        let blocked = a.write_blocked.load(Ordering::Relaxed);
        assert_eq!(
            a.deadline(&limits),
            Some((a.at(blocked) + Duration::from_secs(5), Closed::SendStalled))
        );
        a.write_pending(false);
        drop(request);
        let done = a.last_done.load(Ordering::Relaxed);
        assert_eq!(
            a.deadline(&limits),
            Some((a.at(done) + Duration::from_secs(5), Closed::Idle))
        );
        a.read_some();
        let head = a.head_started.load(Ordering::Relaxed);
        assert_eq!(
            a.deadline(&limits),
            Some((a.at(head) + Duration::from_secs(2), Closed::HeaderTimeout))
        );
    }

    #[test]
    fn a_frame_the_client_does_not_take_is_a_stall_and_a_slow_write_is_progress() {
        let limits = limits();
        let a = Arc::new(Activity::new());
        let _request = a.request_started();
        a.body_polled.store(1_000, Ordering::Relaxed);
        a.bodies_handed.store(1, Ordering::Relaxed);
        let stalled = |ms| Some((a.at(ms) + Duration::from_secs(5), Closed::SendStalled));
        assert_eq!(a.deadline(&limits), stalled(1_000));
        a.wrote.store(3_000, Ordering::Relaxed);
        assert_eq!(
            a.deadline(&limits),
            stalled(3_000),
            "a write moved the answer"
        );
        a.bodies_handed.store(0, Ordering::Relaxed);
        assert_eq!(a.deadline(&limits), None, "the body waits for its upstream");
    }

    #[test]
    fn the_default_cap_follows_the_open_file_limit() {
        let cap = default_max_connections();
        assert!((16..=10_000).contains(&cap), "{cap}");
        if let Some(limit) = open_file_limit() {
            assert_eq!(cap, (limit.saturating_sub(64) / 2).clamp(16, 10_000));
        }
    }
}
