//! What a request's log line needs until it is sent: the state every service of one
//! layer shares, and the request whose line is still pending.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::record::{LineFormat, Record};
use super::rollover::{unix_secs, Clock};
use super::writer::Queue;
use crate::wire::{Wire, WireEnd};

/// What every [`W3cLog`](super::W3cLog) service built from one layer shares.
pub(crate) struct Shared {
    pub(crate) format: Arc<LineFormat>,
    pub(crate) clock: WallClock,
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

/// Where a line's `date` and `time` come from.
pub(crate) enum WallClock {
    /// The system clock, read at most once a second per thread (see [`system_secs`]).
    System,
    /// A clock set on the builder, read for every line.
    Custom(Arc<dyn Clock>),
}

impl WallClock {
    /// The wall-clock second (Unix time) at the monotonic instant `now`, which was
    /// read just before.
    #[inline]
    fn unix_secs(&self, now: Instant) -> i64 {
        match self {
            WallClock::System => system_secs(now),
            WallClock::Custom(clock) => unix_secs(clock.now()),
        }
    }
}

thread_local! {
    /// The wall-clock second this thread last read, and the monotonic instant
    /// before which it still holds.
    static SECOND: Cell<Option<(Instant, i64)>> = const { Cell::new(None) };
}

/// The system clock's second at `now`: reading the wall clock costs as much as
/// the rest of a line's bookkeeping, and every line of one second shows the same
/// `date` and `time`, so each thread reads it once per second. The second is
/// known to hold until the monotonic clock has advanced by what was left of it
/// when it was read (measured from `now`, read before the wall clock: the cached
/// second ends early, never late). A step of the wall clock shows within a second.
#[inline]
fn system_secs(now: Instant) -> i64 {
    match SECOND.with(Cell::get) {
        Some((until, secs)) if now < until => secs,
        _ => read_system_secs(now),
    }
}

/// Reads the system clock and caches its second (see [`system_secs`]).
#[cold]
#[inline(never)]
fn read_system_secs(now: Instant) -> i64 {
    let (secs, left) = match SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Duration::from_secs(1) - Duration::from_nanos(u64::from(d.subsec_nanos())),
        ),
        // Before 1970: nothing is cached, the clock is read again next time.
        Err(e) => (
            -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
            Duration::ZERO,
        ),
    };
    SECOND.with(|cached| cached.set(now.checked_add(left).map(|until| (until, secs))));
    secs
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
        // Only `server::serve` puts a `Wire` on requests.
        let wire = if cfg!(feature = "server") {
            self.wire.take()
        } else {
            None
        };
        match (wire, win32) {
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
    fn send(self, win32: Option<u32>) {
        let Pending {
            shared,
            start,
            mut rec,
            ..
        } = self;
        let now = Instant::now();
        let taken = now.saturating_duration_since(start);
        rec.time_taken_ms = taken
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(taken.subsec_millis()));
        rec.end_unix = shared.clock.unix_secs(now);
        if let Some(w) = win32 {
            rec.win32 = w;
        }
        shared.queue.send(rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached second is the system clock's, within the time it takes to read.
    #[test]
    fn system_second_matches_the_system_clock() {
        for _ in 0..3 {
            let before = unix_secs(SystemTime::now());
            let secs = system_secs(Instant::now());
            let after = unix_secs(SystemTime::now());
            assert!(
                before <= secs && secs <= after,
                "{before} <= {secs} <= {after}"
            );
            std::thread::sleep(Duration::from_millis(400));
        }
    }

    /// A second read once holds only until its end: an instant past it reads the
    /// clock again.
    #[test]
    fn system_second_expires() {
        let now = Instant::now();
        let secs = system_secs(now);
        let (until, cached) = SECOND.with(Cell::get).expect("cached");
        assert_eq!(cached, secs);
        assert!(until > now && until <= now + Duration::from_secs(1));
        // Two seconds on, the cached second cannot hold.
        let later = now + Duration::from_secs(2);
        let _ = system_secs(later);
        let (until2, _) = SECOND.with(Cell::get).expect("cached");
        assert!(until2 > later);
    }

    /// Without a clock set on the builder, a line's `date` and `time` are the
    /// system clock's when the response ended.
    #[test]
    fn lines_carry_the_system_time() {
        use tower::{Layer as _, ServiceExt as _};

        let memory = crate::w3c::MemorySink::new();
        let (layer, guard) = crate::w3c::W3cLogLayer::builder()
            .sink(crate::w3c::Sink::memory(&memory))
            .build()
            .unwrap();
        let svc = layer.layer(tower::service_fn(|_req: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        }));
        let now = || crate::w3c::rollover::datetime_string(unix_secs(SystemTime::now()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut spans = Vec::new();
        for _ in 0..3 {
            let before = now();
            let res = rt
                .block_on(svc.clone().oneshot(http::Request::new(())))
                .unwrap();
            drop(res);
            spans.push((before, now()));
            std::thread::sleep(Duration::from_millis(350));
        }
        guard.handle().flush().unwrap();
        let log = crate::w3c::reader::parse(&memory.contents()).unwrap();
        assert_eq!(log.entries.len(), 3);
        for (entry, (before, after)) in log.entries.iter().zip(&spans) {
            let at = format!(
                "{} {}",
                entry.get("date").unwrap(),
                entry.get("time").unwrap()
            );
            assert!(*before <= at && at <= *after, "{before} <= {at} <= {after}");
        }
    }
}
