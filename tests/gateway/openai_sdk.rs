//! The gateway as the official OpenAI Python SDK sees it: a plain call, streamed calls and a
//! tool call, made by `tests/python/openai_sdk_check.py` in a subprocess against a gateway
//! whose channel is a mock upstream. Fails when `python3 -c "import openai"` fails: a missing
//! SDK must not pass silently (`pip install openai`; `.ci/run` installs it).

use std::process::Stdio;
use std::time::Duration;

use crate::support::{MockUpstream, Reply, TestGateway};
use serde_json::json;

fn sdk_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import openai"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[tokio::test]
async fn the_official_python_sdk_works_against_the_gateway() {
    assert!(
        sdk_available(),
        "the OpenAI Python SDK is missing: `python3 -c \"import openai\"` failed; \
         run `pip install openai` (.ci/run does)"
    );
    let a = MockUpstream::start(&[]).await;
    let config = format!(
        "discovery: {{ enabled: false }}\n\
         channels:\n  - {{ id: a, provider: mock, base_url: \"{}\", api_key: sk-test-key-aaaa-0001, \
         configured_models: [gpt-4o-mini] }}\n",
        a.base_url()
    );
    let gateway = TestGateway::start(&config).await;
    // Plain, stream, stream with usage: the mock's echo. Then the tool call.
    for _ in 0..3 {
        a.push(Reply::Echo);
    }
    a.push(Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-tool", "object": "chat.completion", "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function",
                                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}
        }),
        headers: vec![],
    });

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/openai_sdk_check.py"
    );
    let run = tokio::process::Command::new("python3")
        .arg(script)
        .arg(gateway.url("/v1"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the SDK script finishes")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK script failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(stdout.trim(), "ok");

    let sent = a.completions();
    assert_eq!(sent.len(), 4);
    // The SDK's own key never reaches the upstream; the channel's does.
    for request in &sent {
        assert_eq!(
            request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer sk-test-key-aaaa-0001")
        );
    }
    assert_eq!(
        sent[1].json()["stream_options"],
        json!({"include_usage": true})
    );
    assert_eq!(
        sent[3].json()["tools"][0]["function"]["name"],
        "get_weather"
    );
    gateway.stop().await;
}
