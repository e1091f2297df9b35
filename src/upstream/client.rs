//! Talking to a channel: the HTTP client, a channel's auth, and the request for one attempt.
//!
//! One client per thread ([`client`]), built when the thread first needs it (serving threads
//! build theirs before they accept): a pooled connection's I/O task lives on the runtime that
//! opened it, so a client shared by several single-threaded serving runtimes would hand every
//! request to another thread and back (two cross-thread wake-ups per request, measured at
//! about a fifth of the gateway's CPU). Each client: connection pooling per host, HTTP/2 when
//! the upstream offers it by ALPN, `TCP_NODELAY`, a 10 s connect timeout, no redirects (an API
//! endpoint that redirects is reported, not followed, so a redirect loop cannot happen).
//! The request carries only what the upstream needs: the channel's key in the provider's auth
//! style, the provider's extra headers, `content-type`, `accept`. The client's own
//! `Authorization` never goes upstream.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};

use crate::config::Channel;

/// Connect timeout for every upstream (the channel's `timeout_s` bounds the whole request).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

thread_local! {
    static CLIENT: reqwest::Client = build_client();
}

/// This thread's upstream client (a cheap handle: clones share the pool).
pub fn client() -> reqwest::Client {
    CLIENT.with(reqwest::Client::clone)
}

/// A new upstream client with the gateway's settings.
pub fn build_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("smart-ai-router/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| {
            tracing::error!("cannot build the tuned HTTP client ({e}); using defaults");
            reqwest::Client::new()
        })
}

/// Add the channel's auth (prepared with the config) and the provider's headers.
pub fn authorize(
    mut request: reqwest::RequestBuilder,
    channel: &Channel,
) -> reqwest::RequestBuilder {
    if let Some((name, value)) = &channel.prepared.auth {
        request = request.header(name.clone(), value.clone());
    }
    for (name, value) in &channel.provider.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request
}

/// An OpenAI-style endpoint of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Completions,
    Embeddings,
}

impl Endpoint {
    /// Path under the channel's base URL.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::Completions => "/completions",
            Endpoint::Embeddings => "/embeddings",
        }
    }
}

/// The POST of one attempt to `{base_url}{path}` (the URL parsed with the config).
pub fn completion_request(
    client: &reqwest::Client,
    channel: &Channel,
    endpoint: Endpoint,
    body: Bytes,
    stream: bool,
) -> reqwest::RequestBuilder {
    let prepared = &channel.prepared;
    let url = match endpoint {
        Endpoint::Chat => &prepared.chat_url,
        Endpoint::Completions => &prepared.completions_url,
        Endpoint::Embeddings => &prepared.embeddings_url,
    };
    let request = match url {
        Some(url) => client.post(url.clone()),
        None => client.post(format!("{}{}", channel.base_url, endpoint.path())),
    };
    let request = request
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(
            ACCEPT,
            HeaderValue::from_static(if stream {
                "text/event-stream"
            } else {
                "application/json"
            }),
        )
        .body(body);
    authorize(request, channel)
}
