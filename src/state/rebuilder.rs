//! The handle to the snapshot writer: the messages that ask for a new snapshot (a validated
//! config, a channel's model list) and [`Rebuilder`], which sends them. The task that receives
//! them, prepares the catalog and swaps the snapshot is `runtime::snapshot_writer`; this
//! module only carries the messages, so anything that holds `AppState` can ask for a rebuild
//! without naming the runtime.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::catalog::ChannelModelList;
use crate::config::Config;

/// What changed.
#[derive(Debug)]
pub enum Change {
    /// A new, validated config.
    Config(Arc<Config>),
    /// A channel's model list (discovery or cache).
    Models {
        channel_id: String,
        list: Arc<ChannelModelList>,
    },
}

pub struct Message {
    pub change: Change,
    /// Answered with the generation of the snapshot that includes the change.
    pub done: Option<oneshot::Sender<u64>>,
}

/// Handle to the rebuild task.
#[derive(Clone, Debug)]
pub struct Rebuilder {
    tx: mpsc::Sender<Message>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("change", &self.change)
            .finish()
    }
}

impl Rebuilder {
    /// A handle sending to the task that owns `tx`'s receiver.
    pub fn new(tx: mpsc::Sender<Message>) -> Self {
        Self { tx }
    }

    /// Send a change; returns once a snapshot including it is live (or the task is gone).
    pub async fn apply(&self, change: Change) -> Option<u64> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Message {
                change,
                done: Some(done),
            })
            .await
            .ok()?;
        wait.await.ok()
    }

    /// Send a change without waiting for the swap.
    pub async fn submit(&self, change: Change) {
        let _ = self.tx.send(Message { change, done: None }).await;
    }
}
