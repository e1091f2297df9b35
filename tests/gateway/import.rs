//! `import one-api`: channels from a One-API and a New-API SQLite database, created here with
//! the `channels` table exactly as those projects' GORM models create it on SQLite (One-API's
//! and New-API's `model/channel.go`), then loaded as a config directory and served.

use std::path::Path;

use rusqlite::Connection;
use smart_ai_router::config::{load_config, ConfigSource};

/// One-API (songquanpeng/one-api) `channels`, as GORM's AutoMigrate writes it on SQLite.
const ONE_API_SCHEMA: &str = "CREATE TABLE `channels` (`id` integer,`type` integer DEFAULT 0,`key` text,`status` integer DEFAULT 1,`name` text,`weight` integer DEFAULT 0,`created_time` bigint,`test_time` bigint,`response_time` integer,`base_url` text DEFAULT '',`other` text,`balance` real,`balance_updated_time` bigint,`models` text,`group` varchar(32) DEFAULT 'default',`used_quota` bigint DEFAULT 0,`model_mapping` varchar(1024) DEFAULT '',`priority` bigint DEFAULT 0,`config` text,`system_prompt` text,PRIMARY KEY (`id`));
CREATE INDEX `idx_channels_name` ON `channels`(`name`);";

/// New-API (QuantumNous/new-api) `channels`, as GORM's AutoMigrate writes it on SQLite.
const NEW_API_SCHEMA: &str = "CREATE TABLE `channels` (`id` integer,`type` integer DEFAULT 0,`key` text NOT NULL,`open_ai_organization` text,`test_model` text,`status` integer DEFAULT 1,`name` text,`weight` integer DEFAULT 0,`created_time` bigint,`test_time` bigint,`response_time` integer,`base_url` text DEFAULT '',`other` text,`balance` real,`balance_updated_time` bigint,`models` text,`group` varchar(64) DEFAULT 'default',`used_quota` bigint DEFAULT 0,`model_mapping` text,`status_code_mapping` varchar(1024) DEFAULT '',`priority` bigint DEFAULT 0,`auto_ban` integer DEFAULT 1,`other_info` text,`tag` text,`setting` text,`param_override` text,`header_override` text,`remark` varchar(255),`channel_info` json,`settings` text,PRIMARY KEY (`id`));
CREATE INDEX `idx_channels_tag` ON `channels`(`tag`);
CREATE INDEX `idx_channels_name` ON `channels`(`name`);";

/// id, type, key, status, name, weight, base_url, models, group, model_mapping, priority.
type OneApiRow<'a> = (
    i64,
    i64,
    &'a str,
    i64,
    &'a str,
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    i64,
);

/// id, type, key, status, name, base_url, models, group, model_mapping, priority, tag.
type NewApiRow<'a> = (
    i64,
    i64,
    &'a str,
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    i64,
    Option<&'a str>,
);

fn one_api_db(path: &Path, mock_base: &str) {
    let db = Connection::open(path).expect("create db");
    db.execute_batch(ONE_API_SCHEMA).expect("schema");
    let insert = "INSERT INTO channels (id, type, key, status, name, weight, created_time, base_url, models, `group`, model_mapping, priority) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1732000000, ?7, ?8, ?9, ?10, ?11)";
    let rows: [OneApiRow; 5] = [
        // OpenAI on its default base URL, with a model mapping.
        (
            1,
            1,
            "sk-oneapi-openai-0123456789",
            1,
            "OpenAI main",
            10,
            "",
            "gpt-4o-mini,gpt-4o",
            "default,vip",
            r#"{"gpt-4o-latest":"gpt-4o"}"#,
            5,
        ),
        // DeepSeek (type 36 in One-API), manually disabled.
        (
            2,
            36,
            "sk-oneapi-deepseek-0123456789",
            2,
            "DeepSeek",
            0,
            "",
            "deepseek-chat",
            "default",
            "",
            0,
        ),
        // A custom OpenAI-compatible upstream (type 8), the mock; two keys, one per line.
        (
            3,
            8,
            "sk-oneapi-custom-0123456789\nsk-oneapi-custom-second",
            1,
            "Relay",
            0,
            mock_base,
            "qwen3-32b",
            "default",
            "",
            0,
        ),
        // Ollama is type 30 in One-API.
        (
            4,
            30,
            "",
            3,
            "Local Ollama",
            0,
            "http://localhost:11434",
            "qwen3:8b",
            "default",
            "",
            0,
        ),
        // Azure (type 3) without a base URL has no provider here: skipped with a note.
        (
            5,
            3,
            "azure-key",
            1,
            "Azure",
            0,
            "",
            "gpt-4",
            "default",
            "",
            0,
        ),
    ];
    for r in rows {
        db.execute(
            insert,
            rusqlite::params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10],
        )
        .expect("insert");
    }
}

fn new_api_db(path: &Path) {
    let db = Connection::open(path).expect("create db");
    db.execute_batch(NEW_API_SCHEMA).expect("schema");
    let insert = "INSERT INTO channels (id, type, key, status, name, weight, base_url, models, `group`, model_mapping, priority, tag, channel_info, settings) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11, '{}', '')";
    let rows: [NewApiRow; 4] = [
        // SiliconFlow is type 40 in New-API (Doubao in One-API).
        (
            7,
            40,
            "sk-newapi-sf-0123456789",
            1,
            "SiliconFlow",
            "",
            "Qwen/Qwen3-8B",
            "default",
            None,
            0,
            Some("cheap"),
        ),
        // Ollama is type 4 in New-API.
        (
            8,
            4,
            "",
            1,
            "Ollama box",
            "http://192.168.1.20:11434",
            "llama3.2:3b",
            "default",
            Some(""),
            0,
            None,
        ),
        // DeepSeek is type 43 in New-API; disabled automatically (status 3).
        (
            9,
            43,
            "sk-newapi-ds-0123456789",
            3,
            "DeepSeek",
            "",
            "deepseek-chat",
            "default",
            Some(r#"{"deepseek-v3":"deepseek-chat"}"#),
            2,
            Some("cn"),
        ),
        // Anthropic on its default URL.
        (
            10,
            14,
            "sk-ant-newapi-0123456789",
            1,
            "Claude",
            "https://api.anthropic.com",
            "claude-sonnet-4-5",
            "default",
            None,
            0,
            None,
        ),
    ];
    for r in rows {
        db.execute(
            insert,
            rusqlite::params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10],
        )
        .expect("insert");
    }
}

fn import(db: &Path, dir: &Path) -> (i32, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code =
        smart_ai_router::cli::import_one_api(db, &ConfigSource::new(dir), &mut out, &mut err);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    (code, text)
}

#[test]
fn a_one_api_database_becomes_a_complete_config_directory() {
    let tmp = tempfile::tempdir().expect("dir");
    let db = tmp.path().join("one-api.db");
    one_api_db(&db, "http://127.0.0.1:9");
    let dir = tmp.path().join("config");
    let (code, out) = import(&db, &dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("imported 4 channel(s) from a One-API database (2 disabled there), 3 key(s) in secrets.env"), "{out}");
    assert!(
        out.contains("row 5 (\"Azure\"): type 3 has no provider here and no base_url; skipped"),
        "{out}"
    );
    assert!(
        out.contains("oneapi_3: 2 keys in the source; the first is imported"),
        "{out}"
    );

    let yaml = std::fs::read_to_string(dir.join("router_config.yaml")).expect("router");
    for key in ["sk-oneapi", "azure-key"] {
        assert!(!yaml.contains(key), "a key reached the YAML:\n{yaml}");
    }
    let secrets = std::fs::read_to_string(dir.join("secrets.env")).expect("secrets");
    assert!(
        secrets.contains("SAR_KEY_ONEAPI_1=sk-oneapi-openai-0123456789\n"),
        "{secrets}"
    );
    assert!(
        secrets.contains("SAR_KEY_ONEAPI_3=sk-oneapi-custom-0123456789\n"),
        "{secrets}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("secrets.env"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let config = load_config(&ConfigSource::new(&dir)).expect("the imported dir loads");
    let ids: Vec<&str> = config.channels.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["oneapi_1", "oneapi_2", "oneapi_3", "oneapi_4"]);
    let openai = config.channel("oneapi_1").expect("openai");
    assert_eq!(openai.provider.key, "openai");
    assert_eq!(openai.base_url, "https://api.openai.com/v1");
    assert_eq!(
        openai.api_key.as_ref().map(|k| k.expose().to_string()),
        Some("sk-oneapi-openai-0123456789".into())
    );
    assert_eq!(openai.configured_models, ["gpt-4o-mini", "gpt-4o"]);
    assert_eq!(
        openai
            .model_aliases
            .get("gpt-4o-latest")
            .map(String::as_str),
        Some("gpt-4o")
    );
    assert_eq!(openai.tags, ["vip"]);
    assert_eq!(openai.priority, 5);
    let deepseek = config.channel("oneapi_2").expect("deepseek");
    assert_eq!(
        (deepseek.provider.key.as_str(), deepseek.enabled),
        ("deepseek", false)
    );
    let relay = config.channel("oneapi_3").expect("relay");
    assert_eq!(
        (relay.provider.key.as_str(), relay.base_url.as_str()),
        ("openai_compatible", "http://127.0.0.1:9/v1")
    );
    let ollama = config.channel("oneapi_4").expect("ollama");
    assert_eq!(
        (ollama.provider.key.as_str(), ollama.enabled),
        ("ollama", false)
    );
    // The source's default URL for the type: the provider's own is used.
    assert_eq!(ollama.base_url, "http://127.0.0.1:11434/v1");
}

#[test]
fn a_new_api_database_merges_into_an_existing_config() {
    let tmp = tempfile::tempdir().expect("dir");
    let db = tmp.path().join("new-api.db");
    new_api_db(&db);
    let dir = tmp.path().join("config");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("providers.yaml"),
        smart_ai_router::config::BUILTIN_PROVIDERS,
    )
    .expect("providers");
    std::fs::write(
        dir.join("router_config.yaml"),
        "server: { port: 7777 }\nchannels:\n  - { id: mine, provider: ollama }\n  - { id: newapi_7, provider: openai, api_key: old }\n",
    )
    .expect("router");
    let (code, out) = import(&db, &dir);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("imported 4 channel(s) from a New-API database (1 disabled there), 3 key(s)"),
        "{out}"
    );
    assert!(dir.join("router_config.yaml.bak").exists());

    let config = load_config(&ConfigSource::new(&dir)).expect("merged dir loads");
    assert_eq!(config.server.port, 7777);
    let ids: Vec<&str> = config.channels.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["mine", "newapi_7", "newapi_8", "newapi_9", "newapi_10"]
    );
    let sf = config.channel("newapi_7").expect("siliconflow");
    assert_eq!(
        (sf.provider.key.as_str(), sf.base_url.as_str()),
        ("siliconflow", "https://api.siliconflow.cn/v1")
    );
    assert_eq!(sf.tags, ["cheap"]);
    let ollama = config.channel("newapi_8").expect("ollama");
    assert_eq!(
        (
            ollama.provider.key.as_str(),
            ollama.base_url.as_str(),
            ollama.enabled
        ),
        ("ollama", "http://192.168.1.20:11434/v1", true)
    );
    let ds = config.channel("newapi_9").expect("deepseek");
    assert_eq!(
        (ds.provider.key.as_str(), ds.enabled, ds.priority),
        ("deepseek", false, 2)
    );
    assert_eq!(
        ds.model_aliases.get("deepseek-v3").map(String::as_str),
        Some("deepseek-chat")
    );
    assert_eq!(ds.tags, ["cn"]);
    let claude = config.channel("newapi_10").expect("anthropic");
    assert_eq!(
        (claude.provider.key.as_str(), claude.base_url.as_str()),
        ("anthropic", "https://api.anthropic.com/v1")
    );
}

#[tokio::test]
async fn an_imported_channel_serves_with_its_key_from_secrets_env() {
    let upstream = crate::support::MockUpstream::start(&["qwen3-32b"]).await;
    let tmp = tempfile::tempdir().expect("dir");
    let db = tmp.path().join("one-api.db");
    one_api_db(&db, &format!("http://{}", upstream.addr));
    let dir = tmp.path().join("config");
    let (code, out) = import(&db, &dir);
    assert_eq!(code, 0, "{out}");
    // Cache and logs into the temp dir, and no discovery of the real providers.
    let router = std::fs::read_to_string(dir.join("router_config.yaml")).expect("router");
    let router = format!("{router}\ndiscovery: {{ enabled: false }}\n");
    std::fs::write(
        dir.join("router_config.yaml"),
        crate::support::gateway::with_temp_paths(tmp.path(), &router),
    )
    .expect("write");
    let gateway = crate::support::TestGateway::start_in(tmp).await;
    let answer = gateway.chat("qwen3-32b").await;
    assert_eq!(answer.status(), 200);
    let recorded = upstream.completions();
    assert_eq!(
        recorded[0]
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer sk-oneapi-custom-0123456789")
    );
    gateway.stop().await;
}

#[test]
fn text_from_the_database_is_imported_literally_and_odd_rows_do_not_stop_the_import() {
    let tmp = tempfile::tempdir().expect("dir");
    let db_path = tmp.path().join("one-api.db");
    let db = Connection::open(&db_path).expect("create db");
    db.execute_batch(ONE_API_SCHEMA).expect("schema");
    // Row 1 names the variable row 2's key will be written to; row 2 has a weight and a
    // status stored as text; row 3's key is not UTF-8.
    db.execute_batch(
        "INSERT INTO channels (id, type, key, status, name, weight, base_url, models, model_mapping) VALUES
           (1, 8, 'sk-first-0123456789', 1, '${SAR_KEY_ONEAPI_2}', 0, 'http://127.0.0.1:9/${SAR_KEY_ONEAPI_2}',
            'm-${SAR_KEY_ONEAPI_2}', '{\"alias-${SAR_KEY_ONEAPI_2}\":\"m-${SAR_KEY_ONEAPI_2}\"}'),
           (2, 8, 'sk-second-secret-0123456789', '1', 'Second', 'x', 'http://127.0.0.1:9', 'm2', ''),
           (3, 8, X'FFFE', 1, 'Third', 0, 'http://127.0.0.1:9', 'm3', '');",
    )
    .expect("rows");
    drop(db);
    let dir = tmp.path().join("config");
    let (code, out) = import(&db_path, &dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("imported 3 channel(s)"), "{out}");
    assert!(
        out.contains("oneapi_3: its key is not UTF-8 text; imported without a key"),
        "{out}"
    );
    let config = load_config(&ConfigSource::new(&dir)).expect("the imported dir loads");
    let first = config.channel("oneapi_1").expect("first");
    assert_eq!(first.name, "${SAR_KEY_ONEAPI_2}");
    assert_eq!(first.configured_models, ["m-${SAR_KEY_ONEAPI_2}"]);
    let aliases: Vec<(&str, &str)> = first
        .model_aliases
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        aliases,
        [("alias-${sar_key_oneapi_2}", "m-${SAR_KEY_ONEAPI_2}")]
    );
    assert!(!first.base_url.contains("sk-second"), "{}", first.base_url);
    let second = config.channel("oneapi_2").expect("second");
    assert!(second.enabled, "status '1' stored as text is 1");
    assert_eq!(
        second.api_key.as_ref().map(|k| k.expose().to_string()),
        Some("sk-second-secret-0123456789".into())
    );
    let third = config.channel("oneapi_3").expect("third");
    assert!(third.api_key.is_none());
}
