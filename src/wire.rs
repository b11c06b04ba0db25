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
    /// Bytes of the current request (head, body and its framing).
    request_bytes: AtomicU64,
    /// Nonzero once the server cut the connection: the win32 status to log.
    cut: AtomicU32,
    deferred: Mutex<Option<Deferred>>,
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

/// The request extension: a handle on the connection's [`WireState`].
#[derive(Debug, Clone)]
pub(crate) struct Wire(pub(crate) Arc<WireState>);

impl Wire {
    /// Holds `line` until the response's last byte is on the socket (or the
    /// connection ends).
    pub(crate) fn on_last_byte(&self, line: Deferred) {
        let previous = self
            .0
            .deferred
            .lock()
            .map(|mut slot| slot.replace(line))
            .unwrap_or(None);
        self.0.has_line.store(true, Ordering::Release);
        // A response that never got its flush (should not happen): log it now.
        if let Some(prev) = previous {
            prev(self.0.end(None));
        }
    }

    /// The counts of a response that ended before its last byte (the client went
    /// away, or the body failed): `win32` unless the server itself cut the
    /// connection, which has its own status.
    pub(crate) fn aborted(&self, win32: u32) -> WireEnd {
        self.0.end(Some(win32))
    }
}

impl WireState {
    pub(crate) fn add_read(&self, n: usize) {
        self.read.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_request_bytes(&self, n: usize) {
        self.request_bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// A new request head begins.
    pub(crate) fn new_request(&self) {
        self.request_bytes.store(0, Ordering::Relaxed);
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

    fn end(&self, win32: Option<u32>) -> WireEnd {
        let written = self.written.load(Ordering::Relaxed);
        let start = self.response_start.swap(written, Ordering::Relaxed);
        let cut = self.cut.load(Ordering::Relaxed);
        WireEnd {
            sc_bytes: written.saturating_sub(start),
            cs_bytes: self.request_bytes.load(Ordering::Relaxed),
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

    fn take(&self) -> Option<Deferred> {
        if !self.has_line.load(Ordering::Acquire) {
            return None;
        }
        let line = self.deferred.lock().ok().and_then(|mut d| d.take());
        self.has_line.store(false, Ordering::Release);
        line
    }

    /// The socket took every byte written so far: the waiting line is complete.
    pub(crate) fn flushed(&self) {
        if let Some(line) = self.take() {
            line(self.end(None));
        }
    }

    /// The connection is gone: a waiting line did not get its last byte out.
    pub(crate) fn closed(&self, win32: u32) {
        if let Some(line) = self.take() {
            line(self.end(Some(win32)));
        }
    }
}
