//! stream-load: closed-loop streaming client that times the first byte and every frame.
//!
//! Usage: `stream-load URL CONCURRENCY SECONDS BODY_FILE DELTAS GAP_MS` (env `BENCH_TOKEN`:
//! bearer). CONCURRENCY keep-alive connections each send the body and read the SSE answer to its
//! end, again and again until SECONDS have passed (a stream started before then is finished).
//! Against `paced-mock` (directly or through a gateway) every content delta carries its send
//! time, so for each delta the client knows:
//! - latency: arrival − send time (both wall clock on this machine);
//! - gap: arrival − the previous delta's arrival (the pacing, GAP_MS, plus what the path adds);
//! - jitter: |gap − the gap between the two send times|, what the path added to that gap.
//!
//! A stream is complete with DELTAS deltas and `data: [DONE]`; fewer deltas count as dropped
//! frames; a gap over 2 × GAP_MS is a stall. Prints one line of `key=value` (microseconds).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use stream_bench::now_us;
use tokio::net::TcpStream;

struct Target {
    addr: String,
    path: String,
    auth: String,
    body: Bytes,
    deltas: usize,
    stall_us: u64,
}

#[derive(Default)]
struct Tally {
    streams: u64,
    ttfb: Vec<u64>,
    latency: Vec<u64>,
    gap: Vec<u64>,
    jitter: Vec<u64>,
    dropped: u64,
    incomplete: u64,
    stalls: u64,
    non2xx: u64,
    errors: u64,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.streams += other.streams;
        self.ttfb.extend(other.ttfb);
        self.latency.extend(other.latency);
        self.gap.extend(other.gap);
        self.jitter.extend(other.jitter);
        self.dropped += other.dropped;
        self.incomplete += other.incomplete;
        self.stalls += other.stalls;
        self.non2xx += other.non2xx;
        self.errors += other.errors;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 7 {
        die("usage: stream-load URL CONCURRENCY SECONDS BODY_FILE DELTAS GAP_MS");
    }
    let uri: Uri = args[1].parse().unwrap_or_else(|_| die("bad URL"));
    let host = uri.host().unwrap_or_else(|| die("URL has no host"));
    let port = uri.port_u16().unwrap_or(80);
    let conns: usize = args[2].parse().unwrap_or_else(|_| die("bad CONCURRENCY"));
    let secs: f64 = args[3].parse().unwrap_or_else(|_| die("bad SECONDS"));
    let body = std::fs::read(&args[4]).unwrap_or_else(|e| die(&format!("{}: {e}", args[4])));
    let deltas: usize = args[5].parse().unwrap_or_else(|_| die("bad DELTAS"));
    let gap_ms: u64 = args[6].parse().unwrap_or_else(|_| die("bad GAP_MS"));
    let target = std::sync::Arc::new(Target {
        addr: format!("{host}:{port}"),
        path: uri.path().to_string(),
        auth: format!(
            "Bearer {}",
            std::env::var("BENCH_TOKEN").unwrap_or_else(|_| "sk-bench".into())
        ),
        body: Bytes::from(body),
        deltas,
        stall_us: 2 * gap_ms * 1000,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| die(&format!("runtime: {e}")));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let mut all = runtime.block_on(async {
        let workers: Vec<_> = (0..conns)
            .map(|_| tokio::spawn(worker(target.clone(), deadline)))
            .collect();
        let mut all = Tally::default();
        for w in workers {
            all.merge(w.await.unwrap_or_default());
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    for v in [
        &mut all.ttfb,
        &mut all.latency,
        &mut all.gap,
        &mut all.jitter,
    ] {
        v.sort_unstable();
    }
    let p = |v: &[u64], q: f64| {
        if v.is_empty() {
            0
        } else {
            v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
        }
    };
    let max = |v: &[u64]| v.last().copied().unwrap_or(0);
    println!(
        "streams={} streams_per_s={:.1} frames={} ttfb_p50_us={} ttfb_p99_us={} latency_p50_us={} latency_p99_us={} latency_max_us={} gap_p50_us={} gap_p99_us={} gap_max_us={} jitter_p50_us={} jitter_p99_us={} jitter_max_us={} dropped_frames={} incomplete={} stalls={} non2xx={} errors={}",
        all.streams,
        all.streams as f64 / elapsed,
        all.latency.len(),
        p(&all.ttfb, 0.5),
        p(&all.ttfb, 0.99),
        p(&all.latency, 0.5),
        p(&all.latency, 0.99),
        max(&all.latency),
        p(&all.gap, 0.5),
        p(&all.gap, 0.99),
        max(&all.gap),
        p(&all.jitter, 0.5),
        p(&all.jitter, 0.99),
        max(&all.jitter),
        all.dropped,
        all.incomplete,
        all.stalls,
        all.non2xx,
        all.errors,
    );
}

fn die(msg: &str) -> ! {
    eprintln!("stream-load: {msg}");
    std::process::exit(2)
}

async fn connect(
    t: &Target,
) -> Result<SendRequest<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(&t.addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn worker(t: std::sync::Arc<Target>, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut sender = None;
    while Instant::now() < deadline {
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(&t).await {
                Ok(s) => sender.insert(s),
                Err(_) => {
                    tally.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let limit = tokio::time::Instant::from_std(deadline + Duration::from_secs(30));
        match tokio::time::timeout_at(limit, one_stream(s, &t, &mut tally)).await {
            Ok(Ok(())) => {}
            _ => {
                tally.errors += 1;
                sender = None;
            }
        }
    }
    tally
}

/// The send time written into a delta's content (`"content":"t<µs>`).
fn stamp_of(event: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(event, br#""content":"t"#)? + 12;
    let digits = event[at..].iter().take_while(|b| b.is_ascii_digit());
    let mut n = 0u64;
    let mut any = false;
    for d in digits {
        n = n * 10 + u64::from(d - b'0');
        any = true;
    }
    any.then_some(n)
}

async fn one_stream(
    s: &mut SendRequest<Full<Bytes>>,
    t: &Target,
    tally: &mut Tally,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    s.ready().await?;
    let req = Request::post(t.path.as_str())
        .header(HOST, t.addr.as_str())
        .header(CONTENT_TYPE, "application/json")
        .header(AUTHORIZATION, t.auth.as_str())
        .body(Full::new(t.body.clone()))?;
    let start = Instant::now();
    let resp = s.send_request(req).await?;
    let ok = resp.status().is_success();
    let mut body = resp.into_body();
    let mut first = None;
    let mut pending: Vec<u8> = Vec::new();
    let mut prev: Option<(u64, u64)> = None; // (arrival, stamp) of the previous delta
    let mut deltas = 0usize;
    let mut done = false;
    while let Some(frame) = body.frame().await {
        let Some(data) = frame?.data_ref().cloned() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        let arrival = now_us();
        first.get_or_insert_with(|| start.elapsed());
        pending.extend_from_slice(&data);
        while let Some(end) = memchr::memmem::find(&pending, b"\n\n") {
            let event: Vec<u8> = pending.drain(..end + 2).collect();
            if memchr::memmem::find(&event, b"data: [DONE]").is_some() {
                done = true;
            }
            let Some(stamp) = stamp_of(&event) else {
                continue;
            };
            deltas += 1;
            tally.latency.push(arrival.saturating_sub(stamp));
            if let Some((prev_arrival, prev_stamp)) = prev {
                let gap = arrival.saturating_sub(prev_arrival);
                let sent_gap = stamp.saturating_sub(prev_stamp);
                tally.gap.push(gap);
                tally.jitter.push(gap.abs_diff(sent_gap));
                if gap > t.stall_us {
                    tally.stalls += 1;
                }
            }
            prev = Some((arrival, stamp));
        }
    }
    if !ok {
        tally.non2xx += 1;
        return Ok(());
    }
    tally.streams += 1;
    tally
        .ttfb
        .push(first.unwrap_or_else(|| start.elapsed()).as_micros() as u64);
    tally.dropped += t.deltas.saturating_sub(deltas) as u64;
    if !done {
        tally.incomplete += 1;
    }
    Ok(())
}
