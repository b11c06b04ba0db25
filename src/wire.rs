//! What a server that owns the connection tells the W3C log: bytes on the wire and
//! the moment the last byte of a response reached the socket.
//!
//! The server (`server::serve`) puts a [`Wire`] in the extensions of every HTTP/1.x
//! request while a W3C log layer is alive in the process ([`Listener`]). When the W3C log layer finds one, it no longer writes the line when the
//! response body yields its last frame: it hands the line to the `Wire`, which
//! writes it once the connection has handed the last byte to the socket, with the
//! byte counts of the wire (status line and every header the server added, chunk
//! framing). Without a `Wire` (under `axum::serve` or plain hyper) the layer works
//! as before.
#![cfg_attr(not(feature = "server"), allow(dead_code))]

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// W3C log layers alive in the process (see [`Listener`]).
static LISTENERS: AtomicUsize = AtomicUsize::new(0);

/// Held by each W3C log layer (its shared state), for as long as the layer and
/// its services live: while none is alive, the server does not put a [`Wire`]
/// in requests, since nothing would read it. A layer built after a request
/// reached the server (not a stack built ahead of `serve`) may miss that
/// request's `Wire`, and then logs it as under `axum::serve`: at the body's end,
/// with the body's bytes.
#[derive(Debug)]
pub(crate) struct Listener(());

impl Listener {
    pub(crate) fn new() -> Self {
        LISTENERS.fetch_add(1, Ordering::Relaxed);
        Listener(())
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        LISTENERS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether a W3C log layer is alive to read a request's [`Wire`].
pub(crate) fn listened() -> bool {
    LISTENERS.load(Ordering::Relaxed) > 0
}

/// How a response ended, as the connection saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WireEnd {
    /// Response bytes handed to the socket for this response.
    pub(crate) sc_bytes: u64,
    /// Request bytes read off the socket for this request.
    pub(crate) cs_bytes: u64,
    /// `None`: every byte went out. `Some(win32)`: the connection ended first.
    pub(crate) win32: Option<u32>,
}

/// A line waiting for the last byte of its response.
pub(crate) type Deferred = Box<dyn FnOnce(WireEnd) + Send>;

/// How many requests' byte counts a connection keeps: a pipelining client may
/// send this many heads past a request whose line still waits for its last byte
/// and that line still logs its own `cs-bytes`.
const KEPT_REQUESTS: usize = 32;

/// The byte counts and the pending line of one connection. Shared by the
/// connection's IO (which counts) and the requests' log lines (which wait).
#[derive(Default)]
pub(crate) struct WireState {
    /// Every byte read off the socket.
    read: AtomicU64,
    /// Every byte handed to the socket.
    written: AtomicU64,
    /// `written` when the previous response was complete.
    response_start: AtomicU64,
    /// Request heads begun on the connection: the number of the request whose
    /// bytes are being read (the first is 1).
    heads: AtomicU64,
    /// Requests handed to the application, numbered like `heads` (HTTP/1.x
    /// answers requests in the order their heads arrived).
    delivered: AtomicU64,
    /// Bytes of the current request (head, body and its framing).
    request_bytes: AtomicU64,
    /// The final bytes of the requests before it, by number modulo
    /// [`KEPT_REQUESTS`]: with pipelining, later heads may be read while an
    /// earlier response is still being sent.
    earlier_bytes: [AtomicU64; KEPT_REQUESTS],
    /// Nonzero once the server cut the connection: the win32 status to log.
    cut: AtomicU32,
    /// The waiting line and its request's number.
    deferred: Mutex<Option<(u64, Deferred)>>,
    /// Whether `deferred` holds a line: read on every flush without the lock.
    has_line: AtomicBool,
}

impl std::fmt::Debug for WireState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireState")
            .field("read", &self.read.load(Ordering::Relaxed))
            .field("written", &self.written.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The request extension: a handle on the connection's [`WireState`] and the
/// request's number on the connection.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    state: Arc<WireState>,
    request: u64,
}

impl Wire {
    /// Numbers the next request the connection hands to the application, and
    /// gives its handle when a W3C log layer is alive to read it ([`listened`]).
    pub(crate) fn next(state: &Arc<WireState>) -> Option<Self> {
        let request = state.delivered.fetch_add(1, Ordering::Relaxed) + 1;
        listened().then(|| Wire {
            state: state.clone(),
            request,
        })
    }

    /// Holds `line` until the response's last byte is on the socket (or the
    /// connection ends).
    pub(crate) fn on_last_byte(&self, line: Deferred) {
        let previous = self
            .state
            .deferred
            .lock()
            .map(|mut slot| slot.replace((self.request, line)))
            .unwrap_or(None);
        self.state.has_line.store(true, Ordering::Release);
        // A response that never got its flush (should not happen): log it now.
        if let Some((request, prev)) = previous {
            prev(self.state.end(request, None));
        }
    }

    /// The counts of a response that ended before its last byte (the client went
    /// away, or the body failed): `win32` unless the server itself cut the
    /// connection, which has its own status.
    pub(crate) fn aborted(&self, win32: u32) -> WireEnd {
        self.state.end(self.request, Some(win32))
    }
}

impl WireState {
    pub(crate) fn add_read(&self, n: usize) {
        self.read.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Bytes of the request being read (the last head begun).
    pub(crate) fn add_request_bytes(&self, n: usize) {
        self.request_bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// A new request head begins: the previous request's count is final.
    pub(crate) fn new_request(&self) {
        let previous = self.heads.fetch_add(1, Ordering::Relaxed);
        let bytes = self.request_bytes.swap(0, Ordering::Relaxed);
        self.earlier_bytes[previous as usize % KEPT_REQUESTS].store(bytes, Ordering::Relaxed);
    }

    /// The bytes of request number `request`. When more than [`KEPT_REQUESTS`]
    /// heads arrived after it, its count is gone and the current request's
    /// stands in.
    fn request_bytes(&self, request: u64) -> u64 {
        let behind = self.heads.load(Ordering::Relaxed).wrapping_sub(request);
        if behind == 0 || behind > KEPT_REQUESTS as u64 {
            self.request_bytes.load(Ordering::Relaxed)
        } else {
            self.earlier_bytes[request as usize % KEPT_REQUESTS].load(Ordering::Relaxed)
        }
    }

    pub(crate) fn add_written(&self, n: usize) {
        self.written.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// The server cut the connection: lines still open log `win32`.
    pub(crate) fn cut(&self, win32: u32) {
        let _ = self
            .cut
            .compare_exchange(0, win32, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn end(&self, request: u64, win32: Option<u32>) -> WireEnd {
        let written = self.written.load(Ordering::Relaxed);
        let start = self.response_start.swap(written, Ordering::Relaxed);
        let cut = self.cut.load(Ordering::Relaxed);
        WireEnd {
            sc_bytes: written.saturating_sub(start),
            cs_bytes: self.request_bytes(request),
            win32: match (win32, cut) {
                (None, _) => None,
                (Some(w), 0) => Some(w),
                (Some(_), cut) => Some(cut),
            },
        }
    }

    /// Whether a line waits for its last byte.
    pub(crate) fn has_deferred(&self) -> bool {
        self.has_line.load(Ordering::Acquire)
    }

    fn take(&self) -> Option<(u64, Deferred)> {
        if !self.has_line.load(Ordering::Acquire) {
            return None;
        }
        let line = self.deferred.lock().ok().and_then(|mut d| d.take());
        self.has_line.store(false, Ordering::Release);
        line
    }

    /// The socket took every byte written so far: the waiting line is complete.
    pub(crate) fn flushed(&self) {
        if let Some((request, line)) = self.take() {
            line(self.end(request, None));
        }
    }

    /// The connection is gone: a waiting line did not get its last byte out.
    pub(crate) fn closed(&self, win32: u32) {
        if let Some((request, line)) = self.take() {
            line(self.end(request, Some(win32)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(state: &Arc<WireState>, request: u64) -> Wire {
        Wire {
            state: state.clone(),
            request,
        }
    }

    #[test]
    fn each_request_keeps_its_bytes_while_later_heads_arrive() {
        let state = Arc::new(WireState::default());
        for bytes in [10, 20, 30] {
            state.new_request();
            state.add_request_bytes(bytes / 2);
            state.add_request_bytes(bytes / 2);
        }
        assert_eq!(wire(&state, 1).aborted(64).cs_bytes, 10);
        assert_eq!(wire(&state, 3).aborted(64).cs_bytes, 30);
        assert_eq!(wire(&state, 2).aborted(64).cs_bytes, 20);
        // Request 1 keeps its count while KEPT_REQUESTS heads follow it; past
        // that its slot is reused and the current request's stands in.
        for _ in 0..KEPT_REQUESTS - 2 {
            state.new_request();
        }
        state.add_request_bytes(5);
        assert_eq!(wire(&state, 1).aborted(64).cs_bytes, 10);
        state.new_request();
        state.add_request_bytes(7);
        assert_eq!(wire(&state, 1).aborted(64).cs_bytes, 7);
        assert_eq!(wire(&state, 2).aborted(64).cs_bytes, 20);
        assert_eq!(
            wire(&state, KEPT_REQUESTS as u64 + 1).aborted(64).cs_bytes,
            5
        );
    }

    #[test]
    fn a_waiting_line_logs_its_own_request() {
        let state = Arc::new(WireState::default());
        state.new_request();
        state.add_request_bytes(36);
        let got = Arc::new(Mutex::new(None));
        let sink = got.clone();
        wire(&state, 1).on_last_byte(Box::new(move |end| {
            *sink.lock().unwrap() = Some(end);
        }));
        // The next head is read before the first response's last byte.
        state.new_request();
        state.add_request_bytes(99);
        state.add_written(500);
        state.flushed();
        let end = got.lock().unwrap().take().expect("the line was written");
        assert_eq!((end.cs_bytes, end.sc_bytes, end.win32), (36, 500, None));
    }
}
