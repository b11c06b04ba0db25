//! The background writer: a bounded queue, one thread, a 64 KB batch buffer, and the
//! sinks it writes to.
//!
//! Requests never touch the disk. When a request finishes, its captured values go
//! into a bounded queue; the writer thread formats the line into a reused buffer and
//! writes the buffer out when it reaches 64 KB, when the flush interval (1 s by
//! default) has passed, on [`W3cLogHandle::flush`], and when the [`W3cLogGuard`] is
//! dropped.
//!
//! A finishing request does not wake the writer. While lines wait for their flush the
//! writer naps (a few milliseconds at a time) and then takes whatever has queued up
//! in one go; it is woken early only by a full queue, a flush request or shutdown.
//! Only an idle writer (nothing buffered) sleeps in the queue and is woken by the
//! next line. Waking a thread costs a system call, far more than the line itself.
//!
//! What a request leaves for its line (about 1 KB, its text values copied out of
//! the request) is recycled: the writer hands written records back to a pool that
//! requests take from, so a warm log allocates nothing per request. The pool keeps
//! at most as many records as the queue holds.
//!
//! When the queue is full, a finishing request waits for room by default, so no line
//! is lost. [`QueueFull::Drop`] makes it drop the line and count it instead.
//!
//! Write errors (disk full, directory removed, permission denied) are reported with a
//! `tracing` warning (target `tower_iis::w3c`) and counted in [`LogStats`]. The
//! writer keeps the unwritten lines (up to 1 MiB), closes the file, and tries again at
//! the next flush: it recreates the directory, reopens the file and writes a fresh
//! header block before the kept lines. A file that was deleted or moved while open is
//! noticed at the next flush and reopened the same way.
//!
//! A write that stops part-way (a disk that fills up in the middle of a line) never
//! leaves a torn line behind: the lines written whole are not written again, and
//! the line cut short is written again whole. A file's unfinished last line (from
//! such a failure, or from a process that died mid-write) is cut when the file is
//! opened; a plain writer gets the rest of the cut line before the new header block.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use super::record::{LineFormat, Record};
use super::rollover::{
    is_own_name, parse_size_name, period_name, size_name, unix_secs, Civil, Clock, Naming, Period,
    Zone,
};

/// The size of the batch buffer: what IIS buffers before a flush by default.
pub const BUFFER_SIZE: usize = 64 * 1024;
/// The most unwritten data kept while the sink keeps failing; beyond it lines are
/// dropped (and counted).
const MAX_PENDING: usize = 16 * BUFFER_SIZE;
/// The longest nap of a writer holding buffered lines before it looks at the queue
/// again. Short enough that the default queue (1024 lines) does not fill below
/// about 200 000 lines per second; a full queue wakes the writer anyway.
const NAP: Duration = Duration::from_millis(5);

/// What a finishing request does when the writer's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum QueueFull {
    /// Wait for room (lossless; the default).
    #[default]
    Wait,
    /// Drop the line and count it in [`LogStats::dropped`].
    Drop,
}

/// Where the lines go.
pub struct Sink(pub(crate) SinkKind);

pub(crate) enum SinkKind {
    Files(PathBuf),
    Writer(Box<dyn Write + Send>),
    Tracing,
}

impl Sink {
    /// IIS-style files in `<dir>/W3SVC<site id>/`, named and rolled over by the
    /// configured [`Period`].
    #[must_use]
    pub fn directory(dir: impl Into<PathBuf>) -> Self {
        Sink(SinkKind::Files(dir.into()))
    }

    /// Any writer: a header block first, then the lines. Nothing rolls over.
    #[must_use]
    pub fn writer(w: impl Write + Send + 'static) -> Self {
        Sink(SinkKind::Writer(Box::new(w)))
    }

    /// An in-memory buffer, for tests.
    #[must_use]
    pub fn memory(sink: &MemorySink) -> Self {
        Self::writer(sink.clone())
    }

    /// One `tracing` event per line (level `INFO`, target `tower_iis::w3c::access`),
    /// with the line as the message and the `#Fields` value in the field
    /// `w3c_fields`; like IIS sending its log to ETW.
    #[must_use]
    pub fn tracing() -> Self {
        Sink(SinkKind::Tracing)
    }
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            SinkKind::Files(dir) => f.debug_tuple("Sink::Directory").field(dir).finish(),
            SinkKind::Writer(_) => f.write_str("Sink::Writer(..)"),
            SinkKind::Tracing => f.write_str("Sink::Tracing"),
        }
    }
}

/// A shared in-memory log: what the writer wrote, header blocks included.
#[derive(Debug, Clone, Default)]
pub struct MemorySink(Arc<Mutex<Vec<u8>>>);

impl MemorySink {
    /// An empty buffer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far (flush first with [`W3cLogHandle::flush`]).
    #[must_use]
    pub fn contents(&self) -> String {
        let buf = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl Write for MemorySink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counters kept by the writer.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    lines: AtomicU64,
    dropped: AtomicU64,
    io_errors: AtomicU64,
    files: AtomicU64,
}

/// A snapshot of the writer's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LogStats {
    /// Lines handed to the sink (written, or buffered to be written).
    pub lines: u64,
    /// Lines lost: queue full with [`QueueFull::Drop`], writer gone, or too much
    /// unwritten data while the sink kept failing.
    pub dropped: u64,
    /// Write, open and flush errors seen.
    pub io_errors: u64,
    /// Files opened (each open writes a header block).
    pub files_opened: u64,
}

pub(crate) enum Msg {
    Line(Box<Record>),
    Flush(SyncSender<bool>),
    Shutdown(SyncSender<()>),
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
    fn new(max: usize) -> Self {
        Pool {
            records: Mutex::new(Vec::new()),
            max,
        }
    }

    /// Returns `spare` records to the pool (freeing those beyond its size).
    #[allow(clippy::vec_box)]
    fn put(&self, spare: &mut Vec<Box<Record>>) {
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
    tx: SyncSender<Msg>,
    policy: QueueFull,
    counters: Arc<Counters>,
    writer: Thread,
    pool: Arc<Pool>,
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
        let sent = match self.tx.try_send(Msg::Line(rec)) {
            Ok(()) => true,
            Err(TrySendError::Full(msg)) => {
                // The writer is napping on a full queue: wake it.
                self.writer.unpark();
                match self.policy {
                    QueueFull::Wait => self.tx.send(msg).is_ok(),
                    QueueFull::Drop => false,
                }
            }
            Err(TrySendError::Disconnected(_)) => false,
        };
        if !sent {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
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

/// Flushes the writer on demand and reads its counters. Cheap to clone.
#[derive(Debug, Clone)]
pub struct W3cLogHandle {
    tx: SyncSender<Msg>,
    counters: Arc<Counters>,
    writer: Thread,
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
            dropped: c.dropped.load(Ordering::Relaxed),
            io_errors: c.io_errors.load(Ordering::Relaxed),
            files_opened: c.files.load(Ordering::Relaxed),
        }
    }
}

/// Flushes and closes the log when dropped, so a graceful shutdown loses nothing.
///
/// Keep it alive (bind it to a named variable, not `_`) until the server has stopped
/// serving; lines of requests that finish after it is dropped are counted as dropped.
#[must_use = "dropping the guard stops the log writer"]
pub struct W3cLogGuard {
    tx: SyncSender<Msg>,
    thread: Option<JoinHandle<()>>,
    timeout: Duration,
    handle: W3cLogHandle,
}

impl W3cLogGuard {
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
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        let sent = self.tx.send(Msg::Shutdown(ack_tx)).is_ok();
        self.handle.writer.unpark();
        if sent && ack_rx.recv_timeout(self.timeout).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        } else {
            tracing::warn!(
                target: "tower_iis::w3c",
                "the W3C log writer did not finish within {:?}; lines may be lost",
                self.timeout
            );
        }
    }
}

/// File options taken from the builder.
#[derive(Debug, Clone)]
pub(crate) struct FileOptions {
    pub(crate) site_dir: PathBuf,
    pub(crate) period: Period,
    pub(crate) local_time: bool,
    pub(crate) truncate_size: u64,
    pub(crate) retain: Option<usize>,
}

pub(crate) struct WriterConfig {
    pub(crate) sink: SinkKind,
    pub(crate) files: FileOptions,
    pub(crate) also_tracing: bool,
    pub(crate) format: Arc<LineFormat>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) flush_interval: Duration,
    pub(crate) queue_capacity: usize,
    pub(crate) policy: QueueFull,
    pub(crate) shutdown_timeout: Duration,
}

/// Starts the writer thread.
pub(crate) fn spawn(cfg: WriterConfig) -> io::Result<(Queue, W3cLogGuard)> {
    let (tx, rx) = mpsc::sync_channel(cfg.queue_capacity);
    let counters = Arc::new(Counters::default());
    let policy = cfg.policy;
    let timeout = cfg.shutdown_timeout;
    let pool = Arc::new(Pool::new(cfg.queue_capacity));
    let mut worker = Worker::new(cfg, counters.clone(), pool.clone());
    let thread = std::thread::Builder::new()
        .name("w3c-log-writer".into())
        .spawn(move || worker.run(&rx))?;
    let queue = Queue {
        tx: tx.clone(),
        policy,
        counters,
        writer: thread.thread().clone(),
        pool,
    };
    let guard = W3cLogGuard {
        tx,
        thread: Some(thread),
        timeout,
        handle: queue.handle(),
    };
    Ok((queue, guard))
}

enum Output {
    Files(FileOutput),
    Writer {
        w: Box<dyn Write + Send>,
        needs_header: bool,
        /// Bytes of the first buffered line the writer already took before it
        /// failed: that line is finished first, so the stream stays line-aligned.
        torn: usize,
    },
    Tracing,
}

struct Worker {
    out: Output,
    also_tracing: bool,
    format: Arc<LineFormat>,
    fields_line: String,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
    interval: Duration,
    buf: Vec<u8>,
    /// A line held aside while the lines before it go to the previous file.
    line: Vec<u8>,
    cached_sec: i64,
    cached_dt: [u8; 19],
    last_flush: Instant,
    retry_at: Option<Instant>,
    pool: Arc<Pool>,
    /// Written records on their way back to the pool.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<Record>>,
}

/// How many written records the writer gathers before returning them to the pool.
const SPARE_BATCH: usize = 32;

impl Worker {
    fn new(cfg: WriterConfig, counters: Arc<Counters>, pool: Arc<Pool>) -> Self {
        let out = match cfg.sink {
            SinkKind::Files(_) => Output::Files(FileOutput::new(cfg.files, cfg.format.naming())),
            SinkKind::Writer(w) => Output::Writer {
                w,
                needs_header: true,
                torn: 0,
            },
            SinkKind::Tracing => Output::Tracing,
        };
        Worker {
            out,
            also_tracing: cfg.also_tracing,
            fields_line: cfg.format.fields_line(),
            format: cfg.format,
            clock: cfg.clock,
            counters,
            interval: cfg.flush_interval,
            buf: Vec::with_capacity(BUFFER_SIZE + 4096),
            line: Vec::new(),
            cached_sec: i64::MIN,
            cached_dt: [b'0'; 19],
            last_flush: Instant::now(),
            retry_at: None,
            pool,
            spare: Vec::with_capacity(SPARE_BATCH),
        }
    }

    fn run(&mut self, rx: &Receiver<Msg>) {
        loop {
            let msg = if self.buf.is_empty() {
                // Idle: sleep in the queue; the next line wakes the writer.
                self.pool.put(&mut self.spare);
                rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                match rx.try_recv() {
                    Ok(msg) => Ok(msg),
                    Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
                    Err(TryRecvError::Empty) => {
                        self.pool.put(&mut self.spare);
                        // Lines are buffered: nap rather than wait in the queue, so
                        // that requests queue their lines without waking this thread.
                        let wait = self.interval.saturating_sub(self.last_flush.elapsed());
                        if !wait.is_zero() {
                            std::thread::park_timeout(wait.min(NAP));
                        }
                        Err(RecvTimeoutError::Timeout)
                    }
                }
            };
            match msg {
                Ok(Msg::Line(mut rec)) => {
                    self.line(&rec);
                    rec.release();
                    self.spare.push(rec);
                    if self.spare.len() >= SPARE_BATCH {
                        self.pool.put(&mut self.spare);
                    }
                    if self.buf.len() >= BUFFER_SIZE {
                        self.flush(false);
                    }
                }
                Ok(Msg::Flush(ack)) => {
                    let ok = self.flush(true);
                    let _ = ack.send(ok);
                }
                Ok(Msg::Shutdown(ack)) => {
                    self.flush(true);
                    self.close();
                    let _ = ack.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush(true);
                    self.close();
                    return;
                }
            }
            if !self.buf.is_empty() && self.last_flush.elapsed() >= self.interval {
                self.flush(false);
            }
        }
    }

    fn datetime(&mut self, secs: i64) -> [u8; 19] {
        if secs != self.cached_sec {
            Civil::from_unix(secs).write_datetime(&mut self.cached_dt);
            self.cached_sec = secs;
        }
        self.cached_dt
    }

    fn line(&mut self, rec: &Record) {
        let dt = self.datetime(rec.end_unix);
        // Formatted straight into the batch buffer; taken back out if it cannot stay.
        let mut start = self.buf.len();
        rec.write_line(&mut self.buf, &self.format, &dt);
        let line_len = self.buf.len() - start;
        if self.also_tracing || matches!(self.out, Output::Tracing) {
            let line = String::from_utf8_lossy(&self.buf[start..]);
            tracing::info!(target: "tower_iis::w3c::access", w3c_fields = %self.fields_line, "{line}");
        }
        let switched = match &mut self.out {
            Output::Files(files) => {
                let len = line_len as u64 + 2;
                let switched = files.select(rec.end_unix, len, &self.format);
                files.size += len;
                switched
            }
            _ => false,
        };
        if switched {
            // A new file: what is buffered before this line belongs to the old one.
            if start > 0 {
                self.line.clear();
                self.line.extend_from_slice(&self.buf[start..]);
                self.buf.truncate(start);
                self.write_out();
                start = self.buf.len();
                self.buf.extend_from_slice(&self.line);
            }
            if let Output::Files(files) = &mut self.out {
                files.switch();
            }
        }
        if matches!(self.out, Output::Tracing) {
            self.buf.truncate(start);
            self.counters.lines.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.buf.len() + 2 > MAX_PENDING {
            self.buf.truncate(start);
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.buf.extend_from_slice(b"\r\n");
        self.counters.lines.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes the buffer out unless a retry is not due yet (or `force`).
    fn flush(&mut self, force: bool) -> bool {
        self.last_flush = Instant::now();
        if !force {
            if let Some(at) = self.retry_at {
                if Instant::now() < at {
                    return false;
                }
            }
        }
        self.write_out()
    }

    fn write_out(&mut self) -> bool {
        let header_dt = rollover_dt(self.clock.now());
        let result = match &mut self.out {
            Output::Tracing => Ok(()),
            Output::Writer {
                w,
                needs_header,
                torn,
            } => write_stream(
                w,
                &mut self.buf,
                torn,
                needs_header,
                &self.format.header_block(&header_dt),
                &self.counters,
            ),
            Output::Files(files) => {
                files.write(&mut self.buf, &self.format, &header_dt, &self.counters)
            }
        };
        match result {
            Ok(()) => {
                self.buf.clear();
                self.retry_at = None;
                true
            }
            Err(e) => {
                self.counters.io_errors.fetch_add(1, Ordering::Relaxed);
                // A very long interval ("never") must not overflow: then only a
                // forced flush retries.
                let now = Instant::now();
                self.retry_at = Some(
                    now.checked_add(self.interval)
                        .unwrap_or(now + Duration::from_secs(365 * 86_400)),
                );
                let target = match &self.out {
                    Output::Files(f) => f.path().map(|p| p.display().to_string()),
                    _ => None,
                };
                tracing::warn!(
                    target: "tower_iis::w3c",
                    error = %e,
                    file = target.as_deref().unwrap_or("-"),
                    pending_bytes = self.buf.len(),
                    "W3C log write failed; will reopen and retry"
                );
                false
            }
        }
    }

    fn close(&mut self) {
        if let Output::Files(files) = &mut self.out {
            files.file = None;
        }
    }
}

fn rollover_dt(t: std::time::SystemTime) -> String {
    super::rollover::datetime_string(unix_secs(t))
}

/// Writes as much of `data` as the sink takes. Returns the bytes it took and the
/// error that stopped it, so a failure part-way through is known to the byte.
fn write_counted<W: Write + ?Sized>(w: &mut W, data: &[u8]) -> (usize, io::Result<()>) {
    let mut done = 0;
    while done < data.len() {
        match w.write(&data[done..]) {
            Ok(0) => return (done, Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}

/// The length of the whole lines among the first `done` bytes of `buf`.
fn whole_lines(buf: &[u8], done: usize) -> usize {
    buf[..done]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

/// Writes the buffer to a plain writer. After a failure the lines the writer took
/// whole are dropped from the buffer (never written twice), the line it took part
/// of is finished first on the next try, and a fresh header block follows.
fn write_stream(
    w: &mut Box<dyn Write + Send>,
    buf: &mut Vec<u8>,
    torn: &mut usize,
    needs_header: &mut bool,
    header: &str,
    counters: &Counters,
) -> io::Result<()> {
    if *torn > 0 {
        let end = buf[*torn..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| *torn + i + 1);
        let (n, r) = write_counted(w, &buf[*torn..end]);
        *torn += n;
        r?;
        buf.drain(..end);
        *torn = 0;
    }
    let mut header_len = 0;
    if *needs_header {
        if buf.is_empty() {
            return w.flush();
        }
        header_len = header.len();
        buf.splice(0..0, header.bytes());
        *needs_header = false;
        counters.files.fetch_add(1, Ordering::Relaxed);
    }
    let (n, r) = write_counted(w, buf);
    if let Err(e) = r {
        let whole = whole_lines(buf, n);
        buf.drain(..whole);
        *torn = n - whole;
        if n < header_len {
            // The header block was cut: keep only the rest of its torn line (a
            // new block is written after it).
            let rest = header_len - whole;
            let from = if *torn == 0 {
                0
            } else {
                buf.iter().position(|&b| b == b'\n').map_or(rest, |i| i + 1)
            };
            buf.drain(from..rest);
        }
        *needs_header = true;
        return Err(e);
    }
    buf.clear();
    w.flush().inspect_err(|_| *needs_header = true)
}

/// Cuts a last line that has no line end (a write that stopped part-way: a full
/// disk, a crash), so what is appended next starts on a line of its own. Returns
/// the bytes cut.
fn cut_torn_tail(file: &mut File) -> io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let meta = file.metadata()?;
    let len = meta.len();
    if len == 0 || !meta.is_file() {
        return Ok(0);
    }
    let mut block = [0u8; 4096];
    let mut end = len;
    loop {
        let start = end.saturating_sub(block.len() as u64);
        let chunk = &mut block[..usize::try_from(end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if end == len && chunk.last() == Some(&b'\n') {
            return Ok(0);
        }
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            file.set_len(keep)?;
            return Ok(len - keep);
        }
        if start == 0 {
            file.set_len(0)?;
            return Ok(len);
        }
        end = start;
    }
}

/// The file side of the writer: which file, its size, the open handle.
struct FileOutput {
    opts: FileOptions,
    custom: Naming,
    zone: Zone,
    /// The key (time-based) or number (size-based) of the current file.
    key: Option<u64>,
    /// The name the next line goes to, decided by `select`.
    next: Option<(u64, String)>,
    name: Option<String>,
    file: Option<File>,
    #[cfg(unix)]
    ino: Option<(u64, u64)>,
    /// Bytes in the file plus bytes buffered for it.
    size: u64,
    header_len: u64,
    retained_once: bool,
    /// The latest line time seen (time-based periods).
    latest: i64,
    /// The second whose lines are known to belong to the current file.
    checked: i64,
}

impl FileOutput {
    fn new(opts: FileOptions, custom: Naming) -> Self {
        let zone = if opts.local_time {
            Zone::local()
        } else {
            Zone::Utc
        };
        FileOutput {
            opts,
            custom,
            zone,
            key: None,
            next: None,
            name: None,
            file: None,
            #[cfg(unix)]
            ino: None,
            size: 0,
            header_len: 0,
            retained_once: false,
            latest: i64::MIN,
            checked: i64::MIN,
        }
    }

    fn path(&self) -> Option<PathBuf> {
        self.name.as_ref().map(|n| self.opts.site_dir.join(n))
    }

    /// Decides the file for a line at `unix` of `len` bytes. Returns true when it is
    /// not the current file (then call `switch` after writing out the buffer).
    fn select(&mut self, unix: i64, len: u64, fmt: &LineFormat) -> bool {
        if self.header_len == 0 {
            self.header_len = fmt.header_block("0000-00-00 00:00:00").len() as u64;
        }
        if self.opts.period == Period::MaxSize {
            let limit = self.opts.truncate_size;
            let n = match self.key {
                None => {
                    let (n, existing) = self.latest_size_file();
                    if existing > 0 && existing + self.header_len + len > limit {
                        n + 1
                    } else {
                        n
                    }
                }
                Some(n) => {
                    // Roll only a file that holds lines already.
                    if self.size > self.header_len && self.size + len > limit {
                        n + 1
                    } else {
                        return false;
                    }
                }
            };
            let name = size_name(n, self.custom);
            self.size = self.existing_len(&name) + self.header_len;
            self.next = Some((n, name));
            return true;
        }
        // Lines finish slightly out of order; never go back to an earlier file.
        let unix = unix.max(self.latest);
        self.latest = unix;
        // Most lines fall in the second of the line before: no calendar work.
        if self.key.is_some() && unix == self.checked {
            return false;
        }
        let local = unix + self.zone.offset_secs(unix);
        let c = Civil::from_unix(local);
        let month = u64::from(c.year.max(0).unsigned_abs()) * 100 + u64::from(c.month);
        let key = match self.opts.period {
            Period::Hourly => (month * 100 + u64::from(c.day)) * 100 + u64::from(c.hour),
            Period::Daily => month * 100 + u64::from(c.day),
            Period::Weekly => month * 100 + u64::from(c.week_of_month()),
            _ => month,
        };
        if self.key == Some(key) {
            self.checked = unix;
            return false;
        }
        let name = period_name(self.opts.period, &c, self.custom).unwrap_or_default();
        self.size = self.existing_len(&name) + self.header_len;
        self.next = Some((key, name));
        true
    }

    fn existing_len(&self, name: &str) -> u64 {
        fs::metadata(self.opts.site_dir.join(name)).map_or(0, |m| m.len())
    }

    fn switch(&mut self) {
        if let Some((key, name)) = self.next.take() {
            self.key = Some(key);
            self.name = Some(name);
            self.file = None;
            self.retain();
        }
    }

    /// The highest `u_extendN.log` and its size, or `(1, 0)`.
    fn latest_size_file(&self) -> (u64, u64) {
        let mut best: Option<(u64, u64)> = None;
        if let Ok(dir) = fs::read_dir(&self.opts.site_dir) {
            for entry in dir.flatten() {
                let name = entry.file_name();
                if let Some(n) = name.to_str().and_then(|s| parse_size_name(s, self.custom)) {
                    if best.is_none_or(|(b, _)| n > b) {
                        let len = entry.metadata().map_or(0, |m| m.len());
                        best = Some((n, len));
                    }
                }
            }
        }
        best.unwrap_or((1, 0))
    }

    /// Deletes the oldest of our files beyond the retention count (the current file
    /// counts as one).
    fn retain(&mut self) {
        let Some(keep) = self.opts.retain else { return };
        let Ok(dir) = fs::read_dir(&self.opts.site_dir) else {
            return;
        };
        let current = self.name.clone().unwrap_or_default();
        let mut others: Vec<(u64, String)> = dir
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| *n != current && is_own_name(self.opts.period, n, self.custom))
            .map(|n| {
                let order = parse_size_name(&n, self.custom).unwrap_or(0);
                (order, n)
            })
            .collect();
        others.sort();
        let allowed = keep.saturating_sub(1);
        if others.len() > allowed {
            let excess = others.len() - allowed;
            for (_, name) in others.into_iter().take(excess) {
                let path = self.opts.site_dir.join(&name);
                if let Err(e) = fs::remove_file(&path) {
                    tracing::warn!(target: "tower_iis::w3c", error = %e, file = %path.display(), "could not delete an old W3C log file");
                }
            }
        }
        self.retained_once = true;
    }

    fn still_ours(&self, path: &Path) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            match fs::metadata(path) {
                Ok(m) => self.ino == Some((m.dev(), m.ino())),
                Err(_) => false,
            }
        }
        #[cfg(not(unix))]
        {
            path.exists()
        }
    }

    fn open(&mut self, path: &Path) -> io::Result<File> {
        fs::create_dir_all(&self.opts.site_dir)?;
        let mut opts = OpenOptions::new();
        opts.read(true).create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o640);
        }
        let mut file = opts.open(path)?;
        let cut = cut_torn_tail(&mut file)?;
        if cut > 0 {
            tracing::warn!(target: "tower_iis::w3c", file = %path.display(), bytes = cut, "cut an unfinished last line from the W3C log file");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = file.metadata()?;
            self.ino = Some((m.dev(), m.ino()));
        }
        Ok(file)
    }

    /// Writes the buffer to the current file, opening it (with a header block)
    /// when needed. After a failure the file is closed; the lines written whole
    /// are dropped from the buffer, the rest is kept for the next try, and the
    /// line cut part-way is cut from the file when it is opened again.
    fn write(
        &mut self,
        buf: &mut Vec<u8>,
        fmt: &LineFormat,
        header_dt: &str,
        counters: &Counters,
    ) -> io::Result<()> {
        let Some(path) = self.path() else {
            return Ok(());
        };
        if buf.is_empty() && self.file.is_none() {
            return Ok(());
        }
        if self.file.is_some() && !self.still_ours(&path) {
            tracing::warn!(target: "tower_iis::w3c", file = %path.display(), "the W3C log file was removed or moved; reopening it");
            self.file = None;
        }
        if self.file.is_none() {
            let mut file = self.open(&path)?;
            counters.files.fetch_add(1, Ordering::Relaxed);
            let header = fmt.header_block(header_dt);
            write_counted(&mut file, header.as_bytes()).1?;
            self.file = Some(file);
            if !self.retained_once {
                self.retain();
            }
        }
        let file = self.file.as_mut().expect("opened above");
        let (n, r) = write_counted(file, buf);
        let r = r.and_then(|()| file.flush());
        if r.is_err() {
            buf.drain(..whole_lines(buf, n));
            self.file = None;
        }
        r
    }
}
