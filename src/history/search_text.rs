//! What full-text search indexes of a body: the text a person would search for, not the JSON
//! around it. A JSON body gives its string values (message contents, tool arguments, ids),
//! unescaped (`\u91cf\u5b50` is indexed as `量子`) and one per line; keys, numbers,
//! punctuation and the values of [`VOCABULARY_KEYS`] (roles, object types, finish reasons,
//! the model, which the row's own fields index) are left out, which more than halves what
//! the trigram index writes for a chat call. A body that is not JSON (cut at `max_body_bytes`, a reassembled stream's
//! text) is indexed as it is.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Keys whose values are protocol words, not content.
pub const VOCABULARY_KEYS: &[&str] = &[
    "role",
    "object",
    "type",
    "finish_reason",
    "stop_reason",
    "model",
];

/// Append the searchable text of `body` to `out`, each piece followed by a newline.
pub fn push_searchable(body: &str, out: &mut String) {
    let start = out.len();
    let mut reader = serde_json::Deserializer::from_str(body);
    let parsed = Strings(out).deserialize(&mut reader).is_ok() && reader.end().is_ok();
    if !parsed {
        out.truncate(start);
        out.push_str(body);
        out.push('\n');
    }
}

/// A visitor that appends every string value it meets and ignores the rest.
struct Strings<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for Strings<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strings<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.0.push_str(text);
        self.0.push('\n');
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while items.next_element_seed(Strings(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        while let Some(Key { vocabulary }) = entries.next_key::<Key>()? {
            if vocabulary {
                entries.next_value::<IgnoredAny>()?;
            } else {
                entries.next_value_seed(Strings(&mut *self.0))?;
            }
        }
        Ok(())
    }
}

/// An object key, read only for whether it is one of [`VOCABULARY_KEYS`].
struct Key {
    vocabulary: bool,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(Key {
            vocabulary: VOCABULARY_KEYS.contains(&key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn searchable(body: &str) -> String {
        let mut out = String::new();
        push_searchable(body, &mut out);
        out
    }

    #[test]
    fn a_json_body_gives_its_string_values_unescaped() {
        let body = r#"{"model":"qwen3","messages":[{"role":"user","content":"\u91cf\u5b50 \"x\""}],"max_tokens":32,"stream":true,"stop":null,"metadata":{"note":"kept","ro\u006ce":"an escaped key is read too"}}"#;
        assert_eq!(searchable(body), "量子 \"x\"\nkept\n");
    }

    #[test]
    fn a_body_that_is_not_json_is_indexed_as_it_is() {
        assert_eq!(
            searchable(r#"{"content":"cut…[truncated 9 bytes]"#),
            "{\"content\":\"cut…[truncated 9 bytes]\n"
        );
        assert_eq!(searchable("plain streamed text"), "plain streamed text\n");
        assert_eq!(
            searchable(r#"{"a":"b"} trailing"#),
            "{\"a\":\"b\"} trailing\n"
        );
    }
}
