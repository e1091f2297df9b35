//! Talking to a channel: the HTTP clients, a channel's auth, and the request for one attempt.
//!
//! Calls go through a lean client on `hyper` ([`send`]): the request is built from parts the
//! config prepared once (`config::PreparedRequest`: the parsed URI of each endpoint, the auth
//! header, the provider's headers), so a call parses no URL, formats no header and checks no
//! proxy rule. Model lists (discovery, a few requests an hour) use `reqwest`
//! ([`reqwest_client`]), whose conveniences (query strings, redirects off) matter more there
//! than its per-request cost. When the environment names a proxy (`HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY`, either case), calls take `reqwest` too: it honours those and
//! `NO_PROXY`, as the gateway always did ([`PROXIED`]).
//!
//! One client of each kind per thread, built when the thread first needs it (serving threads
//! build theirs before they accept): a pooled connection's I/O task lives on the runtime that
//! opened it, so a client shared by several single-threaded serving runtimes would hand every
//! request to another thread and back (two cross-thread wake-ups per request, measured at
//! about a fifth of the gateway's CPU). Each client: connection pooling per host, HTTP/2 when
//! the upstream offers it by ALPN, `TCP_NODELAY`, a 10 s connect timeout, no redirects (an API
//! endpoint that redirects is reported, not followed, so a redirect loop cannot happen).
//! A request carries only what the upstream needs: the channel's key in the provider's auth
//! style, the provider's extra headers, `content-type`, `accept`, `user-agent`. The client's
//! own `Authorization` never goes upstream.

use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::config::Channel;

/// Connect timeout for every upstream (the channel's `timeout_s` bounds the whole request).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);
/// Idle connections kept per upstream host.
const POOL_MAX_IDLE_PER_HOST: usize = 256;
const USER_AGENT_VALUE: &str = concat!("smart-ai-router/", env!("CARGO_PKG_VERSION"));

/// The body of a call: the request, whole.
pub type CallBody = Full<Bytes>;
/// What an upstream answers a call: status, headers and a body read as it arrives.
pub type UpstreamResponse = http::Response<UpstreamBody>;
/// The client of calls.
pub type CallClient = Client<HttpsConnector<HttpConnector>, CallBody>;
/// Why an upstream body broke.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

thread_local! {
    static CALLS: CallClient = build_call_client();
    static REQWEST: reqwest::Client = build_reqwest_client();
}

/// The proxy variables, read once: set (not empty), calls go through `reqwest`.
pub static PROXIED: LazyLock<bool> = LazyLock::new(|| {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
});

/// An upstream's answer body, from either client.
pub enum UpstreamBody {
    Direct(Incoming),
    Proxied(reqwest::Body),
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            UpstreamBody::Direct(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|frame| frame.map(|r| r.map_err(BodyError::from))),
            UpstreamBody::Proxied(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|frame| frame.map(|r| r.map_err(BodyError::from))),
        }
    }
}

/// A call that got no response head.
#[derive(Debug)]
pub struct SendError {
    /// The connection could not be made (refused, unreachable, DNS, TLS handshake).
    pub connect: bool,
    /// What happened, with its causes.
    pub message: String,
}

/// Send a call on this thread's client (or, with a proxy in the environment, on `reqwest`).
pub async fn send(request: Request<Bytes>) -> Result<UpstreamResponse, SendError> {
    if *PROXIED {
        let failed = |e: reqwest::Error| SendError {
            connect: e.is_connect(),
            message: error_chain(&e),
        };
        let request = reqwest::Request::try_from(request).map_err(failed)?;
        // Boxed: the direct path's future stays small.
        let response = Box::pin(reqwest_client().execute(request))
            .await
            .map_err(failed)?;
        return Ok(http::Response::from(response).map(UpstreamBody::Proxied));
    }
    let response = CALLS
        .with(|client| client.request(request.map(Full::new)))
        .await
        .map_err(|e| SendError {
            connect: e.is_connect(),
            message: error_chain(&e),
        })?;
    Ok(response.map(UpstreamBody::Direct))
}

/// Build this thread's clients now (a serving thread does, before it accepts).
pub fn warm_up() {
    CALLS.with(|_| ());
}

/// A new client of calls with the gateway's settings.
pub fn build_call_client() -> CallClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    #[expect(
        clippy::expect_used,
        reason = "ring supports rustls' default protocol versions; nothing outside the binary decides this"
    )]
    let tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .expect("ring supports TLS 1.2 and 1.3");
    let connector = tls
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
        .pool_timer(TokioTimer::new())
        .build(connector)
}

/// This thread's `reqwest` client, for model lists and proxied calls (a cheap handle: clones
/// share the pool). It honours the proxy variables of the environment.
pub fn reqwest_client() -> reqwest::Client {
    REQWEST.with(reqwest::Client::clone)
}

fn build_reqwest_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .pool_idle_timeout(POOL_IDLE)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT_VALUE)
        .build()
        .unwrap_or_else(|e| {
            tracing::error!("cannot build the tuned HTTP client ({e}); using defaults");
            reqwest::Client::new()
        })
}

/// Add the channel's auth (prepared with the config) and the provider's headers to a model
/// list request.
pub fn authorize(
    mut request: reqwest::RequestBuilder,
    channel: &Channel,
) -> reqwest::RequestBuilder {
    if let Some((name, value)) = &channel.prepared.auth {
        request = request.header(name.clone(), value.clone());
    }
    for (name, value) in &channel.prepared.headers {
        request = request.header(name.clone(), value.clone());
    }
    request
}

/// An endpoint of a channel: OpenAI's three, or Anthropic's Messages API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Completions,
    Embeddings,
    Messages,
    Responses,
}

/// The API version sent to a `format: anthropic` channel whose provider sets none.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

impl Endpoint {
    /// Path under the channel's base URL.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::Completions => "/completions",
            Endpoint::Embeddings => "/embeddings",
            Endpoint::Messages => "/messages",
            Endpoint::Responses => "/responses",
        }
    }
}

/// The POST of one attempt to `{base_url}{path}` (the URI parsed with the config), with
/// `extra` headers (a client's `anthropic-beta`). `Err` when the channel's base URL does not
/// make a URI (the message names the URL).
pub fn completion_request(
    channel: &Channel,
    endpoint: Endpoint,
    body: Bytes,
    stream: bool,
    extra: Option<(&'static str, HeaderValue)>,
) -> Result<Request<Bytes>, String> {
    let prepared = &channel.prepared;
    let uri = match endpoint {
        Endpoint::Chat => &prepared.chat_url,
        Endpoint::Completions => &prepared.completions_url,
        Endpoint::Embeddings => &prepared.embeddings_url,
        Endpoint::Messages => &prepared.messages_url,
        Endpoint::Responses => &prepared.responses_url,
    };
    let Some(uri) = uri else {
        return Err(format!(
            "invalid upstream URL: {}{}",
            channel.base_url,
            endpoint.path()
        ));
    };
    let mut request = Request::new(body);
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri.clone();
    let headers = request.headers_mut();
    headers.reserve(6 + prepared.headers.len());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        ACCEPT,
        HeaderValue::from_static(if stream {
            "text/event-stream"
        } else {
            "application/json"
        }),
    );
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    if let Some((name, value)) = &prepared.auth {
        headers.insert(name.clone(), value.clone());
    }
    for (name, value) in &prepared.headers {
        headers.append(name.clone(), value.clone());
    }
    if endpoint == Endpoint::Messages && !headers.contains_key("anthropic-version") {
        headers.insert(
            "anthropic-version",
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
    }
    if let Some((name, value)) = extra {
        headers.insert(name, value);
    }
    Ok(request)
}

/// The next bytes of an upstream body (trailers skipped); `None` at its end.
pub async fn next_data(body: &mut UpstreamBody) -> Option<Result<Bytes, BodyError>> {
    loop {
        match body.frame().await? {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    return Some(Ok(data));
                }
            }
            Err(e) => return Some(Err(e)),
        }
    }
}

/// An error with its causes ("client error (Connect): tcp connect error: Connection refused").
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
