//! The trace files: `frNNNNNN.xml` in IIS's schema, written by a background thread.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::collector::{Recorded, RecordedEvent};
use super::rules::{FailureReason, WWW_SERVER};
use super::xml::escape_into;

/// The stylesheet written beside the trace files as `freb.xsl`.
pub const STYLESHEET: &str = include_str!("freb.xsl");

/// The namespace of FREB's own rendering elements (`freb:Description`).
pub const FREB_NS: &str = "http://schemas.microsoft.com/win/2006/06/iis/freb";
/// The namespace of the `Event` elements.
pub const EVENT_NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";
/// The namespace of this crate's additions to the root (`tower:droppedEvents` …).
pub const TOWER_NS: &str = "urn:tower-iis:freb";
/// The GUID of IIS's `WWW Server` trace provider.
pub const WWW_SERVER_GUID: &str = "{3A2A4E84-4C21-4981-AE10-3FDA0D9B0F83}";

/// What the root element says of the request.
#[derive(Debug, Clone)]
pub(crate) struct TraceHead {
    pub(crate) url: String,
    pub(crate) verb: String,
    pub(crate) status: u16,
    pub(crate) substatus: u16,
    pub(crate) reason: FailureReason,
    pub(crate) time_taken_ms: u64,
    pub(crate) activity_id: String,
    pub(crate) user: String,
}

/// One trace waiting to be written.
pub(crate) struct Job {
    /// The file's number (`fr000042.xml`), given by the layer.
    pub(crate) number: u64,
    pub(crate) head: TraceHead,
    pub(crate) rules: super::rules::Rules,
    pub(crate) rule: usize,
    pub(crate) recorded: Recorded,
}

enum Msg {
    Trace(Box<Job>),
    Flush(mpsc::SyncSender<()>),
}

/// What the writer has done so far.
#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    deleted: AtomicU64,
}

/// Counters of a trace writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TraceStats {
    /// Trace files written.
    pub written: u64,
    /// Traces dropped because the writer's queue was full.
    pub dropped: u64,
    /// Traces that could not be written (disk errors).
    pub failed: u64,
    /// Old trace files deleted to keep `maxLogFiles`.
    pub deleted: u64,
}

/// Fixed facts written into every trace.
#[derive(Debug, Clone)]
pub(crate) struct WriterOptions {
    pub(crate) site_dir: PathBuf,
    pub(crate) site_id: u32,
    pub(crate) app_pool_id: String,
    pub(crate) computer: String,
    pub(crate) max_log_files: usize,
    pub(crate) queue_capacity: usize,
}

/// The sending side, kept by the layer.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    tx: SyncSender<Msg>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Trace(_) => "Trace",
            Msg::Flush(_) => "Flush",
        })
    }
}

impl Queue {
    /// Hands a trace to the writer without waiting; a full queue drops it (counted).
    pub(crate) fn send(&self, job: Job) {
        match self.tx.try_send(Msg::Trace(Box::new(job))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                let n = self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                if n == 0 {
                    tracing::warn!(target: "tower_iis::freb::writer", "the trace writer's queue is full: traces are dropped (counted)");
                }
            }
        }
    }
}

/// A handle on the trace writer: flush it, read its counters, find its folder.
#[derive(Debug, Clone)]
pub struct TraceHandle {
    queue: Queue,
    dir: Arc<PathBuf>,
}

impl TraceHandle {
    /// Waits until every trace handed to the writer so far is on disk.
    ///
    /// This blocks: call it from `spawn_blocking` or a plain thread.
    ///
    /// # Errors
    ///
    /// The writer thread is gone.
    pub fn flush(&self) -> io::Result<()> {
        let (ack, done) = mpsc::sync_channel(1);
        self.queue
            .tx
            .send(Msg::Flush(ack))
            .map_err(|_| io::Error::other("the trace writer has stopped"))?;
        done.recv()
            .map_err(|_| io::Error::other("the trace writer has stopped"))
    }

    /// The writer's counters.
    #[must_use]
    pub fn stats(&self) -> TraceStats {
        let c = &self.queue.counters;
        TraceStats {
            written: c.written.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            deleted: c.deleted.load(Ordering::Relaxed),
        }
    }

    /// The folder the files go to: `<directory>/W3SVC<siteId>`.
    #[must_use]
    pub fn directory(&self) -> &Path {
        &self.dir
    }

    /// The trace files now in the folder, oldest first.
    ///
    /// # Errors
    ///
    /// The folder cannot be read.
    pub fn files(&self) -> io::Result<Vec<PathBuf>> {
        Ok(existing(&self.dir)?
            .into_iter()
            .map(|n| self.dir.join(file_name(n)))
            .collect())
    }
}

/// The trace writer's guard: dropping it waits until every trace queued so far is
/// written. The writer thread itself ends when the last layer is dropped.
#[derive(Debug)]
#[must_use = "dropping the guard stops the trace writer"]
pub struct TraceGuard {
    handle: TraceHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TraceGuard {
    /// A handle on the writer.
    #[must_use]
    pub fn handle(&self) -> TraceHandle {
        self.handle.clone()
    }
}

impl Drop for TraceGuard {
    fn drop(&mut self) {
        if self.handle.flush().is_err() {
            tracing::warn!(target: "tower_iis::freb::writer", "the trace writer stopped early; traces may be lost");
        }
        // The thread ends when the last layer is dropped; it is not joined here.
        drop(self.thread.take());
    }
}

/// `fr000001.xml`.
pub(crate) fn file_name(n: u64) -> String {
    format!("fr{n:06}.xml")
}

/// The numbers of the trace files in `dir`, ascending.
fn existing(dir: &Path) -> io::Result<Vec<u64>> {
    let mut nums: Vec<u64> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            let digits = name.strip_prefix("fr")?.strip_suffix(".xml")?;
            (digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse().ok())
                .flatten()
        })
        .collect();
    nums.sort_unstable();
    Ok(nums)
}

/// Creates the folder, writes `freb.xsl` and starts the writer thread; also
/// returns the number the next trace file gets (after those already there).
pub(crate) fn start(opts: WriterOptions) -> io::Result<(Queue, TraceGuard, u64)> {
    fs::create_dir_all(&opts.site_dir)?;
    fs::write(opts.site_dir.join("freb.xsl"), STYLESHEET)?;
    let files: BTreeSet<u64> = existing(&opts.site_dir)?.into_iter().collect();
    let next = files.last().map_or(1, |n| n + 1);
    let (tx, rx) = mpsc::sync_channel(opts.queue_capacity);
    let counters = Arc::new(Counters::default());
    let queue = Queue {
        tx,
        counters: counters.clone(),
    };
    let dir = Arc::new(opts.site_dir.clone());
    let thread = std::thread::Builder::new()
        .name("tower-iis-freb".into())
        .spawn(move || run(&opts, &rx, &counters, files))?;
    let handle = TraceHandle {
        queue: queue.clone(),
        dir,
    };
    Ok((
        queue,
        TraceGuard {
            handle,
            thread: Some(thread),
        },
        next,
    ))
}

fn run(opts: &WriterOptions, rx: &Receiver<Msg>, counters: &Counters, mut files: BTreeSet<u64>) {
    let mut xml = String::new();
    let process_id = std::process::id();
    for msg in rx {
        match msg {
            Msg::Flush(ack) => {
                let _ = ack.send(());
            }
            Msg::Trace(job) => {
                xml.clear();
                render(&mut xml, &job, opts, process_id);
                let path = opts.site_dir.join(file_name(job.number));
                match write_file(&path, xml.as_bytes()) {
                    Ok(()) => {
                        counters.written.fetch_add(1, Ordering::Relaxed);
                        files.insert(job.number);
                    }
                    Err(e) => {
                        let n = counters.failed.fetch_add(1, Ordering::Relaxed);
                        if n == 0 || n.is_power_of_two() {
                            tracing::error!(target: "tower_iis::freb::writer", path = %path.display(), "cannot write a trace file: {e}");
                        }
                        continue;
                    }
                }
                while files.len() > opts.max_log_files {
                    let old = files.pop_first().expect("more files than the limit");
                    match fs::remove_file(opts.site_dir.join(file_name(old))) {
                        Ok(()) => {
                            counters.deleted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => {
                            tracing::warn!(target: "tower_iis::freb::writer", "cannot delete an old trace file: {e}");
                        }
                    }
                }
            }
        }
    }
}

/// Writes to a temporary name and renames, so a reader never sees half a file.
fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("xml.tmp");
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

/// `2026-11-28T10:00:00.123Z`.
fn write_time(out: &mut String, t: SystemTime) {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = i64::try_from(d.as_secs()).unwrap_or(0);
    // The W3C log's calendar code: `YYYY-MM-DD HH:MM:SS`, with a `T` for XML.
    out.push_str(&crate::w3c::rollover::datetime_string(secs).replacen(' ', "T", 1));
    let _ = write!(out, ".{:03}Z", d.subsec_millis());
}

fn attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape_into(out, value, true);
    out.push('"');
}

/// IIS's request notifications, as `httpserv.h` numbers them.
pub(crate) const NOTIFICATIONS: &[(u64, &str, &str)] = &[
    (1, "BeginRequest", "BEGIN_REQUEST"),
    (2, "AuthenticateRequest", "AUTHENTICATE_REQUEST"),
    (4, "AuthorizeRequest", "AUTHORIZE_REQUEST"),
    (8, "ResolveRequestCache", "RESOLVE_REQUEST_CACHE"),
    (16, "MapRequestHandler", "MAP_REQUEST_HANDLER"),
    (32, "AcquireRequestState", "ACQUIRE_REQUEST_STATE"),
    (
        64,
        "PreExecuteRequestHandler",
        "PRE_EXECUTE_REQUEST_HANDLER",
    ),
    (128, "ExecuteRequestHandler", "EXECUTE_REQUEST_HANDLER"),
    (256, "ReleaseRequestState", "RELEASE_REQUEST_STATE"),
    (512, "UpdateRequestCache", "UPDATE_REQUEST_CACHE"),
    (1024, "LogRequest", "LOG_REQUEST"),
    (2048, "EndRequest", "END_REQUEST"),
];

/// The number of a notification named as the detailed page names it.
pub(crate) fn notification_number(name: &str) -> u64 {
    NOTIFICATIONS
        .iter()
        .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
        .map_or(0, |(v, _, _)| *v)
}

/// The area of one of this crate's events (the `traceAreas` it belongs to).
pub(crate) fn area_of(event: &RecordedEvent, fields: &[(&str, &str)]) -> Option<&'static str> {
    if let Some((_, a)) = fields.iter().find(|(n, _)| *n == "area") {
        return [
            "Authentication",
            "Security",
            "Filter",
            "StaticFile",
            "Cache",
            "RequestNotifications",
            "Module",
            "Compression",
            "Rewrite",
        ]
        .into_iter()
        .find(|x| x == a);
    }
    match event.name {
        "MODULE_SET_RESPONSE_ERROR_STATUS" => Some("Module"),
        _ => None,
    }
}

fn opcode_number(name: &str) -> u32 {
    match name {
        "GENERAL_REQUEST_START" => 1,
        "GENERAL_REQUEST_END" => 2,
        _ => 0,
    }
}

fn render(out: &mut String, job: &Job, opts: &WriterOptions, process_id: u32) {
    let head = &job.head;
    let rule = &job.rules[job.rule];
    let rec = &job.recorded;
    let status = format!("{}.{}", head.status, head.substatus);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<?xml-stylesheet type='text/xsl' href='freb.xsl'?>\r\n<failedRequest");
    attr(out, "url", &head.url);
    attr(out, "siteId", itoa::Buffer::new().format(opts.site_id));
    attr(out, "appPoolId", &opts.app_pool_id);
    attr(out, "processId", itoa::Buffer::new().format(process_id));
    attr(out, "verb", &head.verb);
    attr(out, "remoteUserName", &head.user);
    attr(out, "userName", &head.user);
    attr(out, "tokenUserName", "");
    attr(
        out,
        "authenticationType",
        if head.user.is_empty() {
            "anonymous"
        } else {
            ""
        },
    );
    attr(out, "activityId", &head.activity_id);
    attr(out, "failureReason", head.reason.as_str());
    attr(out, "statusCode", &status);
    attr(out, "triggerStatusCode", &status);
    attr(
        out,
        "timeTaken",
        itoa::Buffer::new().format(head.time_taken_ms),
    );
    attr(out, "xmlns:freb", FREB_NS);
    attr(out, "xmlns:tower", TOWER_NS);
    attr(
        out,
        "tower:droppedEvents",
        itoa::Buffer::new().format(rec.dropped_events),
    );
    attr(
        out,
        "tower:droppedBytes",
        itoa::Buffer::new().format(rec.dropped_bytes),
    );
    out.push_str(">\r\n");
    let pid = itoa::Buffer::new().format(process_id).to_owned();
    let mut fields: Vec<(&str, &str)> = Vec::new();
    for event in &rec.events {
        fields.clear();
        fields.extend(
            rec.event_fields(event)
                .iter()
                .map(|f| (f.name, rec.value(f))),
        );
        let provider = if event.iis { WWW_SERVER } else { event.target };
        let area = if event.iis {
            area_of(event, &fields)
        } else {
            None
        };
        if !rule.keeps(provider, area, event.level) {
            continue;
        }
        out.push_str(" <Event");
        attr(out, "xmlns", EVENT_NS);
        out.push_str(">\r\n  <System>\r\n   <Provider");
        attr(out, "Name", provider);
        attr(
            out,
            "Guid",
            if event.iis {
                WWW_SERVER_GUID
            } else {
                "{00000000-0000-0000-0000-000000000000}"
            },
        );
        let _ = write!(
            out,
            "/>\r\n   <EventID>0</EventID>\r\n   <Version>1</Version>\r\n   <Level>{}</Level>\r\n   <Opcode>{}</Opcode>\r\n   <Keywords>0x0</Keywords>\r\n   <TimeCreated SystemTime=\"",
            event.level.level(),
            opcode_number(event.name)
        );
        write_time(out, event.time);
        out.push_str("\"/>\r\n   <Correlation");
        attr(out, "ActivityID", &head.activity_id);
        let _ = write!(
            out,
            "/>\r\n   <Execution ProcessID=\"{pid}\" ThreadID=\"{}\"/>\r\n   <Computer>",
            event.thread
        );
        escape_into(out, &opts.computer, false);
        out.push_str("</Computer>\r\n  </System>\r\n  <EventData>\r\n");
        data(out, "ContextId", &head.activity_id);
        // An event without an explicit `name:` is named by its place in the code.
        let opcode = if event.iis || !event.name.starts_with("event ") {
            event.name
        } else {
            "APPLICATION_EVENT"
        };
        for (name, value) in &fields {
            if event.iis && *name == "area" {
                continue;
            }
            let name = if *name == "message" { "Message" } else { name };
            data(out, name, value);
        }
        out.push_str("  </EventData>\r\n  <RenderingInfo Culture=\"en-US\">\r\n   <Opcode>");
        escape_into(out, opcode, false);
        out.push_str("</Opcode>\r\n");
        for (name, value) in &fields {
            let rendered = match *name {
                "Notification" => value
                    .parse::<u64>()
                    .ok()
                    .and_then(|n| NOTIFICATIONS.iter().find(|(v, _, _)| *v == n))
                    .map(|(_, _, upper)| (*upper).to_owned()),
                "ErrorCode" => value.parse::<u64>().ok().map(|h| {
                    let msg = super::describe_hresult(h as u32);
                    format!("{msg} (0x{h:08x})")
                }),
                _ => None,
            };
            if let Some(r) = rendered {
                out.push_str("   <freb:Description");
                attr(out, "Data", name);
                out.push('>');
                escape_into(out, &r, false);
                out.push_str("</freb:Description>\r\n");
            }
        }
        out.push_str("  </RenderingInfo>\r\n </Event>\r\n");
    }
    out.push_str("</failedRequest>\r\n");
}

fn data(out: &mut String, name: &str, value: &str) {
    out.push_str("   <Data");
    attr(out, "Name", name);
    out.push('>');
    escape_into(out, value, false);
    out.push_str("</Data>\r\n");
}
