//! Secrets never leak (docs/http-api.md): with trace-level logging on, the real binary routes calls to
//! an upstream that echoes the channel's key back in its errors; the key must not appear in
//! any log line, response body or header, usage or alert record, or cache file.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{MockUpstream, Reply};
use serde_json::json;

const KEY: &str = "sk-LEAKCHECK-8f3a9c1d2e7b";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn the_channel_key_appears_nowhere() {
    let mock = MockUpstream::start(&["leak-model"]).await;
    let echo = format!("Incorrect API key provided: {KEY}. Authorization: Bearer {KEY}");
    mock.set_models_reply(Some(Reply::error(401, &echo)));
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    crate::support::write_config(
        dir.path(),
        &format!(
            r#"
server: {{ port: {port} }}
discovery: {{ enabled: true, interval_s: 3600, timeout_s: 2 }}
channels:
  - {{ id: leaky, provider: mock, base_url: "{}", api_key: "{KEY}", configured_models: [leak-model] }}
"#,
            mock.base_url()
        ),
    );
    let child = crate::support::binary()
        .args(["serve", "--config-dir"])
        .arg(dir.path().join("config"))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    // Read its output while it runs (trace logging would fill a pipe nobody reads).
    let pid = child.id();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/health")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the gateway did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut seen = String::new();
    // The 401 of the discovery at start blacklists the channel (as a call's would) and writes
    // an alert carrying the echoed key (redacted). Wait for it, then lift it so calls go out.
    let status_url = format!("{base}/v1/stats/channel-status");
    loop {
        let status = client.get(&status_url).send().await.expect("status");
        let text = status.text().await.unwrap_or_default();
        if text.contains("\"reason\":\"invalid_api_key\"") {
            seen.push_str(&text);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "discovery's 401 did not blacklist: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cleared = client
        .post(format!("{base}/v1/stats/clear-alerts/leaky"))
        .send()
        .await
        .expect("clear");
    assert_eq!(cleared.status(), 200);
    let chat = |stream: bool| json!({"model": "leak-model", "stream": stream, "messages": [{"role": "user", "content": "hi"}]});
    mock.push(Reply::Echo);
    mock.push(Reply::error(500, &echo));
    mock.push(Reply::error(400, &echo));
    mock.push(Reply::error(401, &echo));
    for body in [
        chat(false),
        chat(false),
        chat(false),
        chat(true),
        chat(false),
    ] {
        let response = client
            .post(format!("{base}/v1/chat/completions"))
            .json(&body)
            .send()
            .await
            .expect("send");
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.unwrap_or_default());
    }
    for path in [
        "/health",
        "/v1/models",
        "/metrics",
        "/v1/route/explain?model=leak-model",
        "/v1/stats/channel-status",
        "/v1/stats/alerts",
        "/v1/stats/daily",
    ] {
        let response = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("get");
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.unwrap_or_default());
    }
    let response = client
        .post(format!("{base}/v1/admin/discover"))
        .send()
        .await
        .expect("discover");
    seen.push_str(&response.text().await.unwrap_or_default());
    assert!(mock.completions().len() >= 3, "the upstream was called");
    // Stop gracefully so every record and alert is flushed.
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let output = output.await.expect("join").expect("output");
    assert!(
        output.status.success(),
        "a graceful exit: {:?}",
        output.status
    );
    let logs = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "trace logging was on"
    );
    assert!(!logs.contains(KEY), "the key leaked into the logs");
    assert!(!seen.contains(KEY), "the key leaked into a response");
    let mut files = Vec::new();
    files_under(dir.path(), &mut files);
    let mut checked = 0;
    for file in files
        .iter()
        .filter(|f| !f.starts_with(dir.path().join("config")))
    {
        let text = String::from_utf8_lossy(&std::fs::read(file).unwrap_or_default()).into_owned();
        assert!(
            !text.contains(KEY),
            "the key leaked into {}",
            file.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 2,
        "usage and alert files were written and checked: {files:?}"
    );
}
