//! Reading a request body with the gateway's limits: `server.max_body_bytes` (413) and
//! `server.request_body_timeout_s` for a client that never finishes sending (408).

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;

use super::error::ApiError;
use crate::state::AppState;

/// The whole body, or the error the client should see.
pub async fn read_body(state: &AppState, body: Body) -> Result<Bytes, ApiError> {
    let snapshot = state.snapshot();
    let server = &snapshot.config.server;
    let limit = server.max_body_bytes;
    let limited = http_body_util::Limited::new(body, limit);
    match tokio::time::timeout(server.request_body_timeout, limited.collect()).await {
        Err(_) => Err(ApiError::request_timeout(format!(
            "The request body did not arrive within {}s (server.request_body_timeout_s).",
            server.request_body_timeout.as_secs_f64()
        ))),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::payload_too_large(limit))
        }
        Ok(Err(e)) => Err(ApiError::bad_request(
            "invalid_request_body",
            format!("The request body could not be read: {e}."),
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}
