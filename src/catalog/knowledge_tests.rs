//! Tests of the built-in knowledge base: exact facts, key chains, coverage, malformed tables.

use super::*;
use proptest::prelude::*;

/// id as a channel reports it | key | context | params | active | input | output |
/// cached | quality | kind (empty = unknown). Values copied from data/knowledge.tsv's
/// sources by hand, one or more per vendor family the issue lists.
const FACTS: &str = "\
gpt-4o-mini|gpt-4o-mini|128000|||0.15|0.6|0.075||chat
openai/gpt-4o-2024-08-06|gpt-4o-2024-08-06|128000|||2.5|10|1.25||chat
gpt-4o-2024-05-13|gpt-4o-2024-05-13|128000|||5|15|||chat
text-embedding-3-small|text-embedding-3-small|8191|||0.02|0|||embedding
omni-moderation-latest|omni-moderation|32768|||0|0|||moderation
openai/gpt-oss-120b:free|gpt-oss-120b|131072|120||0.03|0.17|0.03|0.382|chat
gpt-oss:20b|gpt-oss-20b|131072|20||0.03|0.13|0.03|0.241|chat
anthropic/claude-3-haiku-20240307|claude-3-haiku|200000|||0.25|1.25|0.03||chat
bedrock/us-east-1/anthropic.claude-3-haiku-20240307-v1:0|claude-3-haiku|200000|||0.25|1.25|0.03||chat
us.anthropic.claude-3-5-sonnet-20241022-v2:0|claude-3.5-sonnet-20241022|200000|||3|15|0.3||chat
vertex_ai/claude-haiku-4-5@20251001|claude-haiku-4.5|200000|||1|5|0.1|0.474|chat
gemini-2.5-flash|gemini-2.5-flash|1048576|||0.3|2.5|0.03||chat
gemini/gemini-2.5-pro|gemini-2.5-pro|1048576|||1.25|10|0.125|0.41|chat
text-embedding-004|text-embedding-004|2048|||0.1|0|||embedding
gemma3:27b|gemma3-27b|131072|27||||||chat
gemma3:27b-it-qat|gemma3-27b-it|131072|27||||||chat
google/gemma-3-27b-it|gemma-3-27b-it|131072|||0.08|0.45|0.04|0.117|chat
meta-llama/llama-3.3-70b-instruct|llama-3.3-70b-instruct|128000|||0.1|0.32|||chat
llama3.1:8b-instruct-fp16|llama3.1-8b-instruct|128000|8||0.22|0.22|||chat
groq/llama-3.1-8b-instant|llama-3.1-8b-instant|131072|||0.2|0.5|||chat
qwen/qwen3-30b-a3b:free|qwen3-30b-a3b|129024|30|3|0.13|0.52|||chat
qwen2.5:7b-instruct-q4_K_M|qwen2.5-7b-instruct|32768|7||0.1|0.2|||chat
Qwen/Qwen2.5-72B-Instruct|qwen2.5-72b-instruct|32768|72||0.36|0.4|||chat
dengcao/Qwen3-Embedding-4B:Q8_0|qwen3-embedding-4b|32768|4||0.02|0|||embedding
qwen-max|qwen-max|30720|||1.6|6.4|||chat
deepseek-chat|deepseek-chat|131072|||0.28|0.42|0.028||chat
Pro/deepseek-ai/DeepSeek-R1|deepseek-r1|65536|671||0.55|2.19|0.14|0.295|chat
deepseek.v3.2|deepseek-v3.2|163840|||0.28|0.4|0.028||chat
mistral-large-latest|mistral-large|131072|||0.5|1.5|0.05||chat
mistralai/Mixtral-8x7B-Instruct-v0.1|mixtral-8x7b-instruct-v0.1|32768|||0.6|0.6|||chat
glm-4-flash|glm-4-flash|128000|||0|0|||chat
zai/glm-4.5-air|glm-4.5-air|128000|||0.2|1.1|||chat
accounts/fireworks/models/glm-4p5|glm-4.5|128000|||0.6|2.2|||chat
moonshot-v1-128k|moonshot-v1-128k|131072|||2|5|||chat
moonshotai/kimi-k2|kimi-k2|131072|||0.57|2.3|||chat
doubao-1.5-pro-256k|doubao-1.5-pro-256k|262144|||||||chat
doubao-1-5-pro-256k-250115|doubao-1.5-pro-256k-250115|262144|||||||chat
volcengine/doubao-seed-2-1-pro-260628|doubao-seed-2.1-pro-260628|256000|||0.8625|4.3125|0.1725||chat
01-ai/yi-large|yi-large|32768|||3|3|||chat
yi:34b|yi-34b|4096|34||0.9|0.9|||chat
Baichuan4|baichuan4|32768|||||||chat
novita/baichuan/baichuan-m2-32b|baichuan-m2-32b|131072|||0.07|0.07|||chat
minimax/minimax-m1|minimax-m1|1000000|||0.55|2.2|||chat
minimax/MiniMax-M2|minimax-m2|200000|||0.3|1.2|0.03||chat
phi-4|phi-4|16384|||0.07|0.14|||chat
phi4:14b|phi4-14b|16384|14||||||chat
azure_ai/Phi-4-mini-instruct|phi-4-mini-instruct|128000|||0.075|0.3|||chat
us.cohere.embed-v4:0|embed-v4|128000|||0.12|0|||embedding
cohere.rerank-v3-5:0|rerank-v3.5|4096|||||||rerank
grok-4|grok-4|256000|||3|15|||chat
";

/// The expected row for one FACTS line, built without the module's parser.
fn expected(line: &'static str) -> (&'static str, KnownModel) {
    let c: Vec<&'static str> = line.split('|').collect();
    assert_eq!(c.len(), 10, "{line}");
    let f = |i: usize| (!c[i].is_empty()).then(|| c[i].parse::<f64>().expect(line));
    let model = KnownModel {
        key: c[1],
        context_tokens: (!c[2].is_empty()).then(|| c[2].parse().expect(line)),
        params_b: f(3),
        active_params_b: f(4),
        input_per_1m: f(5),
        output_per_1m: f(6),
        cached_input_per_1m: f(7),
        quality: f(8),
        kind: (!c[9].is_empty()).then_some(c[9]),
    };
    (c[0], model)
}

#[test]
fn exact_facts_for_ids_as_channels_report_them() {
    let mut checked = 0;
    for line in FACTS.lines() {
        let (id, model) = expected(line);
        assert_eq!(lookup(id), Some(&model), "lookup({id:?})");
        checked += 1;
    }
    assert!(checked >= 30, "{checked}");
}

#[test]
fn unknown_ids_are_none() {
    for id in [
        "",
        " ",
        ":",
        "/",
        "ep-20250613210739-qjxdl",
        "my-own-finetune-v7",
        "gpt-4o-mini-nonexistent-x",
    ] {
        assert_eq!(lookup(id), None, "lookup({id:?})");
    }
}

#[test]
fn key_chains_follow_the_rule() {
    let cases: [(&str, &[&str]); 14] = [
        (
            "qwen2.5:7b-instruct-q4_K_M",
            &["qwen2.5-7b-instruct", "qwen2.5-7b", "qwen2.5"],
        ),
        ("qwen/qwen3-30b-a3b:free", &["qwen3-30b-a3b"]),
        ("openrouter/qwen/qwen3-30b-a3b:thinking", &["qwen3-30b-a3b"]),
        (
            "anthropic/claude-3-haiku-20240307",
            &["claude-3-haiku-20240307", "claude-3-haiku"],
        ),
        ("openai/gpt-4o-2024-08-06", &["gpt-4o-2024-08-06", "gpt-4o"]),
        (
            "bedrock/us-east-1/anthropic.claude-3-haiku-20240307-v1:0",
            &["claude-3-haiku-20240307", "claude-3-haiku"],
        ),
        ("anthropic.claude-v2:1", &["claude-v2"]),
        ("us-gov.openai.gpt-oss-120b-1:0", &["gpt-oss-120b"]),
        (
            "mistral-nemo:12b-instruct-2407-q4_0",
            &[
                "mistral-nemo-12b-instruct-2407",
                "mistral-nemo-12b-instruct",
                "mistral-nemo-12b",
                "mistral-nemo",
            ],
        ),
        (
            "Pro/moonshotai/Kimi-K2-Instruct-0905",
            &["kimi-k2-instruct-0905", "kimi-k2-instruct"],
        ),
        ("LoRA/Qwen/Qwen2.5-7B-Instruct", &["qwen2.5-7b-instruct"]),
        (
            "hf.co/bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M",
            &["qwen2.5-7b-instruct"],
        ),
        ("glm-4-7-251222", &["glm-4.7-251222", "glm-4.7"]),
        ("r1-1776", &["r1-1776"]),
    ];
    for (id, expected) in cases {
        assert_eq!(lookup_keys(id), expected, "lookup_keys({id:?})");
    }
}

#[test]
fn key_chains_match_the_build_script() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/knowledge_keys.tsv");
    let text = std::fs::read_to_string(path).expect("tests/data/knowledge_keys.tsv");
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (id, keys) = line.split_once('\t').expect("id<TAB>keys");
        let expected: Vec<&str> = if keys.is_empty() {
            Vec::new()
        } else {
            keys.split('|').collect()
        };
        assert_eq!(lookup_keys(id), expected, "lookup_keys({id:?})");
        checked += 1;
    }
    assert!(checked > 1000, "only {checked} ids checked");
}

#[test]
fn the_shipped_table_parses_completely() {
    let base = KnowledgeBase::parse(TABLE).expect("data/knowledge.tsv parses");
    let data_rows = TABLE.lines().filter(|l| !l.starts_with('#')).count() - 1;
    assert_eq!(base.models.len(), data_rows);
    assert_eq!(len(), data_rows);
}

#[test]
fn every_key_is_its_own_first_lookup_key() {
    for model in &KNOWLEDGE.models {
        assert_eq!(
            lookup_keys(model.key).first().map(String::as_str),
            Some(model.key)
        );
        assert_eq!(lookup(model.key).map(|m| m.key), Some(model.key));
    }
}

#[test]
fn covers_a_thousand_keys_and_every_listed_vendor() {
    assert!(len() >= 1000, "{} keys", len());
    let vendors: [(&str, &[&str], usize); 15] = [
        (
            "OpenAI",
            &[
                "gpt-",
                "o1",
                "o3",
                "o4",
                "chatgpt",
                "text-embedding-3",
                "text-embedding-ada",
                "dall-e",
                "tts-",
                "whisper",
                "davinci",
                "babbage",
                "omni-moderation",
            ],
            200,
        ),
        ("Anthropic", &["claude"], 50),
        ("Google", &["gemini"], 70),
        (
            "Gemma",
            &[
                "gemma",
                "codegemma",
                "medgemma",
                "shieldgemma",
                "embeddinggemma",
            ],
            90,
        ),
        ("Meta", &["llama", "meta-llama", "codellama"], 200),
        ("Qwen", &["qwen", "qwq", "qvq", "codeqwen"], 250),
        ("DeepSeek", &["deepseek"], 100),
        (
            "Mistral",
            &[
                "mistral",
                "mixtral",
                "codestral",
                "magistral",
                "devstral",
                "pixtral",
                "ministral",
                "open-mistral",
                "open-mixtral",
            ],
            150,
        ),
        ("Zhipu GLM", &["glm", "chatglm", "codegeex"], 50),
        ("Moonshot", &["moonshot", "kimi"], 25),
        ("Doubao", &["doubao"], 100),
        ("Yi", &["yi-"], 20),
        ("Baichuan", &["baichuan"], 6),
        ("MiniMax", &["minimax", "abab"], 20),
        ("Phi", &["phi-", "phi2", "phi3", "phi4"], 40),
    ];
    for (vendor, prefixes, min) in vendors {
        let count = KNOWLEDGE
            .models
            .iter()
            .filter(|m| prefixes.iter().any(|p| m.key.starts_with(p)))
            .count();
        assert!(
            count >= min,
            "{vendor}: {count} keys, expected at least {min}"
        );
    }
}

#[test]
fn a_malformed_row_rejects_the_table() {
    let h = HEADER;
    let cases: Vec<(String, usize, &str)> = vec![
        (format!("{h}\ngpt-x\t1\t\t\t\t\t\t\n"), 2, "expected 9"),
        (
            format!("{h}\ngpt-x\t1\t\t\t\t\t\t\tchat\textra\n"),
            2,
            "expected 9",
        ),
        (
            format!("{h}\ngpt-x\tlots\t\t\t\t\t\t\tchat\n"),
            2,
            "context_tokens",
        ),
        (
            format!("{h}\ngpt-x\t0\t\t\t\t\t\t\tchat\n"),
            2,
            "context_tokens",
        ),
        (format!("{h}\ngpt-x\t\t-7\t\t\t\t\t\tchat\n"), 2, "params_b"),
        (
            format!("{h}\ngpt-x\t\t\t\tNaN\t\t\t\tchat\n"),
            2,
            "input_per_1m_usd",
        ),
        (
            format!("{h}\ngpt-x\t\t\t\t\tinf\t\t\tchat\n"),
            2,
            "output_per_1m_usd",
        ),
        (format!("{h}\ngpt-x\t\t\t\t\t\t\t1.5\tchat\n"), 2, "above 1"),
        (
            format!("{h}\ngpt-x\t\t\t\t\t\t\t\tvideo\n"),
            2,
            "unknown kind",
        ),
        (format!("{h}\n\t1\t\t\t\t\t\t\tchat\n"), 2, "bad key"),
        (format!("{h}\nGPT-X\t1\t\t\t\t\t\t\tchat\n"), 2, "bad key"),
        (
            format!("# c\n{h}\ngpt-x\t1\t\t\t\t\t\t\tchat\ngpt-x\t2\t\t\t\t\t\t\tchat\n"),
            4,
            "duplicate",
        ),
        (
            format!("{h}\ngpt-x\t1\t\t\t\t\t\t\tchat\n\n"),
            3,
            "expected 9",
        ),
        ("key\tcontext\n".to_owned(), 1, "header"),
        ("# only a comment\n".to_owned(), 0, "no header"),
    ];
    for (table, line, reason) in cases {
        let table: &'static str = Box::leak(table.into_boxed_str());
        let err = KnowledgeBase::parse(table).expect_err(table);
        assert_eq!(err.line, line, "{table:?}: {err:?}");
        assert!(err.reason.contains(reason), "{table:?}: {err:?}");
    }
    let ok = KnowledgeBase::parse("# c\nkey\tcontext_tokens\tparams_b\tactive_params_b\tinput_per_1m_usd\toutput_per_1m_usd\tcached_input_per_1m_usd\tquality\tkind\nx-1\t\t\t\t\t\t\t\t\n")
        .expect("a row of empty cells is valid");
    assert_eq!(ok.models.len(), 1);
}

/// Regenerates `data/knowledge.tsv` from the public source lists and compares. The lists are
/// not in the repository (tens of MB): run with
/// `SAR_KNOWLEDGE_SOURCES=DIR cargo test --lib rerunning -- --ignored`, DIR holding the files
/// `scripts/build_knowledge.py --data-dir` reads.
#[test]
#[ignore = "needs the public source lists: SAR_KNOWLEDGE_SOURCES=DIR"]
fn rerunning_the_build_script_gives_the_same_files() {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let data_dir = std::env::var("SAR_KNOWLEDGE_SOURCES")
        .expect("SAR_KNOWLEDGE_SOURCES names the directory of the source lists");
    let data_dir = data_dir.as_str();
    let out = std::env::temp_dir().join(format!("knowledge-{}.tsv", std::process::id()));
    let keys = std::env::temp_dir().join(format!("knowledge-keys-{}.tsv", std::process::id()));
    let status = std::process::Command::new("python3")
        .arg(format!("{manifest}/scripts/build_knowledge.py"))
        .args(["--data-dir", data_dir])
        .arg("--out")
        .arg(&out)
        .arg("--keys-out")
        .arg(&keys)
        .status();
    let Ok(status) = status else {
        eprintln!("skipped: python3 is not available");
        return;
    };
    assert!(status.success(), "build_knowledge.py failed: {status}");
    let rebuilt = std::fs::read(&out).expect("rebuilt table");
    let rebuilt_keys = std::fs::read(&keys).expect("rebuilt key samples");
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&keys);
    assert!(
        rebuilt == TABLE.as_bytes(),
        "data/knowledge.tsv differs from a fresh build"
    );
    let shipped_keys =
        std::fs::read(format!("{manifest}/tests/data/knowledge_keys.tsv")).expect("key samples");
    assert!(
        rebuilt_keys == shipped_keys,
        "tests/data/knowledge_keys.tsv differs from a fresh build"
    );
}

fn check_chain(id: &str) -> Result<(), TestCaseError> {
    let keys = lookup_keys(id);
    if let Some(first) = keys.first() {
        for pair in keys.windows(2) {
            prop_assert!(pair[1].len() < pair[0].len(), "{keys:?}");
        }
        for key in &keys {
            prop_assert!(!key.is_empty());
            prop_assert!(first.starts_with(key.as_str()), "{keys:?}");
            prop_assert!(
                key == first || first[key.len()..].starts_with('-'),
                "{keys:?}"
            );
        }
    }
    if let Some(model) = lookup(id) {
        prop_assert!(
            keys.iter().any(|k| k == model.key),
            "{id:?} found {}",
            model.key
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn lookup_never_panics_on_any_text(id in "\\PC{0,60}") {
        check_chain(&id)?;
    }

    #[test]
    fn lookup_never_panics_on_id_like_text(id in "[a-zA-Z0-9:/@._ -]{0,40}") {
        check_chain(&id)?;
    }

    #[test]
    fn lookup_never_panics_on_real_looking_ids(
        prefix in "(|openrouter/|Pro/|bedrock/us-east-1/|us\\.|anthropic\\.|deepseek\\.)",
        name in "(qwen2\\.5|claude-3-5-sonnet|gpt-4o|llama3\\.1|glm-4p5|doubao-1-5-pro)",
        tail in "(|-20240307|-2024-08-06|-250115|-0905|-v1:0|-v2:0|:free|:7b-instruct-q4_K_M|-fp16|@20251001|:1)",
    ) {
        check_chain(&format!("{prefix}{name}{tail}"))?;
    }
}
