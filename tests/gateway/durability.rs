//! What an operator's mistakes and a failing disk must not do (issue: hardening, round two):
//! a full or failing usage-log directory loses no record quietly and tears no line; a reload
//! never applies an empty file, one being written, or auth turned off by accident; a base
//! URL's credentials stay out of the cache and `check`; a huge `model` is refused before it
//! reaches a record; concurrent huge answers stay within the answer memory budget.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::binary::GatewayProcess;
use crate::support::usage_log::{read_usage, usage_files};
use crate::support::{MockUpstream, Reply, TestGateway};

const TOKEN: &str = "sar-durability-token-0001";

fn config(mock: &MockUpstream, extra: &str) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
{extra}
channels:
  - {{ id: only, provider: mock, base_url: "{}", api_key: sk-dura-0000, timeout_s: 5, configured_models: [dura-model] }}
"#,
        mock.base_url()
    )
}

async fn health(gateway: &TestGateway) -> Value {
    gateway
        .get("/health")
        .await
        .json()
        .await
        .expect("health json")
}

async fn flush(gateway: &TestGateway) {
    let running = gateway.running.as_ref().expect("running");
    running.state.usage.flush().await;
}

async fn chats(gateway: &TestGateway, n: usize) {
    for _ in 0..n {
        assert_eq!(gateway.chat("dura-model").await.status(), 200);
    }
}

/// Every line of every usage file parses as a record.
fn whole_lines(dir: &Path) -> usize {
    let mut count = 0;
    for file in usage_files(dir) {
        let text = std::fs::read_to_string(&file).expect("read log");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a torn or joined line ({e}): {line:.200}"));
            assert!(record["request_id"].is_string());
            count += 1;
        }
    }
    count
}

#[tokio::test]
async fn a_failing_log_directory_is_counted_shown_alerted_and_caught_up() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(&mock, "")).await;
    let logs = gateway.dir.path().join("logs");
    let usage = &gateway.running.as_ref().expect("running").state.usage;
    chats(&gateway, 2).await;
    flush(&gateway).await;
    usage.inject_write_failures(true);
    chats(&gateway, 20).await;
    flush(&gateway).await;
    let h = health(&gateway).await;
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["usage"]["write_errors"], 20);
    assert_eq!(h["usage"]["backlog_records"], 20);
    assert_eq!(h["usage"]["dropped_records"], 0);
    let error = h["usage"]["last_write_error"].as_str().expect("last error");
    assert!(error.contains("No space left on device"), "{error}");
    let metrics = gateway.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("sar_usage_write_errors_total 20"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sar_usage_backlog_records 20"),
        "{metrics}"
    );
    let alerts: Value = gateway
        .get("/v1/stats/alerts")
        .await
        .json()
        .await
        .expect("alerts");
    assert!(
        alerts.to_string().contains("usage_log_write_failed"),
        "{alerts}"
    );
    assert_eq!(read_usage(&logs).len(), 2, "nothing half-written meanwhile");
    usage.inject_write_failures(false);
    chats(&gateway, 1).await;
    flush(&gateway).await;
    assert_eq!(
        whole_lines(&logs),
        23,
        "the backlog is written once the disk works"
    );
    let h = health(&gateway).await;
    assert_eq!(h["status"], "ok");
    assert_eq!(h["usage"]["backlog_records"], 0);
    assert_eq!(h["usage"]["write_errors"], 20);
    gateway.stop().await;
}

/// A 64 KiB tmpfs as the usage directory: it fills up after about a hundred records.
#[tokio::test]
async fn a_full_filesystem_tears_no_line_and_loses_nothing_it_can_keep() {
    let mock = MockUpstream::start(&[]).await;
    let root = tempfile::tempdir().expect("dir");
    let logs = root.path().join("tiny");
    std::fs::create_dir_all(&logs).expect("mount point");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&logs)
        .status()
        .expect("run mount (util-linux)");
    assert!(mounted.success(), "this test mounts a tmpfs: it needs root");
    let extra = format!("usage: {{ dir: \"{}\" }}", logs.display());
    let gateway = TestGateway::start_in({
        crate::support::write_config(root.path(), &config(&mock, &extra));
        root
    })
    .await;
    chats(&gateway, 150).await;
    flush(&gateway).await;
    let h = health(&gateway).await;
    let written = whole_lines(&logs);
    let backlog = h["usage"]["backlog_records"].as_u64().expect("backlog");
    assert_eq!(h["status"], "degraded");
    assert!(
        written > 0 && backlog > 0,
        "written {written}, backlog {backlog}"
    );
    assert_eq!(written as u64 + backlog, 150);
    assert_eq!(h["usage"]["write_errors"], backlog);
    let grown = std::process::Command::new("mount")
        .args(["-o", "remount,size=4m"])
        .arg(&logs)
        .status()
        .expect("remount");
    assert!(grown.success());
    chats(&gateway, 1).await;
    flush(&gateway).await;
    assert_eq!(whole_lines(&logs), 151);
    assert_eq!(health(&gateway).await["status"], "ok");
    gateway.stop().await;
    let _ = std::process::Command::new("umount").arg(&logs).status();
}

fn write_router(gateway: &TestGateway, text: &str) {
    std::fs::write(gateway.config_dir().join("router_config.yaml"), text).expect("write");
}

async fn config_error(gateway: &TestGateway) -> Option<String> {
    health(gateway).await["config_error"]
        .as_str()
        .map(str::to_string)
}

async fn wait_for_config_error(gateway: &TestGateway, containing: &str) -> String {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(e) = config_error(gateway)
                .await
                .filter(|e| e.contains(containing))
            {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no config error with {containing:?}"))
}

async fn status_without_token(gateway: &TestGateway) -> u16 {
    gateway.get("/v1/models").await.status().as_u16()
}

#[tokio::test]
async fn an_emptied_config_file_is_never_applied() {
    let mock = MockUpstream::start(&[]).await;
    let auth = format!("auth: {{ enabled: true, api_token: {TOKEN} }}");
    let gateway = TestGateway::start(&config(&mock, &auth)).await;
    let full = std::fs::read_to_string(gateway.config_dir().join("router_config.yaml"))
        .expect("read config");
    assert_eq!(status_without_token(&gateway).await, 401);
    // Truncate, as `>` or `cp` do, and leave it so: the watcher sees an empty file.
    write_router(&gateway, "");
    let error = wait_for_config_error(&gateway, "empty").await;
    assert!(error.contains("router_config.yaml"), "{error}");
    assert_eq!(status_without_token(&gateway).await, 401, "auth stays on");
    write_router(&gateway, "# just a comment\n");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(status_without_token(&gateway).await, 401);
    // The real content comes back: applied, the error cleared.
    write_router(&gateway, &full);
    let cleared = tokio::time::timeout(Duration::from_secs(10), async {
        while config_error(&gateway).await.is_some() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(cleared.is_ok());
    assert_eq!(status_without_token(&gateway).await, 401);
    gateway.stop().await;
}

#[tokio::test]
async fn check_rejects_an_empty_file_and_blames_the_file_not_the_environment() {
    let root = tempfile::tempdir().expect("dir");
    crate::support::write_config(root.path(), "server: { port: 7000 }\n");
    let source = smart_ai_router::config::ConfigSource::new(root.path().join("config"));
    let router = source.router_path();
    let check = |text: &str| {
        std::fs::write(&router, text).expect("write");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = smart_ai_router::cli::check(&source, &mut out, &mut err);
        (code, String::from_utf8_lossy(&err).to_string())
    };
    let file = router.display().to_string();
    assert_eq!(
        check(""),
        (1, format!("configuration is invalid (1 problem):\n  {file}: the file is empty (or only comments): write the configuration into it (a reload keeps the running config)\n"))
    );
    assert_eq!(check("# nothing here\n").0, 1);
    let (code, err) = check("channels:\n");
    assert_eq!(code, 1);
    assert!(err.contains(&file) && !err.contains("environment"), "{err}");
}

#[tokio::test]
async fn a_reload_may_not_turn_auth_off_unless_the_file_allows_it() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(
        &mock,
        &format!("auth: {{ enabled: true, api_token: {TOKEN} }}"),
    ))
    .await;
    let root = gateway.dir.path().to_path_buf();
    let rewrite = |auth: &str| {
        let text = crate::support::gateway::with_temp_paths(&root, &config(&mock, auth));
        write_router(&gateway, &text);
    };
    rewrite("auth: { enabled: false }");
    let error = wait_for_config_error(&gateway, "allow_disable_on_reload").await;
    assert!(error.contains("router_config.yaml"), "{error}");
    assert_eq!(status_without_token(&gateway).await, 401);
    rewrite("auth: { enabled: false, allow_disable_on_reload: true }");
    let opened = tokio::time::timeout(Duration::from_secs(10), async {
        while status_without_token(&gateway).await != 200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(opened.is_ok(), "an explicit opt-in is applied");
    gateway.stop().await;
}

#[tokio::test]
async fn base_url_credentials_stay_out_of_the_cache_and_check() {
    let mock = MockUpstream::start(&["cred-model"]).await;
    let with_user = mock
        .base_url()
        .replacen("http://", "http://ops:S3cretPassw0rd@", 1);
    let broken = MockUpstream::start(&[]).await;
    broken.set_models_reply(Some(Reply::error(500, "models are down")));
    let broken_url = broken
        .base_url()
        .replacen("http://", "http://ops:Br0kenPassw0rd@", 1);
    let router = format!(
        "discovery: {{ enabled: true, interval_s: 3600, timeout_s: 2 }}\nchannels:\n  - {{ id: lan, provider: mock, base_url: \"{with_user}\", api_key: sk-cred-0000 }}\n  - {{ id: down, provider: mock, base_url: \"{broken_url}\", api_key: sk-cred-0001 }}\n"
    );
    let gateway = TestGateway::start(&router).await;
    let cache = gateway.dir.path().join("cache/channels/lan.json");
    let written = tokio::time::timeout(Duration::from_secs(10), async {
        while !cache.exists() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(written.is_ok(), "discovery writes the cache");
    let error = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let h = health(&gateway).await;
            if let Some(e) = h["discovery"]["down"]["last_error"].as_str() {
                return e.to_string();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the failed discovery shows on /health");
    assert!(error.contains("http://***@127.0.0.1"), "{error}");
    assert!(!error.contains("Br0kenPassw0rd"), "{error}");
    let text = std::fs::read_to_string(&cache).expect("cache");
    assert!(
        !text.contains("S3cretPassw0rd") && !text.contains("ops:"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .ok()
        };
        assert_eq!(mode(&cache), Some(0o600));
        assert_eq!(mode(cache.parent().expect("dir")), Some(0o700));
    }
    let source = smart_ai_router::config::ConfigSource::new(gateway.config_dir());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(smart_ai_router::cli::check(&source, &mut out, &mut err), 0);
    let printed = String::from_utf8_lossy(&out);
    assert!(printed.contains("http://***@127.0.0.1"), "{printed}");
    assert!(!printed.contains("S3cretPassw0rd"), "{printed}");
    gateway.stop().await;
}

#[tokio::test]
async fn a_5_mb_model_is_refused_before_routing_and_never_recorded() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(&mock, "server: { max_body_bytes: 16777216 }")).await;
    let huge = format!("tag:{}", "q".repeat(5 * 1024 * 1024));
    let body = json!({"model": huge, "messages": [{"role": "user", "content": "hi"}]});
    let response = gateway.post_json("/v1/chat/completions", &body).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["param"], "model");
    assert_eq!(
        error["error"]["message"],
        "`model` is 5242884 bytes long; at most 4096 are accepted (a model name or a tag query)."
    );
    // A query under the limit that matches nothing: the 404 shows a bounded piece of it.
    let long = format!("tag:{}", "z".repeat(4000));
    let response = gateway.chat(&long).await;
    assert_eq!(response.status(), 404);
    let error: Value = response.json().await.expect("json");
    let message = error["error"]["message"].as_str().expect("message");
    assert!(
        message.chars().count() < 600,
        "{} chars",
        message.chars().count()
    );
    assert!(message.contains("(cut: "), "{message}");
    flush(&gateway).await;
    assert_eq!(mock.completion_count(), 0);
    for record in read_usage(&gateway.dir.path().join("logs")) {
        assert!(record["query"].as_str().is_some_and(|q| q.len() <= 4096));
    }
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_huge_answers_stay_within_the_answer_budget() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(
        &mock,
        "server: { max_buffered_answer_bytes: 12582912 }",
    ))
    .await;
    // An 8 MB answer: the one read first holds its room until its client has read it.
    let content = "y".repeat(8 * 1024 * 1024);
    let answer = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
    let big = Reply::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: serde_json::to_vec(&answer).expect("answer").into(),
    };
    mock.set_default(big);
    let first = gateway.chat("dura-model").await;
    assert_eq!(first.status(), 200);
    // `first` is not read yet: a second 8 MB answer does not fit beside it.
    let second = gateway.chat("dura-model").await;
    assert_eq!(second.status(), 502);
    let error: Value = second.json().await.expect("json");
    let message = error["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("server.max_buffered_answer_bytes: 12 MiB"),
        "{message}"
    );
    assert_eq!(
        first.bytes().await.expect("first body").len(),
        serde_json::to_vec(&answer).expect("len").len()
    );
    let third = gateway.chat("dura-model").await;
    assert_eq!(
        third.status(),
        200,
        "room is given back once an answer is read"
    );
    // Read, so that the gateway's shutdown does not wait for this connection.
    assert!(third.bytes().await.is_ok_and(|b| !b.is_empty()));
    // The gateway's own lack of room is not held against the channel.
    let metrics = gateway.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains(
            r#"sar_attempts_total{channel="only",model="dura-model",outcome="gateway_busy"} 1"#
        ),
        "{metrics}"
    );
    assert_eq!(health(&gateway).await["status"], "ok");
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_warns_at_start_when_the_log_directory_cannot_be_written_and_still_serves() {
    let mock = MockUpstream::start(&[]).await;
    let root = tempfile::tempdir().expect("dir");
    // A directory under a plain file can never be created.
    let blocker = root.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("file");
    let extra = format!("usage: {{ dir: \"{}\" }}", blocker.join("logs").display());
    crate::support::write_config(root.path(), &config(&mock, &extra));
    let gateway = GatewayProcess::start(&root.path().join("config"), None).await;
    assert_eq!(
        gateway.log_lines_with("the usage log directory is not writable"),
        1
    );
    let client = reqwest::Client::new();
    let health = || async {
        let response = client
            .get(format!("{}/health", gateway.base))
            .send()
            .await
            .expect("health");
        response.json::<Value>().await.expect("json")
    };
    // Degraded from the start, before any call finds out, with the reason.
    let at_start = health().await;
    assert_eq!(at_start["status"], "degraded", "{at_start}");
    assert!(
        at_start["usage"]["last_write_error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot write the usage log in")),
        "{at_start}"
    );
    let chat = client
        .post(format!("{}/v1/chat/completions", gateway.base))
        .json(&json!({"model": "dura-model", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("chat");
    assert_eq!(chat.status(), 200, "it serves all the same");
    let degraded = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let h = health().await;
            if h["usage"]["write_errors"] == 1 {
                return h;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the failed write shows on /health");
    assert_eq!(degraded["status"], "degraded");
    let error = degraded["usage"]["last_write_error"].as_str().unwrap_or("");
    assert!(error.contains("Not a directory"), "{error}");
    gateway.terminate();
    assert!(gateway.exit_within(Duration::from_secs(10)).await.success());
}
