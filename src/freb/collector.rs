//! [`TraceCollector`]: the `tracing-subscriber` layer that buffers each traced
//! request's events.

use std::cell::{Cell, RefCell};
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::rules::Verbosity;

/// The `tracing` target of every event this crate emits for failed request
/// tracing, and of the span it opens per request.
pub const TARGET: &str = "tower_iis::freb";

/// The name of the span opened per traced request.
pub const SPAN_NAME: &str = "request";

/// The most events of this crate's own (IIS's events) kept per request, on top of
/// the budget for the application's events.
pub const IIS_EVENT_LIMIT: usize = 256;

/// Collects the events of traced requests. Add it to your subscriber:
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use tower_iis::freb::TraceCollector;
///
/// let subscriber = tracing_subscriber::registry().with(TraceCollector::new());
/// # drop(subscriber);
/// ```
///
/// It keeps nothing by itself: events are buffered only inside the span the
/// [`FailedRequestTracingLayer`](super::FailedRequestTracingLayer) opens for a
/// request that a rule covers, and dropped with it unless the request fails. One
/// collector serves every such layer of the process. A filter in front of the whole
/// subscriber must let the target `tower_iis::freb` through at `INFO` (the span),
/// and the events you want in traces at their levels.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceCollector {
    _private: (),
}

impl TraceCollector {
    /// The collector.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

thread_local! {
    /// The buffer of the span being opened on this thread (handed over synchronously).
    static HANDOFF: RefCell<Option<Arc<RequestBuffer>>> = const { RefCell::new(None) };
    static THREAD_ID: Cell<u64> = const { Cell::new(0) };
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

fn thread_id() -> u64 {
    THREAD_ID.with(|t| {
        if t.get() == 0 {
            t.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        t.get()
    })
}

/// Opens the request span; a collector in the subscriber attaches `buf` to it.
pub(crate) fn open_span(buf: &Arc<RequestBuffer>) -> tracing::Span {
    HANDOFF.with(|h| *h.borrow_mut() = Some(buf.clone()));
    let span = tracing::info_span!(target: "tower_iis::freb", "request");
    HANDOFF.with(|h| h.borrow_mut().take());
    span
}

struct Slot(Arc<RequestBuffer>);

/// This crate's IIS events: those of the tracing layer, and the modules' events
/// given an IIS-style name (`name: "STATIC_FILE_START"`).
fn is_iis_event(meta: &tracing::Metadata<'_>) -> bool {
    let target = meta.target();
    target == TARGET || (target.starts_with("tower_iis::") && !meta.name().starts_with("event "))
}

impl<S> tracing_subscriber::Layer<S> for TraceCollector
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if meta.target() != TARGET || meta.name() != SPAN_NAME {
            return;
        }
        let Some(buf) = HANDOFF.with(|h| h.borrow_mut().take()) else {
            return;
        };
        if let Some(span) = ctx.span(id) {
            buf.attached.store(true, Ordering::Relaxed);
            span.extensions_mut().insert(Slot(buf));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        for span in scope {
            let ext = span.extensions();
            if let Some(slot) = ext.get::<Slot>() {
                slot.0.record(event);
                return;
            }
        }
    }
}

/// Per-request limits on what is buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    pub(crate) max_events: usize,
    pub(crate) max_bytes: usize,
}

/// One buffered field value: its name and where its text sits in [`Recorded::text`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldRef {
    pub(crate) name: &'static str,
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// One buffered event.
#[derive(Debug, Clone)]
pub(crate) struct RecordedEvent {
    pub(crate) time: SystemTime,
    pub(crate) thread: u64,
    pub(crate) level: Verbosity,
    /// The event's name: IIS's event name for this crate's events.
    pub(crate) name: &'static str,
    pub(crate) target: &'static str,
    /// One of this crate's IIS events.
    pub(crate) iis: bool,
    pub(crate) fields: std::ops::Range<u32>,
}

/// What a request's span collected.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub(crate) events: Vec<RecordedEvent>,
    pub(crate) fields: Vec<FieldRef>,
    pub(crate) text: String,
    app_events: usize,
    app_bytes: usize,
    iis_events: usize,
    /// Events cut by the budget, and the bytes of their values.
    pub(crate) dropped_events: u64,
    pub(crate) dropped_bytes: u64,
    /// The most severe level seen (cut events included).
    pub(crate) worst: Option<Verbosity>,
}

/// A field whose value is filled in only when the trace is written.
const DEFERRED: u32 = u32::MAX;

/// The fields of this crate's events that the service fills in itself, and only
/// for the traces it writes: what the request and connection already hold.
const DEFERRED_FIELDS: &[&str] = &["Headers", "RequestURL", "RemoteAddress", "LocalAddress"];

impl Recorded {
    /// Fills the deferred values (this crate's header blocks): `fill` gets the
    /// event's name and appends the value.
    pub(crate) fn fill_deferred(&mut self, mut fill: impl FnMut(&str, &str, &mut String)) {
        for e in &self.events {
            for f in &mut self.fields[e.fields.start as usize..e.fields.end as usize] {
                if f.start == DEFERRED {
                    let start = self.text.len();
                    fill(e.name, f.name, &mut self.text);
                    f.start = start as u32;
                    f.end = self.text.len() as u32;
                }
            }
        }
    }

    pub(crate) fn value(&self, f: &FieldRef) -> &str {
        if f.start == DEFERRED {
            return "";
        }
        &self.text[f.start as usize..f.end as usize]
    }

    pub(crate) fn event_fields(&self, e: &RecordedEvent) -> &[FieldRef] {
        &self.fields[e.fields.start as usize..e.fields.end as usize]
    }
}

/// The buffer of one request, shared by the span (collector side) and the service.
#[derive(Debug)]
pub(crate) struct RequestBuffer {
    budget: Budget,
    pub(crate) attached: std::sync::atomic::AtomicBool,
    pub(crate) recorded: Mutex<Recorded>,
}

impl RequestBuffer {
    pub(crate) fn new(budget: Budget) -> Self {
        // Room for this crate's events of a plain request, so the common case
        // allocates once per vector.
        let recorded = Recorded {
            events: Vec::with_capacity(8),
            fields: Vec::with_capacity(32),
            text: String::with_capacity(1024),
            ..Recorded::default()
        };
        Self {
            budget,
            attached: std::sync::atomic::AtomicBool::new(false),
            recorded: Mutex::new(recorded),
        }
    }

    pub(crate) fn take(&self) -> Recorded {
        std::mem::take(
            &mut *self
                .recorded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    fn record(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let level = Verbosity::from_tracing(*meta.level());
        let iis = is_iis_event(meta);
        let mut rec = self
            .recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rec = &mut *rec;
        rec.worst = Some(rec.worst.map_or(level, |w| w.min(level)));
        if iis {
            if rec.iis_events >= IIS_EVENT_LIMIT {
                rec.dropped_events += 1;
                return;
            }
        } else if rec.app_events >= self.budget.max_events {
            rec.dropped_events += 1;
            return;
        }
        let cap = if iis {
            self.budget.max_bytes
        } else {
            self.budget.max_bytes - rec.app_bytes.min(self.budget.max_bytes)
        };
        let (text_mark, field_mark) = (rec.text.len(), rec.fields.len());
        let mut visitor = Visitor {
            rec,
            iis,
            used: 0,
            cap,
            cut: 0,
        };
        event.record(&mut visitor);
        let (used, cut) = (visitor.used, visitor.cut);
        if cut > 0 && !iis {
            // The application's event does not fit what is left of the budget.
            rec.text.truncate(text_mark);
            rec.fields.truncate(field_mark);
            rec.dropped_events += 1;
            rec.dropped_bytes += (used + cut) as u64;
            return;
        }
        rec.dropped_bytes += cut as u64;
        if iis {
            rec.iis_events += 1;
        } else {
            rec.app_events += 1;
            rec.app_bytes += used;
        }
        rec.events.push(RecordedEvent {
            time: SystemTime::now(),
            thread: thread_id(),
            level,
            name: meta.name(),
            target: meta.target(),
            iis,
            fields: field_mark as u32..rec.fields.len() as u32,
        });
    }
}

struct Visitor<'a> {
    rec: &'a mut Recorded,
    /// One of this crate's events: its header blocks are deferred.
    iis: bool,
    /// Bytes of this event's values (and names) so far.
    used: usize,
    cap: usize,
    /// Bytes that did not fit.
    cut: usize,
}

impl Visitor<'_> {
    fn push(&mut self, field: &Field, write: impl FnOnce(&mut Capped<'_>)) {
        let start = self.rec.text.len();
        let room = self.cap.saturating_sub(self.used + field.name().len());
        let mut w = Capped {
            out: &mut self.rec.text,
            room,
            cut: 0,
        };
        write(&mut w);
        let cut = w.cut;
        let end = self.rec.text.len();
        self.used += field.name().len() + (end - start);
        self.cut += cut;
        self.rec.fields.push(FieldRef {
            name: field.name(),
            start: start as u32,
            end: end as u32,
        });
    }
}

/// Appends up to `room` bytes (on a character boundary), counting the rest.
struct Capped<'a> {
    out: &'a mut String,
    room: usize,
    cut: usize,
}

impl fmt::Write for Capped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.len() <= self.room {
            self.out.push_str(s);
            self.room -= s.len();
        } else {
            let mut end = self.room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.out.push_str(&s[..end]);
            self.room -= end;
            self.cut += s.len() - end;
        }
        Ok(())
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, |w| {
            let _ = w.write_str(value);
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, |w| {
            let _ = w.write_str(itoa::Buffer::new().format(value));
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, |w| {
            let _ = w.write_str(itoa::Buffer::new().format(value));
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, |w| {
            let _ = w.write_str(if value { "true" } else { "false" });
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.iis && DEFERRED_FIELDS.contains(&field.name()) {
            // The service formats these itself if the trace is written.
            self.rec.fields.push(FieldRef {
                name: field.name(),
                start: DEFERRED,
                end: DEFERRED,
            });
            return;
        }
        self.push(field, |w| {
            let _ = write!(w, "{value:?}");
        });
    }
}
