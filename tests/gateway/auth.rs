//! Access control (docs/http-api.md) through the real gateway: the API token on `/v1/*` in its three
//! spellings, the admin token on `/v1/stats/*`, open `/health`, `/metrics` open unless
//! protected, OpenAI error bodies for 401 and 403, the client's token never reaching the
//! upstream, and the generated `sar-` token: saved privately, usable, printed once, reused.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{MockUpstream, TestGateway};
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

const API_TOKEN: &str = "t1-client-api-token";
const ADMIN_TOKEN: &str = "t2-admin-token";
const CHANNEL_KEY: &str = "sk-channel-key-0123456789";

fn config(mock: &MockUpstream, auth: &str) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
auth: {auth}
channels:
  - id: paid
    provider: mock
    base_url: {url}
    api_key: {CHANNEL_KEY}
    configured_models: [gpt-4o-mini]
"#,
        url = mock.base_url()
    )
}

fn with_tokens(protect_metrics: bool) -> String {
    format!(
        "{{ enabled: true, api_token: {API_TOKEN}, admin_token: {ADMIN_TOKEN}, protect_metrics: {protect_metrics} }}"
    )
}

/// A request with one header (or none), its status and JSON body (Null when not JSON).
async fn call(
    gateway: &TestGateway,
    method: reqwest::Method,
    path: &str,
    header: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut request = gateway.client.request(method.clone(), gateway.url(path));
    if method == reqwest::Method::POST {
        request = request.json(
            &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}),
        );
    }
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("request reaches the gateway");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn chat(gateway: &TestGateway, header: Option<(&str, &str)>) -> (u16, Value) {
    call(
        gateway,
        reqwest::Method::POST,
        "/v1/chat/completions",
        header,
    )
    .await
}

async fn get(gateway: &TestGateway, path: &str, header: Option<(&str, &str)>) -> u16 {
    call(gateway, reqwest::Method::GET, path, header).await.0
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn error(message: &str, kind: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "code": code, "param": null}})
}

#[tokio::test]
async fn v1_routes_need_the_api_token_in_any_of_its_three_forms() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(&mock, &with_tokens(false))).await;
    assert_eq!(
        chat(&gateway, None).await,
        (
            401,
            error(
                "Missing API token: send it as `Authorization: Bearer <token>` (or `x-api-key`).",
                "authentication_error",
                "invalid_api_key"
            )
        )
    );
    let wrong = bearer("not-the-token");
    assert_eq!(
        chat(&gateway, Some(("authorization", &wrong))).await,
        (
            401,
            error(
                "Invalid API token.",
                "authentication_error",
                "invalid_api_key"
            )
        )
    );
    assert_eq!(get(&gateway, "/v1/models", None).await, 401);
    assert_eq!(mock.completions().len(), 0, "nothing reached the upstream");

    let api_bearer = bearer(API_TOKEN);
    for header in [
        ("authorization", api_bearer.as_str()),
        ("authorization", API_TOKEN),
        ("x-api-key", API_TOKEN),
    ] {
        let (status, body) = chat(&gateway, Some(header)).await;
        assert_eq!(status, 200, "{header:?}: {body}");
        assert_eq!(body["model"], "gpt-4o-mini");
    }
    assert_eq!(
        get(&gateway, "/v1/models", Some(("x-api-key", API_TOKEN))).await,
        200
    );

    // The upstream gets the channel's key and nothing of the client's token.
    let sent = mock.completions();
    assert_eq!(sent.len(), 3);
    for request in sent {
        assert_eq!(
            request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok()),
            Some(format!("Bearer {CHANNEL_KEY}").as_str())
        );
        assert!(request.headers.get("x-api-key").is_none());
        for (name, value) in &request.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            assert!(!value.contains(API_TOKEN), "{name}: {value}");
        }
        assert!(!String::from_utf8_lossy(&request.body).contains(API_TOKEN));
    }
    gateway.stop().await;
}

#[tokio::test]
async fn admin_routes_need_the_admin_token() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(&mock, &with_tokens(false))).await;
    let (api, admin) = (bearer(API_TOKEN), bearer(ADMIN_TOKEN));
    let (status, body) = call(
        &gateway,
        reqwest::Method::GET,
        "/v1/stats/daily",
        Some(("authorization", &api)),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            403,
            error(
                "This route needs the admin token (auth.admin_token).",
                "permission_error",
                "insufficient_permissions"
            )
        )
    );
    assert_eq!(get(&gateway, "/v1/stats/daily", None).await, 401);
    assert_eq!(
        get(&gateway, "/v1/stats/daily", Some(("authorization", &admin))).await,
        200
    );
    assert_eq!(
        get(
            &gateway,
            "/v1/stats/alerts",
            Some(("x-api-key", ADMIN_TOKEN))
        )
        .await,
        200
    );
    assert_eq!(
        get(
            &gateway,
            "/v1/route/explain?model=gpt-4o-mini",
            Some(("authorization", &api))
        )
        .await,
        403
    );
    let (status, _) = call(
        &gateway,
        reqwest::Method::POST,
        "/v1/stats/clear-all-alerts",
        Some(("authorization", &api)),
    )
    .await;
    assert_eq!(status, 403);
    // The admin token is also good for the API.
    assert_eq!(chat(&gateway, Some(("authorization", &admin))).await.0, 200);
    gateway.stop().await;
}

#[tokio::test]
async fn health_is_open_and_metrics_open_unless_protected() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(&mock, &with_tokens(false))).await;
    for path in [
        "/health",
        "/health/liveliness",
        "/health/readiness",
        "/metrics",
    ] {
        assert_eq!(get(&gateway, path, None).await, 200, "{path}");
    }
    gateway.stop().await;

    let gateway = TestGateway::start(&config(&mock, &with_tokens(true))).await;
    assert_eq!(get(&gateway, "/health", None).await, 200);
    assert_eq!(get(&gateway, "/metrics", None).await, 401);
    assert_eq!(
        get(&gateway, "/metrics", Some(("x-api-key", API_TOKEN))).await,
        403
    );
    assert_eq!(
        get(&gateway, "/metrics", Some(("x-api-key", ADMIN_TOKEN))).await,
        200
    );
    gateway.stop().await;
}

/// The token saved in `<cache_dir>/api_token`, checked to be private and well formed.
fn saved_token(gateway: &TestGateway) -> String {
    let path = gateway.dir.path().join("cache/api_token");
    let token = std::fs::read_to_string(&path).expect("the generated token is saved");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "api_token is private");
    }
    let random = token.strip_prefix("sar-").expect("starts with sar-");
    assert_eq!(random.len(), 32, "{token}");
    assert!(random
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    token
}

#[tokio::test]
async fn a_generated_token_is_saved_privately_works_and_is_reused() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(&mock, "{ enabled: true }")).await;
    let token = saved_token(&gateway);
    assert_eq!(chat(&gateway, None).await.0, 401);
    assert_eq!(
        chat(&gateway, Some(("authorization", &bearer(&token))))
            .await
            .0,
        200
    );
    // Without an admin token the API token is the admin token.
    assert_eq!(
        get(&gateway, "/v1/stats/daily", Some(("x-api-key", &token))).await,
        200
    );

    let TestGateway { dir, running, .. } = gateway;
    if let Some(running) = running {
        running.shutdown().await;
    }
    let gateway = TestGateway::start_in(dir).await;
    assert_eq!(saved_token(&gateway), token, "a restart reuses the token");
    assert_eq!(chat(&gateway, Some(("x-api-key", &token))).await.0, 200);
    gateway.stop().await;
}

/// Run the binary until it logs that it is listening, then kill it; everything it printed on
/// stdout (the token line is printed before the listening log, on a line-buffered stdout).
async fn stdout_until_listening(config_dir: &std::path::Path) -> String {
    let mut child = crate::support::binary_async()
        .arg("--config-dir")
        .arg(config_dir)
        .args(["--port", "0", "--log-format", "json"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the gateway binary");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut log = tokio::io::BufReader::new(stderr).lines();
    let listening = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = log.next_line().await {
            if line.contains("smart-ai-router listening") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(listening.ok(), Some(true), "the gateway starts");
    child.kill().await.expect("stop the gateway");
    let mut stdout = child.stdout.take().expect("stdout piped");
    let mut printed = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut printed)
        .await
        .expect("read stdout");
    printed
}

#[tokio::test]
async fn the_binary_prints_a_new_token_once() {
    let mock = MockUpstream::start(&[]).await;
    let root = tempfile::tempdir().expect("dir");
    crate::support::write_config(root.path(), &config(&mock, "{ enabled: true }"));
    let config_dir = root.path().join("config");
    let printed = stdout_until_listening(&config_dir).await;
    let path = root.path().join("cache/api_token");
    let token = std::fs::read_to_string(&path).expect("saved token");
    assert_eq!(
        printed,
        format!(
            "Generated API token (saved to {}): {token}\n",
            path.display()
        )
    );
    assert_eq!(stdout_until_listening(&config_dir).await, "");
    assert_eq!(std::fs::read_to_string(&path).ok(), Some(token));
}
