//! Tests of `names.rs`: exact tables (docs/queries.md examples first), the literal parsers, the real
//! 13.8k-id corpus, kind labels stated by real catalogues, and property tests.

use super::*;
use proptest::prelude::*;
use std::collections::HashMap;
use ModelKind::{Audio, Chat, Embedding, Image, Moderation, Rerank};

/// id, tags (space-separated, in order), segments, base_id, date_alias, params_b,
/// active_params_b, context_tokens, kind.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<f64>,
    Option<f64>,
    Option<u64>,
    ModelKind,
);

#[rustfmt::skip]
const CASES: &[Case] = &[
    // docs/queries.md, verbatim examples
    ("qwen/qwen3-30b-a3b:free", "qwen qwen3 30b a3b free qwen3-30b-a3b", "qwen3-30b-a3b", "qwen3-30b-a3b", None, Some(30.0), Some(3.0), None, Chat),
    ("claude-3-haiku-20240307", "claude haiku 20240307 claude-3-haiku-20240307 claude-3-haiku", "claude-3-haiku-20240307 claude-3-haiku", "claude-3-haiku-20240307", Some("claude-3-haiku"), None, None, None, Chat),
    ("ep-20250613210739-qjxdl", "ep 20250613210739 qjxdl ep-20250613210739-qjxdl", "ep-20250613210739-qjxdl", "ep-20250613210739-qjxdl", None, None, None, None, Chat),
    ("Qwen/Qwen2.5-72B-Instruct", "qwen qwen2.5 72b instruct qwen2.5-72b-instruct", "qwen2.5-72b-instruct", "qwen2.5-72b-instruct", None, Some(72.0), None, None, Chat),
    // docs/queries.md: the split example, sizes, versions
    ("glm-4-flash", "glm flash glm-4-flash", "glm-4-flash", "glm-4-flash", None, None, None, None, Chat),
    ("text-embedding-qwen3-embedding-0.6b", "text embedding qwen3 0.6b text-embedding-qwen3-embedding-0.6b", "text-embedding-qwen3-embedding-0.6b", "text-embedding-qwen3-embedding-0.6b", None, Some(0.6), None, None, Embedding),
    ("doubao-1.5-pro-256k", "doubao 1.5 pro 256k doubao-1.5-pro-256k", "doubao-1.5-pro-256k", "doubao-1.5-pro-256k", None, None, None, Some(262144), Chat),
    ("mixtral-8x7b-instruct", "mixtral 8x7b instruct mixtral-8x7b-instruct", "mixtral-8x7b-instruct", "mixtral-8x7b-instruct", None, Some(56.0), None, None, Chat),
    ("gemma-3-270m", "gemma 270m gemma-3-270m", "gemma-3-270m", "gemma-3-270m", None, Some(0.27), None, None, Chat),
    ("kimi-k2-0905", "kimi k2 0905 kimi-k2-0905 kimi-k2", "kimi-k2-0905 kimi-k2", "kimi-k2-0905", Some("kimi-k2"), None, None, None, Chat),
    ("claude-3-haiku", "claude haiku claude-3-haiku", "claude-3-haiku", "claude-3-haiku", None, None, None, None, Chat),
    ("gpt-5", "gpt gpt-5", "gpt-5", "gpt-5", None, None, None, None, Chat),
    // the task list, Ollama, SiliconFlow, LiteLLM (Bedrock, Azure, Vertex) keys, dates
    ("qwen2.5:7b-instruct-q4_K_M", "qwen2.5 7b instruct q4 7b-instruct-q4_k_m", "qwen2.5 7b-instruct-q4_k_m", "qwen2.5:7b-instruct-q4_k_m", None, Some(7.0), None, None, Chat),
    ("gpt-4o-2024-08-06", "gpt 4o 2024 08 06 gpt-4o-2024-08-06 gpt-4o", "gpt-4o-2024-08-06 gpt-4o", "gpt-4o-2024-08-06", Some("gpt-4o"), None, None, None, Chat),
    ("deepseek-r1-distill-qwen-32b", "deepseek r1 distill qwen 32b deepseek-r1-distill-qwen-32b", "deepseek-r1-distill-qwen-32b", "deepseek-r1-distill-qwen-32b", None, Some(32.0), None, None, Chat),
    ("llama-3.1-405b", "llama 3.1 405b llama-3.1-405b", "llama-3.1-405b", "llama-3.1-405b", None, Some(405.0), None, None, Chat),
    ("moonshot-v1-128k", "moonshot v1 128k moonshot-v1-128k", "moonshot-v1-128k", "moonshot-v1-128k", None, None, None, Some(131072), Chat),
    ("moonshot-v1-8k", "moonshot v1 8k moonshot-v1-8k", "moonshot-v1-8k", "moonshot-v1-8k", None, None, None, Some(8192), Chat),
    ("bge-m3", "bge m3 bge-m3", "bge-m3", "bge-m3", None, None, None, None, Embedding),
    ("whisper-large-v3", "whisper large v3 whisper-large-v3", "whisper-large-v3", "whisper-large-v3", None, None, None, None, Audio),
    ("dall-e-3", "dall dall-e-3", "dall-e-3", "dall-e-3", None, None, None, None, Image),
    ("omni-moderation-latest", "omni moderation latest omni-moderation-latest", "omni-moderation-latest", "omni-moderation-latest", None, None, None, None, Moderation),
    ("jina-reranker-v2", "jina reranker v2 jina-reranker-v2", "jina-reranker-v2", "jina-reranker-v2", None, None, None, None, Rerank),
    ("llama3.1:8b", "llama3.1 8b", "llama3.1", "llama3.1:8b", None, Some(8.0), None, None, Chat),
    ("nomic-embed-text:latest", "nomic embed text latest nomic-embed-text", "nomic-embed-text", "nomic-embed-text", None, None, None, None, Embedding),
    ("qwen2.5:14b-instruct", "qwen2.5 14b instruct 14b-instruct", "qwen2.5 14b-instruct", "qwen2.5:14b-instruct", None, Some(14.0), None, None, Chat),
    ("gemma3:27b-it-qat", "gemma3 27b it qat 27b-it-qat", "gemma3 27b-it-qat", "gemma3:27b-it-qat", None, Some(27.0), None, None, Chat),
    ("mixtral:8x7b-text-v0.1-q3_K_M", "mixtral 8x7b text v0.1 q3 8x7b-text-v0.1-q3_k_m", "8x7b-text-v0.1-q3_k_m", "mixtral:8x7b-text-v0.1-q3_k_m", None, Some(56.0), None, None, Chat),
    ("all-minilm:22m", "all minilm 22m all-minilm", "all-minilm 22m", "all-minilm:22m", None, Some(0.022), None, None, Embedding),
    ("deepseek-r1:8b-0528-qwen3-q4_K_M", "deepseek r1 8b 0528 qwen3 q4 deepseek-r1 8b-0528-qwen3-q4_k_m", "deepseek-r1 8b-0528-qwen3-q4_k_m", "deepseek-r1:8b-0528-qwen3-q4_k_m", None, Some(8.0), None, None, Chat),
    ("qwen3:30b-a3b", "qwen3 30b a3b 30b-a3b", "qwen3 30b-a3b", "qwen3:30b-a3b", None, Some(30.0), Some(3.0), None, Chat),
    ("gpt-oss:20b", "gpt oss 20b gpt-oss", "gpt-oss 20b", "gpt-oss:20b", None, Some(20.0), None, None, Chat),
    ("llama3-gradient:1048k", "llama3 gradient 1048k llama3-gradient", "llama3-gradient 1048k", "llama3-gradient:1048k", None, None, None, Some(1048000), Chat),
    ("internlm2:7b-chat-1m-v2.5-fp16", "internlm2 7b chat 1m v2.5 fp16 7b-chat-1m-v2.5-fp16", "internlm2 7b-chat-1m-v2.5-fp16", "internlm2:7b-chat-1m-v2.5-fp16", None, Some(7.0), None, Some(1048576), Chat),
    ("dengcao/Qwen3-Embedding-4B:Q8_0", "dengcao qwen3 embedding 4b q8 qwen3-embedding-4b q8_0", "qwen3-embedding-4b q8_0", "qwen3-embedding-4b:q8_0", None, Some(4.0), None, None, Embedding),
    ("Pro/deepseek-ai/DeepSeek-V3.2", "pro deepseek ai v3.2 deepseek-v3.2", "deepseek-v3.2", "deepseek-v3.2", None, None, None, None, Chat),
    ("Pro/BAAI/bge-m3", "pro baai bge m3 bge-m3", "bge-m3", "bge-m3", None, None, None, None, Embedding),
    ("LoRA/Qwen/Qwen2.5-32B-Instruct", "lora qwen qwen2.5 32b instruct qwen2.5-32b-instruct", "qwen2.5-32b-instruct", "qwen2.5-32b-instruct", None, Some(32.0), None, None, Chat),
    ("Qwen/Qwen3-Embedding-8B", "qwen qwen3 embedding 8b qwen3-embedding-8b", "qwen3-embedding-8b", "qwen3-embedding-8b", None, Some(8.0), None, None, Embedding),
    ("BAAI/bge-reranker-v2-m3", "baai bge reranker v2 m3 bge-reranker-v2-m3", "bge-reranker-v2-m3", "bge-reranker-v2-m3", None, None, None, None, Rerank),
    ("FunAudioLLM/CosyVoice2-0.5B", "funaudiollm cosyvoice2 0.5b cosyvoice2-0.5b", "cosyvoice2-0.5b", "cosyvoice2-0.5b", None, Some(0.5), None, None, Audio),
    ("Kwai-Kolors/Kolors", "kwai kolors kwai-kolors", "kwai-kolors", "kolors", None, None, None, None, Image),
    ("Pro/moonshotai/Kimi-K2-Instruct-0905", "pro moonshotai kimi k2 instruct 0905 kimi-k2-instruct-0905 kimi-k2-instruct", "kimi-k2-instruct-0905 kimi-k2-instruct", "kimi-k2-instruct-0905", Some("kimi-k2-instruct"), None, None, None, Chat),
    ("bedrock/us-east-1/meta.llama3-8b-instruct-v1:0", "bedrock us east meta.llama3 8b instruct v1 meta.llama3-8b-instruct-v1", "meta.llama3-8b-instruct-v1", "meta.llama3-8b-instruct-v1:0", None, Some(8.0), None, None, Chat),
    ("anthropic.claude-3-opus-20240229-v1:0", "anthropic.claude opus 20240229 v1 anthropic.claude-3-opus-20240229-v1", "anthropic.claude-3-opus-20240229-v1", "anthropic.claude-3-opus-20240229-v1:0", None, None, None, None, Chat),
    ("azure/eu/gpt-4o-2024-08-06", "azure eu gpt 4o 2024 08 06 gpt-4o-2024-08-06 gpt-4o", "gpt-4o-2024-08-06 gpt-4o", "gpt-4o-2024-08-06", Some("gpt-4o"), None, None, None, Chat),
    ("azure/us/text-embedding-3-large", "azure us text embedding large text-embedding-3-large", "text-embedding-3-large", "text-embedding-3-large", None, None, None, None, Embedding),
    ("bedrock/us-gov-west-1/amazon.titan-embed-text-v2:0", "bedrock us gov west amazon.titan embed text v2 amazon.titan-embed-text-v2", "amazon.titan-embed-text-v2", "amazon.titan-embed-text-v2:0", None, None, None, None, Embedding),
    ("1024-x-1024/50-steps/stability.stable-diffusion-xl-v1", "1024 50 steps stability.stable diffusion xl v1 stability.stable-diffusion-xl-v1", "stability.stable-diffusion-xl-v1", "stability.stable-diffusion-xl-v1", None, None, None, None, Image),
    ("vertex_ai/claude-3-5-sonnet@20240620", "vertex ai claude sonnet 20240620 claude-3-5-sonnet", "claude-3-5-sonnet", "claude-3-5-sonnet@20240620", Some("claude-3-5-sonnet"), None, None, None, Chat),
    ("azure/gpt-35-turbo-16k-0613", "azure gpt 35 turbo 16k 0613 gpt-35-turbo-16k-0613 gpt-35-turbo-16k", "gpt-35-turbo-16k-0613 gpt-35-turbo-16k", "gpt-35-turbo-16k-0613", Some("gpt-35-turbo-16k"), None, None, Some(16384), Chat),
    ("gpt-4-0613", "gpt 0613 gpt-4-0613 gpt-4", "gpt-4-0613 gpt-4", "gpt-4-0613", Some("gpt-4"), None, None, None, Chat),
    ("mistral-large-2407", "mistral large 2407 mistral-large-2407 mistral-large", "mistral-large-2407 mistral-large", "mistral-large-2407", Some("mistral-large"), None, None, None, Chat),
    ("command-r-08-2024", "command 08 2024 command-r-08-2024 command-r", "command-r-08-2024 command-r", "command-r-08-2024", Some("command-r"), None, None, None, Chat),
    ("google/gemini-2.5-pro-preview-03-25", "google gemini 2.5 pro preview 03 25 gemini-2.5-pro-preview-03-25 gemini-2.5-pro-preview", "gemini-2.5-pro-preview-03-25 gemini-2.5-pro-preview", "gemini-2.5-pro-preview-03-25", Some("gemini-2.5-pro-preview"), None, None, None, Chat),
    ("jamba-large-1.6-2025-03", "jamba large 1.6 2025 03 jamba-large-1.6-2025-03 jamba-large-1.6", "jamba-large-1.6-2025-03 jamba-large-1.6", "jamba-large-1.6-2025-03", Some("jamba-large-1.6"), None, None, None, Chat),
    ("doubao-1-5-pro-32k-250115", "doubao pro 32k 250115 doubao-1-5-pro-32k-250115 doubao-1-5-pro-32k", "doubao-1-5-pro-32k-250115 doubao-1-5-pro-32k", "doubao-1-5-pro-32k-250115", Some("doubao-1-5-pro-32k"), None, None, Some(32768), Chat),
    ("doubao-seed-1-6-251015", "doubao seed 251015 doubao-seed-1-6-251015 doubao-seed-1-6", "doubao-seed-1-6-251015 doubao-seed-1-6", "doubao-seed-1-6-251015", Some("doubao-seed-1-6"), None, None, None, Chat),
    ("o1-2024-12-17", "o1 2024 12 17 o1-2024-12-17", "o1-2024-12-17 o1", "o1-2024-12-17", Some("o1"), None, None, None, Chat),
    ("llama3-70b-8192", "llama3 70b 8192 llama3-70b-8192", "llama3-70b-8192", "llama3-70b-8192", None, Some(70.0), None, Some(8192), Chat),
    ("mixtral-8x7b-32768", "mixtral 8x7b 32768 mixtral-8x7b-32768", "mixtral-8x7b-32768", "mixtral-8x7b-32768", None, Some(56.0), None, Some(32768), Chat),
    ("phi-3-mini-4k-instruct", "phi mini 4k instruct phi-3-mini-4k-instruct", "phi-3-mini-4k-instruct", "phi-3-mini-4k-instruct", None, None, None, Some(4096), Chat),
    ("yi-34b-200k", "yi 34b 200k yi-34b-200k", "yi-34b-200k", "yi-34b-200k", None, Some(34.0), None, Some(200000), Chat),
    ("meta-llama/llama-4-scout-17b-16e-instruct", "meta llama scout 17b 16e instruct llama-4-scout-17b-16e-instruct", "llama-4-scout-17b-16e-instruct", "llama-4-scout-17b-16e-instruct", None, None, Some(17.0), None, Chat),
    ("google/gemma-3n-e4b-it", "google gemma 3n e4b it gemma-3n-e4b-it", "gemma-3n-e4b-it", "gemma-3n-e4b-it", None, Some(4.0), None, None, Chat),
    ("fireworks_ai/accounts/fireworks/models/qwen3-1p7b", "fireworks ai accounts models qwen3 1p7b qwen3-1p7b", "qwen3-1p7b", "qwen3-1p7b", None, Some(1.7), None, None, Chat),
    ("Qwen/Qwen3.8-2.4T-A95B", "qwen qwen3.8 2.4t a95b qwen3.8-2.4t-a95b", "qwen3.8-2.4t-a95b", "qwen3.8-2.4t-a95b", None, Some(2400.0), Some(95.0), None, Chat),
    ("inclusionai/ling-2.6-1t", "inclusionai ling 2.6 1t ling-2.6-1t", "ling-2.6-1t", "ling-2.6-1t", None, Some(1000.0), None, None, Chat),
    ("tencent/hunyuan-a13b-instruct:free", "tencent hunyuan a13b instruct free hunyuan-a13b-instruct", "hunyuan-a13b-instruct", "hunyuan-a13b-instruct", None, None, Some(13.0), None, Chat),
    ("anthropic/claude-3.7-sonnet:thinking", "anthropic claude 3.7 sonnet thinking claude-3.7-sonnet", "claude-3.7-sonnet", "claude-3.7-sonnet", None, None, None, None, Chat),
    ("openai/gpt-4o:extended", "openai gpt 4o extended gpt-4o", "gpt-4o", "gpt-4o", None, None, None, None, Chat),
    ("meta-llama/llama-guard-4-12b", "meta llama guard 12b llama-guard-4-12b", "llama-guard-4-12b", "llama-guard-4-12b", None, Some(12.0), None, None, Moderation),
    ("gpt-4o-mini-tts", "gpt 4o mini tts gpt-4o-mini-tts", "gpt-4o-mini-tts", "gpt-4o-mini-tts", None, None, None, None, Audio),
    ("gpt-4o-transcribe", "gpt 4o transcribe gpt-4o-transcribe", "gpt-4o-transcribe", "gpt-4o-transcribe", None, None, None, None, Audio),
    ("gpt-realtime", "gpt realtime gpt-realtime", "gpt-realtime", "gpt-realtime", None, None, None, None, Audio),
    ("tts-1-hd", "tts hd tts-1-hd", "tts-1-hd", "tts-1-hd", None, None, None, None, Audio),
    ("black-forest-labs/FLUX.1-schnell", "black forest labs flux.1 schnell flux.1-schnell", "flux.1-schnell", "flux.1-schnell", None, None, None, None, Image),
    ("openai/sora-2-pro", "openai sora pro sora-2-pro", "sora-2-pro", "sora-2-pro", None, None, None, None, Image),
    ("google/veo-3.1", "google veo 3.1 veo-3.1", "veo-3.1", "veo-3.1", None, None, None, None, Image),
    ("doubao-embedding-vision-251215", "doubao embedding vision 251215 doubao-embedding-vision-251215 doubao-embedding-vision", "doubao-embedding-vision-251215 doubao-embedding-vision", "doubao-embedding-vision-251215", Some("doubao-embedding-vision"), None, None, None, Embedding),
    ("voyage/rerank-2", "voyage rerank rerank-2", "rerank-2", "rerank-2", None, None, None, None, Rerank),
    ("voyage/voyage-3.5", "voyage 3.5 voyage-3.5", "voyage-3.5", "voyage-3.5", None, None, None, None, Embedding),
    ("intfloat/multilingual-e5-large", "intfloat multilingual e5 large multilingual-e5-large", "multilingual-e5-large", "multilingual-e5-large", None, None, None, None, Embedding),
    ("sentence-transformers/all-minilm-l6-v2", "sentence transformers all minilm l6 v2 all-minilm-l6-v2", "all-minilm-l6-v2", "all-minilm-l6-v2", None, None, None, None, Embedding),
    ("text-embedding-ada-002", "text embedding ada 002 text-embedding-ada-002", "text-embedding-ada-002", "text-embedding-ada-002", None, None, None, None, Embedding),
    ("gpt-4o", "gpt 4o gpt-4o", "gpt-4o", "gpt-4o", None, None, None, None, Chat),
    ("gpt-4o-mini", "gpt 4o mini gpt-4o-mini", "gpt-4o-mini", "gpt-4o-mini", None, None, None, None, Chat),
    ("deepseek-chat", "deepseek chat deepseek-chat", "deepseek-chat", "deepseek-chat", None, None, None, None, Chat),
    ("claude-sonnet-4-5-20250929", "claude sonnet 20250929 claude-sonnet-4-5-20250929 claude-sonnet-4-5", "claude-sonnet-4-5-20250929 claude-sonnet-4-5", "claude-sonnet-4-5-20250929", Some("claude-sonnet-4-5"), None, None, None, Chat),
    ("x-ai/grok-4", "ai grok grok-4", "grok-4", "grok-4", None, None, None, None, Chat),
    ("openrouter/auto", "openrouter auto", "", "auto", None, None, None, None, Chat),
    ("moonshotai/kimi-k2.5-0127", "moonshotai kimi k2.5 0127 kimi-k2.5-0127 kimi-k2.5", "kimi-k2.5-0127 kimi-k2.5", "kimi-k2.5-0127", Some("kimi-k2.5"), None, None, None, Chat),
    ("THUDM/GLM-4-32B-0414", "thudm glm 32b 0414 glm-4-32b-0414 glm-4-32b", "glm-4-32b-0414 glm-4-32b", "glm-4-32b-0414", Some("glm-4-32b"), Some(32.0), None, None, Chat),
    ("qwen/qwen3-235b-a22b-07-25:free", "qwen qwen3 235b a22b 07 25 free qwen3-235b-a22b-07-25 qwen3-235b-a22b", "qwen3-235b-a22b-07-25 qwen3-235b-a22b", "qwen3-235b-a22b-07-25", Some("qwen3-235b-a22b"), Some(235.0), Some(22.0), None, Chat),
    ("cohere/command-r7b-12-2024", "cohere command r7b 12 2024 command-r7b-12-2024 command-r7b", "command-r7b-12-2024 command-r7b", "command-r7b-12-2024", Some("command-r7b"), None, None, None, Chat),
    ("gemini-2.5-flash-preview-09-2025", "gemini 2.5 flash preview 09 2025 gemini-2.5-flash-preview-09-2025 gemini-2.5-flash-preview", "gemini-2.5-flash-preview-09-2025 gemini-2.5-flash-preview", "gemini-2.5-flash-preview-09-2025", Some("gemini-2.5-flash-preview"), None, None, None, Chat),
    ("mistralai/mixtral-8x22b-instruct", "mistralai mixtral 8x22b instruct mixtral-8x22b-instruct", "mixtral-8x22b-instruct", "mixtral-8x22b-instruct", None, Some(176.0), None, None, Chat),
    ("smollm2:135m", "smollm2 135m", "smollm2 135m", "smollm2:135m", None, Some(0.135), None, None, Chat),
    ("granite4:7b-a1b-h", "granite4 7b a1b 7b-a1b-h", "granite4 7b-a1b-h", "granite4:7b-a1b-h", None, Some(7.0), Some(1.0), None, Chat),
    ("togethercomputer/m2-bert-80M-32k-retrieval", "togethercomputer m2 bert 80m 32k retrieval m2-bert-80m-32k-retrieval", "m2-bert-80m-32k-retrieval", "m2-bert-80m-32k-retrieval", None, Some(0.08), None, Some(32768), Embedding),
    ("hexgrad/kokoro-82m", "hexgrad kokoro 82m kokoro-82m", "kokoro-82m", "kokoro-82m", None, Some(0.082), None, None, Audio),
    ("qwen3-235b-a22b", "qwen3 235b a22b qwen3-235b-a22b", "qwen3-235b-a22b", "qwen3-235b-a22b", None, Some(235.0), Some(22.0), None, Chat),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "deepseek ai r1 distill llama 70b deepseek-r1-distill-llama-70b", "deepseek-r1-distill-llama-70b", "deepseek-r1-distill-llama-70b", None, Some(70.0), None, None, Chat),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistralai mistral 7b instruct v0.3 mistral-7b-instruct-v0.3", "mistral-7b-instruct-v0.3", "mistral-7b-instruct-v0.3", None, Some(7.0), None, None, Chat),
    // degenerate ids
    ("", "", "", "", None, None, None, None, Chat),
    ("  Free  ", "free", "", "free", None, None, None, None, Chat),
    ("/", "", "", "", None, None, None, None, Chat),
    ("a", "", "", "a", None, None, None, None, Chat),
];

#[test]
fn table_cases_match_exactly() {
    assert!(CASES.len() >= 100, "{} cases", CASES.len());
    let mut failures = Vec::new();
    for &(id, tags, segments, base_id, date_alias, params, active, context, kind) in CASES {
        let expected = NameFacts {
            tags: words_of(tags),
            segments: words_of(segments),
            base_id: base_id.to_owned(),
            date_alias: date_alias.map(str::to_owned),
            params_b: params,
            active_params_b: active,
            context_tokens: context,
            kind,
        };
        let actual = analyse(id);
        if actual != expected {
            failures.push(format!(
                "{id:?}\n  expected {expected:?}\n  actual   {actual:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn words_of(list: &str) -> Vec<String> {
    list.split_whitespace().map(str::to_owned).collect()
}

/// docs/queries.md name forms: the bare id matches vendor-prefixed and variant ids; `gpt-4o` is never a
/// segment of `gpt-4o-mini`; the date-stripped segment is queryable.
#[test]
fn spec_query_name_forms() {
    for id in [
        "qwen/qwen3-235b-a22b",
        "qwen/qwen3-235b-a22b:free",
        "qwen3-235b-a22b",
    ] {
        assert_eq!(analyse(id).base_id, "qwen3-235b-a22b", "{id}");
    }
    assert_eq!(analyse("gpt-4o-mini").segments, ["gpt-4o-mini"]);
    let haiku = analyse("anthropic/claude-3-haiku-20240307:beta");
    assert_eq!(
        haiku.segments,
        ["claude-3-haiku-20240307", "claude-3-haiku"]
    );
    assert_eq!(haiku.date_alias.as_deref(), Some("claude-3-haiku"));
}

#[test]
fn analyse_is_case_and_padding_insensitive() {
    assert_eq!(
        analyse("  QWEN/Qwen3-30B-A3B:FREE "),
        analyse("qwen/qwen3-30b-a3b:free")
    );
}

#[test]
fn variant_suffixes_chain_and_ollama_tags_stay() {
    assert_eq!(analyse("openai/gpt-4o:free:thinking").base_id, "gpt-4o");
    assert_eq!(analyse("llama3:latest").base_id, "llama3");
    assert_eq!(analyse("glm-4.7:cloud").base_id, "glm-4.7");
    assert_eq!(analyse("qwen2.5:7b").base_id, "qwen2.5:7b");
    assert_eq!(analyse("codellama:python").base_id, "codellama:python");
    assert_eq!(analyse(":free").base_id, ":free");
}

#[test]
fn model_kind_names_and_serde_agree() {
    for kind in [Chat, Embedding, Rerank, Image, Audio, Moderation] {
        let json = serde_json::to_string(&kind).expect("serialise");
        assert_eq!(json, format!("\"{}\"", kind.as_str()));
        assert_eq!(
            serde_json::from_str::<ModelKind>(&json).expect("parse"),
            kind
        );
    }
    assert_eq!(Embedding.as_str(), "embedding");
}

#[test]
fn strip_date_suffix_table() {
    #[rustfmt::skip]
    let cases: &[(&str, Option<&str>)] = &[
        ("claude-3-haiku-20240307", Some("claude-3-haiku")),        // YYYYMMDD
        ("gpt-4o-2024-08-06", Some("gpt-4o")),                      // YYYY-MM-DD
        ("gemini-exp-202411", Some("gemini-exp")),                  // YYYYMM
        ("jamba-mini-1.7-2025-07", Some("jamba-mini-1.7")),         // YYYY-MM
        ("c4ai-command-a-03-2025", Some("c4ai-command-a")),         // MM-YYYY
        ("deepseek-v3-1-250821", Some("deepseek-v3-1")),            // YYMMDD
        ("gemini-2.5-pro-preview-05-06", Some("gemini-2.5-pro-preview")), // MM-DD
        ("gpt-4-0613", Some("gpt-4")),                              // MMDD
        ("kimi-k2-0905", Some("kimi-k2")),                          // MMDD, no size lost
        ("qwen3-4b-instruct-2507", Some("qwen3-4b-instruct")),      // YYMM
        ("mistral-small-2312", Some("mistral-small")),              // YYMM
        ("claude-3-5-haiku@20241022", Some("claude-3-5-haiku")),    // Vertex '@'
        ("codestral@2405", Some("codestral")),
        ("hailuo-03-20260730", Some("hailuo-03")),                  // one date only
        ("voxtral-mini-3b-2507-20260813", Some("voxtral-mini-3b-2507")),
        ("o1-2024-12-17", Some("o1")),
        ("llama3-70b-8192", None),                                  // 81/92: no month
        ("gpt-4-32k", None),
        ("text-embedding-ada-002", None),
        ("gemini-2.0-flash-001", None),
        ("mistral-large@2411-001", None),
        ("gpt-4-1106-preview", None),                               // not at the end
        ("ep-20250613210739-qjxdl", None),
        ("ep-20250613210739", None),                                // 14 digits
        ("model-2024", None),                                       // a year alone
        ("model-20241301", None),                                   // month 13
        ("model-20240100", None),                                   // day 0
        ("model-19990101", None),                                   // year out of range
        ("claude-haiku-4-5", None),
        ("minimax-01", None),
        ("2024-08-06", None),                                       // nothing left with a letter
        ("20240307", None),
        ("", None),
        ("-", None),
        ("@", None),
        ("é-20240307", Some("é")),
    ];
    for &(input, expected) in cases {
        assert_eq!(strip_date_suffix(input), expected, "{input:?}");
    }
}

#[test]
fn parse_param_size_table() {
    #[rustfmt::skip]
    let cases: &[(&str, Option<f64>)] = &[
        ("7b", Some(7.0)), ("7B", Some(7.0)), (" 7b ", Some(7.0)), ("1.5b", Some(1.5)),
        ("0.5b", Some(0.5)), ("270m", Some(0.27)), ("22M", Some(0.022)), ("1t", Some(1000.0)),
        ("2.4t", Some(2400.0)), ("8x7b", Some(56.0)), ("8X22B", Some(176.0)), ("16x3.8b", Some(60.8)),
        ("405b", Some(405.0)),
        ("7", None), ("b", None), ("", None), ("7bb", None), ("-7b", None), ("+7b", None),
        ("1e3b", None), ("infb", None), ("nanb", None), ("7k", None), ("0b", None), ("0x7b", None),
        ("1.b", None), (".5b", None), ("1..5b", None), ("x7b", None), ("8x", None), ("8xb", None),
        ("+8x7b", None), ("a3b", None), ("e4b", None), ("1p7b", None), ("١b", None), ("7b٠", None),
    ];
    for &(input, expected) in cases {
        assert_eq!(parse_param_size(input), expected, "{input:?}");
    }
}

#[test]
fn parse_context_size_table() {
    #[rustfmt::skip]
    let cases: &[(&str, Option<u64>)] = &[
        ("32k", Some(32_768)), ("32K", Some(32_768)), ("128k", Some(131_072)), ("256k", Some(262_144)),
        ("4k", Some(4_096)), ("1k", Some(1_024)), ("200k", Some(200_000)), ("100k", Some(100_000)),
        ("1048k", Some(1_048_000)), ("1m", Some(1_048_576)), ("2M", Some(2_097_152)),
        ("10m", Some(10_000_000)), ("32ki", Some(32_768)), ("200ki", Some(204_800)),
        ("1mi", Some(1_048_576)), ("1.5k", Some(1_500)), ("0.5m", Some(500_000)),
        ("8192", Some(8_192)), ("0", Some(0)), (" 64k ", Some(65_536)),
        ("k", None), ("", None), ("ki", None), ("32kb", None), ("-1k", None), ("32 k", None),
        ("1e3k", None), ("99999999999999999999", None), ("18446744073709551615k", None),
        ("32g", None), ("١٢k", None), ("32é", None),
    ];
    for &(input, expected) in cases {
        assert_eq!(parse_context_size(input), expected, "{input:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Real corpus

fn corpus() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/model_names.txt");
    std::fs::read_to_string(path).expect("tests/data/model_names.txt")
}

/// Every structural promise holds on all 13,834 real ids.
#[test]
fn corpus_facts_are_well_formed() {
    let text = corpus();
    let ids: Vec<&str> = text.lines().collect();
    assert_eq!(ids.len(), 13_834);
    let started = std::time::Instant::now();
    let facts: Vec<NameFacts> = ids.iter().map(|id| analyse(id)).collect();
    eprintln!("analysed {} ids in {:?}", ids.len(), started.elapsed());
    for (id, f) in ids.iter().zip(&facts) {
        assert!(!f.tags.is_empty(), "{id}: no tags");
        for tag in &f.tags {
            assert!(
                !tag.is_empty() && *tag == tag.to_lowercase(),
                "{id}: tag {tag:?}"
            );
            assert!(!tag.contains(['/', ':', '@', ',']), "{id}: tag {tag:?}");
            let is_segment = f.segments.contains(tag);
            assert!(
                is_segment || !tag.contains(['-', '_']),
                "{id}: piece {tag:?}"
            );
        }
        assert!(
            f.segments.iter().all(|s| f.tags.contains(s)),
            "{id}: segment not a tag"
        );
        if let Some(p) = f.params_b {
            assert!((0.01..=3000.0).contains(&p), "{id}: params {p}");
        }
        if let Some(a) = f.active_params_b {
            assert!((0.01..=3000.0).contains(&a), "{id}: active {a}");
            assert!(
                f.params_b.is_none_or(|p| a < p),
                "{id}: active {a} >= total"
            );
        }
        if let Some(c) = f.context_tokens {
            assert!((512..=20_000_000).contains(&c), "{id}: context {c}");
        }
        if let Some(alias) = &f.date_alias {
            assert!(f.base_id.starts_with(alias.as_str()), "{id}: alias {alias}");
        }
    }
}

/// Counts over the corpus, checked after reading the printed samples. A rule change that moves
/// them must be looked at again (run with `--nocapture` to see the samples).
#[test]
fn corpus_counts_after_review() {
    let text = corpus();
    let analysed: Vec<(&str, NameFacts)> = text.lines().map(|id| (id, analyse(id))).collect();
    let count = |pred: &dyn Fn(&str, &NameFacts) -> bool| {
        analysed.iter().filter(|(id, f)| pred(id, f)).count()
    };
    let mut per_kind: HashMap<ModelKind, usize> = HashMap::new();
    for (_, f) in &analysed {
        *per_kind.entry(f.kind).or_default() += 1;
    }
    for (i, (id, f)) in analysed.iter().enumerate().filter(|(i, _)| i % 700 == 0) {
        eprintln!(
            "{i:>5} {id} -> {} {:?}/{:?} ctx {:?} base {} alias {:?} tags {:?}",
            f.kind.as_str(),
            f.params_b,
            f.active_params_b,
            f.context_tokens,
            f.base_id,
            f.date_alias,
            f.tags
        );
    }
    eprintln!("kinds {per_kind:?}");

    let embed_ids = count(&|id, _| id.to_lowercase().contains("embed"));
    let embed_as_embedding =
        count(&|id, f| id.to_lowercase().contains("embed") && f.kind == Embedding);
    assert_eq!((embed_ids, embed_as_embedding), (225, 225));
    let free_ids = count(&|id, _| id.ends_with(":free"));
    let free_tagged = count(&|id, f| {
        id.ends_with(":free") && f.tags.iter().any(|t| t == "free") && !f.base_id.ends_with(":free")
    });
    assert_eq!((free_ids, free_tagged), (77, 77));
    assert_eq!(per_kind.get(&Chat), Some(&12_245));
    assert_eq!(per_kind.get(&Image), Some(&716));
    assert_eq!(per_kind.get(&Embedding), Some(&330));
    assert_eq!(per_kind.get(&Audio), Some(&328));
    assert_eq!(per_kind.get(&Moderation), Some(&158));
    assert_eq!(per_kind.get(&Rerank), Some(&57));
    assert_eq!(count(&|_, f| f.params_b.is_some()), 8_661);
    assert_eq!(count(&|_, f| f.active_params_b.is_some()), 409);
    assert_eq!(count(&|_, f| f.context_tokens.is_some()), 414);
    assert_eq!(count(&|_, f| f.date_alias.is_some()), 1_000);
}

/// Kinds stated by real catalogues (LiteLLM `mode`, OpenRouter output modalities, Together
/// `type`, Cohere endpoints, Mistral capabilities, Ollama library capabilities, LM Studio
/// `type`; see the file header) agree with the name rules. The known disagreements are
/// decisions (guard models are moderation, `gpt-audio`/`gpt-4o-audio-preview` audio) or
/// label errors (`vercel_ai_gateway/cohere/embed-v4.0` labelled chat).
#[test]
fn kinds_agree_with_catalogue_labels() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/model_kinds.tsv");
    let text = std::fs::read_to_string(path).expect("tests/data/model_kinds.tsv");
    let mut total: HashMap<&str, usize> = HashMap::new();
    let mut agree: HashMap<&str, usize> = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (id, label) = line.split_once('\t').expect("id<TAB>kind");
        *total.entry(label).or_default() += 1;
        let kind = analyse(id).kind;
        if kind.as_str() == label {
            *agree.entry(label).or_default() += 1;
        } else {
            eprintln!("label {label:<10} name rules {:<10} {id}", kind.as_str());
        }
    }
    let share = |label: &str| {
        let t = total.get(label).copied().unwrap_or(0);
        (agree.get(label).copied().unwrap_or(0), t)
    };
    assert_eq!(share("chat"), (5_109, 5_190)); // 41 guard models, 25 gpt-audio/lyria/tts, ...
    assert_eq!(share("image"), (673, 676));
    assert_eq!(share("embedding"), (296, 298));
    assert_eq!(share("audio"), (281, 286)); // voxtral-mini transcription models stay chat
    assert_eq!(share("rerank"), (51, 51));
    assert_eq!(share("moderation"), (8, 8));
}

// ---------------------------------------------------------------------------------------------
// Properties

fn check_invariants(id: &str) -> Result<(), TestCaseError> {
    let f = analyse(id);
    for tag in &f.tags {
        prop_assert!(!tag.is_empty());
        prop_assert_eq!(tag.to_lowercase(), tag.clone());
        prop_assert!(!tag.contains(['/', ':', '@', ',']));
    }
    prop_assert!(f.tags.len() <= MAX_PIECE_TAGS + MAX_SEGMENTS);
    prop_assert!(f.segments.iter().all(|s| f.tags.contains(s)));
    if let Some(p) = f.params_b {
        prop_assert!((MIN_PARAMS_B..=MAX_PARAMS_B).contains(&p));
    }
    if let (Some(a), Some(p)) = (f.active_params_b, f.params_b) {
        prop_assert!(a < p);
    }
    if let Some(c) = f.context_tokens {
        prop_assert!((MIN_CONTEXT..=MAX_CONTEXT).contains(&c));
    }
    if let Some(alias) = &f.date_alias {
        prop_assert!(f.base_id.starts_with(alias.as_str()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        check_invariants(&s)?;
        let _ = parse_param_size(&s);
        let _ = parse_context_size(&s);
        let _ = strip_date_suffix(&s);
    }

    #[test]
    fn name_shaped_strings_keep_invariants(s in "[a-zA-Z0-9./:@_,x -]{0,60}") {
        check_invariants(&s)?;
        if let Some(head) = strip_date_suffix(&s) {
            prop_assert!(s.starts_with(head) && head.len() < s.len());
        }
    }

    #[test]
    fn literal_shaped_strings_never_panic(s in "[0-9.xXkKmMbBtTi ١é]{0,12}") {
        if let Some(b) = parse_param_size(&s) {
            prop_assert!(b.is_finite() && b > 0.0);
        }
        let _ = parse_context_size(&s);
    }

    #[test]
    fn dated_names_lose_exactly_their_date(
        name in "[a-z]{2,8}(-[a-z0-9]{1,4}){0,2}",
        year in 2015u32..=2039, month in 1u32..=12, day in 1u32..=31,
    ) {
        let dated = format!("{name}-{year}{month:02}{day:02}");
        prop_assert_eq!(strip_date_suffix(&dated), Some(name.as_str()));
        let dashed = format!("{name}-{year}-{month:02}-{day:02}");
        prop_assert_eq!(strip_date_suffix(&dashed), Some(name.as_str()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn very_long_strings_never_panic(
        pieces in proptest::collection::vec("[a-z0-9]{1,6}", 1..4_000),
        sep in "[-/:@_,]",
        tail in any::<String>(),
    ) {
        let id = format!("{}{tail}", pieces.join(&sep));
        check_invariants(&id)?;
        let _ = parse_param_size(&id);
        let _ = parse_context_size(&id);
        let _ = strip_date_suffix(&id);
    }
}
