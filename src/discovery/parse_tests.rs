//! Tests of the model-list parsers against real provider responses.

use super::*;
use proptest::prelude::*;
use serde_json::json;

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/discovery/");

fn parse_file(format: ResponseFormat, name: &str) -> Vec<DiscoveredModel> {
    let body = std::fs::read(format!("{DATA_DIR}{name}")).expect("test data file");
    parse_model_list(format, &body).expect("sample parses")
}

fn find<'a>(models: &'a [DiscoveredModel], id: &str) -> &'a DiscoveredModel {
    models
        .iter()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

fn prices(m: &DiscoveredModel) -> (Option<f64>, Option<f64>, Option<f64>) {
    (m.input_per_1m, m.output_per_1m, m.cached_input_per_1m)
}

fn error_of(body: &[u8]) -> String {
    parse_model_list(ResponseFormat::OpenAi, body)
        .expect_err("should fail")
        .to_string()
}

fn kind(m: &DiscoveredModel) -> Option<&str> {
    m.kind_hint.as_deref()
}

#[test]
fn every_sample_yields_its_documented_model_count() {
    use ResponseFormat::{Anthropic, Ollama, OpenAi};
    let cases = [
        ("openai.json", OpenAi, 75),
        ("groq.json", OpenAi, 22),
        ("mistral.json", OpenAi, 62),
        ("together.json", OpenAi, 88),
        ("anthropic.json", Anthropic, 8),
        ("xai.json", OpenAi, 8),
        ("ollama_v1_models.json", OpenAi, 11),
        ("cohere.json", OpenAi, 21),
        ("siliconflow.json", OpenAi, 128),
        ("deepseek.json", OpenAi, 2),
        ("ollama_api_tags.json", Ollama, 7),
        ("openrouter_models.json", OpenAi, 414),
        ("openrouter_models_all.json", OpenAi, 549),
        ("openrouter_2025-07.json", OpenAi, 319),
        ("lmstudio_api_v0_models.json", OpenAi, 3),
        ("lmstudio_api_v1_models.json", OpenAi, 3),
        ("lmstudio_v1_models.json", OpenAi, 8),
        ("volcengine_ark_doubao.json", OpenAi, 102),
        ("novita.json", OpenAi, 50),
        ("fireworks.json", OpenAi, 27),
        ("hyperbolic.json", OpenAi, 22),
        ("chutes.json", OpenAi, 62),
        ("vercel.json", OpenAi, 78),
        ("sambanova.json", OpenAi, 10),
        ("venice.json", OpenAi, 13),
        ("github.json", OpenAi, 54),
        ("github-copilot.json", OpenAi, 24),
        ("requesty.json", OpenAi, 5),
    ];
    for (name, format, expected) in cases {
        let body = std::fs::read(format!("{DATA_DIR}{name}")).expect("test data file");
        let list = parse_model_list_counted(format, &body).expect("sample parses");
        assert_eq!(list.models.len(), expected, "{name}");
        assert_eq!(list.skipped, SkippedEntries::default(), "{name}");
    }
}

#[test]
fn openai_style_lists_keep_ids_in_order_with_no_invented_facts() {
    let models = parse_file(ResponseFormat::OpenAi, "openai.json");
    assert_eq!(models[0].id, "gpt-4-0613");
    assert_eq!(models[0].context_tokens, None);
    assert_eq!(prices(&models[0]), (None, None, None));
    assert_eq!(kind(&models[0]), None);
    assert_eq!(models[0].raw["owned_by"], "openai");
    let ids: Vec<_> = parse_file(ResponseFormat::OpenAi, "deepseek.json")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["deepseek-chat", "deepseek-reasoner"]);
    let silicon = parse_file(ResponseFormat::OpenAi, "siliconflow.json");
    assert_eq!(silicon[0].id, "Pro/zai-org/GLM-4.7");
    assert_eq!(
        parse_file(ResponseFormat::OpenAi, "xai.json")[0].id,
        "grok-2-1212"
    );
}

#[test]
fn openrouter_prices_are_exact_per_million() {
    let models = parse_file(ResponseFormat::OpenAi, "openrouter_models.json");
    let qwen = find(&models, "qwen/qwen3.8-27b");
    assert_eq!(qwen.context_tokens, Some(262_144));
    assert_eq!(prices(qwen), (Some(0.45), Some(3.2), Some(0.05)));
    assert_eq!(kind(qwen), Some("chat"));
    let free = find(&models, "dots-studio/dots-3-note-preview:free");
    assert_eq!(free.context_tokens, Some(512_000));
    assert_eq!(prices(free), (Some(0.0), Some(0.0), None));
    let router = find(&models, "openrouter/auto");
    assert_eq!(prices(router), (None, None, None));
    assert_eq!(router.context_tokens, Some(2_000_000));
    let tiered = find(&models, "bytedance-seed/seed-2.0-code");
    assert_eq!(prices(tiered), (Some(0.5), Some(3.0), None));
    let free_count = models.iter().filter(|m| m.id.ends_with(":free")).count();
    let zero_priced = models
        .iter()
        .filter(|m| m.id.ends_with(":free"))
        .filter(|m| m.input_per_1m == Some(0.0) && m.output_per_1m == Some(0.0))
        .count();
    assert_eq!((free_count, zero_priced), (17, 17));
}

#[test]
fn openrouter_all_outputs_map_to_kinds() {
    let models = parse_file(ResponseFormat::OpenAi, "openrouter_models_all.json");
    let count = |k: &str| models.iter().filter(|m| kind(m) == Some(k)).count();
    let counts = [
        count("chat"),
        count("image"),
        count("embedding"),
        count("audio"),
        count("rerank"),
    ];
    assert_eq!(counts, [414, 57, 34, 37, 7]);
    let embed = find(&models, "perplexity/pplx-embed-v1-0.6b");
    assert_eq!(prices(embed), (Some(0.004), Some(0.0), None));
    assert_eq!(embed.context_tokens, Some(32_000));
    let stt = find(&models, "mistralai/voxtral-mini-3b-2507");
    assert_eq!(stt.input_per_1m, Some(16.6667));
    assert_eq!(stt.context_tokens, None);
    assert_eq!(kind(stt), Some("audio"));
    assert_eq!(kind(find(&models, "google/veo-3.1")), Some("image"));
    assert_eq!(
        find(&models, "openai/text-embedding-3-large:batch").input_per_1m,
        Some(0.065)
    );
}

#[test]
fn old_openrouter_dump_with_sorted_keys() {
    let models = parse_file(ResponseFormat::OpenAi, "openrouter_2025-07.json");
    let free = find(&models, "qwen/qwen3-30b-a3b:free");
    assert_eq!(prices(free), (Some(0.0), Some(0.0), None));
    assert_eq!(kind(free), Some("chat"));
    let free_count = models.iter().filter(|m| m.id.ends_with(":free")).count();
    assert_eq!(free_count, 55);
    assert_eq!(prices(find(&models, "openrouter/auto")), (None, None, None));
}

#[test]
fn groq_context_window() {
    let models = parse_file(ResponseFormat::OpenAi, "groq.json");
    assert_eq!(
        find(&models, "llama-3.1-8b-instant").context_tokens,
        Some(131_072)
    );
    assert_eq!(find(&models, "whisper-large-v3").context_tokens, Some(448));
    assert_eq!(
        find(&models, "qwen/qwen3-32b").raw["max_completion_tokens"],
        40960
    );
}

#[test]
fn mistral_context_and_chat_capability_aliases_not_added() {
    let models = parse_file(ResponseFormat::OpenAi, "mistral.json");
    let codestral = find(&models, "codestral-2501");
    assert_eq!(codestral.context_tokens, Some(262_144));
    assert_eq!(kind(codestral), Some("chat"));
    assert_eq!(
        find(&models, "magistral-small-2506").context_tokens,
        Some(40_000)
    );
    assert_eq!(kind(find(&models, "mistral-embed")), None);
    assert_eq!(kind(find(&models, "mistral-moderation-latest")), None);
}

#[test]
fn together_bare_array_prices_per_million_and_types() {
    let models = parse_file(ResponseFormat::OpenAi, "together.json");
    let llama = find(&models, "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo");
    assert_eq!(prices(llama), (Some(0.18), Some(0.18), None));
    assert_eq!(llama.context_tokens, Some(131_072));
    assert_eq!(kind(llama), Some("chat"));
    let r1 = find(&models, "perplexity-ai/r1-1776");
    assert_eq!(prices(r1), (Some(3.0), Some(7.0), None));
    let sonic = find(&models, "cartesia/sonic");
    assert_eq!((sonic.context_tokens, kind(sonic)), (None, Some("audio")));
    let kinds = [
        ("togethercomputer/m2-bert-80M-32k-retrieval", "embedding"),
        ("Salesforce/Llama-Rank-V1", "rerank"),
        ("meta-llama/Meta-Llama-Guard-3-8B", "moderation"),
        ("black-forest-labs/FLUX.1-pro", "image"),
        ("openai/whisper-large-v3", "audio"),
        ("meta-llama/Llama-2-70b-hf", "chat"),
    ];
    for (id, expected) in kinds {
        assert_eq!(kind(find(&models, id)), Some(expected), "{id}");
    }
    let embed = find(&models, "togethercomputer/m2-bert-80M-32k-retrieval");
    assert_eq!(embed.input_per_1m, Some(0.008));
}

#[test]
fn anthropic_list_has_ids_only() {
    let models = parse_file(ResponseFormat::Anthropic, "anthropic.json");
    let opus = find(&models, "claude-opus-4-20250514");
    assert_eq!((opus.context_tokens, kind(opus)), (None, None));
    assert_eq!(opus.raw["display_name"], "Claude Opus 4");
}

#[test]
fn cohere_names_endpoints_and_context() {
    let models = parse_file(ResponseFormat::OpenAi, "cohere.json");
    let cases = [
        ("embed-english-light-v3.0", Some("embedding"), Some(512)),
        ("rerank-v3.5", Some("rerank"), Some(4096)),
        ("command-a-03-2025", Some("chat"), Some(288_000)),
        ("embed-english-v3.0-image", Some("embedding"), None),
    ];
    for (id, expected_kind, context) in cases {
        let model = find(&models, id);
        assert_eq!(
            (kind(model), model.context_tokens),
            (expected_kind, context),
            "{id}"
        );
    }
}

#[test]
fn ollama_tags_parameter_sizes_and_embedding_family() {
    let models = parse_file(ResponseFormat::Ollama, "ollama_api_tags.json");
    let qwen = find(&models, "qwen2.5:14b-instruct");
    assert_eq!((qwen.params_b, qwen.active_params_b), (Some(14.8), None));
    assert_eq!(kind(qwen), None);
    let nomic = find(&models, "nomic-embed-text:latest");
    assert_eq!(
        (nomic.params_b, kind(nomic)),
        (Some(0.137), Some("embedding"))
    );
    let llava = find(&models, "llava:7b");
    assert_eq!((llava.params_b, kind(llava)), (Some(7.0), None));
    assert_eq!(find(&models, "codellama:latest").params_b, Some(7.0));
    let ids: Vec<_> = parse_file(ResponseFormat::OpenAi, "ollama_v1_models.json")
        .into_iter()
        .take(2)
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["dengcao/Qwen3-Embedding-4B:Q8_0", "gemma3n:latest"]);
}

#[test]
fn lmstudio_v0_types_and_context() {
    let models = parse_file(ResponseFormat::OpenAi, "lmstudio_api_v0_models.json");
    let embed = find(&models, "text-embedding-nomic-embed-text-v1.5");
    assert_eq!(
        (kind(embed), embed.context_tokens),
        (Some("embedding"), Some(2048))
    );
    let vlm = find(&models, "qwen2-vl-7b-instruct");
    assert_eq!(
        (kind(vlm), vlm.context_tokens),
        (Some("chat"), Some(32_768))
    );
}

#[test]
fn lmstudio_native_v1_keys_and_params_strings() {
    let models = parse_file(ResponseFormat::OpenAi, "lmstudio_api_v1_models.json");
    let gemma = find(&models, "google/gemma-4-26b-a4b");
    assert_eq!(
        (gemma.params_b, gemma.active_params_b),
        (Some(26.0), Some(4.0))
    );
    assert_eq!(gemma.context_tokens, Some(262_144));
    assert_eq!(find(&models, "deepseek-r1").params_b, Some(671.0));
    let embed = find(&models, "text-embedding-nomic-embed-text-v1.5-embedding");
    assert_eq!((kind(embed), embed.params_b), (Some("embedding"), None));
    let wrapped = parse_file(ResponseFormat::OpenAi, "lmstudio_v1_models.json");
    assert_eq!(wrapped[0].id, "deepseek-r1-distill-qwen-7b");
}

#[test]
fn volcengine_reduced_list_uses_id_not_name() {
    let models = parse_file(ResponseFormat::OpenAi, "volcengine_ark_doubao.json");
    assert_eq!(models[0].id, "doubao-seedance-1-5-pro-251215");
    assert_eq!(models[101].id, "doubao-lite-128k-240428");
}

#[test]
fn novita_prices_are_ten_thousandths_per_million() {
    let models = parse_file(ResponseFormat::OpenAi, "novita.json");
    let v3 = find(&models, "deepseek/deepseek-v3-0324");
    assert_eq!(prices(v3), (Some(0.28), Some(1.14), None));
    assert_eq!((v3.context_tokens, kind(v3)), (Some(163_840), Some("chat")));
    let llama = find(&models, "meta-llama/llama-3.1-8b-instruct");
    assert_eq!(prices(llama), (Some(0.02), Some(0.05), None));
}

#[test]
fn other_openai_style_extensions() {
    let fireworks = parse_file(ResponseFormat::OpenAi, "fireworks.json");
    let llama = find(
        &fireworks,
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
    );
    assert_eq!((llama.context_tokens, kind(llama)), (Some(131_072), None));
    let flux = find(&fireworks, "accounts/fireworks/models/flux-kontext-max");
    assert_eq!(flux.context_tokens, None);
    let hyperbolic = parse_file(ResponseFormat::OpenAi, "hyperbolic.json");
    let qwen = find(&hyperbolic, "Qwen/Qwen2.5-72B-Instruct");
    assert_eq!(qwen.context_tokens, Some(131_072));
    let chutes = parse_file(ResponseFormat::OpenAi, "chutes.json");
    let r1 = find(&chutes, "deepseek-ai/DeepSeek-R1");
    assert_eq!(prices(r1), (Some(0.27216), Some(0.27216), None));
    assert_eq!(r1.context_tokens, Some(163_840));
    let glm = find(&chutes, "THUDM/GLM-Z1-32B-0414");
    assert_eq!(glm.input_per_1m, Some(0.03024));
    let vercel = parse_file(ResponseFormat::OpenAi, "vercel.json");
    let qwen3 = find(&vercel, "alibaba/qwen-3-14b");
    assert_eq!(prices(qwen3), (Some(0.08), Some(0.24), None));
    assert_eq!(qwen3.context_tokens, Some(40_960));
    let samba = parse_file(ResponseFormat::OpenAi, "sambanova.json");
    let r1 = find(&samba, "DeepSeek-R1-0528");
    assert_eq!(prices(r1), (Some(5.0), Some(7.0), None));
    assert_eq!(r1.context_tokens, Some(32_768));
}

#[test]
fn venice_github_copilot_requesty() {
    let venice = parse_file(ResponseFormat::OpenAi, "venice.json");
    let big = find(&venice, "qwen3-235b");
    assert_eq!(prices(big), (Some(1.5), Some(6.0), None));
    assert_eq!(
        (big.context_tokens, kind(big)),
        (Some(131_072), Some("chat"))
    );
    let github = parse_file(ResponseFormat::OpenAi, "github.json");
    let embed = find(&github, "openai/text-embedding-3-small");
    assert_eq!(
        (kind(embed), embed.context_tokens),
        (Some("embedding"), Some(8191))
    );
    assert_eq!(
        kind(find(&github, "microsoft/phi-3.5-vision-instruct")),
        None
    );
    assert_eq!(kind(find(&github, "openai/gpt-4.1")), Some("chat"));
    let copilot = parse_file(ResponseFormat::OpenAi, "github-copilot.json");
    let gpt = find(&copilot, "gpt-4.1");
    assert_eq!(
        (kind(gpt), gpt.context_tokens),
        (Some("chat"), Some(128_000))
    );
    assert_eq!(
        kind(find(&copilot, "text-embedding-3-small")),
        Some("embedding")
    );
    let requesty = parse_file(ResponseFormat::OpenAi, "requesty.json");
    let gemini = find(&requesty, "google/gemini-2.5-pro");
    assert_eq!(prices(gemini), (Some(1.25), Some(10.0), Some(0.31)));
    assert_eq!(gemini.context_tokens, Some(1_048_576));
}

#[test]
fn errors_say_what_the_body_was() {
    let shape = "expected a JSON object with `data` or `models`, or an array";
    let cases: [(&[u8], String); 12] = [
        (
            b"not json",
            "not JSON: expected ident at line 1 column 2".into(),
        ),
        (
            b"{\"data\": [1,2",
            "not JSON: EOF while parsing a list at line 1 column 13".into(),
        ),
        (
            b"{\"data\":[]} x",
            "not JSON: trailing characters at line 1 column 13".into(),
        ),
        (
            b"\n<!DOCTYPE html>\n<html><title>502 Bad Gateway</title>",
            "not JSON but an HTML page (starts with \"<!DOCTYPE html>\"); \
             check the channel's base_url and models_endpoint"
                .into(),
        ),
        (
            b"<?xml version=\"1.0\"?><Error/>",
            "not JSON but markup (HTML or XML) (starts with \"<?xml version=\"1.0\"?><Error/>\"); \
             check the channel's base_url and models_endpoint"
                .into(),
        ),
        (b"\"hello\"", format!("{shape}; got a string")),
        (b"42", format!("{shape}; got a number")),
        (b"null", format!("{shape}; got null")),
        (b"{}", format!("{shape}; got an empty object")),
        (
            b"{\"object\":\"list\",\"items\":[]}",
            format!("{shape}; got an object with keys `items`, `object`"),
        ),
        (
            b"{\"data\":{\"a\":1}}",
            "`data` should be an array of models; got an object".into(),
        ),
        (b" \n", format!("empty body; {shape}")),
    ];
    for (body, expected) in cases {
        assert_eq!(
            error_of(body),
            expected,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn upstream_error_bodies_quote_the_upstream_message() {
    let openai = br#"{"error":{"message":"Incorrect API key provided: sk-abc.","type":"invalid_request_error","code":"invalid_api_key"}}"#;
    assert_eq!(
        error_of(openai),
        "upstream returned an error: Incorrect API key provided: sk-abc."
    );
    let anthropic = br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
    assert_eq!(
        error_of(anthropic),
        "upstream returned an error: invalid x-api-key"
    );
    assert_eq!(
        error_of(br#"{"error":"unauthorized"}"#),
        "upstream returned an error: unauthorized"
    );
    assert_eq!(
        error_of(br#"{"error":{"code":401}}"#),
        "upstream returned an error: {\"code\":401}"
    );
    assert_eq!(
        error_of(br#"{"detail":"Not Found"}"#),
        "upstream returned an error: Not Found"
    );
    assert_eq!(
        error_of(br#"{"data":null,"error":"boom"}"#),
        "upstream returned an error: boom"
    );
    let long = json!({ "error": { "message": format!("é\n{}", "x".repeat(300)) } });
    let expected = format!("upstream returned an error: é {}…", "x".repeat(198));
    assert_eq!(error_of(long.to_string().as_bytes()), expected);
}

#[test]
fn empty_and_null_lists_are_ok() {
    for body in [
        &b"[]"[..],
        b"{\"data\":[]}",
        b"{\"object\":\"list\",\"data\":null}",
        b"{\"models\":[]}",
    ] {
        assert_eq!(parse_model_list(ResponseFormat::OpenAi, body), Ok(vec![]));
    }
    let with_bom = b"\xEF\xBB\xBF{\"data\":[{\"id\":\"a\"}]}";
    let models = parse_model_list(ResponseFormat::OpenAi, with_bom).expect("BOM is skipped");
    assert_eq!(models[0].id, "a");
}

#[test]
fn entries_without_usable_id_are_skipped_and_counted() {
    let body = json!([
        {"id": 1}, {"name": "by-name"}, {"id": ""}, {"id": "  "}, null, 3, "bare-id",
        {"object": "model"}, {"id": null, "name": "null-id-falls-through"}, {"key": "k"},
        {"id": " Spaced/Case "}
    ]);
    let list = parse_model_list_counted(ResponseFormat::OpenAi, body.to_string().as_bytes())
        .expect("array");
    let ids: Vec<_> = list.models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "by-name",
            "bare-id",
            "null-id-falls-through",
            "k",
            " Spaced/Case "
        ]
    );
    assert_eq!(list.skipped.without_id, 6);
    assert_eq!(list.models[1].raw, json!("bare-id"));
}

#[test]
fn duplicates_first_wins_and_inactive_skipped() {
    let body = json!({"data": [
        {"id": "a", "context_length": 1}, {"id": "A"}, {"id": "a", "context_length": 2},
        {"id": "gone", "active": false}, {"id": "live", "active": true}
    ]});
    let list = parse_model_list_counted(ResponseFormat::OpenAi, body.to_string().as_bytes())
        .expect("list");
    let ids: Vec<_> = list
        .models
        .iter()
        .map(|m| (m.id.as_str(), m.context_tokens))
        .collect();
    assert_eq!(ids, [("a", Some(1)), ("A", None), ("live", None)]);
    let expected = SkippedEntries {
        without_id: 0,
        duplicate: 1,
        inactive: 1,
    };
    assert_eq!(list.skipped, expected);
}

#[test]
fn format_breaks_the_tie_between_data_and_models() {
    let body = br#"{"data":[{"id":"d"}],"models":[{"name":"m"}]}"#;
    let first = |format| parse_model_list(format, body).expect("list")[0].id.clone();
    assert_eq!(first(ResponseFormat::OpenAi), "d");
    assert_eq!(first(ResponseFormat::Anthropic), "d");
    assert_eq!(first(ResponseFormat::Ollama), "m");
    let only_models = br#"{"data":"x","models":[{"name":"m"}]}"#;
    assert_eq!(
        parse_model_list(ResponseFormat::OpenAi, only_models).expect("list")[0].id,
        "m"
    );
}

#[test]
fn prices_shift_the_decimal_text() {
    let cases = [
        (json!("0.00000045"), PriceUnit::UsdPerToken, Some(0.45)),
        (json!("0.0000032"), PriceUnit::UsdPerToken, Some(3.2)),
        (json!("1e-7"), PriceUnit::UsdPerToken, Some(0.1)),
        (json!(1.25e-6), PriceUnit::UsdPerToken, Some(1.25)),
        (
            json!(0.18000000000000002),
            PriceUnit::UsdPerMillion,
            Some(0.18),
        ),
        (
            json!(2800),
            PriceUnit::TenThousandthUsdPerMillion,
            Some(0.28),
        ),
        (json!("0"), PriceUnit::UsdPerToken, Some(0.0)),
        (json!(" 0.5 "), PriceUnit::UsdPerMillion, Some(0.5)),
        (json!("-1"), PriceUnit::UsdPerToken, None),
        (json!(-0.5), PriceUnit::UsdPerMillion, None),
        (json!("abc"), PriceUnit::UsdPerToken, None),
        (json!("inf"), PriceUnit::UsdPerToken, None),
        (json!("1.2.3"), PriceUnit::UsdPerToken, None),
        (json!(""), PriceUnit::UsdPerToken, None),
        (json!("1e400"), PriceUnit::UsdPerToken, None),
        (json!("1e2147483647"), PriceUnit::UsdPerToken, None),
        (json!(null), PriceUnit::UsdPerToken, None),
        (json!([{"prompt": "0.1"}]), PriceUnit::UsdPerToken, None),
    ];
    for (value, unit, expected) in cases {
        assert_eq!(price_per_1m(&value, unit), expected, "{value}");
    }
}

#[test]
fn parameter_counts_from_size_strings() {
    let count = |total_b, active_b| Some(ParameterCount { total_b, active_b });
    let cases = [
        ("14.8B", count(14.8, None)),
        ("270M", count(0.27, None)),
        ("137M", count(0.137, None)),
        ("1T", count(1000.0, None)),
        ("8x7B", count(56.0, None)),
        ("26B-A4B", count(26.0, Some(4.0))),
        ("30b-a3b", count(30.0, Some(3.0))),
        (" 7b ", count(7.0, None)),
        ("1.5K", count(0.0000015, None)),
        ("", None),
        ("unknown", None),
        ("B", None),
        ("7", None),
        ("-A4B", None),
        ("26B-X4B", None),
        ("infB", None),
        ("0B", None),
        ("7B€", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_parameter_count(text), expected, "{text}");
    }
}

#[test]
fn context_accepts_positive_whole_numbers_only() {
    let cases = [
        (json!({"context_length": 8192}), Some(8192)),
        (json!({"context_length": 8192.0}), Some(8192)),
        (json!({"context_length": "4096"}), Some(4096)),
        (
            json!({"context_length": 0, "context_window": 512}),
            Some(512),
        ),
        (json!({"context_length": -5}), None),
        (json!({"context_length": 1.5}), None),
        (
            json!({"context_length": null, "top_provider": {"context_length": 100}}),
            Some(100),
        ),
    ];
    for (entry, expected) in cases {
        let map = entry.as_object().expect("object");
        assert_eq!(context_tokens(map), expected, "{entry}");
    }
}

#[test]
fn large_lists_with_many_duplicates_stay_linear() {
    let entries: Vec<Value> = (0..60_000)
        .map(|i| json!({"id": format!("m{}", i % 20_000)}))
        .collect();
    let body = Value::Array(entries).to_string();
    let list = parse_model_list_counted(ResponseFormat::OpenAi, body.as_bytes()).expect("list");
    assert_eq!(
        (list.models.len(), list.skipped.duplicate),
        (20_000, 40_000)
    );
}

const FIELD_NAMES: &[&str] = &[
    "id",
    "key",
    "name",
    "model",
    "data",
    "models",
    "error",
    "message",
    "detail",
    "active",
    "pricing",
    "prompt",
    "completion",
    "input",
    "output",
    "input_cache_read",
    "hourly",
    "price",
    "usd",
    "model_spec",
    "input_token_price_per_m",
    "input_price",
    "context_length",
    "context_window",
    "top_provider",
    "details",
    "parameter_size",
    "params_string",
    "family",
    "families",
    "architecture",
    "output_modalities",
    "modality",
    "type",
    "model_type",
    "capabilities",
    "completion_chat",
    "endpoints",
    "supported_output_modalities",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "-1",
            "0.00000045",
            "14.8B",
            "26B-A4B",
            "1e999",
            "text",
            "embeddings",
            "->",
            "bert",
            ""
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        let key = prop_oneof![
            prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
            "[a-z_]{1,8}"
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn assert_well_formed(models: &[DiscoveredModel]) {
    let mut ids = HashSet::new();
    for m in models {
        assert!(!m.id.trim().is_empty());
        assert!(ids.insert(m.id.as_str()), "duplicate {}", m.id);
        for price in [m.input_per_1m, m.output_per_1m, m.cached_input_per_1m]
            .into_iter()
            .flatten()
        {
            assert!(price.is_finite() && price >= 0.0, "{price}");
        }
        assert_ne!(m.context_tokens, Some(0));
    }
}

proptest! {
    #[test]
    fn never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(models) = parse_model_list(ResponseFormat::OpenAi, &body) {
            assert_well_formed(&models);
        }
    }

    #[test]
    fn never_panics_on_json(value in json_value()) {
        let wrapped = [json!({"data": [value.clone()]}), json!([value.clone()]), json!({"models": value.clone()}), value];
        for body in wrapped {
            for format in [ResponseFormat::OpenAi, ResponseFormat::Ollama, ResponseFormat::Anthropic] {
                if let Ok(models) = parse_model_list(format, body.to_string().as_bytes()) {
                    assert_well_formed(&models);
                }
            }
        }
    }
}
