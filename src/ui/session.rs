//! Who may see the web UI: with `auth.enabled`, a login form takes the admin token and sets a
//! session cookie (random, `HttpOnly`, `SameSite=Strict`, 12 hours); without auth the UI is
//! open, as the API is. Every POST form carries a CSRF token (random per gateway start,
//! compared in constant time) and a POST whose `Origin` names another host is refused, so a
//! page elsewhere cannot make a logged-in browser act.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Form, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use rand::distr::{Alphanumeric, SampleString};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{layout, Ui};
use crate::server::auth::is_admin_token;

const COOKIE: &str = "sar_session";
const SESSION_LENGTH: Duration = Duration::from_secs(12 * 3600);
const MAX_SESSIONS: usize = 10_000;

/// Live sessions: id → expiry.
#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Instant>>,
}

impl Sessions {
    fn create(&self) -> String {
        let id = Alphanumeric.sample_string(&mut rand::rng(), 43);
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        live.retain(|_, until| *until > now);
        if live.len() < MAX_SESSIONS {
            live.insert(id.clone(), now + SESSION_LENGTH);
        }
        id
    }

    fn is_live(&self, id: &str) -> bool {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(id).is_some_and(|until| *until > Instant::now())
    }

    fn end(&self, id: &str) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

/// A random token for the CSRF field of forms.
pub fn new_csrf_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

fn cookie_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

fn auth_on(ui: &Ui) -> bool {
    ui.app.snapshot().config.auth.enabled
}

/// Whether this request may see the UI.
pub fn signed_in(ui: &Ui, headers: &HeaderMap) -> bool {
    !auth_on(ui) || cookie_of(headers).is_some_and(|id| ui.sessions.is_live(id))
}

/// Middleware for every UI page: a visitor without a session goes to the login form.
pub async fn require_login(State(ui): State<Ui>, request: Request, next: Next) -> Response {
    if signed_in(&ui, request.headers()) {
        return next.run(request).await;
    }
    let wanted = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let target = format!("/login?next={}", layout::url_encode(&wanted));
    Redirect::to(&target).into_response()
}

/// Refuse a POST that is not from this UI: a wrong CSRF token, or an `Origin` of another host.
pub fn check_post(ui: &Ui, headers: &HeaderMap, csrf: &str) -> Result<(), Refused> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let (Some(origin), Some(host)) = (origin, host) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        // `null` is an opaque origin (a sandboxed frame, a `data:` page): never this UI.
        if origin == "null" || origin_host != host {
            return Err(Refused("This form was sent from another site."));
        }
    }
    if !bool::from(csrf.as_bytes().ct_eq(ui.csrf.as_bytes())) {
        return Err(Refused(
            "This form has expired: reload the page and try again.",
        ));
    }
    Ok(())
}

/// A POST refused as not from this UI: 403 with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, self.0).into_response()
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `next` only when it is a path of this site with no control character, its non-ASCII
/// characters percent-encoded (a `Location` header holds visible ASCII only); else `/`.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            let mut path = String::with_capacity(n.len());
            for c in n.chars() {
                if c.is_ascii() {
                    path.push(c);
                } else {
                    for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                        path.push_str(&format!("%{byte:02X}"));
                    }
                }
            }
            path
        }
        _ => "/".into(),
    }
}

/// `GET /login`.
pub async fn login_page(
    State(ui): State<Ui>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    login_form(&ui, &safe_next(q.next.as_deref()), None).into_response()
}

fn login_form(ui: &Ui, next: &str, error: Option<&str>) -> axum::response::Html<String> {
    let body = html! {
        section.login {
            h1 { "Sign in" }
            p { "Enter the gateway's admin token (" code { "auth.admin_token" } ", else the API token)." }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(ui.csrf);
                input type="hidden" name="next" value=(next);
                label { "Admin token " input #token type="password" name="token" autocomplete="current-password" required autofocus; }
                button #login type="submit" { "Sign in" }
            }
        }
    };
    layout::bare("Sign in", body)
}

/// A missing field reads as empty, so a form without its CSRF token is refused (403) like
/// one with a wrong token, not rejected as malformed.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// `POST /login`: a right token sets the session cookie and goes on to `next`.
pub async fn login(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Err(refused) = check_post(&ui, &headers, &form.csrf) {
        return refused.into_response();
    }
    let next = safe_next(form.next.as_deref());
    if auth_on(&ui) && !is_admin_token(&ui.app.snapshot(), form.token.trim()) {
        let mut page =
            login_form(&ui, &next, Some("That token is not the admin token.")).into_response();
        *page.status_mut() = StatusCode::UNAUTHORIZED;
        return page;
    }
    let id = ui.sessions.create();
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_LENGTH.as_secs()
    );
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /logout`.
pub async fn logout(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = check_post(&ui, &headers, &form.csrf) {
        return refused.into_response();
    }
    if let Some(id) = cookie_of(&headers) {
        ui.sessions.end(id);
    }
    let mut response = Redirect::to("/login").into_response();
    let expired = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = expired.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/requests?search=a")), "/requests?search=a");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(None), "/");
        // Nothing a `Location` header cannot hold.
        assert_eq!(safe_next(Some("/\u{1}")), "/");
        assert_eq!(safe_next(Some("/x\r\nSet-Cookie: a=b")), "/");
        assert_eq!(
            safe_next(Some("/requests?search=量")),
            "/requests?search=%E9%87%8F"
        );
        for next in ["/\u{1}", "/requests?search=量子", "/a b"] {
            assert!(axum::http::HeaderValue::from_str(&safe_next(Some(next))).is_ok());
        }
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; sar_session=xyz; b=2".parse().expect("value"),
        );
        assert_eq!(cookie_of(&headers), Some("xyz"));
    }
}
