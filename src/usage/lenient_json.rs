//! Reading upstream JSON without trusting it: byte pre-checks that find a key and the first
//! byte of its value without a parse, and lenient serde views whose every field accepts any
//! JSON type (the wrong type reads as the default, so one odd field never hides the others).
//! Counts are read leniently: floats are truncated, numeric strings parsed, negatives and
//! other types ignored. Shared by the usage readers (`tap`) and the stream text (`stream_text`).

use std::fmt;
use std::marker::PhantomData;
use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

pub(crate) static USAGE_KEY: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"usage\""));
pub(crate) static ERROR_KEY: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"error\""));
pub(crate) static MESSAGE_KEY: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"message\""));
pub(crate) static CONTENT_KEY: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"content\""));
pub(crate) static REASONING_PREFIX: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"reasoning"));
pub(crate) static ARGUMENTS_KEY: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"arguments\""));

/// True when some occurrence of the quoted `key` is followed by `:` and a value whose first
/// byte is one of `value_starts`.
pub(crate) fn key_has_value(data: &[u8], key: &Finder<'_>, value_starts: &[u8]) -> bool {
    key.find_iter(data).any(|at| {
        value_start(data, at + key.needle().len())
            .and_then(|start| data.get(start))
            .is_some_and(|first| value_starts.contains(first))
    })
}

/// Where the value of a key that ends at `after_key` starts, if a `:` follows the key.
pub(crate) fn value_start(data: &[u8], after_key: usize) -> Option<usize> {
    let colon = skip_json_space(data, after_key);
    (data.get(colon) == Some(&b':')).then(|| skip_json_space(data, colon + 1))
}

pub(crate) fn skip_json_space(data: &[u8], mut at: usize) -> usize {
    while matches!(data.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

// ---------------------------------------------------------------------------------------------
// Lenient JSON views: every field accepts any JSON type; the wrong type reads as the default.

/// A value read without failing on an unexpected JSON type.
pub(crate) trait Lenient: Default {
    fn from_u64(_: u64) -> Self {
        Self::default()
    }
    fn from_f64(_: f64) -> Self {
        Self::default()
    }
    fn from_str(_: &str) -> Self {
        Self::default()
    }
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::default())
    }
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::default())
    }
}

pub(crate) struct LenientVisitor<T>(pub(crate) PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for LenientVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::from_u64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(u64::try_from(v).map_or_else(|_| T::default(), T::from_u64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Ok(T::from_f64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from_str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::from_seq(seq)
    }
}

pub(crate) fn deserialize_lenient<'de, D: Deserializer<'de>, T: Lenient>(
    d: D,
) -> Result<T, D::Error> {
    d.deserialize_any(LenientVisitor(PhantomData))
}

macro_rules! lenient_deserialize {
    ($($name:ident),*) => {$(
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::usage::lenient_json::deserialize_lenient(d)
            }
        }
    )*};
}

/// A token count: non-negative integers, truncated non-negative floats, numeric strings.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Count(pub(crate) Option<u64>);

impl Lenient for Count {
    fn from_u64(v: u64) -> Self {
        Count(Some(v))
    }
    fn from_f64(v: f64) -> Self {
        // `as` saturates at u64::MAX; NaN and negatives are refused first.
        Count((v.is_finite() && v >= 0.0).then_some(v as u64))
    }
    fn from_str(v: &str) -> Self {
        Count(v.trim().parse().ok())
    }
}

/// A string value; any other type reads as `None`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Text(pub(crate) Option<String>);

impl Lenient for Text {
    fn from_str(v: &str) -> Self {
        Text(Some(v.to_owned()))
    }
}

/// True only for an empty array.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IsEmptyArray(pub(crate) bool);

impl Lenient for IsEmptyArray {
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        if seq.next_element::<IgnoredAny>()?.is_none() {
            return Ok(IsEmptyArray(true));
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(IsEmptyArray(false))
    }
}

/// The message of an `error` field (see the module rules).
#[derive(Debug, Default, Clone)]
pub(crate) struct ErrorField(pub(crate) Option<String>);

impl Lenient for ErrorField {
    fn from_str(v: &str) -> Self {
        ErrorField(Some(v.to_owned()))
    }
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let body = ErrorBody::deserialize(MapAccessDeserializer::new(map))?;
        let message = (body.message.0.or(body.r#type.0).or(body.code.0))
            .unwrap_or_else(|| "upstream error without a message".to_owned());
        Ok(ErrorField(Some(message)))
    }
}

lenient_deserialize!(Count, Text, IsEmptyArray, ErrorField);
pub(crate) use lenient_deserialize;

/// An `error` object's fields that name it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    message: Text,
    r#type: Text,
    code: Text,
}

/// An object read as `T`; any other type reads as `None`.
#[derive(Debug, Clone)]
pub(crate) struct Obj<T>(pub(crate) Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<T: DeserializeOwned> Lenient for Obj<T> {
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|value| Obj(Some(value)))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_lenient(d)
    }
}

/// The objects of an array read as `T`; other items and other types are skipped.
#[derive(Debug, Clone)]
pub(crate) struct List<T>(pub(crate) Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<T: DeserializeOwned> Lenient for List<T> {
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut items = Vec::new();
        while let Some(Obj(item)) = seq.next_element::<Obj<T>>()? {
            items.extend(item);
        }
        Ok(List(items))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_lenient(d)
    }
}
