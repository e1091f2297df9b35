//! Reading a request body with the gateway's limits: `server.max_body_bytes` (413) and
//! `server.request_body_timeout_s` for a client that never finishes sending (408).
//!
//! A body over the limit is not cut off mid-upload: the rest is read and thrown away (up to
//! `DRAIN_LIMIT` more bytes, within the same timeout), so that an ordinary HTTP client, still
//! writing, receives the 413 instead of a broken pipe. Past that, the connection is closed. A
//! `Content-Length` past that is refused before any of the body is read.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;

use super::error::ApiError;
use crate::chunks::Chunks;
use crate::state::Snapshot;

/// Bytes read and discarded after the limit, so the client gets its 413.
pub const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// The whole body, or the error the client should see.
pub async fn read_body(snapshot: &Snapshot, body: Body) -> Result<Bytes, ApiError> {
    let server = &snapshot.config.server;
    let limit = server.max_body_bytes;
    let timeout = server.request_body_timeout;
    // A `Content-Length` over the limit is a 413 whatever arrives; one past what would be
    // drained is answered at once, without waiting for a byte of it.
    let declared =
        usize::try_from(axum::body::HttpBody::size_hint(&body).lower()).unwrap_or(usize::MAX);
    if declared > limit.saturating_add(DRAIN_LIMIT) {
        return Err(ApiError::payload_too_large(limit));
    }
    let mut total = 0usize;
    match tokio::time::timeout(timeout, collect(body, limit, &mut total)).await {
        // Out of time while draining an oversized body: it is still a 413.
        Err(_) if total > limit || declared > limit => Err(ApiError::payload_too_large(limit)),
        Err(_) => Err(ApiError::request_timeout(format!(
            "The request body did not arrive within {}s (server.request_body_timeout_s).",
            secs(timeout)
        ))),
        Ok(result) => result,
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

async fn collect(mut body: Body, limit: usize, total: &mut usize) -> Result<Bytes, ApiError> {
    let mut chunks = Chunks::default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::bad_request(
                "invalid_request_body",
                format!("The request body could not be read: {e}."),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        *total = total.saturating_add(data.len());
        if *total > limit {
            if *total > limit.saturating_add(DRAIN_LIMIT) {
                break;
            }
            continue;
        }
        chunks.push(data);
    }
    if *total > limit {
        return Err(ApiError::payload_too_large(limit));
    }
    Ok(chunks.finish())
}
