//! The kind of model a name says it is: embedding, rerank, image, audio, moderation, else chat.

use super::*;

// ---------------------------------------------------------------------------------------------
// Kind

/// Words of an id for kind detection: split on tag separators and dots.
pub(super) fn words(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| TAG_SEPARATORS.contains(&c) || c == '.' || c.is_whitespace())
        .filter(|w| !w.is_empty())
}

pub(super) fn first_segment(lower: &str) -> &str {
    lower.split(SEGMENT_SEPARATORS).next().unwrap_or_default()
}

pub(super) fn kind_of(lower: &str) -> ModelKind {
    if is_rerank(lower) {
        ModelKind::Rerank
    } else if is_moderation(lower) {
        ModelKind::Moderation
    } else if is_embedding(lower) {
        ModelKind::Embedding
    } else if is_audio(lower) {
        ModelKind::Audio
    } else if is_image(lower) {
        ModelKind::Image
    } else {
        ModelKind::Chat
    }
}

/// `rerank*` words (`reranker`, `rerankqa`), `*ranker` (`semantic-ranker`), `rank`, `ranking`.
pub(super) fn is_rerank(lower: &str) -> bool {
    words(lower)
        .any(|w| w.starts_with("rerank") || w.ends_with("ranker") || w == "rank" || w == "ranking")
}

/// Word prefixes of moderation and guard models (Llama Guard, Prompt Guard, Granite Guardian,
/// ShieldGemma, gpt-oss-safeguard, NemoGuard); `content-safety` anywhere also counts.
#[rustfmt::skip]
pub(super) const MODERATION_PREFIXES: &[&str] = &[
    "moderation", "guard", "llamaguard", "shieldgemma", "safeguard", "nemoguard",
];

pub(super) fn is_moderation(lower: &str) -> bool {
    lower.contains("content-safety")
        || words(lower).any(|w| MODERATION_PREFIXES.iter().any(|p| w.starts_with(p)))
}

/// Words of embedding families; any id containing `embed` also counts (`text-embedding-3-small`,
/// `nomic-embed-text`, `multimodalembedding`), and `sentence-transformers/` via `sentence`.
#[rustfmt::skip]
pub(super) const EMBEDDING_WORDS: &[&str] = &[
    "bge", "gte", "e5", "minilm", "mpnet", "voyage", "paraphrase", "retrieval", "uae", "colbert",
    "sentence",
];

pub(super) fn is_embedding(lower: &str) -> bool {
    lower.contains("embed") || words(lower).any(|w| EMBEDDING_WORDS.contains(&w))
}

/// Speech-to-text, text-to-speech, realtime voice and music words; any word ending in `tts`
/// (`indextts`) also counts.
#[rustfmt::skip]
pub(super) const AUDIO_WORDS: &[&str] = &[
    "tts", "ttsd", "stt", "asr", "transcribe", "transcription", "diarize", "speech", "realtime",
    "voice", "audio", "live", "sonic", "orpheus", "kokoro", "chirp", "lyria", "scribe", "eleven",
    "parakeet", "canary",
];
pub(super) const AUDIO_PREFIXES: &[&str] = &["whisper", "cosyvoice", "sensevoice"];
/// Audio-only vendors, as the first segment (`deepgram/nova-3`).
#[rustfmt::skip]
pub(super) const AUDIO_VENDORS: &[&str] = &[
    "deepgram", "elevenlabs", "assemblyai", "aws_polly", "soniox", "cartesia", "fishaudio",
    "sesame",
];

pub(super) fn is_audio(lower: &str) -> bool {
    AUDIO_VENDORS.contains(&first_segment(lower))
        || words(lower).any(|w| {
            AUDIO_WORDS.contains(&w)
                || w.ends_with("tts")
                || AUDIO_PREFIXES.iter().any(|p| w.starts_with(p))
        })
}

/// Image and video generation. Phrases match anywhere; words and prefixes match words.
pub(super) const IMAGE_PHRASES: &[&str] = &[
    "dall-e",
    "gpt-image",
    "stable-diffusion",
    "nano-banana",
    "to-image",
    "to-video",
];
#[rustfmt::skip]
pub(super) const IMAGE_WORDS: &[&str] = &[
    "image", "images", "imagine", "video", "sd", "sd3", "ssd", "sora", "kling", "hailuo", "t2v",
    "i2v", "r2v", "t2i", "canvas", "inpaint", "outpaint", "upscale", "recraft", "ideogram", "krea",
    "riverflow", "aleph", "happyhorse", "wan", "gen4", "stability", "midjourney", "playground",
];
#[rustfmt::skip]
pub(super) const IMAGE_PREFIXES: &[&str] = &[
    "imagen", "flux", "sdxl", "seedream", "seedance", "seededit", "seed3d", "kolors", "hidream",
    "cogview", "cogvideo", "veo",
];
/// Image/video-only vendors, as the first segment (`black-forest-labs/flux.2-pro`).
#[rustfmt::skip]
pub(super) const IMAGE_VENDORS: &[&str] = &[
    "black-forest-labs", "black_forest_labs", "fal_ai", "fal-ai", "runway", "runwayml", "luma",
    "lumaai", "kwaivgi", "bfl",
];

/// Also LiteLLM keys with an image resolution segment (`1024-x-1024/...`).
pub(super) fn is_image(lower: &str) -> bool {
    IMAGE_VENDORS.contains(&first_segment(lower))
        || IMAGE_PHRASES.iter().any(|p| lower.contains(p))
        || lower.split(SEGMENT_SEPARATORS).any(is_image_resolution)
        || words(lower)
            .any(|w| IMAGE_WORDS.contains(&w) || IMAGE_PREFIXES.iter().any(|p| w.starts_with(p)))
}
