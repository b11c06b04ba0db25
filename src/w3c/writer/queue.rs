//! The request side: the bounded queue, the gate that makes requests wait for room
//! without blocking a thread, and the pool of recycled records.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use super::handle::W3cLogHandle;
use super::{Counters, Msg, Record};

/// What a finishing request does when the writer's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum QueueFull {
    /// Wait for room (lossless for a disk that is merely slow; the default).
    ///
    /// The wait is asynchronous: the log service's `poll_ready` returns `Pending`
    /// until the writer has taken enough lines, so no thread ever blocks on the log.
    /// A writer that takes nothing for the [`queue_wait`] limit (a hung disk) is
    /// given up on: requests go ahead, and their lines are dropped and counted
    /// until the writer catches up.
    ///
    /// [`queue_wait`]: crate::w3c::W3cLogBuilder::queue_wait
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

/// The lines on their way to the writer: requests push under a mutex, and the
/// writer takes all of them at once per look (one lock, and a swap of two
/// vectors that keep their capacity) instead of receiving them one by one.
#[allow(clippy::vec_box)]
#[derive(Debug)]
pub(crate) struct Lines {
    state: Mutex<LinesState>,
    /// The capacity both vectors start with (see [`Lines::new`]).
    reserved: usize,
}

/// The most slots [`Lines::new`] reserves up front (128 KiB per vector): a larger
/// queue grows its vectors past this only when its backlog does.
const LINES_RESERVE_MAX: usize = 16 * 1024;

#[allow(clippy::vec_box)]
#[derive(Debug, Default)]
struct LinesState {
    records: Vec<Box<Record>>,
    /// The writer sleeps until the next line (it has nothing buffered).
    idle: bool,
    /// The writer has stopped: nothing more is taken.
    closed: bool,
}

/// What became of a line pushed onto [`Lines`].
enum Pushed {
    Queued,
    /// Queued, and the writer is asleep waiting for it.
    WakeWriter,
    /// The writer has stopped: the line was not queued.
    Closed,
}

impl Lines {
    /// Lines for a queue of `capacity`: the vector requests push onto starts with
    /// room for a full queue (up to [`LINES_RESERVE_MAX`]), and so does the
    /// writer's ([`reserved`](Self::reserved)), which it swaps in. A vector that
    /// grew while requests pushed would reallocate under the lock they all take,
    /// on a request's thread, each time a backlog reached a new high.
    pub(super) fn new(capacity: usize) -> Self {
        let reserved = capacity.min(LINES_RESERVE_MAX);
        Lines {
            state: Mutex::new(LinesState {
                records: Vec::with_capacity(reserved),
                ..LinesState::default()
            }),
            reserved,
        }
    }

    /// The capacity the writer's own vector starts with.
    pub(super) fn reserved(&self) -> usize {
        self.reserved
    }

    fn lock(&self) -> MutexGuard<'_, LinesState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, rec: Box<Record>) -> Pushed {
        let mut st = self.lock();
        if st.closed {
            return Pushed::Closed;
        }
        st.records.push(rec);
        if std::mem::take(&mut st.idle) {
            Pushed::WakeWriter
        } else {
            Pushed::Queued
        }
    }

    /// Swaps the queued lines into `into` (which must be empty).
    #[allow(clippy::vec_box)]
    #[inline]
    pub(super) fn take(&self, into: &mut Vec<Box<Record>>) {
        debug_assert!(into.is_empty());
        let mut st = self.lock();
        st.idle = false;
        std::mem::swap(&mut st.records, into);
    }

    /// Marks the writer idle unless lines are waiting; returns whether it is
    /// (then the next line unparks it).
    pub(super) fn go_idle(&self) -> bool {
        let mut st = self.lock();
        st.idle = st.records.is_empty();
        st.idle
    }

    /// The writer stops: the lines still queued go into `into`, and nothing more
    /// is queued after them.
    #[allow(clippy::vec_box)]
    pub(super) fn close(&self, into: &mut Vec<Box<Record>>) {
        let mut st = self.lock();
        st.closed = true;
        into.append(&mut st.records);
    }
}

/// How many lines of requests already under way may go past a full queue (or the
/// capacity, if larger): they were let in before it filled, and a slow disk must
/// not cost their lines.
const OVERFLOW: usize = 1024;

/// Counts the lines waiting for the writer and parks the requests that wait for
/// room (by their wakers: no thread waits).
#[derive(Debug)]
pub(crate) struct Gate {
    /// Lines sent and not yet taken by the writer.
    queued: AtomicUsize,
    capacity: usize,
    /// Lines of requests already under way may go past `capacity` up to this.
    limit: usize,
    wait: Duration,
    /// Requests are parked in `state.waiters`.
    waiting: AtomicBool,
    /// The writer took nothing for `wait`: requests no longer wait.
    stalled: AtomicBool,
    state: Mutex<GateState>,
    /// Wakes the watch thread.
    cv: Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    waiters: Vec<Waker>,
    /// When the first parked request started waiting.
    since: Option<Instant>,
    /// Lines dropped since the writer stalled.
    dropped_while_stalled: u64,
    closed: bool,
}

impl Gate {
    pub(super) fn new(capacity: usize, wait: Duration) -> Self {
        Gate {
            queued: AtomicUsize::new(0),
            capacity,
            limit: capacity.saturating_add(capacity.max(OVERFLOW)),
            wait,
            waiting: AtomicBool::new(false),
            stalled: AtomicBool::new(false),
            state: Mutex::new(GateState::default()),
            cv: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lines sent and not yet taken by the writer.
    pub(super) fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    fn has_room(&self) -> bool {
        self.queued.load(Ordering::SeqCst) < self.capacity
    }

    /// Room for a request's line, or its waker parked until there is.
    #[inline]
    fn poll_room(&self, cx: &Context<'_>) -> bool {
        self.has_room() || self.stalled.load(Ordering::Relaxed) || self.poll_room_full(cx)
    }

    /// [`poll_room`](Self::poll_room) when the queue looked full.
    #[inline(never)]
    fn poll_room_full(&self, cx: &Context<'_>) -> bool {
        let mut st = self.lock();
        if st.closed {
            return true;
        }
        if st.since.is_none() {
            st.since = Some(Instant::now());
            self.cv.notify_one();
        }
        if !st.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            st.waiters.push(cx.waker().clone());
        }
        self.waiting.store(true, Ordering::SeqCst);
        // The writer may have made room between the first look and `waiting`.
        if self.has_room() || self.stalled.load(Ordering::Relaxed) {
            let waiters = take_waiters(&mut st, &self.waiting);
            drop(st);
            waiters.into_iter().for_each(Waker::wake);
            return true;
        }
        false
    }

    /// The writer took a line off the queue.
    #[inline]
    pub(super) fn taken(&self) {
        let before = self.queued.fetch_sub(1, Ordering::SeqCst);
        if before <= self.capacity
            && (self.waiting.load(Ordering::SeqCst) || self.stalled.load(Ordering::Relaxed))
        {
            self.room();
        }
    }

    /// There is room again: wakes the waiting requests, and ends a stall.
    fn room(&self) {
        let mut st = self.lock();
        if st.closed {
            return;
        }
        let waiters = take_waiters(&mut st, &self.waiting);
        if self.stalled.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                target: "tower_iis::w3c",
                dropped = st.dropped_while_stalled,
                "the W3C log writer is taking lines again; {} were dropped while it was stuck",
                st.dropped_while_stalled
            );
            st.dropped_while_stalled = 0;
        }
        drop(st);
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Counts a line dropped while the writer is stuck.
    fn dropped_while_stalled(&self) {
        self.lock().dropped_while_stalled += 1;
    }

    /// Stops the gate for good: nothing waits any more.
    pub(super) fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        self.stalled.store(true, Ordering::Relaxed);
        let waiters = take_waiters(&mut st, &self.waiting);
        self.cv.notify_all();
        drop(st);
        waiters.into_iter().for_each(Waker::wake);
    }

    /// The watch thread: gives up on a writer that took nothing while requests
    /// waited for `wait`, so they go ahead (and their lines are dropped).
    pub(super) fn watch(&self) {
        let mut st = self.lock();
        loop {
            if st.closed {
                return;
            }
            let Some(since) = st.since else {
                st = self.cv.wait(st).unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            let deadline = since + self.wait;
            let now = Instant::now();
            if now < deadline {
                st = self
                    .cv
                    .wait_timeout(st, deadline - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                continue;
            }
            if !self.stalled.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    target: "tower_iis::w3c",
                    queued = self.queued.load(Ordering::Relaxed),
                    "the W3C log writer has taken no line for {:?}; requests no longer wait for it, and their lines are dropped until it catches up",
                    self.wait
                );
            }
            let waiters = take_waiters(&mut st, &self.waiting);
            drop(st);
            waiters.into_iter().for_each(Waker::wake);
            st = self.lock();
        }
    }
}

fn take_waiters(st: &mut GateState, waiting: &AtomicBool) -> Vec<Waker> {
    st.since = None;
    waiting.store(false, Ordering::SeqCst);
    std::mem::take(&mut st.waiters)
}

/// The request side of the queue.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    pub(super) tx: Sender<Msg>,
    pub(super) lines: Arc<Lines>,
    pub(super) policy: QueueFull,
    pub(super) counters: Arc<Counters>,
    pub(super) writer: Thread,
    pub(super) pool: Arc<Pool>,
    pub(super) gate: Arc<Gate>,
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

    /// Whether a new request may start: with [`QueueFull::Wait`], not while the
    /// queue is full (the waker is called when there is room, or when the writer
    /// is given up on). Never blocks.
    #[inline]
    pub(crate) fn poll_room(&self, cx: &Context<'_>) -> bool {
        self.policy == QueueFull::Drop || self.gate.poll_room(cx)
    }

    /// Queues a finished request's line. Never blocks: a line that finds no room
    /// is dropped and counted.
    pub(crate) fn send(&self, rec: Box<Record>) {
        let gate = &*self.gate;
        let queued = gate.queued.load(Ordering::Relaxed);
        let room = match self.policy {
            QueueFull::Drop => queued < gate.capacity,
            QueueFull::Wait if gate.stalled.load(Ordering::Relaxed) => queued < gate.capacity,
            QueueFull::Wait => queued < gate.limit,
        };
        // The writer is gone (its guard was dropped) when the channel is closed.
        let mut gone = false;
        let sent = room && {
            let before = gate.queued.fetch_add(1, Ordering::SeqCst);
            let pushed = self.lines.push(rec);
            // The writer may be napping while the queue fills: wake it at half
            // full, so that it has taken lines before new requests must wait.
            if matches!(pushed, Pushed::WakeWriter) || before + 1 >= gate.capacity.div_ceil(2) {
                self.writer.unpark();
            }
            if matches!(pushed, Pushed::Closed) {
                gate.queued.fetch_sub(1, Ordering::SeqCst);
                gone = true;
                false
            } else {
                true
            }
        };
        if !sent {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            if gate.stalled.load(Ordering::Relaxed) {
                gate.dropped_while_stalled();
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_vectors_start_with_room_for_the_queue() {
        let lines = Lines::new(1024);
        assert_eq!(lines.reserved(), 1024);
        assert!(lines.lock().records.capacity() >= 1024);
        // The writer's vector, swapped in, keeps the room for the next lines.
        let mut batch = Vec::with_capacity(lines.reserved());
        lines.take(&mut batch);
        assert!(batch.capacity() >= 1024);
        assert!(lines.lock().records.capacity() >= 1024);
        // A very large queue reserves at most `LINES_RESERVE_MAX` up front.
        let large = Lines::new(1 << 20);
        assert_eq!(large.reserved(), LINES_RESERVE_MAX);
        assert!(large.lock().records.capacity() >= LINES_RESERVE_MAX);
        assert!(large.lock().records.capacity() < 1 << 20);
    }
}
