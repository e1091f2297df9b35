//! The secrets this gateway holds — the channels' keys, its API and admin tokens, client keys
//! written in plain — so that the history writer takes them out of what it stores even when
//! they are not shaped like a key (the pattern redaction of [`crate::upstream::redact`] only
//! knows shapes). Set at start and after every reload; read by the writer thread.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use aho_corasick::AhoCorasick;

use crate::config::{Config, KeyToken};

/// What stands in a stored text for a secret.
const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this are not looked for: a short one would match ordinary text.
const MIN_SECRET_CHARS: usize = 8;

/// The current secrets, as one matcher.
#[derive(Default)]
pub struct KnownSecrets {
    matcher: RwLock<Option<Arc<AhoCorasick>>>,
}

impl std::fmt::Debug for KnownSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownSecrets").finish_non_exhaustive()
    }
}

impl KnownSecrets {
    /// Look for the secrets of `config` from now on.
    pub fn set_from(&self, config: &Config) {
        let secrets = config
            .channels
            .iter()
            .filter_map(|c| c.api_key.as_ref().map(|k| k.expose()))
            .chain(config.auth.api_token.iter().map(|t| t.expose()))
            .chain(config.auth.admin_token.iter().map(|t| t.expose()))
            .chain(config.auth.keys.iter().filter_map(|k| match &k.token {
                KeyToken::Plain(token) => Some(token.expose()),
                KeyToken::Sha256(_) => None,
            }));
        self.set(secrets);
    }

    /// Look for `secrets` from now on (those shorter than 8 characters are left out).
    pub fn set<'a>(&self, secrets: impl IntoIterator<Item = &'a str>) {
        let mut secrets: Vec<&str> = secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_SECRET_CHARS)
            .collect();
        secrets.sort_unstable();
        secrets.dedup();
        let matcher = if secrets.is_empty() {
            None
        } else {
            match AhoCorasick::new(secrets.iter()) {
                Ok(matcher) => Some(Arc::new(matcher)),
                Err(e) => {
                    tracing::error!("history: cannot build the secret matcher: {e}");
                    None
                }
            }
        };
        *self.matcher.write().unwrap_or_else(|p| p.into_inner()) = matcher;
    }

    /// `text` with every known secret replaced by `[REDACTED]`; not copied when it holds none.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let matcher = self
            .matcher
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match matcher {
            Some(matcher) if matcher.is_match(text) => {
                let replacements = vec![REDACTED; matcher.patterns_len()];
                Cow::Owned(matcher.replace_all(text, &replacements))
            }
            _ => Cow::Borrowed(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_are_redacted_whatever_their_shape() {
        let secrets = KnownSecrets::default();
        assert_eq!(secrets.redact("nothing set yet"), "nothing set yet");
        secrets.set(["plainsecretLEAKKEY888", "short", "ADMINTOKEN-audit"]);
        assert_eq!(
            secrets.redact("key plainsecretLEAKKEY888 and ADMINTOKEN-audit, short stays"),
            "key [REDACTED] and [REDACTED], short stays"
        );
        assert!(matches!(secrets.redact("clean text"), Cow::Borrowed(_)));
        // A reload that removes a secret stops looking for it.
        secrets.set(["ADMINTOKEN-audit"]);
        assert_eq!(
            secrets.redact("plainsecretLEAKKEY888 ADMINTOKEN-audit"),
            "plainsecretLEAKKEY888 [REDACTED]"
        );
    }
}
