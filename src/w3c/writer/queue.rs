//! The request side: the bounded queue and the pool of recycled records.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::Thread;

use super::handle::W3cLogHandle;
use super::{Counters, Msg, Record};

/// What a finishing request does when the writer's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum QueueFull {
    /// Wait for room (lossless; the default).
    #[default]
    Wait,
    /// Drop the line and count it in [`LogStats::dropped`](super::LogStats::dropped).
    Drop,
}

/// Records the writer is done with, for the next requests: a request takes one
/// instead of allocating, and the writer frees none.
// The records stay boxed: a box moves through the queue and back as one pointer.
#[allow(clippy::vec_box)]
#[derive(Debug)]
pub(crate) struct Pool {
    records: Mutex<Vec<Box<Record>>>,
    max: usize,
}

impl Pool {
    pub(super) fn new(max: usize) -> Self {
        Pool {
            records: Mutex::new(Vec::new()),
            max,
        }
    }

    /// Returns `spare` records to the pool (freeing those beyond its size).
    #[allow(clippy::vec_box)]
    #[inline]
    pub(super) fn put(&self, spare: &mut Vec<Box<Record>>) {
        if spare.is_empty() {
            return;
        }
        if let Ok(mut records) = self.records.lock() {
            let room = self.max.saturating_sub(records.len());
            let keep = spare.len().min(room);
            records.extend(spare.drain(..keep));
        }
        spare.clear();
    }
}

/// The request side of the queue.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    pub(super) tx: SyncSender<Msg>,
    pub(super) policy: QueueFull,
    pub(super) counters: Arc<Counters>,
    pub(super) writer: Thread,
    pub(super) pool: Arc<Pool>,
}

impl Queue {
    /// A record to fill: a recycled one when the pool has one at hand.
    pub(crate) fn record(&self) -> Box<Record> {
        // Never wait for the pool: a new record is cheaper than a wait.
        if let Ok(mut records) = self.pool.records.try_lock() {
            if let Some(rec) = records.pop() {
                return rec;
            }
        }
        Box::new(Record::empty())
    }

    pub(crate) fn send(&self, rec: Box<Record>) {
        let (sent, gone) = match self.tx.try_send(Msg::Line(rec)) {
            Ok(()) => (true, false),
            Err(TrySendError::Full(msg)) => {
                // The writer is napping on a full queue: wake it.
                self.writer.unpark();
                match self.policy {
                    QueueFull::Wait => {
                        let sent = self.tx.send(msg).is_ok();
                        (sent, !sent)
                    }
                    QueueFull::Drop => (false, false),
                }
            }
            Err(TrySendError::Disconnected(_)) => (false, true),
        };
        if !sent {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        if gone && !self.counters.writer_gone.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "tower_iis::w3c",
                "W3C log line dropped: the log writer has stopped because its W3cLogGuard was dropped; keep the guard alive while the server runs"
            );
        }
    }

    pub(crate) fn handle(&self) -> W3cLogHandle {
        W3cLogHandle {
            tx: self.tx.clone(),
            counters: self.counters.clone(),
            writer: self.writer.clone(),
        }
    }
}
