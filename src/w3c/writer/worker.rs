//! The writer thread: takes lines off the queue, formats them into the batch
//! buffer and writes the buffer out to its output.

use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::file::FileOutput;
use super::queue::{Gate, Lines, Pool};
use super::sink::{whole_lines, write_counted, SinkKind};
use super::{Counters, LineFormat, Msg, Record, WriterConfig, BUFFER_SIZE};
use crate::w3c::record::IpCache;
use crate::w3c::rollover::{unix_secs, Civil, Clock};

/// The most unwritten data kept while the sink keeps failing; beyond it lines are
/// dropped (and counted).
const MAX_PENDING: usize = 16 * BUFFER_SIZE;
/// The longest nap of a writer holding buffered lines before it looks at the queue
/// again. Short enough that the default queue (1024 lines) does not fill below
/// about 200 000 lines per second; a half-full queue wakes the writer
/// anyway.
const NAP: Duration = Duration::from_millis(5);

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

pub(super) struct Worker {
    out: Output,
    also_tracing: bool,
    format: Arc<LineFormat>,
    fields_line: String,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
    interval: Duration,
    buf: Vec<u8>,
    /// Lines in `buf` (whole or partly unwritten).
    buf_lines: u64,
    /// A line held aside while the lines before it go to the previous file.
    line: Vec<u8>,
    cached_sec: i64,
    /// The time of the first line waiting in `buf`: a header block written with
    /// them never carries a later `#Date`.
    first_pending: Option<i64>,
    cached_dt: [u8; 19],
    /// The last line's addresses, as text.
    ips: IpCache,
    last_flush: Instant,
    /// Lines taken since the flush interval was last looked at.
    unchecked: u32,
    retry_at: Option<Instant>,
    pool: Arc<Pool>,
    gate: Arc<Gate>,
    lines: Arc<Lines>,
    /// Written records on their way back to the pool.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<Record>>,
}

/// How many lines the writer takes in a row before it looks at the clock for the
/// flush interval.
const CHECK_EVERY: u32 = 64;

/// How many written records the writer gathers before returning them to the pool.
const SPARE_BATCH: usize = 32;

impl Worker {
    pub(super) fn new(
        cfg: WriterConfig,
        counters: Arc<Counters>,
        pool: Arc<Pool>,
        gate: Arc<Gate>,
        lines: Arc<Lines>,
    ) -> Self {
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
            buf_lines: 0,
            line: Vec::new(),
            cached_sec: i64::MIN,
            first_pending: None,
            cached_dt: [b'0'; 19],
            ips: IpCache::default(),
            last_flush: Instant::now(),
            unchecked: 0,
            retry_at: None,
            pool,
            gate,
            lines,
            spare: Vec::with_capacity(SPARE_BATCH),
        }
    }

    pub(super) fn run(&mut self, rx: &Receiver<Msg>) {
        let mut batch = Vec::with_capacity(self.lines.reserved());
        loop {
            // All the lines queued since the last look, in one go.
            self.lines.take(&mut batch);
            let dry = batch.is_empty();
            self.take_lines(&mut batch);
            match rx.try_recv() {
                Ok(Msg::Flush(ack)) => {
                    // The lines queued before the flush was asked for go with it.
                    self.lines.take(&mut batch);
                    self.take_lines(&mut batch);
                    let ok = self.flush(true);
                    let _ = ack.send(ok);
                    continue;
                }
                Ok(Msg::Shutdown(ack)) => {
                    let lost = self.finish(rx, &mut batch);
                    let _ = ack.send(lost);
                    return;
                }
                Err(TryRecvError::Disconnected) => {
                    self.finish(rx, &mut batch);
                    return;
                }
                Err(TryRecvError::Empty) => {}
            }
            if dry {
                self.pool.put(&mut self.spare);
                if self.buf.is_empty() {
                    // Idle: sleep until the next line (or a flush or shutdown)
                    // unparks the writer.
                    if self.lines.go_idle() {
                        std::thread::park();
                    }
                    continue;
                }
                // Lines are buffered: nap rather than wait for the next line, so
                // that requests queue their lines without waking this thread.
                let wait = self.interval.saturating_sub(self.last_flush.elapsed());
                if !wait.is_zero() {
                    std::thread::park_timeout(wait.min(NAP));
                }
            }
            // Reading the clock costs more than a line: while lines keep coming, the
            // interval is looked at every CHECK_EVERY lines (and whenever the queue
            // runs dry).
            if self.unchecked >= CHECK_EVERY || dry {
                self.unchecked = 0;
                if !self.buf.is_empty() && self.last_flush.elapsed() >= self.interval {
                    self.flush(false);
                }
            }
        }
    }

    /// Formats the lines of `batch` (leaving it empty, with its capacity) and
    /// recycles their records.
    #[allow(clippy::vec_box)]
    fn take_lines(&mut self, batch: &mut Vec<Box<Record>>) {
        let mut records = batch.drain(..).peekable();
        while let Some(mut rec) = records.next() {
            // The next record was written on another core: start reading it now,
            // while this one is formatted.
            if let Some(next) = records.peek() {
                std::hint::black_box((next.status, next.conn.is_some(), next.text.touch()));
            }
            self.gate.taken();
            self.line(&rec);
            rec.release();
            self.spare.push(rec);
            if self.spare.len() >= SPARE_BATCH {
                self.pool.put(&mut self.spare);
            }
            if self.buf.len() >= BUFFER_SIZE {
                self.flush(false);
            }
            self.unchecked += 1;
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
        rec.write_line(&mut self.buf, &self.format, &dt, &mut self.ips);
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
            self.counters.written.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.buf.len() + 2 > MAX_PENDING {
            self.buf.truncate(start);
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if start == 0 {
            self.first_pending = Some(rec.end_unix);
        }
        self.buf.extend_from_slice(b"\r\n");
        self.buf_lines += 1;
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
        // IIS writes `#Date` when it opens the file for the first line; lines wait
        // here up to a flush interval, so the block takes the earlier of now and
        // the first waiting line's time.
        let now = unix_secs(self.clock.now());
        let header_secs = self.first_pending.map_or(now, |first| first.min(now));
        let format = &self.format;
        // Built only when a block is written (a new file or stream).
        let header = || format.header_block(&crate::w3c::rollover::datetime_string(header_secs));
        let result = match &mut self.out {
            Output::Tracing => Ok(()),
            Output::Writer {
                w,
                needs_header,
                torn,
            } => write_stream(w, &mut self.buf, torn, needs_header, header, &self.counters),
            Output::Files(files) => files.write(&mut self.buf, header, &self.counters),
        };
        match result {
            Ok(()) => {
                self.buf.clear();
                self.first_pending = None;
                self.counters
                    .written
                    .fetch_add(self.buf_lines, Ordering::Relaxed);
                self.buf_lines = 0;
                self.retry_at = None;
                true
            }
            Err(e) => {
                let left = unwritten_lines(&self.buf);
                self.counters
                    .written
                    .fetch_add(self.buf_lines.saturating_sub(left), Ordering::Relaxed);
                self.buf_lines = left;
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

    /// The last lines and the last flush, then the file is closed. Returns the lines that could not
    /// be written (counted as dropped, and reported).
    #[allow(clippy::vec_box)]
    fn finish(&mut self, rx: &Receiver<Msg>, batch: &mut Vec<Box<Record>>) -> u64 {
        // Lines that came in behind the shutdown still get their chance; nothing
        // is queued after these.
        self.lines.close(batch);
        self.take_lines(batch);
        while let Ok(msg) = rx.try_recv() {
            match msg {
                Msg::Flush(ack) => {
                    let _ = ack.send(false);
                }
                Msg::Shutdown(ack) => {
                    let _ = ack.send(0);
                }
            }
        }
        self.flush(true);
        if let Output::Files(files) = &mut self.out {
            files.file = None;
        }
        let lost = self.buf_lines;
        if lost > 0 {
            self.counters.dropped.fetch_add(lost, Ordering::Relaxed);
            tracing::warn!(
                target: "tower_iis::w3c",
                lost,
                "the W3C log writer stopped with {lost} lines it could not write"
            );
        }
        self.buf.clear();
        self.buf_lines = 0;
        lost
    }
}

impl Drop for Worker {
    /// A writer that stops for any reason (a panic included) takes no more lines:
    /// requests count theirs as dropped instead of queueing them for nobody.
    fn drop(&mut self) {
        self.lines.close(&mut Vec::new());
    }
}

/// The log lines in an unwritten buffer: every line, whole or cut, that is not a
/// directive (a cut header block is written again, not counted).
fn unwritten_lines(buf: &[u8]) -> u64 {
    buf.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l[0] != b'#')
        .count() as u64
}

/// Writes the buffer to a plain writer. After a failure the lines the writer took
/// whole are dropped from the buffer (never written twice), the line it took part
/// of is finished first on the next try, and a fresh header block follows.
fn write_stream(
    w: &mut Box<dyn Write + Send>,
    buf: &mut Vec<u8>,
    torn: &mut usize,
    needs_header: &mut bool,
    header: impl FnOnce() -> String,
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
        // Built only when it is written: once per stream.
        let header = header();
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
