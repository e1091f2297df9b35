//! The command line (README.md), run as the real binary on a temp config dir: `check` exit codes
//! and messages (and `serve` refusing a key's `allow` query that does not parse), `models` with and without a query, `explain`, `stats` over a pre-seeded log,
//! and `logs archive`, whose gzip'd files are read back.

use std::io::Read;
use std::path::Path;

use crate::support::usage_log::{usage_file_name, usage_record, write_log};
use chrono::{Days, Utc};
use serde_json::json;

const CONFIG: &str = r#"
discovery: { enabled: false }
channels:
  - id: cloud
    name: Cloud
    provider: mock
    api_key: sk-cloud-key-123456
    tags: [cloud]
    configured_models: [qwen/qwen3-8b:free, qwen/qwen3-32b, openai/gpt-4o-mini]
    model_pricing:
      qwen/qwen3-32b: { input: 0.1, output: 0.3 }
      openai/gpt-4o-mini: { input: 0.15, output: 0.6 }
  - id: local
    provider: mock_local
    configured_models: ["qwen3:8b"]
  - id: keyless
    provider: mock
    api_key: ${SAR_CLI_TEST_UNSET_KEY}
    configured_models: [some-model-7b]
"#;

/// What a run of the binary printed, and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A temp dir with `config/` holding the test providers and `router_config` written as is
/// (these tests assert its line numbers); the dir and the config folder's path.
fn config_dir_with(router_config: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("dir");
    let config = crate::support::write_config_as_is(dir.path(), router_config);
    (dir, config)
}

fn run(config_dir: &Path, args: &[&str]) -> Run {
    let output = crate::support::binary()
        .arg("--config-dir")
        .arg(config_dir)
        .args(args)
        .env_remove("SAR_CLI_TEST_UNSET_KEY")
        .output()
        .expect("run the binary");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A temp dir holding `config/` (with `cache` and `logs` beside it).
fn configured() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    crate::support::write_config(dir.path(), CONFIG);
    dir
}

#[test]
fn check_prints_a_summary_of_a_valid_config_and_exits_0() {
    let dir = configured();
    let config = dir.path().join("config");
    let out = run(&config, &["check"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let expected = format!(
        "configuration is valid: {router} and {providers}
server: 127.0.0.1:7601   providers: 4   default strategy: cost_first   max attempts: 3
channels: 2 enabled, 1 disabled
  enabled   cloud    mock http://127.0.0.1:9/v1  tags: cloud
  enabled   local    mock_local http://127.0.0.1:9/v1
  disabled  keyless  environment variable SAR_CLI_TEST_UNSET_KEY is not set
",
        router = config.join("router_config.yaml").display(),
        providers = config.join("providers.yaml").display()
    );
    assert_eq!(out.stdout, expected);
}

#[test]
fn check_reports_an_invalid_config_on_stderr_and_exits_1() {
    let (dir, config) =
        config_dir_with("discovery: { enabled: false }\nroutng: { max_attempts: 3 }\n");
    let out = run(&config, &["check"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "configuration is invalid (1 problem):\n  {}:2: routng: unknown key `routng`; did you mean `routing`?\n",
            config.join("router_config.yaml").display()
        )
    );

    let missing = run(&dir.path().join("nowhere"), &["check"]);
    assert_eq!(missing.code, Some(1));
    assert!(
        missing
            .stderr
            .starts_with("configuration is invalid (2 problems):\n"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn check_and_serve_refuse_a_key_whose_allow_query_does_not_parse() {
    let router = "discovery: { enabled: false }\nauth:\n  keys:\n    - name: kids\n      token: kids-token-0123\n      allow: \"tag:free,!\"\n";
    let (_dir, config) = config_dir_with(router);
    let problem = format!(
        r#"{}:6: auth.keys[0].allow: "tag:free,!" is not a usable model query (key "kids"): `!` in "tag:free,!" needs a tag after it, e.g. "tag:free,!local""#,
        config.join("router_config.yaml").display()
    );
    let out = run(&config, &["check"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr,
        format!("configuration is invalid (1 problem):\n  {problem}\n")
    );

    let options = smart_ai_router::app::ServeOptions {
        source: smart_ai_router::config::ConfigSource::new(&config),
        host: Some("127.0.0.1".into()),
        port: Some(0),
    };
    let refused = smart_ai_router::app::start(options).await;
    let error = refused.err().map(|e| e.to_string());
    assert_eq!(error, Some(format!("configuration is invalid:\n{problem}")));
}

#[test]
fn models_lists_the_catalog_or_what_a_query_matches() {
    let dir = configured();
    let config = dir.path().join("config");
    let all = run(&config, &["models"]);
    assert_eq!(all.code, Some(0), "{}", all.stderr);
    assert_eq!(
        all.stdout,
        "\
model                         params  context      price per 1M  tags
cloud/openai/gpt-4o-mini           -     128k      0.15/0.6 USD  openai,gpt,4o,mini,gpt-4o-mini,cloud
cloud/qwen/qwen3-32b             32B     128k       0.1/0.3 USD  qwen,qwen3,32b,qwen3-32b,cloud
cloud/qwen/qwen3-8b:free          8B     128k              free  qwen,qwen3,8b,free,qwen3-8b,cloud
local/qwen3:8b                    8B     128k              free  qwen3,8b,free,local
4 entries
"
    );

    // In rank order: the free model before the paid one.
    let matched = run(&config, &["models", "tag:qwen3,!local"]);
    assert_eq!(matched.code, Some(0), "{}", matched.stderr);
    assert_eq!(
        matched.stdout,
        "\
model                         params  context      price per 1M  tags
cloud/qwen/qwen3-8b:free          8B     128k              free  qwen,qwen3,8b,free,qwen3-8b,cloud
cloud/qwen/qwen3-32b             32B     128k       0.1/0.3 USD  qwen,qwen3,32b,qwen3-32b,cloud
2 entries
"
    );

    let none = run(&config, &["models", "tag:qwen3,nothing"]);
    assert_eq!(none.code, Some(1));
    assert_eq!(none.stdout, "");
    assert_eq!(
        none.stderr,
        "no model matches \"tag:qwen3,nothing\": no model has tag \"nothing\"\n"
    );
}

#[test]
fn explain_prints_the_ranking_and_what_was_dropped() {
    let dir = configured();
    let out = run(&dir.path().join("config"), &["explain", "tag:qwen3,>10b"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "query tag:qwen3,>10b  strategy cost_first  weights: context 0.2, cost 0.4, parameter 0.25, speed 0.15"
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        [
            "rank",
            "channel/model",
            "score",
            "cost",
            "params",
            "context",
            "speed",
            "reliab",
            "quality",
            "free",
            "local"
        ]
    );
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(row[..2], ["1", "cloud/qwen/qwen3-32b"]);
    assert_eq!(row.len(), 11, "rank, name, score and 8 sub-scores");
    assert!(row[2..].iter().all(|n| n.parse::<f64>().is_ok()), "{row:?}");
    assert_eq!(
        lines[3..],
        [
            "dropped:",
            "  cloud/qwen/qwen3-8b:free: fails filter >10b (8 B parameters)",
            "  local/qwen3:8b: fails filter >10b (8 B parameters)"
        ]
    );
}

#[test]
fn stats_prints_todays_figures_from_the_log() {
    let dir = configured();
    let logs = dir.path().join("logs");
    let today = Utc::now().date_naive();
    let yesterday = today - Days::new(1);
    let at = |date: chrono::NaiveDate| format!("{date}T06:00:00.000Z");
    write_log(
        &logs,
        &usage_file_name(today),
        &[
            usage_record(json!({
                "timestamp": at(today), "model": "openai/gpt-4o-mini", "input_tokens": 1000,
                "output_tokens": 500, "total_tokens": 1500, "cached_tokens": 200,
                "total_cost": 0.0045, "response_time_ms": 1000
            }))
            .to_string(),
            usage_record(json!({
                "timestamp": at(today), "model": "qwen/qwen3-32b", "status": "error",
                "input_tokens": 100, "output_tokens": 50, "total_tokens": 150,
                "total_cost": 0.001, "response_time_ms": 200
            }))
            .to_string(),
            "{\"timestamp\": \"truncated".into(),
        ],
    );
    write_log(
        &logs,
        &usage_file_name(yesterday),
        &[usage_record(json!({"timestamp": at(yesterday), "total_cost": 1.0})).to_string()],
    );
    let out = run(&dir.path().join("config"), &["stats"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // Mean of 1000 and 200 ms; p95 is 1000's bucket [992, 1024), reported as 1008.
    let expected = format!(
        "usage on {today} (UTC), from {logs} (3 records read, 1 corrupt lines skipped)
requests 2 (ok 1, failed 1)  tokens 1100 in / 550 out (200 cached)  cost 0.005500  avg 600 ms  p95 1008 ms
  {:<50} {:>6} req  {:>10} tok  {:>12}
  {:<50} {:>6} req  {:>10} tok  {:>12}
",
        "openai/gpt-4o-mini",
        1,
        1500,
        "0.004500",
        "qwen/qwen3-32b",
        1,
        150,
        "0.001000",
        logs = logs.display()
    );
    assert_eq!(out.stdout, expected);

    // A file that cannot be read is named, and the command fails: its figures would be short.
    let broken = logs.join("archive").join(format!(
        "usage_{}.jsonl.gz",
        (today - Days::new(2)).format("%Y%m%d")
    ));
    std::fs::create_dir_all(broken.parent().expect("folder")).expect("archive folder");
    std::fs::write(&broken, b"not gzip").expect("write");
    let out = run(&dir.path().join("config"), &["stats", "--days", "3"]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stderr
            .contains(&format!("cannot read {}: ", broken.display()))
            && out.stderr.contains("its records are not counted above"),
        "{}",
        out.stderr
    );
}

fn gunzip(path: &Path) -> String {
    let file = std::fs::File::open(path).expect("open archive");
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("gunzip");
    text
}

#[test]
fn logs_archive_gzips_old_files_into_the_archive_dir() {
    let dir = configured();
    let logs = dir.path().join("logs");
    let today = Utc::now().date_naive();
    let days_ago = |n: u64| today - Days::new(n);
    let mut originals = Vec::new();
    for n in [0, 1, 2, 10] {
        let date = days_ago(n);
        let line = usage_record(json!({"timestamp": format!("{date}T12:00:00.000Z")})).to_string();
        write_log(&logs, &usage_file_name(date), &[line.clone(), line]);
        let name = usage_file_name(date);
        originals.push((
            date,
            std::fs::read_to_string(logs.join(&name)).expect("log"),
        ));
    }
    let out = run(
        &dir.path().join("config"),
        &["logs", "archive", "--days-to-keep", "1"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    // Older than one day before today: the files of 2 and 10 days ago, oldest first.
    let archive = logs.join("archive");
    let archived: Vec<_> = [days_ago(10), days_ago(2)]
        .iter()
        .map(|date| archive.join(format!("{}.gz", usage_file_name(*date))))
        .collect();
    let bytes_in: usize = originals[2..].iter().map(|(_, text)| text.len()).sum();
    let bytes_out: u64 = archived
        .iter()
        .map(|p| std::fs::metadata(p).expect("archive").len())
        .sum();
    assert_eq!(
        out.stdout,
        format!(
            "archived {}\narchived {}\n2 file(s) archived ({bytes_in} bytes -> {bytes_out} bytes), 2 kept\n",
            archived[0].display(),
            archived[1].display()
        )
    );
    for (date, text) in &originals {
        let plain = logs.join(usage_file_name(*date));
        let gz = archive.join(format!("{}.gz", usage_file_name(*date)));
        if *date >= days_ago(1) {
            assert!(plain.exists() && !gz.exists(), "{date} is kept");
        } else {
            assert!(!plain.exists(), "{date} is moved");
            assert_eq!(&gunzip(&gz), text, "{date} round-trips");
        }
    }
}
