//! [`WireIo`]: the connection as hyper sees it. It counts bytes on the wire, hands
//! hyper only request heads that passed http.sys's checks, follows the body framing
//! to find the next head, and runs http.sys's timers.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::head::{self, Framing, Refused, Seen};
use super::limits::Limits;
use super::reason::Reason;
use crate::w3c::{WIN32_CLIENT_GONE, WIN32_CONNECTION_ABORTED};
use crate::wire::WireState;
use crate::ConnectionInfo;

/// The connection's transport: a TCP socket, or TLS over one.
#[derive(Debug)]
pub(crate) enum Sock {
    Tcp(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

macro_rules! on_sock {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Sock::Tcp($s) => {
                let $s = Pin::new($s);
                $e
            }
            #[cfg(feature = "tls")]
            Sock::Tls($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
        }
    };
}

impl AsyncRead for Sock {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        on_sock!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for Sock {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        on_sock!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        on_sock!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Sock::Tcp(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            Sock::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_sock!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_sock!(self, s => s.poll_shutdown(cx))
    }
}

/// The HTTP/2 connection preface (h2c with prior knowledge).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// What one read from the socket asks for.
const READ_CHUNK: usize = 8 * 1024;
/// A buffer emptied with more room than this is freed rather than kept: a
/// keep-alive connection waiting for its next request holds no more than a head.
const KEEP_CAPACITY: usize = 4 * 1024;
/// The least room in hyper's buffer that is read into directly.
const MIN_DIRECT: usize = 1024;
/// The longest chunk-size line (with its extensions).
const MAX_CHUNK_LINE: usize = 4096;

/// What the server decided about a connection it will close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) reason: Reason,
    pub(crate) seen: Seen,
}

/// What the connection task and the IO share.
#[derive(Debug)]
pub(crate) struct ConnShared {
    pub(crate) info: ConnectionInfo,
    pub(crate) wire: Arc<WireState>,
    /// Requests handed to the application whose response body is not done.
    pub(crate) in_flight: AtomicUsize,
    pub(crate) verdict: Mutex<Option<Verdict>>,
    /// Whether a verdict was given. The IO decides while the connection task polls
    /// it, so the task looks at this after each poll; no wake-up is needed.
    pub(crate) decided: AtomicBool,
    pub(crate) h2: AtomicBool,
    /// The socket, back from the IO when a page is still to be sent.
    pub(crate) sock: Mutex<Option<Sock>>,
    /// The TLS details every request of a TLS connection gets.
    pub(crate) tls: Option<crate::TlsInfo>,
}

impl ConnShared {
    pub(crate) fn new(info: ConnectionInfo, tls: Option<crate::TlsInfo>) -> Self {
        ConnShared {
            tls,
            info,
            wire: Arc::new(WireState::default()),
            in_flight: AtomicUsize::new(0),
            verdict: Mutex::new(None),
            decided: AtomicBool::new(false),
            h2: AtomicBool::new(false),
            sock: Mutex::new(None),
        }
    }

    /// Records the first verdict (later ones are ignored).
    pub(crate) fn decide(&self, reason: Reason, seen: Seen) {
        if let Ok(mut v) = self.verdict.lock() {
            if v.is_none() {
                *v = Some(Verdict { reason, seen });
            }
        }
        self.decided.store(true, Ordering::Release);
    }

    pub(crate) fn take_verdict(&self) -> Option<Verdict> {
        self.verdict.lock().ok().and_then(|mut v| v.take())
    }

    fn has_page_pending(&self) -> bool {
        self.verdict
            .lock()
            .is_ok_and(|v| v.as_ref().is_some_and(|v| v.reason.status().is_some()))
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Waiting for (or reading) a request head.
    Head,
    /// `n` body bytes to go.
    Length(u64),
    Chunked(Chunk),
    /// Passed through unchecked: h2c, or an upgraded connection.
    Tunnel {
        h2: bool,
    },
}

#[derive(Debug, Clone, Copy)]
enum Chunk {
    Size {
        value: u64,
        digits: u8,
        ext: bool,
        cr: bool,
        len: usize,
    },
    Data(u64),
    DataCr,
    DataLf,
    /// Trailer lines after the last chunk; `line` bytes into the current one.
    Trailer {
        line: usize,
        cr: bool,
        total: usize,
    },
}

const NEW_SIZE: Chunk = Chunk::Size {
    value: 0,
    digits: 0,
    ext: false,
    cr: false,
    len: 0,
};

/// Why processing stopped.
enum Stop {
    /// A head that http.sys would refuse.
    Refuse(Refused),
    /// The body's chunk framing broke after the application got the request.
    BadBody,
}

/// The connection's IO, between the socket and hyper. See the [module docs](super).
#[derive(Debug)]
pub(crate) struct WireIo {
    /// The socket; handed to the connection task on drop when it still has a page
    /// to send.
    sock: Option<Sock>,
    shared: Arc<ConnShared>,
    limits: Limits,
    over_limit: bool,
    /// `buf[..end]`: bytes read from the socket that hyper has not taken yet
    /// (`end` is always `buf.len()`). The socket is read into a buffer on the
    /// stack and what came is appended, so an idle connection holds no 8 KiB
    /// read buffer of ours and nothing is zeroed.
    buf: Vec<u8>,
    end: usize,
    /// `buf[pos..ready]` may be handed to hyper.
    pos: usize,
    ready: usize,
    /// `buf[..cursor]` has been followed by the state machine.
    cursor: usize,
    state: State,
    /// A chunked head is held back until its first chunk size is read.
    hold: bool,
    /// Where the search for the end of the head goes on.
    scan: usize,
    head_start: Option<Instant>,
    last_activity: Instant,
    /// Bytes moved since `last_activity` was taken: the clock is read only when
    /// the connection goes quiet, not on every read and write.
    active: bool,
    read_timer: Timer,
    write_timer: Timer,
    /// When a send started to stall, and the bytes written by then.
    stall: Option<(Instant, u64)>,
    /// A verdict was given: nothing more is handed to hyper.
    stopped: bool,
    /// The next read returns this error (after what was ready).
    fail: Option<io::ErrorKind>,
    first: bool,
}

impl WireIo {
    pub(crate) fn new(
        sock: Sock,
        shared: Arc<ConnShared>,
        limits: Limits,
        over_limit: bool,
    ) -> Self {
        WireIo {
            sock: Some(sock),
            end: 0,
            shared,
            limits,
            over_limit,
            buf: Vec::new(),
            pos: 0,
            ready: 0,
            cursor: 0,
            state: State::Head,
            hold: false,
            scan: 0,
            head_start: None,
            last_activity: Instant::now(),
            active: false,
            read_timer: Timer::default(),
            write_timer: Timer::default(),
            stall: None,
            stopped: false,
            fail: None,
            first: true,
        }
    }

    /// Follows the framing over the unprocessed bytes of `buf` (the bytes read
    /// that hyper has not taken: `self.buf`, or a read straight into hyper's
    /// buffer).
    fn process(&mut self, buf: &[u8]) -> Result<(), Stop> {
        while self.cursor < buf.len() {
            match self.state {
                State::Head => {
                    if !self.head(buf)? {
                        return Ok(());
                    }
                }
                State::Length(n) => {
                    let take = n.min((buf.len() - self.cursor) as u64);
                    self.advance(take as usize);
                    self.state = if n == take {
                        State::Head
                    } else {
                        State::Length(n - take)
                    };
                    self.ready = self.cursor;
                }
                State::Chunked(_) => self.chunks(buf)?,
                State::Tunnel { .. } => {
                    self.advance(buf.len() - self.cursor);
                    self.ready = self.cursor;
                }
            }
        }
        Ok(())
    }

    fn advance(&mut self, n: usize) {
        self.cursor += n;
        self.shared.wire.add_request_bytes(n);
    }

    /// Reads a head. `Ok(false)`: it is not complete yet.
    fn head(&mut self, buf: &[u8]) -> Result<bool, Stop> {
        let bytes = &buf[self.cursor..];
        if self.first {
            // h2c with prior knowledge: the connection is hyper's (h2's) alone.
            let n = bytes.len().min(H2_PREFACE.len());
            if n > 0 && bytes[..n] == H2_PREFACE[..n] {
                if n < H2_PREFACE.len() {
                    return Ok(false);
                }
                self.first = false;
                self.shared.h2.store(true, Ordering::Relaxed);
                self.state = State::Tunnel { h2: true };
                return Ok(true);
            }
        }
        if self.scan == 0 {
            self.shared.wire.new_request();
        }
        // A whole head in the buffer (the usual case) is found and accepted in
        // one pass; otherwise its end is looked for, and it is checked when whole.
        let quick = if self.scan == 0 && !self.over_limit {
            head::quick(bytes, &self.limits)
        } else {
            None
        };
        let (end, accepted) = if let Some(found) = quick {
            found
        } else {
            let Some(end) = head::find_end(bytes, self.scan) else {
                self.scan = bytes.len().max(1);
                // The header wait runs from the first time a head is seen unfinished.
                if self.head_start.is_none() {
                    self.head_start = Some(Instant::now());
                }
                if let Some(refused) = head::check_partial(bytes, &self.limits) {
                    return Err(Stop::Refuse(refused));
                }
                return Ok(false);
            };
            let accepted =
                head::check(&bytes[..end], &self.limits, self.over_limit).map_err(Stop::Refuse)?;
            (end, accepted)
        };
        self.first = false;
        self.scan = 0;
        self.head_start = None;
        self.advance(end);
        self.state = match accepted.framing {
            Framing::None => State::Head,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(NEW_SIZE),
            Framing::Tunnel => State::Tunnel { h2: false },
        };
        if matches!(self.state, State::Chunked(_)) && !accepted.expect_continue {
            // Hold the head until the first chunk size is known to be good, so a
            // broken one is refused before the application sees the request.
            self.hold = true;
            self.head_start = Some(Instant::now());
        } else {
            self.ready = self.cursor;
        }
        Ok(true)
    }

    /// Follows chunked framing.
    fn chunks(&mut self, buf: &[u8]) -> Result<(), Stop> {
        let State::Chunked(mut c) = self.state else {
            return Ok(());
        };
        let data = &buf[self.cursor..];
        let mut i = 0;
        let mut done = false;
        let mut sized = false;
        while i < data.len() && !done {
            match &mut c {
                Chunk::Size {
                    value,
                    digits,
                    ext,
                    cr,
                    len,
                } => {
                    let b = data[i];
                    i += 1;
                    *len += 1;
                    if *len > MAX_CHUNK_LINE {
                        return Err(self.bad_chunk());
                    }
                    if *cr {
                        if b != b'\n' || *digits == 0 {
                            return Err(self.bad_chunk());
                        }
                        sized = true;
                        c = if *value == 0 {
                            Chunk::Trailer {
                                line: 0,
                                cr: false,
                                total: 0,
                            }
                        } else {
                            Chunk::Data(*value)
                        };
                    } else if b == b'\r' {
                        *cr = true;
                    } else if *ext {
                        if b < b' ' && b != b'\t' {
                            return Err(self.bad_chunk());
                        }
                    } else if b == b';' || b == b' ' || b == b'\t' {
                        *ext = true;
                    } else if let Some(d) = (b as char).to_digit(16) {
                        if *digits >= 16 {
                            return Err(self.bad_chunk());
                        }
                        *value = (*value << 4) | u64::from(d);
                        *digits += 1;
                    } else {
                        return Err(self.bad_chunk());
                    }
                }
                Chunk::Data(n) => {
                    let take = (*n).min((data.len() - i) as u64);
                    i += take as usize;
                    *n -= take;
                    if *n == 0 {
                        c = Chunk::DataCr;
                    }
                }
                Chunk::DataCr => {
                    if data[i] != b'\r' {
                        return Err(self.bad_chunk());
                    }
                    i += 1;
                    c = Chunk::DataLf;
                }
                Chunk::DataLf => {
                    if data[i] != b'\n' {
                        return Err(self.bad_chunk());
                    }
                    i += 1;
                    c = NEW_SIZE;
                }
                Chunk::Trailer { line, cr, total } => {
                    let b = data[i];
                    i += 1;
                    *total += 1;
                    if *total > self.limits.max_request_bytes {
                        return Err(self.bad_chunk());
                    }
                    if b == b'\n' {
                        if *line == 0 {
                            done = true;
                        } else {
                            *line = 0;
                            *cr = false;
                        }
                    } else if b == b'\r' && *line == 0 && !*cr {
                        *cr = true;
                    } else {
                        *line += 1;
                    }
                }
            }
        }
        self.advance(i);
        self.state = if done { State::Head } else { State::Chunked(c) };
        if self.hold && (sized || done) {
            self.hold = false;
            self.head_start = None;
        }
        if !self.hold {
            self.ready = self.cursor;
        }
        Ok(())
    }

    fn bad_chunk(&self) -> Stop {
        if self.hold {
            // The application has not seen the request: refuse it.
            Stop::Refuse(Refused {
                reason: Reason::BadRequest,
                seen: Seen::default(),
            })
        } else {
            Stop::BadBody
        }
    }

    /// When the read side gives up, and with what reason. `None` as the reason:
    /// look again then (a request is in flight; the idle timer starts after it).
    fn read_deadline(&self) -> Option<(Instant, Option<Reason>)> {
        let idle = || {
            let busy = self.shared.in_flight.load(Ordering::Relaxed) > 0
                || self.shared.wire.has_deferred();
            Some((
                self.last_activity + self.limits.connection_timeout,
                (!busy).then_some(Reason::TimerConnectionIdle),
            ))
        };
        let header = || {
            self.head_start.map(|t| {
                (
                    t + self.limits.header_wait_timeout,
                    Some(Reason::TimerHeaderWait),
                )
            })
        };
        if self.hold {
            return header();
        }
        match self.state {
            State::Head if self.cursor < self.end => header(),
            State::Head => idle(),
            State::Length(_) | State::Chunked(_) => Some((
                self.last_activity + self.limits.entity_body_timeout,
                Some(Reason::TimerEntityBody),
            )),
            State::Tunnel { h2: true } => idle(),
            State::Tunnel { h2: false } => None,
        }
    }

    /// The read side timed out: decide, and tell hyper what to do.
    fn timed_out(&mut self, reason: Reason) -> Poll<io::Result<()>> {
        self.stopped = true;
        self.shared.decide(reason, Seen::default());
        if reason == Reason::TimerEntityBody {
            self.shared.wire.cut(WIN32_CONNECTION_ABORTED);
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        // An idle hyper stays idle until the task shuts the connection down.
        Poll::Pending
    }

    /// Reads what the socket has into `buf`. Through the stream's own `poll_read`,
    /// which remembers that a short read drained the socket (no extra `recv` that
    /// would only say "would block").
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(sock) = self.sock.as_mut() else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        let mut chunk = [std::mem::MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut rb = ReadBuf::uninit(&mut chunk);
        ready!(Pin::new(sock).poll_read(cx, &mut rb))?;
        let n = rb.filled().len();
        self.buf.truncate(self.end);
        self.buf.extend_from_slice(rb.filled());
        self.end = self.buf.len();
        Poll::Ready(Ok(n))
    }

    /// Reads what the socket has straight into hyper's buffer `out`, when no
    /// bytes are held here: the new bytes are followed (and checked) in place,
    /// and those hyper may not have yet (the rest of an unfinished head, a head
    /// after a refused one) are moved into `buf` and taken back out of `out`.
    /// `Ok(n)`: `n` bytes read, of which those now in `out` are hyper's.
    fn poll_direct(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        let Some(sock) = self.sock.as_mut() else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        let before = out.filled().len();
        ready!(Pin::new(sock).poll_read(cx, out))?;
        let new = &out.filled()[before..];
        let n = new.len();
        if n == 0 {
            return Poll::Ready(Ok(0));
        }
        self.shared.wire.add_read(n);
        self.active = true;
        if let Err(stop) = self.process(new) {
            self.stop(stop);
        }
        let handed = self.ready;
        if handed < n {
            self.buf.extend_from_slice(&new[handed..]);
            self.end = self.buf.len();
            self.cursor -= handed;
            self.ready = 0;
            out.set_filled(before + handed);
        } else {
            self.cursor = 0;
            self.ready = 0;
            self.scan = 0;
        }
        Poll::Ready(Ok(n))
    }

    /// Processing stopped: no more bytes for hyper.
    fn stop(&mut self, stop: Stop) {
        self.stopped = true;
        match stop {
            Stop::Refuse(refused) => self.shared.decide(refused.reason, refused.seen),
            Stop::BadBody => self.fail = Some(io::ErrorKind::InvalidData),
        }
    }

    /// Bytes of an unfinished head are waiting: the client went away mid-head.
    fn partial_head(&self) -> bool {
        self.hold || (matches!(self.state, State::Head) && self.cursor < self.end)
    }
}

/// A timer of the connection, created when first needed.
#[derive(Debug, Default)]
struct Timer {
    sleep: Option<Pin<Box<Sleep>>>,
    /// The task the armed `sleep` wakes: while it is the polling task and the
    /// deadline it is set for has not come, polling it again changes nothing.
    armed: Option<Waker>,
}

/// Polls `timer` towards `deadline`. `true` when the deadline has passed. `now`:
/// the clock, when the caller has just read it.
fn poll_timer(
    timer: &mut Timer,
    deadline: Instant,
    now: Option<Instant>,
    cx: &mut Context<'_>,
) -> bool {
    let now = now.unwrap_or_else(Instant::now);
    if now >= deadline {
        return true;
    }
    // Armed for this task at or before `deadline`, and not yet due: it wakes the
    // task when due, and is moved on then (a keep-alive connection's idle
    // deadline moves later with every request; the timer stays where it is).
    if let (Some(t), Some(waker)) = (&timer.sleep, &timer.armed) {
        if t.deadline() <= deadline && now < t.deadline() && waker.will_wake(cx.waker()) {
            return false;
        }
    }
    let t = timer
        .sleep
        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
    // A timer set for an earlier deadline may stay: it fires, and is moved on then.
    if t.deadline() > deadline || t.is_elapsed() {
        t.as_mut().reset(deadline);
    }
    if t.as_mut().poll(cx).is_ready() {
        t.as_mut().reset(deadline);
        let _ = t.as_mut().poll(cx);
    }
    if !timer
        .armed
        .as_ref()
        .is_some_and(|w| w.will_wake(cx.waker()))
    {
        timer.armed = Some(cx.waker().clone());
    }
    false
}

impl AsyncRead for WireIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.pos < this.ready {
                let n = (this.ready - this.pos).min(out.remaining());
                out.put_slice(&this.buf[this.pos..this.pos + n]);
                this.pos += n;
                if this.pos == this.end {
                    if this.buf.capacity() > KEEP_CAPACITY {
                        this.buf = Vec::new();
                    } else {
                        this.buf.clear();
                    }
                    this.end = 0;
                    this.pos = 0;
                    this.ready = 0;
                    this.cursor = 0;
                    this.scan = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if let Some(kind) = this.fail.take() {
                return Poll::Ready(Err(kind.into()));
            }
            if this.stopped {
                return Poll::Pending;
            }
            if this.pos > 0 {
                this.buf.drain(..this.pos);
                this.end -= this.pos;
                this.ready -= this.pos;
                this.cursor -= this.pos;
                this.pos = 0;
            }
            // Nothing held here (the usual case): read straight into hyper's
            // buffer, and return at once if hyper has bytes.
            let direct = this.end == 0 && out.remaining() >= MIN_DIRECT;
            let filled = out.filled().len();
            let read = if direct {
                this.poll_direct(cx, out)
            } else {
                this.poll_fill(cx)
            };
            match read {
                Poll::Ready(Ok(n)) if n > 0 && direct => {
                    if out.filled().len() > filled {
                        return Poll::Ready(Ok(()));
                    }
                }
                Poll::Ready(Ok(0)) => {
                    if this.partial_head() {
                        this.stopped = true;
                        this.shared
                            .decide(Reason::ConnectionDropped, Seen::default());
                    }
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Ok(n)) => {
                    this.shared.wire.add_read(n);
                    this.active = true;
                    let buf = std::mem::take(&mut this.buf);
                    let processed = this.process(&buf);
                    this.buf = buf;
                    if let Err(stop) = processed {
                        this.stop(stop);
                    }
                }
                Poll::Ready(Err(e)) => {
                    if this.partial_head() {
                        this.stopped = true;
                        let reason = if e.kind() == io::ErrorKind::ConnectionReset {
                            Reason::ClientReset
                        } else {
                            Reason::ConnectionDropped
                        };
                        this.shared.decide(reason, Seen::default());
                    }
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => loop {
                    let mut now = None;
                    if this.active {
                        this.active = false;
                        this.last_activity = Instant::now();
                        now = Some(this.last_activity);
                    }
                    let Some((deadline, reason)) = this.read_deadline() else {
                        return Poll::Pending;
                    };
                    if !poll_timer(&mut this.read_timer, deadline, now, cx) {
                        return Poll::Pending;
                    }
                    match reason {
                        Some(reason) => return this.timed_out(reason),
                        // Busy: the idle time starts again from now at the latest.
                        None => this.last_activity = Instant::now(),
                    }
                },
            }
        }
    }
}

impl WireIo {
    fn wrote(&mut self, n: usize, wanted: usize) {
        self.shared.wire.add_written(n);
        self.active = true;
        if n == wanted {
            self.stall = None;
        }
    }

    /// The socket is not taking bytes: apply the minimum send rate.
    fn stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let rate = self.limits.min_bytes_per_second;
        if rate == 0 {
            return Poll::Pending;
        }
        let written = self.shared.wire.written();
        let (since, at) = *self.stall.get_or_insert((Instant::now(), written));
        let worth = std::time::Duration::from_secs_f64((written - at) as f64 / f64::from(rate));
        let deadline = since + self.limits.send_grace + worth;
        if poll_timer(&mut self.write_timer, deadline, None, cx) {
            self.stopped = true;
            self.shared.wire.cut(WIN32_CONNECTION_ABORTED);
            self.shared
                .decide(Reason::TimerMinBytesPerSecond, Seen::default());
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        Poll::Pending
    }

    fn write_failed(&self, e: io::Error) -> Poll<io::Result<usize>> {
        self.shared.wire.closed(WIN32_CLIENT_GONE);
        Poll::Ready(Err(e))
    }
}

impl AsyncWrite for WireIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let Some(sock) = this.sock.as_mut() else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        match Pin::new(sock).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                this.wrote(n, data.len());
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => this.write_failed(e),
            Poll::Pending => this.stalled(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let wanted: usize = bufs.iter().map(|b| b.len()).sum();
        let Some(sock) = this.sock.as_mut() else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        match Pin::new(sock).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                this.wrote(n, wanted);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => this.write_failed(e),
            Poll::Pending => this.stalled(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // A TCP socket has no buffer of its own: every byte written is handed over.
        // TLS holds records until they reach the socket.
        #[cfg(feature = "tls")]
        if let Some(sock @ Sock::Tls(_)) = this.sock.as_mut() {
            match Pin::new(sock).poll_flush(cx) {
                Poll::Ready(Ok(())) => this.stall = None,
                Poll::Ready(Err(e)) => return this.write_failed(e).map_ok(drop),
                Poll::Pending => return this.stalled(cx).map_ok(drop),
            }
        }
        #[cfg(not(feature = "tls"))]
        let _ = cx;
        this.shared.wire.flushed();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        #[cfg(feature = "tls")]
        if let Some(sock @ Sock::Tls(_)) = this.sock.as_mut() {
            match Pin::new(sock).poll_flush(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return this.write_failed(e).map_ok(drop),
                Poll::Pending => return this.stalled(cx).map_ok(drop),
            }
        }
        this.shared.wire.flushed();
        // A page still to send: the connection task sends it and closes.
        if this.shared.has_page_pending() {
            return Poll::Ready(Ok(()));
        }
        match this.sock.as_mut() {
            Some(sock) => Pin::new(sock).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl Drop for WireIo {
    fn drop(&mut self) {
        self.shared.wire.closed(WIN32_CLIENT_GONE);
        if self.shared.has_page_pending() {
            if let (Some(sock), Ok(mut slot)) = (self.sock.take(), self.shared.sock.lock()) {
                *slot = Some(sock);
            }
        }
    }
}
