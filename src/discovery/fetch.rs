//! Fetching one channel's model list: `GET {base_url}{models_endpoint}` with the channel's auth
//! and the provider's headers, bounded in time and size, parsed by `parse.rs`.
//!
//! Never: puts the channel's key into an error message or a log line (an upstream that echoes
//! it back is redacted), reads an unbounded body (32 MiB cap, read as a stream), or follows a
//! redirect (the shared client does not).

use std::fmt;
use std::time::Duration;

use bytes::BytesMut;

use super::parse::{parse_model_list, DiscoveredModel, ResponseFormat};
use crate::config::{Channel, WireFormat};
use crate::proxy::classify::error_message;
use crate::proxy::outcome::redact;
use crate::proxy::upstream::authorize;

/// Largest model list accepted.
pub const MAX_MODEL_LIST_BYTES: usize = 32 * 1024 * 1024;

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

/// Fetch and parse the channel's model list within `timeout`.
pub async fn fetch_models(
    client: &reqwest::Client,
    channel: &Channel,
    timeout: Duration,
) -> Result<Vec<DiscoveredModel>, DiscoveryError> {
    let url = models_url(channel);
    let request = authorize(
        client
            .get(&url)
            .header(reqwest::header::ACCEPT, "application/json"),
        channel,
    );
    match tokio::time::timeout(timeout, fetch_body(request, channel, &url)).await {
        Err(_) => Err(fail(
            channel,
            None,
            format!("timed out after {}s fetching {url}", timeout.as_secs_f64()),
        )),
        Ok(Err(e)) => Err(e),
        Ok(Ok(body)) => parse_model_list(format_of(channel.provider.format), &body)
            .map_err(|e| fail(channel, None, format!("{url}: {e}"))),
    }
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
