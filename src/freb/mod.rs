//! Failed Request Tracing: IIS's per-request trace (FREB), written only for the
//! requests that fail, from `tracing` events.
//!
//! The detailed error page says *what* failed; the trace says *how*: every event of
//! that one request, module by module, with the status, substatus and HRESULT where
//! they were set. IIS writes it as `FailedReqLogFiles/W3SVC<siteId>/frNNNNNN.xml`
//! and a browser shows it through `freb.xsl`. This module does the same:
//!
//! - [`FailedRequestTracingLayer`] goes between the W3C log and the error pages. For
//!   each request that a [`Rule`]'s `path` covers it opens a `tracing` span (target
//!   `tower_iis::freb`, name `request`) and emits IIS's events inside it:
//!   `GENERAL_REQUEST_START` (`RequestURL`, `RequestVerb`),
//!   `GENERAL_ENDPOINT_INFORMATION`, `GENERAL_REQUEST_HEADERS`,
//!   `MODULE_SET_RESPONSE_ERROR_STATUS` (`ModuleName`, `Notification`,
//!   `HttpStatus`, `HttpReason`, `HttpSubStatus`, `ErrorCode`) for a response
//!   marked with an [`IisError`](crate::IisError), `GENERAL_RESPONSE_HEADERS` and
//!   `GENERAL_REQUEST_END` (`BytesSent`, `BytesReceived`, `HttpStatus`,
//!   `HttpSubStatus`). The inner service and the response body run inside the
//!   span, so the application's own events land in it too.
//! - [`TraceCollector`], a `tracing-subscriber` layer, buffers the events of each
//!   such span within a budget per request (events and bytes, see
//!   [`FailedRequestTracingBuilder::max_events`]); what is cut is counted in the
//!   trace (`tower:droppedEvents`, `tower:droppedBytes` on the root).
//! - When the request is over (last body byte, or dropped), its rule decides:
//!   `statusCodes` (with substatus and ranges), `timeTaken`, `verbosity`. A match
//!   hands the buffer to a background thread, which writes the next `frNNNNNN.xml`
//!   in IIS's schema (`failedRequest` root; `Event` elements with `System`,
//!   `EventData` and `RenderingInfo`), keeps `maxLogFiles` (IIS's default 50) by
//!   deleting the oldest, and has written this crate's `freb.xsl` beside them: a
//!   browser shows a summary, the request's details and the event list with the
//!   failing event picked out. No runtime thread touches the disk.
//!
//! The [detailed error page](crate::http_errors) of a request that will be traced
//! names its trace file to a local client ("Things you can try"): when the page is
//! rendered, the rule already says the request failed, so the file's number is
//! promised then and the trace is written under it.
//!
//! The cost: without rules ([`FailedRequestTracingLayer::disabled`]) the layer is a
//! pass-through; a request no rule's path covers pays one comparison per rule; a
//! covered request that does not fail pays for its span and the buffering of its
//! events, then the buffer is dropped.
//!
//! The application's events (any target but `tower_iis::freb`) are written with
//! their target as the provider name, their fields as `Data` items (the message as
//! `Message`), and as opcode the event's explicit `name:` or `APPLICATION_EVENT`.
//! Trace areas filter this crate's events by provider (`WWW Server`), area and
//! verbosity; the application's events are kept up to the most verbose level any
//! trace area names.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt};
//! use tracing_subscriber::prelude::*;
//! use tower_iis::freb::{reader::Trace, FailedRequestTracingLayer, Rule, TraceCollector};
//! use tower_iis::{IisError, IisStatus};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The collector goes into the subscriber, next to your other layers.
//! let _subscriber = tracing_subscriber::registry().with(TraceCollector::new()).set_default();
//!
//! let dir = std::env::temp_dir().join(format!("tower-iis-doc-freb-{}", std::process::id()));
//! let (layer, guard) = FailedRequestTracingLayer::builder()
//!     .directory(&dir)
//!     .rule(Rule::new("*").status_codes("404.3,500-599")?)
//!     .build()?;
//! let svc = ServiceBuilder::new().layer(layer).service_fn(|req: Request<String>| async move {
//!     if req.uri().path().ends_with(".xyz") {
//!         tracing::info!(extension = "xyz", "no MIME map for this file");
//!         return Ok(IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION).into_http_response());
//!     }
//!     Ok::<_, Infallible>(Response::new(String::from("hello")))
//! });
//!
//! // Succeeds: no trace. Fails with 404.3: fr000001.xml.
//! drop(svc.clone().oneshot(Request::get("/").body(String::new())?).await?);
//! drop(svc.oneshot(Request::get("/report.xyz").body(String::new())?).await?);
//! guard.handle().flush()?;
//!
//! let files = guard.handle().files()?;
//! assert_eq!(files.len(), 1);
//! assert!(files[0].ends_with("W3SVC1/fr000001.xml"));
//! let trace = Trace::parse(&std::fs::read_to_string(&files[0])?)?;
//! assert_eq!(trace.status_code, "404.3");
//! assert_eq!(trace.failure_reason, "STATUS_CODE");
//! let set = trace.error_status().unwrap();
//! assert_eq!(set.data("ModuleName"), Some("StaticFileModule"));
//! assert_eq!(set.data("ErrorCode"), Some("2147942450")); // 0x80070032
//! assert!(trace.events.iter().any(|e| e.data("Message") == Some("no MIME map for this file")));
//! assert!(guard.handle().directory().join("freb.xsl").exists());
//! # drop(guard);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

mod body;
mod collector;
mod future;
mod layer;
pub mod reader;
mod rules;
mod service;
mod writer;
mod xml;

pub use body::TraceBody;
pub use collector::{TraceCollector, IIS_EVENT_LIMIT, SPAN_NAME, TARGET};
pub use future::ResponseFuture;
pub use layer::{
    FailedRequestTracingBuilder, FailedRequestTracingLayer, DEFAULT_MAX_BYTES, DEFAULT_MAX_EVENTS,
    DEFAULT_MAX_LOG_FILES, DEFAULT_QUEUE_CAPACITY,
};
pub use rules::{
    parse_time_taken, FailureReason, Rule, StatusCodes, TraceArea, Verbosity, WWW_SERVER,
};
pub use service::FailedRequestTracing;
pub(crate) use service::TracePlan;
pub use writer::{
    TraceGuard, TraceHandle, TraceStats, EVENT_NS, FREB_NS, STYLESHEET, TOWER_NS, WWW_SERVER_GUID,
};

/// A short description of an HRESULT, in this crate's words, for the trace's
/// rendering of `ErrorCode`.
pub(crate) fn describe_hresult(hresult: u32) -> &'static str {
    match hresult {
        0 => "Success",
        0x8007_0002 => "File not found",
        0x8007_0003 => "Path not found",
        0x8007_0005 => "Access denied",
        0x8007_0032 => "Not supported",
        0x8007_000D => "Invalid data",
        0x8007_007B => "Invalid file name",
        0x8007_00B7 => "Already exists",
        0x8007_04EC => "Blocked by policy",
        0x8007_0490 => "Element not found",
        _ => "Error",
    }
}
