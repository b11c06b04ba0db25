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
//! in one go; it is woken early only by a half-full queue, a flush request or
//! shutdown.
//! Only an idle writer (nothing buffered) sleeps in the queue and is woken by the
//! next line. Waking a thread costs a system call, far more than the line itself.
//!
//! What a request leaves for its line (about 1 KB, its text values copied out of
//! the request) is recycled: the writer hands written records back to a pool that
//! requests take from, so a warm log allocates nothing per request. The pool keeps
//! at most as many records as the queue holds.
//!
//! No thread ever blocks on the log. When the queue is full, new requests wait for
//! room by default ([`QueueFull::Wait`]): the service's `poll_ready` is `Pending`
//! until the writer has taken lines, so a slow disk loses nothing. The lines of
//! requests already under way may go past the capacity (by up to 1024 lines, or
//! the capacity if larger). A writer
//! that takes nothing for the wait limit (a hung disk, default 5 s) is given up on
//! and reported once through `tracing`: requests go ahead, and their lines are
//! dropped and counted until it catches up. [`QueueFull::Drop`] never makes a
//! request wait: a line that finds the queue full is dropped and counted.
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

mod file;
mod handle;
mod queue;
mod sink;
mod worker;

use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{self, Sender, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use super::record::{LineFormat, Record};
use super::rollover::Clock;

pub(crate) use file::FileOptions;
pub use handle::{LogStats, W3cLogGuard, W3cLogHandle};
pub(crate) use queue::Queue;
pub use queue::QueueFull;
pub(crate) use sink::SinkKind;
pub use sink::{MemorySink, Sink};

use queue::{Gate, Lines, Pool};
use worker::Worker;

/// The size of the batch buffer: what IIS buffers before a flush by default.
pub const BUFFER_SIZE: usize = 64 * 1024;

/// Counters kept by the writer.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(super) lines: AtomicU64,
    pub(super) written: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) io_errors: AtomicU64,
    pub(super) files: AtomicU64,
    /// Set when the first line was dropped because the writer had stopped (its
    /// guard dropped): that line is reported through `tracing`, once.
    pub(super) writer_gone: std::sync::atomic::AtomicBool,
}

/// What the request side and the handles send the writer.
/// (Lines go through [`queue::Lines`].)
pub(crate) enum Msg {
    Flush(SyncSender<bool>),
    /// Stop; the answer is the number of lines that could not be written.
    Shutdown(SyncSender<u64>),
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
    pub(crate) queue_wait: Duration,
}

/// Starts the writer thread.
pub(crate) fn spawn(cfg: WriterConfig) -> io::Result<(Queue, W3cLogGuard)> {
    // Unbounded as a channel: the gate keeps it to the capacity (twice it at
    // most), and a flush or shutdown message always gets in.
    let (tx, rx): (Sender<Msg>, _) = mpsc::channel();
    let counters = Arc::new(Counters::default());
    let policy = cfg.policy;
    let timeout = cfg.shutdown_timeout;
    let pool = Arc::new(Pool::new(cfg.queue_capacity));
    let gate = Arc::new(Gate::new(cfg.queue_capacity, cfg.queue_wait));
    let lines = Arc::new(Lines::new(cfg.queue_capacity));
    let watched = gate.clone();
    std::thread::Builder::new()
        .name("w3c-log-watch".into())
        .spawn(move || watched.watch())?;
    let mut worker = Worker::new(
        cfg,
        counters.clone(),
        pool.clone(),
        gate.clone(),
        lines.clone(),
    );
    let thread = match std::thread::Builder::new()
        .name("w3c-log-writer".into())
        .spawn(move || worker.run(&rx))
    {
        Ok(t) => t,
        Err(e) => {
            gate.close();
            return Err(e);
        }
    };
    let queue = Queue {
        tx: tx.clone(),
        lines,
        policy,
        counters,
        writer: thread.thread().clone(),
        pool,
        gate: gate.clone(),
    };
    let guard = W3cLogGuard {
        tx,
        thread: Some(thread),
        timeout,
        handle: queue.handle(),
        gate,
        stopped: false,
    };
    Ok((queue, guard))
}
