//! What a request's log line needs until it is sent: the state every service of one
//! layer shares, and the request whose line is still pending.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use super::record::{LineFormat, Record};
use super::rollover::Clock;
use super::writer::Queue;
use crate::wire::{Wire, WireEnd};

/// What every [`W3cLog`](super::W3cLog) service built from one layer shares.
pub(crate) struct Shared {
    pub(crate) format: Arc<LineFormat>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) queue: Queue,
    /// Set once a request without a `ConnectionInfo` was logged (`c-ip` `-`).
    pub(crate) warned_no_client: std::sync::atomic::AtomicBool,
    /// Tells the server a layer is alive to read the wire counts.
    pub(crate) _wire: crate::wire::Listener,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("fields", &self.format.fields_line())
            .finish_non_exhaustive()
    }
}

/// A request whose line is not written yet.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) shared: Arc<Shared>,
    pub(crate) start: Instant,
    /// A `HEAD` request: its response body is never sent.
    pub(crate) head: bool,
    pub(crate) rec: Box<Record>,
    /// The connection's byte counts, when the server owns the connection: the line
    /// then waits for the response's last byte on the socket.
    pub(crate) wire: Option<Wire>,
}

impl Pending {
    /// The response is complete (`win32` is `None`) or ended early. Under a server
    /// that counts bytes on the wire, a complete response's line waits for its
    /// last byte on the socket; otherwise the line is sent now.
    pub(crate) fn finish(mut self, win32: Option<u32>) {
        match (self.wire.take(), win32) {
            (None, _) => self.send(win32),
            (Some(wire), None) => wire.on_last_byte(Box::new(move |end| self.send_wire(end))),
            (Some(wire), Some(w)) => {
                let end = wire.aborted(w);
                self.send_wire(end);
            }
        }
    }

    /// Sends the line with the wire's counts.
    fn send_wire(mut self, end: WireEnd) {
        self.rec.sc_bytes = end.sc_bytes;
        self.rec.cs_bytes = end.cs_bytes;
        self.send(end.win32);
    }

    /// Sends the line: now is the time of the last byte.
    fn send(mut self, win32: Option<u32>) {
        let rec = &mut self.rec;
        rec.time_taken_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        rec.end_unix = super::rollover::unix_secs(self.shared.clock.now());
        if let Some(w) = win32 {
            rec.win32 = w;
        }
        self.shared.queue.send(self.rec);
    }
}
