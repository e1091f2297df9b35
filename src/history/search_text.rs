//! What full-text search indexes of a body: the text a person would search for, not the JSON
//! around it. A JSON body gives its string values (message contents, tool arguments, ids),
//! unescaped (`\u91cf\u5b50` is indexed as `量子`) and one per line; keys, numbers,
//! punctuation and the values of [`VOCABULARY_KEYS`] (roles, object types, finish reasons,
//! the model, which the row's own fields index) are left out, which more than halves what
//! the trigram index writes for a chat call. A JSON body cut at `max_body_bytes` gives the
//! same, up to the cut (the string the cut fell in, as far as it goes): [`push_cut_json`].
//! A body that is not JSON (a reassembled stream's text, an error page) is indexed as it is.

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

/// Append the searchable text of `body` to `out`, each piece followed by a newline. `cut`:
/// the body is the head of a longer one (stored cut at `max_body_bytes`, marker removed).
pub fn push_searchable(body: &str, cut: bool, out: &mut String) {
    let start = out.len();
    let mut reader = serde_json::Deserializer::from_str(body);
    let Err(failed) = Strings(out)
        .deserialize(&mut reader)
        .and_then(|()| reader.end())
    else {
        return;
    };
    out.truncate(start);
    // A parse that ran out of input read a valid head already; only another failure (a
    // number the cut fell in, a lone surrogate) needs the second look.
    if cut && (failed.is_eof() || is_json_head(body)) {
        push_cut_json(body, out);
    } else {
        out.push_str(body);
        out.push('\n');
    }
}

/// Whether `text` is valid JSON as far as it goes (the parser runs out of input, and finds
/// nothing wrong before that). A number or literal the cut fell in (`1.`, `2e`) is not
/// checked: the parser calls those invalid, not short.
fn is_json_head(text: &str) -> bool {
    let text = text.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let mut reader = serde_json::Deserializer::from_str(text);
    match <IgnoredAny as de::Deserialize>::deserialize(&mut reader) {
        Ok(_) => false,
        Err(e) => e.is_eof(),
    }
}

/// What [`push_searchable`] gives a whole JSON body, for the head of one: every string value
/// before the cut and the part of the one the cut fell in, unescaped, one per line; keys and
/// the values of [`VOCABULARY_KEYS`] left out. An escape the cut split is dropped. `text`
/// must be valid JSON as far as it goes ([`is_json_head`]).
fn push_cut_json(text: &str, out: &mut String) {
    // Open containers: `true` for an object.
    let mut open: Vec<bool> = Vec::new();
    // In an object, at a key's place (after `{` or `,`).
    let mut at_key = false;
    // The last key read is one of the vocabulary: its value is left out.
    let mut vocabulary_value = false;
    // The depth of the container a vocabulary key opened: everything inside is left out.
    let mut skipped_from: Option<usize> = None;
    let mut at = 0;
    let bytes = text.as_bytes();
    while let Some(&byte) = bytes.get(at) {
        at += 1;
        match byte {
            b'{' | b'[' => {
                if vocabulary_value && skipped_from.is_none() {
                    skipped_from = Some(open.len());
                }
                vocabulary_value = false;
                open.push(byte == b'{');
                at_key = byte == b'{';
            }
            b'}' | b']' => {
                open.pop();
                if skipped_from == Some(open.len()) {
                    skipped_from = None;
                }
                at_key = false;
                vocabulary_value = false;
            }
            b',' => {
                at_key = open.last() == Some(&true);
                vocabulary_value = false;
            }
            b'"' => {
                let (value, end) = unescape_head(text, at);
                at = end;
                if at_key {
                    vocabulary_value = VOCABULARY_KEYS.contains(&value.as_str());
                    at_key = false;
                } else {
                    if skipped_from.is_none() && !vocabulary_value {
                        out.push_str(&value);
                        out.push('\n');
                    }
                    vocabulary_value = false;
                }
            }
            _ => {}
        }
    }
}

/// The string that starts at byte `from` of `text` (just after its opening quote), unescaped,
/// and the byte after its closing quote; a string the text ends inside runs to the end, less
/// an escape the end cut short.
fn unescape_head(text: &str, from: usize) -> (String, usize) {
    let mut value = String::new();
    let mut chars = text[from..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '"' => return (value, from + offset + 1),
            '\\' => {
                let Some((_, escaped)) = chars.next() else {
                    break;
                };
                let plain = match escaped {
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => match unicode_escape(&mut chars) {
                        Some(c) => c,
                        None => break,
                    },
                    other => other,
                };
                value.push(plain);
            }
            c => value.push(c),
        }
    }
    (value, text.len())
}

/// The character of a `\uXXXX` escape (the `\u` read), with the low half of a surrogate pair
/// when one follows; `None` when the text ends inside it.
fn unicode_escape(chars: &mut std::str::CharIndices<'_>) -> Option<char> {
    fn hex(chars: &mut std::str::CharIndices<'_>) -> Option<u32> {
        let digits: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
        if digits.len() == 4 {
            u32::from_str_radix(&digits, 16).ok()
        } else {
            None
        }
    }
    let unit = hex(chars)?;
    if !(0xD800..0xDC00).contains(&unit) {
        return Some(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    // A high surrogate: the low one should follow as `\uXXXX`. A lone one stands for U+FFFD
    // (as a lossy decoder has it); one the text ends after is cut short.
    let mut ahead = chars.clone();
    match (ahead.next(), ahead.next()) {
        (Some((_, '\\')), Some((_, 'u'))) => *chars = ahead,
        (None, _) | (Some((_, '\\')), None) => return None,
        _ => return Some(char::REPLACEMENT_CHARACTER),
    }
    let low = hex(chars)?;
    if !(0xDC00..0xE000).contains(&low) {
        return Some(char::REPLACEMENT_CHARACTER);
    }
    let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    Some(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
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
        push_searchable(body, false, &mut out);
        out
    }

    fn searchable_cut(head: &str) -> String {
        let mut out = String::new();
        push_searchable(head, true, &mut out);
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
        // Cut, but not JSON before the cut either.
        assert_eq!(searchable_cut("plain {text"), "plain {text\n");
        assert_eq!(
            searchable_cut(r#"{"a":"\uZZZZ","b":"c"#),
            "{\"a\":\"\\uZZZZ\",\"b\":\"c\n"
        );
        assert_eq!(searchable_cut(r#"{"a":"b"}} x"#), "{\"a\":\"b\"}} x\n");
        assert_eq!(searchable("plain streamed text"), "plain streamed text\n");
        assert_eq!(
            searchable(r#"{"a":"b"} trailing"#),
            "{\"a\":\"b\"} trailing\n"
        );
    }

    #[test]
    fn a_cut_json_body_gives_its_strings_up_to_the_cut() {
        let head = r#"{"model":"qwen3","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"\u91cf\u5b50 \"computing\" and"#;
        assert_eq!(searchable_cut(head), "Be brief.\n量子 \"computing\" and\n");
        // Cut inside an escape: the escape is dropped, the text before it kept.
        assert_eq!(searchable_cut(r#"{"content":"ab\u91"#), "ab\n");
        assert_eq!(searchable_cut(r#"{"content":"ab\"#), "ab\n");
        assert_eq!(searchable_cut(r#"{"content":"ab\ud83d\ude"#), "ab\n");
        assert_eq!(
            searchable_cut(r#"{"content":"ab\ud83d\ude00 c"#),
            "ab😀 c\n"
        );
        assert_eq!(searchable_cut(r#"{"content":"ab\ud83d"#), "ab\n");
        // A lone surrogate (serde_json refuses one in a whole body) stands for U+FFFD.
        assert_eq!(
            searchable_cut(r#"{"a":"x\ud83dy","b":"c"#),
            "x\u{FFFD}y\nc\n"
        );
        // Cut inside a key: nothing of it is indexed.
        assert_eq!(searchable_cut(r#"{"content":"kept","meta"#), "kept\n");
        // A vocabulary key's value is left out, whatever it holds.
        assert_eq!(
            searchable_cut(
                r#"{"type":{"x":"hidden","y":["hidden"]},"role":"user","note":"shown","tail":["a"#
            ),
            "shown\na\n"
        );
    }

    /// Every cut of a whole body gives the lines the whole body gives, in order, up to the
    /// cut: all but the last whole, the last a prefix of its line (or nothing more).
    #[test]
    fn every_cut_of_a_body_agrees_with_the_whole_body() {
        let bodies = [
            r#"{"model":"m","messages":[{"role":"system","content":"Sys \"q\" \\ \/ \b\f\n\r\t"},{"role":"user","content":"\u91cf\u5b50\u8ba1\u7b97 😀 \ud83d\ude00 end"}],"max_tokens":32,"stream":true,"stop":null}"#,
            r#"[{"type":{"deep":["x",{"y":"z"}]},"text":"after"},"",["nested",["more"]],{"role":"r","a":{"b":"c"}},1.5e3,true,"last"]"#,
            r#"{"tools":[{"type":"function","function":{"name":"get_weather","description":"天气 for a city","parameters":{"type":"object","properties":{"city":{"type":"string","description":"城市"}}}}}],"messages":[]}"#,
        ];
        for body in bodies {
            let whole = searchable(body);
            assert!(!whole.contains('{'), "{body} parses whole: {whole}");
            let whole: Vec<&str> = whole.lines().collect();
            for (cut, _) in body.char_indices().skip(1) {
                let head = &body[..cut];
                let got = searchable_cut(head);
                let got: Vec<&str> = got.lines().collect();
                assert!(got.len() <= whole.len(), "cut at {cut}: {got:?}");
                if let Some((last, before)) = got.split_last() {
                    assert_eq!(before, &whole[..before.len()], "cut at {cut}");
                    assert!(
                        whole[before.len()].starts_with(last),
                        "cut at {cut}: {last:?} is not the start of {:?}",
                        whole[before.len()]
                    );
                }
            }
        }
    }
}
