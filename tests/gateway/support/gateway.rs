//! Start the real gateway in-process on an ephemeral port, with a config written to a temp dir.
//!
//! A test gives the `router_config.yaml` body (usually with channels pointing at mock
//! upstreams); the harness writes a test `providers.yaml`, points `server.cache_dir` and
//! `usage.dir` (and `history.path`) into the temp dir unless the test set them, and binds
//! `127.0.0.1:0`.

use std::path::{Path, PathBuf};

use serde_yaml::Value;
use smart_ai_router::app::{self, RunningGateway, ServeOptions};
use smart_ai_router::config::ConfigSource;

/// The providers every test config may use. `mock` speaks OpenAI; `mock_local` is local.
pub const TEST_PROVIDERS: &str = r#"
providers:
  mock:       { base_url: "http://127.0.0.1:9/v1", auth: bearer, format: openai }
  mock_local: { base_url: "http://127.0.0.1:9/v1", auth: none, format: openai, is_local: true }
  mock_ollama: { base_url: "http://127.0.0.1:9/v1", auth: none, format: ollama, is_local: true }
  mock_xkey:  { base_url: "http://127.0.0.1:9/v1", auth: x-api-key, format: anthropic, headers: { anthropic-version: "2023-06-01" } }
"#;

/// A gateway serving from a temp dir.
pub struct TestGateway {
    pub dir: tempfile::TempDir,
    pub running: Option<RunningGateway>,
    pub base: String,
    pub client: reqwest::Client,
}

impl TestGateway {
    /// Write `router_config` (YAML) and the test providers, then start.
    pub async fn start(router_config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        write_config(dir.path(), router_config);
        Self::start_in(dir).await
    }

    /// Start on a config dir already written.
    pub async fn start_in(dir: tempfile::TempDir) -> Self {
        let options = ServeOptions {
            source: ConfigSource::new(dir.path().join("config")),
            host: Some("127.0.0.1".into()),
            port: Some(0),
        };
        let running = app::start(options).await.expect("gateway starts");
        let base = format!("http://{}", running.addr);
        Self {
            dir,
            running: Some(running),
            base,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Replace `config/router_config.yaml` with `text` (its paths moved into the temp dir),
    /// as a user editing the file would; returns what was written.
    pub fn rewrite_config(&self, text: &str) -> String {
        let text = with_temp_paths(self.dir.path(), text);
        std::fs::write(self.config_dir().join("router_config.yaml"), &text)
            .expect("rewrite config");
        text
    }

    /// `POST /v1/admin/reload` (with `admin_token` when auth is on): status and JSON body.
    pub async fn reload(&self, admin_token: Option<&str>) -> (u16, serde_json::Value) {
        let mut request = self.client.post(self.url("/v1/admin/reload"));
        if let Some(token) = admin_token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("reload");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json"))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the gateway")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request reaches the gateway")
    }

    pub async fn chat(&self, model: &str) -> reqwest::Response {
        self.post_json(
            "/v1/chat/completions",
            &serde_json::json!({"model": model, "messages": [{"role": "user", "content": "Hello"}]}),
        )
        .await
    }

    /// Wait until every call finished so far is in the usage log and the request history.
    pub async fn flush_history(&self) {
        let state = &self.running.as_ref().expect("gateway running").state;
        state.usage.flush().await;
        if let Some(history) = &state.history {
            history.flush().await;
        }
    }

    /// The history row of `request_id` (`GET /v1/requests/{id}` with `token`), waiting up to
    /// 10 s for the call to be finished and stored (a stream is stored once its relay ends).
    pub async fn history_row(&self, request_id: &str, token: Option<&str>) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            self.flush_history().await;
            let mut request = self
                .client
                .get(self.url(&format!("/v1/requests/{request_id}")));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("history answers");
            if response.status() == 200 {
                return response.json().await.expect("history row is JSON");
            }
            assert_eq!(response.status(), 404, "history lookup failed");
            assert!(
                std::time::Instant::now() < deadline,
                "request {request_id} never reached the history: {:?}",
                self.running
                    .as_ref()
                    .map(|r| r.state.history.as_ref().map(|h| h.health()))
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// Write `config/providers.yaml` and `config/router_config.yaml` under `root`, with cache,
/// logs and history pointed into `root` ([`with_temp_paths`]).
pub fn write_config(root: &Path, router_config: &str) {
    write_config_as_is(root, &with_temp_paths(root, router_config));
}

/// Write `config/providers.yaml` (the test providers) and `router_config` exactly as given
/// (for tests that assert its line numbers) under `root`; the config folder's path.
pub fn write_config_as_is(root: &Path, router_config: &str) -> PathBuf {
    let config = root.join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    std::fs::write(config.join("providers.yaml"), TEST_PROVIDERS).expect("providers.yaml");
    std::fs::write(config.join("router_config.yaml"), router_config).expect("router_config.yaml");
    config
}

/// Point cache and logs into `root` unless the config sets them.
pub fn with_temp_paths(root: &Path, router_config: &str) -> String {
    let mut value: Value = serde_yaml::from_str(router_config).expect("test config is YAML");
    if value.is_null() {
        value = Value::Mapping(Default::default());
    }
    set_default(&mut value, "server", "cache_dir", root.join("cache"));
    set_default(&mut value, "usage", "dir", root.join("logs"));
    set_default(&mut value, "history", "path", root.join("data/history.db"));
    serde_yaml::to_string(&value).expect("serialise test config")
}

fn set_default(value: &mut Value, section: &str, key: &str, path: PathBuf) {
    let Some(map) = value.as_mapping_mut() else {
        return;
    };
    let section = map
        .entry(Value::from(section))
        .or_insert_with(|| Value::Mapping(Default::default()));
    if let Some(section) = section.as_mapping_mut() {
        section
            .entry(Value::from(key))
            .or_insert_with(|| Value::from(path.display().to_string()));
    }
}
