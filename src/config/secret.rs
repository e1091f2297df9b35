//! `Secret`: a string that never shows itself.
//!
//! API keys and tokens live in this type from the moment the config is validated. Its `Debug`,
//! `Display` and `Serialize` print `***`, so a debug print of a config struct, a log line or a
//! JSON dump cannot leak one. The only way to the value is [`Secret::expose`], called where a
//! header is built or a token compared. This module must never gain a way to print the value.

use std::fmt;

use serde::{Serialize, Serializer};

/// `url` with its credentials masked, for files, listings, logs and error messages: user and
/// password become `***`, and so does every query value (`?key=...`). Text that does not
/// parse as a URL is masked by its shape: what stands between `://` and the authority's last
/// `@`, and everything after a `?`; without `://`, text with an `@` or a `?` is `***` whole.
pub fn url_without_credentials(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return unparsed_url_without_credentials(url);
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        let _ = parsed.set_username("***");
        let _ = parsed.set_password(None);
    }
    if parsed.query().is_some() {
        let names: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for name in &names {
            query.append_pair(name, "***");
        }
    }
    let text = parsed.to_string();
    // `Url` adds a `/` to a bare host; keep the text as configured otherwise.
    if !url.ends_with('/')
        && text.ends_with('/')
        && parsed.path() == "/"
        && parsed.query().is_none()
    {
        return text[..text.len() - 1].to_string();
    }
    text
}

/// [`url_without_credentials`] of text that is not a URL.
fn unparsed_url_without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.contains(['@', '?']) {
            "***".into()
        } else {
            url.into()
        };
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, _)) => (before, "?***"),
        None => (rest, ""),
    };
    let authority_end = before_query.find(['/', '#']).unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    let host = match authority.rfind('@') {
        Some(at) => format!("***@{}", &authority[at + 1..]),
        None => authority.to_string(),
    };
    format!("{scheme}://{host}{path}{query}")
}

/// A secret string (API key or access token).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for an outgoing header or a constant-time comparison. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let secret = Secret::new("sk-live-1234567890");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(
            serde_json::to_string(&secret).ok().as_deref(),
            Some("\"***\"")
        );
        assert_eq!(secret.expose(), "sk-live-1234567890");
    }
}

#[cfg(test)]
mod url_tests {
    use super::url_without_credentials;

    #[test]
    fn credentials_in_urls_are_masked() {
        let cases = [
            (
                "https://api.groq.com/openai/v1",
                "https://api.groq.com/openai/v1",
            ),
            (
                "http://user:pass@10.0.0.5:8080/v1",
                "http://***@10.0.0.5:8080/v1",
            ),
            ("http://user@host/v1", "http://***@host/v1"),
            (
                "https://host/v1?key=sk-abc123&api-version=2024",
                "https://host/v1?key=***&api-version=***",
            ),
            ("https://host", "https://host"),
            ("not a url?key=1", "***"),
            // Not a URL, but shaped like one: masked by its shape.
            ("http://user:pw-SECRET@[::1/v1", "http://***@[::1/v1"),
            (
                "http://u:p@h:99999/v1?key=sk-1",
                "http://***@h:99999/v1?***",
            ),
            ("http://[::1/v1", "http://[::1/v1"),
            ("plain", "plain"),
        ];
        for (url, shown) in cases {
            assert_eq!(url_without_credentials(url), shown, "{url}");
        }
    }
}
