//! Fetching one channel's model list: `GET {base_url}{models_endpoint}` with the channel's auth
//! and the provider's headers, bounded in time and size, parsed by `parse.rs`.
//!
//! Never: puts the channel's key into an error message or a log line (an upstream that echoes
//! it back is redacted), reads an unbounded body (32 MiB cap, read as a stream), or follows a
//! redirect (the shared client does not).
//!
//! Anthropic's list comes in pages (20 models by default): for that format the fetch asks for
//! the largest page (`limit=1000`) and follows `has_more` / `last_id` (as `after_id`), at most
//! [`MAX_PAGES`] pages, all within the one timeout and the one 32 MiB bound. A cursor that
//! does not move ends the walk with the models read so far.

use std::fmt;
use std::time::Duration;

use bytes::BytesMut;
use serde::Deserialize;

use super::parse::{parse_model_list, DiscoveredModel, ResponseFormat};
use crate::config::{Channel, WireFormat};
use crate::upstream::classify::error_message;
use crate::upstream::client::authorize;
use crate::upstream::redact::redact;

/// Largest model list accepted.
pub const MAX_MODEL_LIST_BYTES: usize = 32 * 1024 * 1024;

/// Most pages of a paged model list read in one discovery.
pub const MAX_PAGES: usize = 50;

/// Models per page asked of a paged (Anthropic) list: the API's maximum.
const PAGE_LIMIT: &str = "1000";

/// Why a channel's discovery failed. The message never contains the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryError {
    pub message: String,
    pub status: Option<u16>,
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DiscoveryError {}

fn format_of(format: WireFormat) -> ResponseFormat {
    match format {
        WireFormat::Openai => ResponseFormat::OpenAi,
        WireFormat::Ollama => ResponseFormat::Ollama,
        WireFormat::Anthropic => ResponseFormat::Anthropic,
    }
}

/// The URL of the channel's model list.
pub fn models_url(channel: &Channel) -> String {
    format!("{}{}", channel.base_url, channel.provider.models_endpoint)
}

fn fail(channel: &Channel, status: Option<u16>, message: String) -> DiscoveryError {
    DiscoveryError {
        message: redact(&message, channel),
        status,
    }
}

/// Fetch and parse the channel's model list (every page of it) within `timeout`.
pub async fn fetch_models(
    client: &reqwest::Client,
    channel: &Channel,
    timeout: Duration,
) -> Result<Vec<DiscoveredModel>, DiscoveryError> {
    let url = models_url(channel);
    match tokio::time::timeout(timeout, fetch_pages(client, channel, &url)).await {
        Err(_) => Err(fail(
            channel,
            None,
            format!("timed out after {}s fetching {url}", timeout.as_secs_f64()),
        )),
        Ok(result) => result,
    }
}

/// Where the next page of a paged list starts, when there is one.
#[derive(Deserialize)]
struct PageCursor {
    #[serde(default)]
    has_more: bool,
    last_id: Option<String>,
}

fn next_page(body: &[u8]) -> Option<String> {
    let cursor: PageCursor = serde_json::from_slice(body).ok()?;
    cursor.has_more.then_some(cursor.last_id).flatten()
}

async fn fetch_pages(
    client: &reqwest::Client,
    channel: &Channel,
    url: &str,
) -> Result<Vec<DiscoveredModel>, DiscoveryError> {
    let format = format_of(channel.provider.format);
    let paged = format == ResponseFormat::Anthropic;
    let mut models = Vec::new();
    let mut after: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    let mut read = 0usize;
    for _ in 0..MAX_PAGES {
        let mut request = client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        if paged {
            request = request.query(&[("limit", PAGE_LIMIT)]);
            if let Some(id) = &after {
                request = request.query(&[("after_id", id.as_str())]);
            }
        }
        let body = fetch_body(authorize(request, channel), channel, url).await?;
        read += body.len();
        if read > MAX_MODEL_LIST_BYTES {
            let message = format!("{url}: model list larger than 32 MiB over its pages");
            return Err(fail(channel, None, message));
        }
        let page = parse_model_list(format, &body)
            .map_err(|e| fail(channel, None, format!("{url}: {e}")))?;
        if !paged {
            return Ok(page);
        }
        // A page repeating an id (a cursor that went back) adds nothing twice.
        for model in page {
            if seen.insert(model.id.clone()) {
                models.push(model);
            }
        }
        match next_page(&body) {
            Some(next) if after.as_ref() != Some(&next) => after = Some(next),
            Some(_) => {
                tracing::warn!(channel = %channel.id, "{}: the page cursor did not move; keeping {} models", redact(url, channel), models.len());
                return Ok(models);
            }
            None => return Ok(models),
        }
    }
    tracing::warn!(channel = %channel.id, "{}: more than {MAX_PAGES} pages; keeping the first {}", redact(url, channel), models.len());
    Ok(models)
}

async fn fetch_body(
    request: reqwest::RequestBuilder,
    channel: &Channel,
    url: &str,
) -> Result<BytesMut, DiscoveryError> {
    let mut response = request.send().await.map_err(|e| {
        let what = if e.is_connect() {
            "connection refused or unreachable"
        } else if e.is_timeout() {
            "timed out"
        } else {
            "request failed"
        };
        fail(channel, None, format!("{what}: {url}"))
    })?;
    let status = response.status();
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        fail(
            channel,
            Some(status.as_u16()),
            format!("{url}: body broke: {e}"),
        )
    })? {
        if body.len() + chunk.len() > MAX_MODEL_LIST_BYTES {
            return Err(fail(
                channel,
                Some(status.as_u16()),
                format!("{url}: model list larger than 32 MiB"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?");
        return Err(fail(channel, Some(status.as_u16()), format!("HTTP {} from {url}: redirected to {to} (not followed; set base_url to the final URL)", status.as_u16())));
    }
    if !status.is_success() {
        let message = error_message(&body);
        return Err(fail(
            channel,
            Some(status.as_u16()),
            format!("HTTP {} from {url}: {message}", status.as_u16()),
        ));
    }
    Ok(body)
}
