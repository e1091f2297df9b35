//! The one text segment of a route's path (`/v1/requests/{id}`), as an extractor whose
//! refusal is an API error: a segment that is not valid UTF-8 (`%ff`) answers 400 in the
//! OpenAI error shape instead of axum's plain-text rejection.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::error::ApiError;
use crate::proxy::request::clip_client_text;

/// The path's parameter, decoded.
#[derive(Debug, Clone)]
pub struct PathText(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathText {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(text)) => Ok(Self(text)),
            Err(rejection) => Err(ApiError::bad_request(
                "invalid_path",
                format!(
                    "The URL path cannot be read: {}",
                    clip_client_text(&rejection.body_text())
                ),
            )),
        }
    }
}
