//! The web UI, served by the gateway itself at `/`: server-rendered pages (maud) with their
//! data in the HTML, a little vanilla JS for charts and live refresh, and uPlot vendored under
//! `assets/`. Every asset is compiled into the binary: no CDN, no build step, works offline.
//!
//! Pages (each a bookmarkable URL): `/` overview, `/requests` history search, `/requests/{id}`
//! detail, `/channels` health and actions, `/models?q=` catalog and explain, `/alerts`,
//! `/config`. Access: `session` (login form and cookie when auth is on; CSRF-safe POSTs).
//! This module renders; it never changes routing state except through the actions the
//! Channels and Alerts pages offer (lift, rediscover, clear).

mod alerts;
mod assets;
mod channels;
mod config_page;
mod detail;
pub mod layout;
mod models;
mod overview;
mod requests;
pub mod session;

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// What every UI handler shares.
#[derive(Clone)]
pub struct Ui {
    pub app: Arc<AppState>,
    pub sessions: Arc<session::Sessions>,
    /// The CSRF token of this gateway's forms.
    pub csrf: Arc<str>,
}

impl Ui {
    /// The page shell for a request.
    pub fn shell(&self, headers: &HeaderMap) -> layout::Shell<'_> {
        let _ = headers;
        layout::Shell {
            csrf: &self.csrf,
            signed_in: self.app.snapshot().config.auth.enabled,
        }
    }
}

/// The UI's routes, merged with the API's by `app` (the UI sits above `server`, whose
/// history handlers it reuses).
pub fn router(app: Arc<AppState>) -> Router {
    let ui = Ui {
        app,
        sessions: Arc::default(),
        csrf: session::new_csrf_token().into(),
    };
    Router::new()
        .route("/", get(overview::page))
        .route("/requests", get(requests::page))
        .route("/requests/{id}", get(detail::page))
        .route("/channels", get(channels::page))
        .route("/channels/{id}/lift", post(channels::lift))
        .route("/channels/{id}/discover", post(channels::discover))
        .route("/models", get(models::page))
        .route("/alerts", get(alerts::page))
        .route("/alerts/clear", post(alerts::clear))
        .route("/config", get(config_page::page))
        .route_layer(axum::middleware::from_fn_with_state(
            ui.clone(),
            session::require_login,
        ))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/ui/assets/{file}", get(assets::serve))
        .with_state(ui)
}
