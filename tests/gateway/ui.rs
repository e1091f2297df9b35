//! The web UI in a real browser (headless Chromium over WebDriver): sign in, make calls
//! through the gateway (a plain one with an app name and a Chinese prompt, a stream, a failing
//! one), find each by search on the Requests page and check its detail page, lift a cooldown
//! from the Channels page and see the next call reach that channel, run a query on the Models
//! page; every page is screenshotted under `target/ui-screenshots/` and stays under 300 KB.
//! Plus, over plain HTTP: the session cookie's attributes and the CSRF refusals.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::support::browser::Browser;
use crate::support::{MockUpstream, Reply, TestGateway};

const API: &str = "api-token-ui-0001";
const ADMIN: &str = "admin-token-ui-0001";
const KEY_A: &str = "sk-ui-key-aaaa-000000001";
const KEY_B: &str = "sk-ui-key-bbbb-000000002";
const PROMPT_ZH: &str = "请用一句话解释量子计算机的原理";
/// Largest page the UI may send.
const PAGE_LIMIT: usize = 300 * 1024;

struct Setup {
    gateway: TestGateway,
    a: MockUpstream,
    b: MockUpstream,
}

async fn setup() -> Setup {
    let a = MockUpstream::start(&[]).await;
    let b = MockUpstream::start(&[]).await;
    let channel = |id: &str, url: &str, key: &str, priority: i32| {
        format!(
            "  - {{ id: {id}, provider: mock, base_url: \"{url}\", api_key: \"{key}\", \
             priority: {priority}, configured_models: [m1], daily_budget: 5, \
             pricing: {{ input: 1000, output: 2000 }} }}\n"
        )
    };
    let config = format!(
        "discovery: {{ enabled: false }}\n\
         auth: {{ enabled: true, api_token: \"{API}\", admin_token: \"{ADMIN}\" }}\n\
         cost_control: {{ global_daily_budget: 10 }}\n\
         routing:\n  default_strategy: flat\n  sorting_strategies:\n    flat: [ {{ field: free_score, weight: 1.0 }} ]\n\
         channels:\n{}{}",
        channel("a", &a.base_url(), KEY_A, 0),
        channel("b", &b.base_url(), KEY_B, 1),
    );
    Setup {
        gateway: TestGateway::start(&config).await,
        a,
        b,
    }
}

/// A call with the API token; (status, request id, channel that served it).
async fn call(g: &TestGateway, body: Value, title: Option<&str>) -> (u16, String, String) {
    let mut request = g
        .client
        .post(g.url("/v1/chat/completions"))
        .bearer_auth(API)
        .json(&body);
    if let Some(title) = title {
        request = request.header("X-Title", title);
    }
    let response = request.send().await.expect("gateway answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (id, channel) = (header("x-request-id"), header("x-router-channel"));
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    (status, id, channel)
}

fn chat(text: &str, stream: bool) -> Value {
    json!({"model": "m1", "stream": stream, "messages": [{"role": "user", "content": text}]})
}

/// Search on the Requests page; the request ids of the rows shown.
async fn search(browser: &Browser, base: &str, text: &str) -> Vec<String> {
    browser
        .client
        .goto(&format!("{base}/requests"))
        .await
        .expect("requests page");
    let field = browser.css("#search").await;
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
    browser.click_to_navigate("#search-button").await;
    browser.css("#result-count").await;
    let links = browser
        .client
        .find_all(Locator::Css("#requests td a"))
        .await
        .expect("rows");
    let mut ids = Vec::new();
    for link in links {
        let href = link.attr("href").await.expect("href").unwrap_or_default();
        ids.push(href.trim_start_matches("/requests/").to_string());
    }
    ids
}

async fn page_size(browser: &Browser) -> usize {
    browser.client.source().await.expect("page source").len()
}

#[tokio::test]
async fn the_dashboard_works_in_a_real_browser() {
    let s = setup().await;
    let g = &s.gateway;
    let base = g.base.clone();
    // Channel `a` is rate limited for an hour: the first call is served by `b`.
    s.a.push(Reply::error_with_retry_after(429, "slow down", "3600"));
    let (status, zh_id, served_by) = call(g, chat(PROMPT_ZH, false), Some("Quantum App")).await;
    assert_eq!((status, served_by.as_str()), (200, "b"));
    let (status, stream_id, _) = call(g, chat("please stream a greeting", true), None).await;
    assert_eq!(status, 200);
    s.b.push(Reply::error(500, "b broke down"));
    let (status, failed_id, _) = call(g, chat("this one is doomed", false), None).await;
    assert_eq!(status, 502, "a cools down, b fails: nothing serves");
    for id in [&zh_id, &stream_id, &failed_id] {
        g.history_row(id, Some(ADMIN)).await;
    }

    let browser = Browser::start().await;
    // Sign in: any page sends a visitor without a session to the login form.
    browser
        .client
        .goto(&format!("{base}/requests"))
        .await
        .expect("goto");
    browser
        .css("#token")
        .await
        .send_keys(ADMIN)
        .await
        .expect("type token");
    browser.screenshot("login").await;
    browser.click_to_navigate("#login").await;
    assert_eq!(browser.text("h1").await, "Requests");
    browser
        .client
        .goto(&format!("{base}/"))
        .await
        .expect("overview");
    assert_eq!(browser.text("h1").await, "Overview");
    browser.css(".cards .card").await;
    browser.css("#live canvas").await; // uPlot drew the charts
    browser.screenshot("overview").await;
    assert!(page_size(&browser).await < PAGE_LIMIT);

    // Each call is found by search and its detail shows what was sent and answered.
    assert_eq!(
        search(&browser, &base, "量子计算机").await,
        vec![zh_id.clone()]
    );
    browser.screenshot("requests-search").await;
    browser.click_to_navigate("#requests td a").await;
    assert_eq!(browser.text("#request-id").await, zh_id);
    assert!(browser.text("#request-body").await.contains(PROMPT_ZH));
    assert!(browser
        .text("#response-body")
        .await
        .contains("Hello from the mock."));
    assert_eq!(browser.text("#app").await, "Quantum App");
    let attempts = browser.text("#attempts").await;
    assert!(
        attempts.contains("a/m1") && attempts.contains("rate_limited"),
        "{attempts}"
    );
    assert!(
        attempts.contains("b/m1") && attempts.contains("success"),
        "{attempts}"
    );
    assert_eq!(browser.text("#cost").await, "$0.0220 USD");
    browser.screenshot("request-detail").await;

    assert_eq!(
        search(&browser, &base, "stream a greeting").await,
        vec![stream_id.clone()]
    );
    browser
        .client
        .goto(&format!("{base}/requests/{stream_id}"))
        .await
        .expect("detail");
    assert_eq!(browser.text("#response-body").await, "Hello from the mock.");

    assert_eq!(
        search(&browser, &base, "doomed").await,
        vec![failed_id.clone()]
    );
    browser
        .client
        .goto(&format!("{base}/requests/{failed_id}"))
        .await
        .expect("detail");
    assert!(browser.text("#status").await.starts_with("error 502"));
    assert!(browser.text("#attempts").await.contains("b broke down"));

    browser
        .client
        .goto(&format!("{base}/requests"))
        .await
        .expect("requests");
    let rows = browser
        .client
        .find_all(Locator::Css("#requests td a"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 3);
    browser.screenshot("requests").await;

    // Channels: `a` is cooling down; lift it, and the next call reaches it.
    browser
        .client
        .goto(&format!("{base}/channels"))
        .await
        .expect("channels");
    assert!(browser
        .text("tr[data-channel=a] td.health")
        .await
        .contains("cooling down"));
    browser.screenshot("channels").await;
    browser
        .click_to_navigate("tr[data-channel=a] button[data-action=lift]")
        .await;
    browser.css("#channels").await;
    assert!(browser
        .text("tr[data-channel=a] td.health")
        .await
        .starts_with("ok"));
    let (status, _, served_by) = call(g, chat("after the lift", false), None).await;
    assert_eq!((status, served_by.as_str()), (200, "a"));

    // Models: a query shows the ranking of both channels and the other strategies.
    browser
        .client
        .goto(&format!("{base}/models"))
        .await
        .expect("models");
    browser.css("#catalog").await;
    browser
        .css("#q")
        .await
        .send_keys("m1")
        .await
        .expect("type query");
    browser.click_to_navigate("#explain").await;
    let ranking = browser.text("table.ranking").await;
    assert!(
        ranking.contains("a / m1") && ranking.contains("b / m1"),
        "{ranking}"
    );
    assert!(browser
        .client
        .current_url()
        .await
        .expect("url")
        .as_str()
        .contains("q=m1"));
    browser.screenshot("models").await;

    // Alerts: a rejected key alerts at once; clearing all removes it.
    s.a.push(Reply::error(401, "invalid api key"));
    let (status, _, served_by) = call(g, chat("after a bad key", false), None).await;
    assert_eq!((status, served_by.as_str()), (200, "b"));
    g.flush_history().await; // alerts are written on the usage writer's thread
    browser
        .client
        .goto(&format!("{base}/alerts"))
        .await
        .expect("alerts");
    assert!(browser.text("#alerts").await.contains("invalid_api_key"));
    browser.screenshot("alerts").await;
    browser.click_to_navigate("#clear-all").await;
    browser.css("h1").await;
    assert!(browser
        .text("main")
        .await
        .contains("0 alert(s) in the last 7 days."));

    for (path, name) in [("/config", "config"), ("/alerts", "alerts-cleared")] {
        browser
            .client
            .goto(&format!("{base}{path}"))
            .await
            .expect("page");
        browser.css("h1").await;
        let source = browser.client.source().await.expect("source");
        assert!(source.len() < PAGE_LIMIT);
        for secret in [KEY_A, KEY_B, API, ADMIN] {
            assert!(!source.contains(secret), "{secret} shown on {path}");
        }
        browser.screenshot(name).await;
    }
    browser.close().await;
    // The browser's calls leave the proxy alone: a page view is not a routed call.
    tokio::time::timeout(Duration::from_secs(10), g.flush_history())
        .await
        .expect("flush");
}

#[tokio::test]
async fn the_session_cookie_is_strict_and_posts_need_the_form_token() {
    let s = setup().await;
    let g = &s.gateway;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = client
        .get(g.url("/channels"))
        .send()
        .await
        .expect("answers");
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login?next=/channels");
    let login = client.get(g.url("/login")).send().await.expect("answers");
    let html = login.text().await.expect("html");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf field")
        .to_string();
    let login = |origin: Option<&'static str>, form: Vec<(&'static str, String)>| {
        let mut request = client.post(g.url("/login")).form(&form);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        async move { request.send().await.expect("answers") }
    };
    let form = |token: &str, csrf: &str, next: &str| {
        let mut fields = vec![("token", token.to_string()), ("next", next.to_string())];
        if !csrf.is_empty() {
            fields.push(("csrf", csrf.to_string()));
        }
        fields
    };
    let wrong = login(None, form(API, &csrf, "/")).await;
    assert_eq!(wrong.status(), 401, "the API token is not the admin token");
    let forged = login(None, form(ADMIN, "forged", "/")).await;
    assert_eq!(forged.status(), 403);
    let cross_site = login(Some("https://evil.example"), form(ADMIN, &csrf, "/")).await;
    assert_eq!(cross_site.status(), 403);
    // An opaque origin (a sandboxed frame) is not this UI either, and a form without its
    // CSRF token is refused like a forged one.
    let opaque = login(Some("null"), form(ADMIN, &csrf, "/")).await;
    assert_eq!(opaque.status(), 403);
    let tokenless = login(None, form(ADMIN, "", "/")).await;
    assert_eq!(tokenless.status(), 403);
    // A `next` no `Location` header can hold signs in and goes home, never a 500.
    let odd_next = login(None, form(ADMIN, &csrf, "/\u{1}\r\nX: y")).await;
    assert_eq!(odd_next.status(), 303);
    assert_eq!(odd_next.headers()["location"], "/");
    let ok = login(None, form(ADMIN, &csrf, "//evil.example/")).await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/");
    let cookie = ok.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(cookie.starts_with("sar_session="), "{cookie}");
    assert!(
        cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("pair").to_string();
    let page = client
        .get(g.url("/channels"))
        .header("Cookie", &session)
        .send()
        .await
        .expect("answers");
    assert_eq!(page.status(), 200);
    let lift = client
        .post(g.url("/channels/a/lift"))
        .header("Cookie", &session)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("answers");
    assert_eq!(lift.status(), 403);
    let tokenless = client
        .post(g.url("/channels/a/lift"))
        .header("Cookie", &session)
        .form(&[("other", "x")])
        .send()
        .await
        .expect("answers");
    assert_eq!(tokenless.status(), 403);
    // The cookie opens the UI, not the admin API.
    let api = client
        .get(g.url("/v1/requests"))
        .header("Cookie", &session)
        .send()
        .await
        .expect("answers");
    assert_eq!(api.status(), 401);
}
