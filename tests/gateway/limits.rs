//! Client connections under attack (issue: hardening, round two): slowloris heads, silent and
//! idle connections, a connection cap, file-descriptor exhaustion, SIGTERM with a half-sent
//! head, an HTTP/2 rapid-reset and stream flood, a client that never reads its stream, a port
//! another process holds, and the memory a connection storm leaves behind.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::binary::GatewayProcess;
use crate::support::mock::StreamTracker;
use crate::support::{write_config, MockUpstream, Reply, StreamEnd, TestGateway};

fn config(mock: &MockUpstream, server: &str) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
server: {{ workers: 1, {server} }}
channels:
  - {{ id: only, provider: mock, base_url: "{}", api_key: sk-limits-0000, timeout_s: 5, configured_models: [lim-model] }}
"#,
        mock.base_url()
    )
}

async fn gateway(server: &str) -> (TestGateway, MockUpstream) {
    let mock = MockUpstream::start(&[]).await;
    (TestGateway::start(&config(&mock, server)).await, mock)
}

fn addr_of(gateway: &TestGateway) -> String {
    gateway.base.trim_start_matches("http://").to_string()
}

/// Read until the server closes the connection (or `within` passes: a panic). Returns how
/// long it took.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    let closed = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept the connection open for {within:?}"
    );
    started.elapsed()
}

const GET_HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n";

/// Send `GET /health` and read one response (headers and its `content-length` body).
async fn health_on(stream: &mut TcpStream) -> String {
    stream.write_all(GET_HEALTH).await.expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed before the response");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            if body.len() >= length {
                return head.lines().next().unwrap_or("").to_string();
            }
        }
    }
}

#[tokio::test]
async fn slowloris_heads_and_silent_connections_are_closed() {
    let (gateway, _mock) = gateway("header_read_timeout_s: 0.5, idle_timeout_s: 30").await;
    let addr = addr_of(&gateway);
    let mut silent = TcpStream::connect(&addr).await.expect("connect");
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    let dribble = async {
        for byte in b"GET /health HTTP/1.1\r\nHost: gw\r\n".iter() {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        closed_within(&mut slow, Duration::from_secs(5)).await
    };
    let (slow_took, silent_took) =
        tokio::join!(dribble, closed_within(&mut silent, Duration::from_secs(5)));
    assert!(slow_took < Duration::from_secs(3), "{slow_took:?}");
    assert!(silent_took < Duration::from_secs(3), "{silent_took:?}");
    let metrics = gateway.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("sar_connections_closed_by_limit_total{reason=\"header_timeout\"} 2"),
        "{metrics}"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_not_before() {
    let (gateway, _mock) = gateway("header_read_timeout_s: 0.3, idle_timeout_s: 1.5").await;
    let mut stream = TcpStream::connect(addr_of(&gateway))
        .await
        .expect("connect");
    assert_eq!(health_on(&mut stream).await, "HTTP/1.1 200 OK");
    // Longer than the header timeout: waiting for the next request is idle, not a slow head.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(health_on(&mut stream).await, "HTTP/1.1 200 OK");
    let took = closed_within(&mut stream, Duration::from_secs(10)).await;
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    gateway.stop().await;
}

#[tokio::test]
async fn at_the_connection_cap_new_connections_wait_for_room() {
    let (gateway, _mock) =
        gateway("header_read_timeout_s: 1, idle_timeout_s: 1, max_connections: 3").await;
    let addr = addr_of(&gateway);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        assert_eq!(health_on(&mut stream).await, "HTTP/1.1 200 OK");
        held.push(stream);
    }
    // A fourth connection waits (in the kernel's backlog) until an idle one is closed.
    let started = Instant::now();
    let mut fourth = TcpStream::connect(&addr).await.expect("connect");
    assert_eq!(health_on(&mut fourth).await, "HTTP/1.1 200 OK");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let health: Value = gateway.get("/health").await.json().await.expect("json");
    assert_eq!(health["connections"]["max"], 3);
    gateway.stop().await;
}

/// The real binary under `ulimit -n 256`, 400 idle connections, then `GET /health`.
async fn health_under_a_low_file_limit(server: &str) -> GatewayProcess {
    let mock = MockUpstream::start(&[]).await;
    let root = tempfile::tempdir().expect("dir");
    write_config(root.path(), &config(&mock, server));
    let gateway = GatewayProcess::start(&root.path().join("config"), Some(256)).await;
    let mut idle = Vec::new();
    for _ in 0..400 {
        idle.push(TcpStream::connect(&gateway.addr).await.expect("connect"));
    }
    let started = Instant::now();
    let health = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client");
            if let Ok(r) = client.get(format!("{}/health", gateway.base)).send().await {
                return r.status().as_u16();
            }
        }
    })
    .await;
    assert_eq!(health.ok(), Some(200), "after {:?}", started.elapsed());
    drop(idle);
    gateway
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_file_limit_and_hundreds_of_idle_connections_do_not_lock_out_health() {
    // The default cap follows the file limit: (256 - 64) / 2 = 96 connections, so the
    // gateway never runs out of descriptors; idle ones are closed and the rest get their turn.
    let gateway =
        health_under_a_low_file_limit("header_read_timeout_s: 1, idle_timeout_s: 1").await;
    assert_eq!(gateway.log_lines_with("cannot accept connections"), 0);
    gateway.terminate();
    assert!(gateway.exit_within(Duration::from_secs(10)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_backs_off_instead_of_spinning() {
    // A cap set above the file limit: accepts fail with EMFILE until idle connections close.
    // The timeouts are long enough that the 400 connections are all open before any closes,
    // however slowly a loaded machine opens them (with 1 s, they could close as fast as they
    // opened and the file limit was never reached).
    let gateway = health_under_a_low_file_limit(
        "header_read_timeout_s: 4, idle_timeout_s: 4, max_connections: 1000",
    )
    .await;
    // One warning per episode of failing accepts; a loaded machine makes more episodes, but a
    // gateway that spins would log per failed accept (thousands).
    let warnings = gateway.log_lines_with("cannot accept connections");
    assert!((1..=20).contains(&warnings), "{warnings} warnings");
    let metrics = reqwest::get(format!("{}/metrics", gateway.base))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let errors: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sar_accept_errors_total "))
        .and_then(|n| n.parse().ok())
        .expect("sar_accept_errors_total");
    // Backing off from 10 ms to 1 s: a handful of failed accepts a second, not thousands.
    assert!((1..200).contains(&errors), "{errors} accept errors");
    gateway.terminate();
    assert!(gateway.exit_within(Duration::from_secs(10)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_half_sent_head_exits_within_the_shutdown_timeout() {
    let mock = MockUpstream::start(&[]).await;
    let root = tempfile::tempdir().expect("dir");
    let logs = root.path().join("logs");
    write_config(
        root.path(),
        &config(
            &mock,
            "header_read_timeout_s: 60, idle_timeout_s: 60, shutdown_timeout_s: 1",
        ),
    );
    let gateway = GatewayProcess::start(&root.path().join("config"), None).await;
    let answered = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gateway.base))
        .json(&serde_json::json!({"model": "lim-model", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("chat");
    assert_eq!(answered.status(), 200);
    let mut half = TcpStream::connect(&gateway.addr).await.expect("connect");
    half.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-")
        .await
        .expect("send");
    // And one more holding a request body open.
    let mut body_open = TcpStream::connect(&gateway.addr).await.expect("connect");
    body_open
        .write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    gateway.terminate();
    let status = gateway.exit_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let records = crate::support::usage_log::read_usage(&logs);
    assert_eq!(records.len(), 1, "the answered call is on disk");
}

#[tokio::test]
async fn a_port_another_process_listens_on_is_refused_even_with_reuseport() {
    let other = tokio::net::TcpSocket::new_v4().expect("socket");
    other.set_reuseaddr(true).expect("reuseaddr");
    other.set_reuseport(true).expect("reuseport");
    other
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let other = other.listen(16).expect("listen");
    let port = other.local_addr().expect("addr").port();
    let root = tempfile::tempdir().expect("dir");
    write_config(
        root.path(),
        "server: { workers: 2 }\ndiscovery: { enabled: false }\n",
    );
    let started = smart_ai_router::app::start(smart_ai_router::app::ServeOptions {
        source: smart_ai_router::config::ConfigSource::new(root.path().join("config")),
        host: Some("127.0.0.1".into()),
        port: Some(port),
    })
    .await;
    let error = match started {
        Ok(_) => panic!("the gateway shared port {port} with another socket"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        error,
        format!("cannot listen on 127.0.0.1:{port}: port {port} is already in use by another process (stop it, or set another server.port)")
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_a_long_stream_releases_its_upstream() {
    let (gateway, mock) = gateway("header_read_timeout_s: 5, idle_timeout_s: 1").await;
    let tracker = StreamTracker::new();
    // 4 KB events, padded outside the generated text (the cut call's tokens are estimated
    // from that text, which should stay small).
    let event = format!(
        r#"{{"choices":[{{"index":0,"delta":{{"content":"x"}}}}],"pad":"{}"}}"#,
        "p".repeat(4000)
    );
    mock.push(Reply::Tracked(
        tracker.clone(),
        Box::new(Reply::Stream {
            events: vec![event; 4_000],
            gap: Duration::ZERO,
            end: StreamEnd::Stall,
        }),
    ));
    let mut stream = TcpStream::connect(addr_of(&gateway))
        .await
        .expect("connect");
    let body = r#"{"model":"lim-model","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    // Never read: the gateway's writes block, then it gives up on this client.
    let dropped = tokio::time::timeout(Duration::from_secs(20), tracker.wait_finished()).await;
    assert_eq!(dropped.ok(), Some(true), "the upstream stream was dropped");
    let sent = tracker.sent_times().len();
    assert!(sent < 4_000, "the gateway read the whole upstream: {sent}");
    let metrics = gateway.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("sar_connections_closed_by_limit_total{reason=\"send_stalled\"} 1"),
        "{metrics}"
    );
    gateway.stop().await;
}

/// One HTTP/2 frame.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// HPACK for `method path` over http to `gw` (static table names, literal values).
fn request_head(method_index: u8, path: &str) -> Vec<u8> {
    let mut block = vec![0x80 | method_index, 0x86, 0x04, path.len() as u8];
    block.extend_from_slice(path.as_bytes());
    block.extend_from_slice(&[0x01, 2, b'g', b'w']);
    block
}

/// Open an HTTP/2 connection (prior knowledge) and send `frames` after the preface.
async fn h2_send(addr: &str, frames: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    out.extend_from_slice(frames);
    // The server may stop reading part-way (GOAWAY): a failed write is part of the outcome.
    let _ = stream.write_all(&out).await;
    stream
}

/// Frames the server sent until it closed or went quiet for `quiet`: (type, stream, error).
async fn h2_frames(stream: &mut TcpStream, quiet: Duration) -> Vec<(u8, u32, u32)> {
    let mut got = Vec::new();
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(Ok(n)) = tokio::time::timeout(quiet, stream.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
    }
    let mut at = 0;
    while bytes.len() >= at + 9 {
        let len = u32::from_be_bytes([0, bytes[at], bytes[at + 1], bytes[at + 2]]) as usize;
        let kind = bytes[at + 3];
        let id = u32::from_be_bytes([bytes[at + 5], bytes[at + 6], bytes[at + 7], bytes[at + 8]]);
        let payload = &bytes[(at + 9).min(bytes.len())..(at + 9 + len).min(bytes.len())];
        let code = match kind {
            RST_STREAM if payload.len() >= 4 => {
                u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
            }
            GOAWAY if payload.len() >= 8 => {
                u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]])
            }
            _ => 0,
        };
        got.push((kind, id & 0x7fff_ffff, code));
        at += 9 + len;
    }
    got
}

#[tokio::test]
async fn an_http2_rapid_reset_flood_is_cut_off_and_the_gateway_keeps_serving() {
    let (gateway, _mock) =
        gateway("header_read_timeout_s: 5, idle_timeout_s: 5, shutdown_timeout_s: 1").await;
    let mut flood = Vec::new();
    for i in 0..5_000u32 {
        let id = 2 * i + 1;
        flood.extend(frame(
            HEADERS,
            END_STREAM | END_HEADERS,
            id,
            &request_head(2, "/health"),
        ));
        flood.extend(frame(RST_STREAM, 0, id, &8u32.to_be_bytes()));
    }
    let mut stream = h2_send(&addr_of(&gateway), &flood).await;
    let frames = h2_frames(&mut stream, Duration::from_secs(2)).await;
    // ENHANCE_YOUR_CALM: hyper's limit on streams reset before they were accepted.
    assert!(
        frames
            .iter()
            .any(|(kind, _, code)| *kind == GOAWAY && *code == 0xb),
        "no GOAWAY(ENHANCE_YOUR_CALM) among {} frames",
        frames.len()
    );
    assert_eq!(gateway.get("/health").await.status(), 200);
    gateway.stop().await;
}

#[tokio::test]
async fn an_http2_stream_flood_is_refused_past_the_stream_limit() {
    let (gateway, _mock) =
        gateway("header_read_timeout_s: 5, idle_timeout_s: 5, shutdown_timeout_s: 1").await;
    // 300 requests whose bodies never come: at most 128 may be open at once.
    let mut flood = Vec::new();
    for i in 0..300u32 {
        flood.extend(frame(
            HEADERS,
            END_HEADERS,
            2 * i + 1,
            &request_head(3, "/v1/chat/completions"),
        ));
    }
    let mut stream = h2_send(&addr_of(&gateway), &flood).await;
    let frames = h2_frames(&mut stream, Duration::from_secs(1)).await;
    let refused = frames
        .iter()
        .filter(|(kind, _, code)| *kind == RST_STREAM && *code == 0x7)
        .count();
    assert_eq!(refused, 300 - 128, "REFUSED_STREAM past the limit");
    assert_eq!(gateway.get("/health").await.status(), 200);
    gateway.stop().await;
}

/// Open `n` keep-alive connections that each completed one `GET /health`.
async fn storm(addr: &str, n: usize) -> Vec<TcpStream> {
    let mut open = Vec::with_capacity(n);
    for _ in 0..n {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        assert_eq!(health_on(&mut stream).await, "HTTP/1.1 200 OK");
        open.push(stream);
    }
    open
}

async fn open_connections(base: &str) -> u64 {
    let health: Value = reqwest::get(format!("{base}/health"))
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    health["connections"]["open"]
        .as_u64()
        .expect("open connections")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_returns_after_a_connection_storm() {
    let mock = MockUpstream::start(&[]).await;
    let root = tempfile::tempdir().expect("dir");
    write_config(
        root.path(),
        &config(&mock, "header_read_timeout_s: 1, idle_timeout_s: 1"),
    );
    let gateway = GatewayProcess::start(&root.path().join("config"), None).await;
    // Warm up: the first connections grow what every later one reuses.
    drop(storm(&gateway.addr, 200).await);
    wait_for_no_connections(&gateway.base).await;
    let before = settled_rss(&gateway).await;
    let held = storm(&gateway.addr, 2_000).await;
    let peak = gateway.rss_kib();
    drop(held);
    wait_for_no_connections(&gateway.base).await;
    let after = settled_rss(&gateway).await;
    eprintln!("connection storm RSS (KiB): before {before}, with 2000 idle connections {peak}, after {after}");
    assert!(
        after <= before + (peak - before.min(peak)) / 2 + 4096,
        "RSS before {before} KiB, peak {peak} KiB, after {after} KiB"
    );
    gateway.terminate();
    assert!(gateway.exit_within(Duration::from_secs(10)).await.success());
}

#[tokio::test]
async fn the_gateway_runs_without_transparent_huge_pages() {
    let mock = MockUpstream::start(&[]).await;
    let root = tempfile::tempdir().expect("dir");
    write_config(root.path(), &config(&mock, "idle_timeout_s: 1"));
    let gateway = GatewayProcess::start(&root.path().join("config"), None).await;
    // The allocator asks for huge pages on its arenas; the process turns them off at start
    // (each 2 MiB page would count whole in RSS).
    assert_eq!(gateway.status_field("THP_enabled:").as_deref(), Some("0"));
    gateway.terminate();
    assert!(gateway.exit_within(Duration::from_secs(10)).await.success());
}

/// RSS after a little more traffic and a pause: the allocator gives memory back as the
/// serving threads keep working (measured the same way before and after the storm).
async fn settled_rss(gateway: &GatewayProcess) -> u64 {
    drop(storm(&gateway.addr, 50).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(storm(&gateway.addr, 50).await);
    wait_for_no_connections(&gateway.base).await;
    gateway.rss_kib()
}

async fn wait_for_no_connections(base: &str) {
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        // The /health request's own connection is the one left.
        while open_connections(base).await > 1 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "connections were not closed");
}

#[tokio::test]
async fn an_http2_client_that_grants_no_window_releases_its_upstream() {
    let (gateway, mock) =
        gateway("header_read_timeout_s: 5, idle_timeout_s: 1, shutdown_timeout_s: 1").await;
    let tracker = StreamTracker::new();
    mock.push(Reply::Tracked(
        tracker.clone(),
        Box::new(Reply::Stream {
            events: vec![r#"{"choices":[{"index":0,"delta":{"content":"tick"}}]}"#.into(); 5_000],
            gap: Duration::from_millis(1),
            end: StreamEnd::Stall,
        }),
    ));
    // SETTINGS_INITIAL_WINDOW_SIZE = 0: the gateway may send no byte of any answer.
    let mut settings = vec![0x00, 0x04];
    settings.extend_from_slice(&0u32.to_be_bytes());
    let body =
        br#"{"model":"lim-model","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let mut head = request_head(3, "/v1/chat/completions");
    head.extend_from_slice(&[0x0f, 0x10, 16]);
    head.extend_from_slice(b"application/json");
    let mut frames = frame(SETTINGS, 0, 0, &settings);
    frames.extend(frame(HEADERS, END_HEADERS, 1, &head));
    frames.extend(frame(0x0, END_STREAM, 1, body));
    let _stream = h2_send(&addr_of(&gateway), &frames).await;
    let dropped = tokio::time::timeout(Duration::from_secs(20), tracker.wait_finished()).await;
    assert_eq!(dropped.ok(), Some(true), "the upstream stream was dropped");
    gateway.stop().await;
}

/// CPU time (user + system) of a process so far, in clock ticks (`/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14.
    let after_name = &stat[stat.rfind(')').expect("stat has (comm)") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_polling_serves_calls_and_stops_when_the_traffic_does() {
    let mock = MockUpstream::start(&["lim-model"]).await;
    let root = tempfile::tempdir().expect("dir");
    write_config(root.path(), &config(&mock, "busy_poll_us: 2000"));
    let gateway = GatewayProcess::start(&root.path().join("config"), None).await;
    let client = reqwest::Client::new();
    for stream in [false, true, false, true] {
        let response = client
            .post(format!("{}/v1/chat/completions", gateway.base))
            .json(&serde_json::json!({
                "model": "lim-model",
                "stream": stream,
                "messages": [{"role": "user", "content": "hi"}],
            }))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        let body = response.text().await.expect("body");
        assert!(
            body.contains("lim-model") || body.contains("data:"),
            "{body}"
        );
    }
    // After the last call the serving thread spins for 2 ms, then parks: over the next 2 s
    // the process uses almost no CPU (a spinner that never parked would use ~200 ticks).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = cpu_ticks(gateway.pid());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks(gateway.pid()) - before;
    assert!(used <= 20, "{used} ticks of CPU in 2 s of quiet");
}
