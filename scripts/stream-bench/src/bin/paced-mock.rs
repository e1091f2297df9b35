//! paced-mock: an OpenAI-style upstream that streams `DELTAS` content deltas `GAP_MS` apart.
//!
//! Usage: `paced-mock ADDR DELTAS GAP_MS` (e.g. `127.0.0.1:18090 64 20`). Every
//! `POST .../chat/completions` gets `text/event-stream`: a role chunk at once, then delta k at
//! start + k × GAP_MS (scheduled against the start, so timer lateness never accumulates), each
//! delta's content being `t<send time in µs since the epoch>`; then a finish chunk, a usage
//! chunk and `data: [DONE]`. `GET /v1/models` lists `mock-model`. One thread, TCP_NODELAY.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use stream_bench::now_us;
use tokio::net::{TcpListener, TcpSocket};
use tokio::time::Instant;

type Body = BoxBody<Bytes, Infallible>;

#[derive(Clone, Copy)]
struct Pace {
    deltas: usize,
    gap: Duration,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        die("usage: paced-mock ADDR DELTAS GAP_MS");
    }
    let pace = Pace {
        deltas: args[2].parse().unwrap_or_else(|_| die("bad DELTAS")),
        gap: Duration::from_millis(args[3].parse().unwrap_or_else(|_| die("bad GAP_MS"))),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| die(&format!("runtime: {e}")));
    runtime.block_on(async move {
        // A deep accept queue: 512 streams connect at once (the default 128 overflows, and a
        // dropped SYN costs a 1 s retransmit).
        let listener = listen(&args[1]).unwrap_or_else(|e| die(&format!("bind {}: {e}", args[1])));
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(req, pace));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
}

fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let addr: std::net::SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

fn die(msg: &str) -> ! {
    eprintln!("paced-mock: {msg}");
    std::process::exit(2)
}

fn full(text: &'static str) -> Body {
    Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed()
}

const HEAD: &str =
    r#"{"id":"chatcmpl-paced","object":"chat.completion.chunk","created":1,"model":"mock-model","#;

fn chunk(delta: &str, finish: &str) -> Bytes {
    Bytes::from(format!(
        "data: {HEAD}\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
    ))
}

async fn handle(req: Request<Incoming>, pace: Pace) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    // Read the whole request before answering, as a real upstream does.
    let _ = req.into_body().collect().await;
    if path.ends_with("/models") {
        let mut resp = Response::new(full(
            r#"{"object":"list","data":[{"id":"mock-model","object":"model","owned_by":"mock"}]}"#,
        ));
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(resp);
    }
    let start = Instant::now();
    let frames = stream::unfold(0usize, move |k| async move {
        let frame = match k {
            0 => chunk(r#"{"role":"assistant","content":""}"#, "null"),
            k if k <= pace.deltas => {
                tokio::time::sleep_until(start + pace.gap * k as u32).await;
                chunk(&format!(r#"{{"content":"t{} "}}"#, now_us()), "null")
            }
            k if k == pace.deltas + 1 => {
                let mut tail = chunk("{}", "\"stop\"").to_vec();
                tail.extend_from_slice(
                    format!(
                        "data: {HEAD}\"choices\":[],\"usage\":{{\"prompt_tokens\":20,\"completion_tokens\":{},\"total_tokens\":{}}}}}\n\ndata: [DONE]\n\n",
                        pace.deltas,
                        pace.deltas + 20
                    )
                    .as_bytes(),
                );
                Bytes::from(tail)
            }
            _ => return None,
        };
        Some((Ok::<_, Infallible>(Frame::data(frame)), k + 1))
    });
    let mut resp = Response::new(StreamBody::new(frames).boxed());
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    Ok(resp)
}
