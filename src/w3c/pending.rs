//! What a request's log line needs until it is sent: the state every service of one
//! layer shares, and the request whose line is still pending.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use super::record::{LineFormat, Record};
use super::rollover::Clock;
use super::writer::Queue;

/// What every [`W3cLog`](super::W3cLog) service built from one layer shares.
pub(crate) struct Shared {
    pub(crate) format: Arc<LineFormat>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) queue: Queue,
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
}

impl Pending {
    /// Sends the line: now is the time of the last byte.
    pub(crate) fn finish(mut self, win32: Option<u32>) {
        let rec = &mut self.rec;
        rec.time_taken_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        rec.end_unix = super::rollover::unix_secs(self.shared.clock.now());
        if let Some(w) = win32 {
            rec.win32 = w;
        }
        self.shared.queue.send(self.rec);
    }
}
