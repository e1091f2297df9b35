//! Joining a body that arrives in chunks into one `Bytes`, without copying the common case
//! of a body that arrives in one chunk (request bodies in `server::body`, upstream answers in
//! `proxy::attempt`). Limits and timeouts stay with the callers.

use bytes::{Bytes, BytesMut};

/// The chunks of one body read so far.
#[derive(Debug, Default)]
pub struct Chunks {
    /// The only chunk, while there is only one.
    first: Option<Bytes>,
    /// Every chunk, copied, once there is a second.
    joined: BytesMut,
}

impl Chunks {
    pub fn push(&mut self, chunk: Bytes) {
        if self.first.is_none() && self.joined.is_empty() {
            self.first = Some(chunk);
            return;
        }
        if let Some(head) = self.first.take() {
            self.joined.extend_from_slice(&head);
        }
        self.joined.extend_from_slice(&chunk);
    }

    /// The whole body.
    pub fn finish(self) -> Bytes {
        self.first.unwrap_or_else(|| self.joined.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_chunk_is_kept_as_is_and_several_are_joined_in_order() {
        assert_eq!(Chunks::default().finish(), Bytes::new());

        let only = Bytes::from_static(b"{\"model\":\"m\"}");
        let mut one = Chunks::default();
        one.push(only.clone());
        let body = one.finish();
        assert_eq!(body, only);
        assert_eq!(body.as_ptr(), only.as_ptr(), "a single chunk is not copied");

        let mut many = Chunks::default();
        for part in ["{\"mo", "", "del\":", "\"m\"}"] {
            many.push(Bytes::from(part));
        }
        assert_eq!(many.finish(), only);
    }
}
