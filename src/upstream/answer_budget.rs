//! The memory budget for upstream answers read whole (non-streamed answers and error bodies):
//! one pool of bytes (`server.max_buffered_answer_bytes`) shared by every request, so that
//! many concurrent huge answers cannot take the process past it.
//!
//! A request takes room from the pool for each chunk it reads, without waiting: when the pool
//! is empty the read fails at once (waiting could leave every reader holding half an answer
//! and waiting for the rest). The finished answer keeps its room until its last copy is
//! dropped (the `Bytes` owns the permit), so the pool counts the answer until the client has
//! it. Room is counted in KiB (a semaphore's permits); a chunk takes at least 1 KiB.
//!
//! It never waits, logs nothing per chunk, and knows nothing of channels or requests.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::chunks::Chunks;

const UNIT: usize = 1024;

/// The shared pool of bytes.
#[derive(Debug)]
pub struct AnswerBudget {
    room: Arc<Semaphore>,
    limit: usize,
}

impl AnswerBudget {
    pub fn new(limit_bytes: usize) -> Self {
        let units = (limit_bytes / UNIT).clamp(1, Semaphore::MAX_PERMITS);
        Self {
            room: Arc::new(Semaphore::new(units)),
            limit: units * UNIT,
        }
    }

    /// Bytes not taken right now.
    pub fn available(&self) -> usize {
        self.room.available_permits() * UNIT
    }

    /// A reader for one answer, taking room from this pool.
    pub fn reader(&self) -> BudgetedChunks {
        BudgetedChunks {
            room: self.room.clone(),
            limit: self.limit,
            held: None,
            chunks: Chunks::default(),
        }
    }
}

/// The chunks of one answer read so far, with the room they hold.
pub struct BudgetedChunks {
    room: Arc<Semaphore>,
    limit: usize,
    held: Option<OwnedSemaphorePermit>,
    chunks: Chunks,
}

impl BudgetedChunks {
    /// Add a chunk, or say why there is no room for it.
    pub fn push(&mut self, chunk: Bytes) -> Result<(), String> {
        let units = u32::try_from(chunk.len().div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        match self.room.clone().try_acquire_many_owned(units) {
            Ok(permit) => match self.held.as_mut() {
                Some(held) => held.merge(permit),
                None => self.held = Some(permit),
            },
            Err(_) => {
                return Err(format!(
                    "the gateway's memory for answers is in use by other requests \
                     (server.max_buffered_answer_bytes: {} MiB)",
                    self.limit / (1024 * 1024)
                ))
            }
        }
        self.chunks.push(chunk);
        Ok(())
    }

    /// The whole answer; its room is given back when the last copy is dropped.
    pub fn finish(self) -> Bytes {
        let body = self.chunks.finish();
        match self.held {
            Some(permit) if !body.is_empty() => Bytes::from_owner(Held {
                body,
                _permit: permit,
            }),
            _ => body,
        }
    }
}

/// An answer and the room it holds.
struct Held {
    body: Bytes,
    _permit: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_hold_room_until_dropped_and_a_full_pool_refuses() {
        let budget = AnswerBudget::new(8 * 1024);
        let mut first = budget.reader();
        first.push(Bytes::from(vec![b'a'; 5000])).expect("room");
        assert_eq!(budget.available(), 3 * 1024);
        let mut second = budget.reader();
        second.push(Bytes::from(vec![b'b'; 2048])).expect("room");
        assert_eq!(budget.available(), 1024);
        let refused = second.push(Bytes::from(vec![b'c'; 2048]));
        assert_eq!(
            refused,
            Err("the gateway's memory for answers is in use by other requests (server.max_buffered_answer_bytes: 0 MiB)".into())
        );
        let body = first.finish();
        assert_eq!(body.len(), 5000);
        assert_eq!(budget.available(), 1024, "the answer still holds its room");
        let copy = body.clone();
        drop(body);
        assert_eq!(budget.available(), 1024);
        drop(copy);
        assert_eq!(budget.available(), 6 * 1024);
        drop(second);
        assert_eq!(budget.available(), 8 * 1024);
    }
}
