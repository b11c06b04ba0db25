//! What the application holds: a handle to flush and read counters, and the guard
//! that stops the writer.

use std::fmt;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use super::queue::Gate;
use super::{Counters, Msg};

/// A snapshot of the writer's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LogStats {
    /// Lines handed to the sink (written, or buffered to be written).
    pub lines: u64,
    /// Lines written out to the sink in full.
    pub written: u64,
    /// Lines lost: queue full with [`QueueFull::Drop`](super::QueueFull::Drop), a
    /// writer stuck past the queue wait limit, writer gone, or too much unwritten
    /// data while the sink kept failing.
    pub dropped: u64,
    /// Write, open and flush errors seen.
    pub io_errors: u64,
    /// Files opened (each open writes a header block).
    pub files_opened: u64,
}

/// Flushes the writer on demand and reads its counters. Cheap to clone.
#[derive(Debug, Clone)]
pub struct W3cLogHandle {
    pub(super) tx: Sender<Msg>,
    pub(super) counters: Arc<Counters>,
    pub(super) writer: Thread,
}

impl W3cLogHandle {
    /// Writes out every line queued before this call and waits (at most `timeout`)
    /// until it is done. Blocks the calling thread; in async code call it from
    /// `spawn_blocking` or accept a short block.
    ///
    /// # Errors
    ///
    /// `TimedOut` when the writer did not finish in time, `BrokenPipe` when the
    /// writer has stopped, `Other` when the sink reported a write error (the lines
    /// are kept and retried).
    pub fn flush_timeout(&self, timeout: Duration) -> io::Result<()> {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        self.tx.send(Msg::Flush(ack_tx)).map_err(|_| {
            io::Error::new(io::ErrorKind::BrokenPipe, "the W3C log writer has stopped")
        })?;
        self.writer.unpark();
        match ack_rx.recv_timeout(timeout) {
            Ok(true) => Ok(()),
            Ok(false) => Err(io::Error::other(
                "the W3C log sink failed; see the tracing warnings",
            )),
            Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the W3C log writer did not flush in time",
            )),
            Err(RecvTimeoutError::Disconnected) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the W3C log writer has stopped",
            )),
        }
    }

    /// [`flush_timeout`](Self::flush_timeout) with a 10 second limit.
    ///
    /// # Errors
    ///
    /// See [`flush_timeout`](Self::flush_timeout).
    pub fn flush(&self) -> io::Result<()> {
        self.flush_timeout(Duration::from_secs(10))
    }

    /// The writer's counters.
    #[must_use]
    pub fn stats(&self) -> LogStats {
        let c = &self.counters;
        LogStats {
            lines: c.lines.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            io_errors: c.io_errors.load(Ordering::Relaxed),
            files_opened: c.files.load(Ordering::Relaxed),
        }
    }
}

/// Flushes and closes the log when dropped (or [closed](Self::close)), so a
/// graceful shutdown loses nothing that the disk takes.
///
/// Keep it alive (bind it to a named variable, not `_`) until the server has stopped
/// serving; lines of requests that finish after it is dropped are counted as dropped.
/// Every line that did not reach the sink (a full disk at shutdown, a writer that
/// did not finish in time) is counted in [`LogStats::dropped`].
#[must_use = "dropping the guard stops the log writer"]
pub struct W3cLogGuard {
    pub(super) tx: Sender<Msg>,
    pub(super) thread: Option<JoinHandle<()>>,
    pub(super) timeout: Duration,
    pub(super) handle: W3cLogHandle,
    pub(super) gate: Arc<Gate>,
    pub(super) stopped: bool,
}

impl W3cLogGuard {
    /// Writes out what is buffered, stops the writer (waiting at most the
    /// shutdown timeout) and returns the final counters: `dropped` counts every
    /// line that never reached the sink.
    ///
    /// ```
    /// use tower_iis::w3c::{MemorySink, Sink, W3cLogLayer};
    ///
    /// let (_layer, guard) = W3cLogLayer::builder()
    ///     .sink(Sink::memory(&MemorySink::new()))
    ///     .build()
    ///     .unwrap();
    /// let stats = guard.close();
    /// assert_eq!(stats.dropped, 0);
    /// ```
    #[must_use = "the counters tell how many lines were lost"]
    pub fn close(mut self) -> LogStats {
        self.stop();
        self.handle.stats()
    }

    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        // Requests still waiting for room go ahead (their lines are dropped).
        self.gate.close();
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        let sent = self.tx.send(Msg::Shutdown(ack_tx)).is_ok();
        self.handle.writer.unpark();
        if sent && ack_rx.recv_timeout(self.timeout).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
            return;
        }
        // The writer is stuck: what it has not written by now is lost.
        let c = &self.handle.counters;
        let unwritten = c
            .lines
            .load(Ordering::Relaxed)
            .saturating_sub(c.written.load(Ordering::Relaxed))
            + self.gate.queued() as u64;
        c.dropped.fetch_add(unwritten, Ordering::Relaxed);
        tracing::warn!(
            target: "tower_iis::w3c",
            lost = unwritten,
            "the W3C log writer did not finish within {:?}; {unwritten} lines are lost",
            self.timeout
        );
    }
    /// A handle to flush on demand and read the counters.
    #[must_use]
    pub fn handle(&self) -> W3cLogHandle {
        self.handle.clone()
    }
}

impl fmt::Debug for W3cLogGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("W3cLogGuard")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Drop for W3cLogGuard {
    fn drop(&mut self) {
        self.stop();
    }
}
