//! One-API and New-API channel types → this gateway's providers.
//!
//! The two projects number their types the same way up to 27 and differently after (Ollama is
//! 30 in One-API and 4 in New-API; 40 is Doubao in One-API and SiliconFlow in New-API), so
//! the table is per flavour. Numbers and default base URLs are those of One-API's
//! `relay/channeltype` and New-API's `constant/channel.go`. A type missing here is imported
//! as a generic OpenAI-compatible channel when it has a base URL, and skipped otherwise.

/// Which project wrote the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    OneApi,
    NewApi,
}

impl Flavour {
    pub fn name(self) -> &'static str {
        match self {
            Flavour::OneApi => "One-API",
            Flavour::NewApi => "New-API",
        }
    }

    /// Prefix of imported channel ids.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Flavour::OneApi => "oneapi",
            Flavour::NewApi => "newapi",
        }
    }
}

/// A known type: our provider key and the source project's default base URL for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownType {
    pub provider: &'static str,
    pub default_base_url: &'static str,
    /// The source's name of the type, for notes.
    pub name: &'static str,
}

const fn known(
    provider: &'static str,
    default_base_url: &'static str,
    name: &'static str,
) -> KnownType {
    KnownType {
        provider,
        default_base_url,
        name,
    }
}

/// The provider of a channel type, or `None` for a type this gateway has no provider for.
pub fn provider_of(flavour: Flavour, channel_type: i64) -> Option<KnownType> {
    let shared = match channel_type {
        1 => Some(known("openai", "https://api.openai.com", "OpenAI")),
        14 => Some(known("anthropic", "https://api.anthropic.com", "Anthropic")),
        16 => Some(known("zhipu", "https://open.bigmodel.cn", "Zhipu")),
        17 => Some(known("dashscope", "https://dashscope.aliyuncs.com", "Ali")),
        20 => Some(known(
            "openrouter",
            "https://openrouter.ai/api",
            "OpenRouter",
        )),
        24 => Some(known(
            "gemini",
            "https://generativelanguage.googleapis.com",
            "Gemini",
        )),
        25 => Some(known("moonshot", "https://api.moonshot.cn", "Moonshot")),
        _ => None,
    };
    if shared.is_some() {
        return shared;
    }
    match (flavour, channel_type) {
        (Flavour::OneApi, 28) => Some(known("mistral", "https://api.mistral.ai", "Mistral")),
        (Flavour::OneApi, 29) => Some(known("groq", "https://api.groq.com/openai", "Groq")),
        (Flavour::OneApi, 30) => Some(known("ollama", "http://localhost:11434", "Ollama")),
        (Flavour::OneApi, 36) => Some(known("deepseek", "https://api.deepseek.com", "DeepSeek")),
        (Flavour::OneApi, 39) => Some(known("together", "https://api.together.xyz", "TogetherAI")),
        (Flavour::OneApi, 40) => Some(known(
            "doubao",
            "https://ark.cn-beijing.volces.com",
            "Doubao",
        )),
        (Flavour::NewApi, 4) => Some(known("ollama", "http://localhost:11434", "Ollama")),
        (Flavour::NewApi, 26) => Some(known("zhipu", "https://open.bigmodel.cn", "ZhipuV4")),
        (Flavour::NewApi, 40) => Some(known(
            "siliconflow",
            "https://api.siliconflow.cn",
            "SiliconFlow",
        )),
        (Flavour::NewApi, 42) => Some(known("mistral", "https://api.mistral.ai", "Mistral")),
        (Flavour::NewApi, 43) => Some(known("deepseek", "https://api.deepseek.com", "DeepSeek")),
        (Flavour::NewApi, 45) => Some(known(
            "doubao",
            "https://ark.cn-beijing.volces.com",
            "VolcEngine",
        )),
        (Flavour::NewApi, 48) => Some(known("xai", "https://api.x.ai", "xAI")),
        _ => None,
    }
}

/// The generic provider for OpenAI-compatible channels of other types (One-API's `Custom`).
pub const OPENAI_COMPATIBLE: &str = "openai_compatible";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flavours_number_their_types_differently() {
        assert_eq!(
            provider_of(Flavour::OneApi, 30).map(|k| k.provider),
            Some("ollama")
        );
        assert_eq!(
            provider_of(Flavour::NewApi, 4).map(|k| k.provider),
            Some("ollama")
        );
        assert_eq!(
            provider_of(Flavour::OneApi, 40).map(|k| k.provider),
            Some("doubao")
        );
        assert_eq!(
            provider_of(Flavour::NewApi, 40).map(|k| k.provider),
            Some("siliconflow")
        );
        assert_eq!(
            provider_of(Flavour::NewApi, 1).map(|k| k.provider),
            Some("openai")
        );
        assert_eq!(provider_of(Flavour::OneApi, 3), None);
    }
}
