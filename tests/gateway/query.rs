//! Query resolution on a realistic catalog (480 entries from real provider model lists):
//! every query form of docs/queries.md with the exact set of (channel, model) candidates.

use crate::support::catalog::*;
use smart_ai_router::catalog::ModelKind;
use smart_ai_router::config::ModelFilters;

fn matches(query: &str) -> Vec<String> {
    let (config, catalog) = realistic_catalog();
    match resolve_chat(config, catalog, query) {
        Ok(resolution) => names(catalog, &resolution),
        Err(e) => panic!("{query}: {}", e.message),
    }
}

fn no_match(query: &str) -> String {
    let (config, catalog) = realistic_catalog();
    match resolve_chat(config, catalog, query) {
        Ok(resolution) => panic!("{query} matched {:?}", names(catalog, &resolution)),
        Err(e) => e.message,
    }
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const FREE_QWEN3: &[&str] = &[
    "openrouter/deepseek/deepseek-r1-0528-qwen3-8b:free",
    "openrouter/qwen/qwen3-14b:free",
    "openrouter/qwen/qwen3-235b-a22b-07-25:free",
    "openrouter/qwen/qwen3-235b-a22b:free",
    "openrouter/qwen/qwen3-30b-a3b:free",
    "openrouter/qwen/qwen3-4b:free",
    "openrouter/qwen/qwen3-8b:free",
    "openrouter/qwen/qwen3-coder:free",
];

#[test]
fn tag_queries_need_every_positive_and_no_negative() {
    assert_eq!(matches("tag:free,qwen3,!local"), owned(FREE_QWEN3));
    assert_eq!(matches("free,qwen3"), owned(FREE_QWEN3));
    assert_eq!(matches("TAGS: qwen3 , free"), owned(FREE_QWEN3));
    assert_eq!(
        matches("tag:local"),
        owned(&[
            "ollama/codellama:latest",
            "ollama/gemma3:4b",
            "ollama/llama3.2:latest",
            "ollama/llava:7b",
            "ollama/qwen2.5-coder:7b",
            "ollama/qwen2.5:14b-instruct",
        ])
    );
    assert_eq!(
        matches("tag:free,qwen2.5,!coder"),
        owned(&[
            "ollama/qwen2.5:14b-instruct",
            "openrouter/qwen/qwen2.5-vl-32b-instruct:free",
            "openrouter/qwen/qwen2.5-vl-72b-instruct:free",
        ])
    );
}

#[test]
fn tags_compare_whole() {
    let qwen = matches("tag:qwen");
    // deepseek-r1-0528-qwen3-8b has the tag qwen3, not qwen.
    assert!(!qwen.iter().any(|n| n.contains("0528-qwen3")), "{qwen:?}");
    assert!(qwen.contains(&"openrouter/qwen/qwen3-8b".to_string()));
    assert!(qwen.contains(&"openrouter/deepseek/deepseek-r1-distill-qwen-7b".to_string()));
    assert_eq!(qwen.len(), 88);
}

#[test]
fn negatives_only_means_every_chat_model_without_them() {
    let (config, catalog) = realistic_catalog();
    let all_chat = catalog.index.kind(ModelKind::Chat).len();
    let local_chat = matches("tag:local").len();
    let non_local = matches("tag:!local");
    assert_eq!(non_local.len(), all_chat - local_chat);
    assert!(non_local.iter().all(|n| !n.starts_with("ollama/")));
    let _ = config;
}

#[test]
fn size_filters_inside_tag_queries() {
    assert_eq!(
        matches("tag:qwen3,free,>20b"),
        owned(&[
            "openrouter/qwen/qwen3-235b-a22b-07-25:free",
            "openrouter/qwen/qwen3-235b-a22b:free",
            "openrouter/qwen/qwen3-30b-a3b:free",
        ])
    );
    assert_eq!(
        matches("tag:qwen3,free,<=8b"),
        owned(&[
            "openrouter/deepseek/deepseek-r1-0528-qwen3-8b:free",
            "openrouter/qwen/qwen3-4b:free",
            "openrouter/qwen/qwen3-8b:free",
        ])
    );
    // codellama:latest is 7B by Ollama's own `parameter_size`.
    assert_eq!(
        matches("tag:local,=7b"),
        owned(&[
            "ollama/codellama:latest",
            "ollama/llava:7b",
            "ollama/qwen2.5-coder:7b"
        ])
    );
    assert_eq!(
        matches("tag:local,>=14b"),
        owned(&["ollama/qwen2.5:14b-instruct"])
    );
    // A filter alone filters every chat model.
    let big = matches(">400b");
    assert_eq!(
        big,
        owned(&[
            // DeepSeek R1's 671 B comes from the knowledge base; the name has no size.
            "openrouter/deepseek/deepseek-r1",
            "openrouter/deepseek/deepseek-r1:free",
            "openrouter/meta-llama/llama-3.1-405b",
            "openrouter/meta-llama/llama-3.1-405b-instruct",
            "openrouter/meta-llama/llama-3.1-405b-instruct:free",
            "openrouter/nousresearch/hermes-3-llama-3.1-405b",
            "siliconflow/Pro/deepseek-ai/DeepSeek-R1",
            "siliconflow/Qwen/Qwen3-Coder-480B-A35B-Instruct",
            "siliconflow/deepseek-ai/DeepSeek-R1",
        ])
    );
}

#[test]
fn context_filters() {
    assert_eq!(
        matches("tag:qwen3,free,ctx>=128k"),
        owned(&[
            "openrouter/deepseek/deepseek-r1-0528-qwen3-8b:free",
            "openrouter/qwen/qwen3-235b-a22b-07-25:free",
            "openrouter/qwen/qwen3-235b-a22b:free",
            "openrouter/qwen/qwen3-coder:free",
        ])
    );
    assert_eq!(
        matches("tag:qwen3,free,>32ki"),
        matches("tag:qwen3,free,ctx>32k")
    );
    assert_eq!(
        matches("tag:local,ctx<32k"),
        owned(&["ollama/codellama:latest", "ollama/llava:7b"])
    );
}

#[test]
fn size_comparison_queries() {
    let bigger = matches("qwen3->8b");
    assert!(bigger.contains(&"openrouter/qwen/qwen3-14b:free".to_string()));
    assert!(bigger.contains(&"siliconflow/Qwen/Qwen3-Coder-480B-A35B-Instruct".to_string()));
    assert!(!bigger.iter().any(|n| n.contains("qwen3-8b")));
    assert_eq!(bigger.len(), 30);
    assert_eq!(
        matches("qwen3-<=8b"),
        owned(&[
            "openrouter/deepseek/deepseek-r1-0528-qwen3-8b",
            "openrouter/deepseek/deepseek-r1-0528-qwen3-8b:free",
            "openrouter/qwen/qwen3-4b:free",
            "openrouter/qwen/qwen3-8b",
            "openrouter/qwen/qwen3-8b:free",
            "siliconflow/Qwen/Qwen3-8B",
            "siliconflow/Qwen/Qwen3-VL-8B-Instruct",
            "siliconflow/Qwen/Qwen3-VL-8B-Thinking",
            "siliconflow/deepseek-ai/DeepSeek-R1-0528-Qwen3-8B",
        ])
    );
    assert_eq!(
        matches("qwen3-<5b"),
        owned(&["openrouter/qwen/qwen3-4b:free"])
    );
    assert_eq!(matches("qwen3->=235b").len(), 9);
}

#[test]
fn name_queries_exact_prefixless_variant_dated_and_alias() {
    // `-07-25` is a dated snapshot (Qwen's July 2025 update) of the same model.
    assert_eq!(
        matches("qwen3-235b-a22b"),
        owned(&[
            "openrouter/qwen/qwen3-235b-a22b",
            "openrouter/qwen/qwen3-235b-a22b-07-25",
            "openrouter/qwen/qwen3-235b-a22b-07-25:free",
            "openrouter/qwen/qwen3-235b-a22b:free",
        ])
    );
    assert_eq!(
        matches("qwen/qwen3-235b-a22b:free"),
        owned(&[
            "openrouter/qwen/qwen3-235b-a22b-07-25:free",
            "openrouter/qwen/qwen3-235b-a22b:free"
        ])
    );
    assert_eq!(
        matches("QWEN3-235B-A22B:FREE"),
        matches("qwen/qwen3-235b-a22b:free")
    );
    assert_eq!(
        matches("qwen/qwen3-235b-a22b-07-25:free"),
        owned(&["openrouter/qwen/qwen3-235b-a22b-07-25:free"])
    );
    assert_eq!(
        matches("qwen3-32b"),
        owned(&[
            "groq/qwen/qwen3-32b",
            "openrouter/qwen/qwen3-32b",
            "siliconflow/Qwen/Qwen3-32B"
        ])
    );
    assert_eq!(
        matches("gpt-4o"),
        owned(&[
            "openrouter/openai/gpt-4o",
            "openrouter/openai/gpt-4o-2024-05-13",
            "openrouter/openai/gpt-4o-2024-08-06",
            "openrouter/openai/gpt-4o-2024-11-20",
            "openrouter/openai/gpt-4o:extended",
        ])
    );
    assert_eq!(
        matches("claude-3-haiku"),
        owned(&[
            "anthropic/claude-3-haiku-20240307",
            "openrouter/anthropic/claude-3-haiku",
            "openrouter/anthropic/claude-3-haiku:beta",
        ])
    );
    assert_eq!(
        matches("claude-3-haiku-20240307"),
        owned(&["anthropic/claude-3-haiku-20240307"])
    );
    assert_eq!(
        matches("doubao-1.5-pro-256k"),
        owned(&["doubao/ep-20250203083646-2szv9"])
    );
    assert_eq!(
        matches("ep-20250203083646-2szv9"),
        owned(&["doubao/ep-20250203083646-2szv9"])
    );
    // A complete segment, only when nothing matches as a whole name.
    assert_eq!(matches("qwen2.5"), owned(&["ollama/qwen2.5:14b-instruct"]));
    assert_eq!(matches("llama3.2"), owned(&["ollama/llama3.2:latest"]));
}

#[test]
fn route_kinds_keep_embedding_and_chat_apart() {
    let (config, catalog) = realistic_catalog();
    let embedding = resolve_for(config, catalog, "tag:qwen3", ModelKind::Embedding, None)
        .map(|r| names(catalog, &r))
        .unwrap_or_default();
    assert_eq!(
        embedding,
        owned(&[
            "siliconflow/Qwen/Qwen3-Embedding-0.6B",
            "siliconflow/Qwen/Qwen3-Embedding-4B",
            "siliconflow/Qwen/Qwen3-Embedding-8B",
        ])
    );
    assert_eq!(
        no_match("qwen3-embedding-8b"),
        "no model matches \"qwen3-embedding-8b\": 1 model matched, but none is a chat model (this route serves chat models only)"
    );
    assert!(!matches("tag:qwen3")
        .iter()
        .any(|n| n.contains("Embedding") || n.contains("Reranker")));
}

#[test]
fn context_fit_drops_models_too_small_for_the_request() {
    let (config, catalog) = realistic_catalog();
    let fit = resolve_for(config, catalog, "tag:local", ModelKind::Chat, Some(20_000))
        .map(|r| names(catalog, &r))
        .unwrap_or_default();
    assert_eq!(
        fit,
        owned(&[
            "ollama/gemma3:4b",
            "ollama/llama3.2:latest",
            "ollama/qwen2.5-coder:7b",
            "ollama/qwen2.5:14b-instruct"
        ])
    );
    let err = resolve_for(config, catalog, "tag:local", ModelKind::Chat, Some(200_000))
        .err()
        .map(|e| e.message);
    assert_eq!(
        err.as_deref(),
        Some("no model matches \"tag:local\": 6 models matched, but none has room for this request (about 200000 tokens of prompt + max_tokens)")
    );
}

#[test]
fn model_filters_apply_to_known_values() {
    let (_, catalog) = realistic_catalog();
    let filters = ModelFilters {
        min_context_length: 100_000,
        min_parameter_count: 10.0,
        exclude_embedding_models: true,
    };
    let kept = with_filters(catalog, "tag:local", &filters).map(|r| names(catalog, &r));
    assert_eq!(
        kept.map_err(|e| e.message),
        Err("no model matches \"tag:local\": 6 models matched, but routing.model_filters.min_context_length (100000) removed them".to_string())
    );
    let filters = ModelFilters {
        min_context_length: 0,
        min_parameter_count: 10.0,
        exclude_embedding_models: true,
    };
    let kept = with_filters(catalog, "tag:local", &filters).map(|r| names(catalog, &r));
    assert_eq!(kept.ok(), Some(owned(&["ollama/qwen2.5:14b-instruct"])));
}

#[test]
fn no_match_messages_name_what_removed_the_last_candidates() {
    assert_eq!(
        no_match("tag:free,nonexistent"),
        "no model matches \"tag:free,nonexistent\": no model has tag \"nonexistent\""
    );
    assert_eq!(
        no_match("tag:local,qwen3"),
        "no model matches \"tag:local,qwen3\": 7 with tag local, but none of them also has tag \"qwen3\""
    );
    assert_eq!(
        no_match("tag:qwen3,local"),
        "no model matches \"tag:qwen3,local\": 47 with tag qwen3, but none of them also has tag \"local\""
    );
    assert_eq!(
        no_match("tag:local,qwen2.5,!local"),
        "no model matches \"tag:local,qwen2.5,!local\": 2 models are left before !local, and every one has tag \"local\""
    );
    assert_eq!(
        no_match("tag:local,>100b"),
        "no model matches \"tag:local,>100b\": 6 models are left before the filter >100b, and none passes it (unknown sizes never pass)"
    );
    assert_eq!(
        no_match("gpt-5-ultra"),
        "no model matches \"gpt-5-ultra\": no channel offers a model with that name, alias or name segment"
    );
    assert_eq!(
        no_match("mamba->8b"),
        "no model matches \"mamba->8b\": no model is named \"mamba\" (as a tag or a whole name segment)"
    );
    assert_eq!(
        no_match("gemma3-<1b"),
        "no model matches \"gemma3-<1b\": 1 model is named \"gemma3\", but none with <1b parameters"
    );
}

#[test]
fn explain_lists_dropped_entries_with_reasons() {
    let (config, catalog) = realistic_catalog();
    let Ok(resolution) = resolve_chat(config, catalog, "tag:qwen2.5,!coder,>10b") else {
        panic!("resolves")
    };
    let reasons: Vec<String> = resolution
        .dropped
        .iter()
        .filter_map(|d| {
            catalog
                .entry(d.entry)
                .map(|e| format!("{}/{}: {}", e.channel.id, e.model_id, d.reason))
        })
        .filter(|line| line.starts_with("ollama"))
        .collect();
    assert_eq!(
        reasons,
        owned(&["ollama/qwen2.5-coder:7b: has tag \"coder\", excluded by !coder"])
    );
    assert!(resolution
        .dropped
        .iter()
        .any(|d| d.reason == "fails filter >10b (7 B parameters)"));

    // A tag query on a chat route lists the tagged models of another kind too, with why.
    let Ok(local) = resolve_chat(config, catalog, "tag:local") else {
        panic!("resolves")
    };
    let wrong_kind: Vec<String> = local
        .dropped
        .iter()
        .filter_map(|d| catalog.entry(d.entry).map(|e| (e, d)))
        .map(|(e, d)| format!("{}: {}", e.model_id, d.reason))
        .collect();
    assert!(!wrong_kind.is_empty());
    assert!(
        wrong_kind
            .iter()
            .all(|line| line.ends_with("model; this route needs chat")),
        "{wrong_kind:?}"
    );
    assert!(
        wrong_kind
            .iter()
            .any(|line| line.ends_with("is an embedding model; this route needs chat")),
        "{wrong_kind:?}"
    );
}
