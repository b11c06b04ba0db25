//! W3C extended access logs, written the way IIS writes them.
//!
//! [`W3cLogLayer`] goes outermost in the stack and writes one line per request once
//! the response body has been sent to its last byte. A request still gets its line
//! when the client goes away mid-body (`sc-win32-status` 64, as IIS logs a dropped
//! connection) or while the handler runs (see [`ResponseFuture`]).
//!
//! ```text
//! #Software: Microsoft Internet Information Services 10.0
//! #Version: 1.0
//! #Date: 2024-01-01 00:00:00
//! #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
//! 2024-01-01 00:00:00 10.0.0.1 GET /index.html a=1 80 - 10.0.0.9 Mozilla/5.0+(X11;+Linux) - 404 3 0 15
//! ```
//!
//! # Example
//!
//! Needs in your crate `tower` (feature `util`), `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_iis::w3c::{reader, MemorySink, Sink, W3cLogLayer};
//! use tower_iis::{IisError, IisStatus};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let memory = MemorySink::new();
//! // Files instead: `W3cLogLayer::builder().directory("./logs")` writes
//! // ./logs/W3SVC1/u_exYYMMDD.log.
//! let (layer, guard) = W3cLogLayer::builder().sink(Sink::memory(&memory)).build()?;
//!
//! let service = ServiceBuilder::new()
//!     .layer(layer)
//!     .service_fn(|_req: Request<String>| async {
//!         Ok::<Response<String>, Infallible>(IisError::new(IisStatus::new(404, 3)).into_http_response())
//!     });
//!
//! let req = Request::get("/report.xyz?x=1")
//!     .header("user-agent", "Mozilla/5.0 (X11; Linux)")
//!     .body(String::new())?;
//! let res = service.oneshot(req).await?;
//! drop(res); // the whole (empty) body has been sent
//!
//! guard.handle().flush()?;
//! let log = reader::parse(&memory.contents())?;
//! let line = &log.entries[0];
//! assert_eq!(line.get("cs-uri-stem"), Some("/report.xyz"));
//! assert_eq!(line.get("cs-uri-query"), Some("x=1"));
//! assert_eq!(line.get("cs(User-Agent)"), Some("Mozilla/5.0+(X11;+Linux)"));
//! assert_eq!((line.status(), line.substatus()), (Some(404), Some(3)));
//! assert_eq!(line.get("c-ip"), Some("-")); // no ConnectionInfo on this request
//! # Ok(())
//! # }
//! ```
//!
//! # Columns
//!
//! Fields are IIS's default 15 unless [chosen](W3cLogBuilder::fields) from the 22
//! standard ones; whatever the order they are named in, they are written in IIS's
//! canonical order ([`Field::ALL`]). [Custom fields](CustomField) follow, under
//! their configured names, and the file name gains `_x`.
//!
//! - Every value is one token: an empty value is `-`; spaces, control characters
//!   (tab, CR, LF, NUL, DEL), Unicode white space and bytes that are not UTF-8 become
//!   `+`; nothing is quoted. A `#` that starts a value becomes `+`, so neither a
//!   line nor a value read on its own can pass for a directive.
//!   A line so always has exactly as many values as `#Fields` names, and a client
//!   cannot forge lines.
//! - `date`, `time`: UTC, to the second, when the line is written (the last byte).
//! - `time-taken`: whole milliseconds from the moment the layer received the request
//!   to the last body byte handed to the server (or the drop).
//! - `cs-uri-stem`: the path as IIS writes it, decoded: percent-escapes decoded to
//!   UTF-8, `.` and `..` segments resolved, a space as `+`
//!   (`/nice+ports,/Trinity.txt.bak`, `/arabic/الفيديو`, `/x#y`); a decoded byte
//!   that is not valid UTF-8 and a control character become `+`, as in every value. So a file is logged one way whatever spelling the client used.
//!   `cs-uri-query`: the query as received (not decoded, as IIS), without `?`, `-`
//!   when there is none.
//! - `c-ip`, `s-ip`, `s-port`: from [`ConnectionInfo`](crate::ConnectionInfo) (or
//!   axum's `ConnectInfo`), `-` when unknown; IPv4-mapped IPv6 addresses are written
//!   as IPv4.
//! - `cs-username`: a [`LogonUser`] in the response extensions (set by an auth layer
//!   inside this one), else in the request extensions (set by a layer outside), else
//!   the logon user of an [`IisError`](crate::IisError) in the response if one was
//!   set; `-` for anonymous.
//! - `sc-status`; `sc-substatus` and `sc-win32-status` from the `IisError` in the
//!   response extensions, `0` without one. When the client goes away before the last
//!   byte, `sc-win32-status` is 64 (a response without a body on the wire — to
//!   `HEAD`, or 1xx, 204, 304 — is complete once its head is out); when the body fails or panics part-way (the
//!   server cuts the connection), 1236.
//! - No response at all: when the request is dropped while the handler runs (client
//!   gone) the line says `500 0 64`; when the inner service returns an error (the
//!   server closes the connection) `500 0 1236`. IIS has no status for "no
//!   response"; 500 keeps the column an integer every tool accepts, and the Win32
//!   status tells these lines apart from real server errors.
//! - `sc-bytes`: the response head as HTTP/1.1 would send it (status line, the
//!   headers the application set, blank line) plus every body and trailer byte
//!   handed to the server. Headers the server adds itself (`date`,
//!   `content-length`, chunk framing) are not counted.
//! - `cs-bytes`: the request head in HTTP/1.1 form (request line, headers, blank
//!   line) plus the body length the client declared in `Content-Length` (the body
//!   itself is not wrapped, so the layer fits any request body type).
//! - `s-sitename`: `W3SVC<site id>`. `s-computername`: the host name.
//!   `cs-version`: `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`, `HTTP/3`. `cs-host`: the `Host`
//!   header, else the URI's authority (HTTP/2).
//! - Custom values are cut to 4096 bytes (IIS's `maxCustomFieldLength`), and so
//!   are the standard fields taken from the request ([`MAX_FIELD_LENGTH`]: method,
//!   URI stem and query, user name, `Host`, `User-Agent`, `Cookie`, `Referer`), at a
//!   character boundary. Custom values are cut further when needed so that a line
//!   stays within [`MAX_LINE_LENGTH`] (IIS's `maxLogLineLength`, 65 536 bytes). A
//!   header sent more than once is joined with `,`.
//!
//! # Files
//!
//! | [`Period`] | file name | a new file starts |
//! |---|---|---|
//! | `Hourly` | `u_exYYMMDDHH.log` | on the hour |
//! | `Daily` (default) | `u_exYYMMDD.log` | at midnight |
//! | `Weekly` | `u_exYYMMWW.log` | on Sunday at midnight, and on the 1st of a month |
//! | `Monthly` | `u_exYYMM.log` | at midnight on the 1st |
//! | `MaxSize` | `u_extendN.log` | when the next line would pass the size limit ([`DEFAULT_TRUNCATE_SIZE`], at least [`MIN_TRUNCATE_SIZE`]) |
//!
//! With custom fields the name gains `_x` before `.log`, as IIS 8.5 does. Boundaries
//! are in UTC unless [`local_time_rollover`](W3cLogBuilder::local_time_rollover) (feature `local-time`) is
//! chosen; the `date` and `time` columns are UTC either way. A [`Clock`]
//! ([`SystemClock`], or [`ManualClock`] in tests) drives them.
//!
//! Requests never touch the disk: a finished request's values go into a bounded
//! queue and one background thread formats the lines into a [`BUFFER_SIZE`] buffer,
//! written out when it is full, when the flush interval has passed, on
//! [`W3cLogHandle::flush`] and when the [`W3cLogGuard`] is dropped. No thread ever
//! blocks on the log: a full queue makes new requests wait in `poll_ready` (up to
//! [`W3cLogBuilder::queue_wait`], after which a stuck writer's lines are dropped and
//! counted), or with [`QueueFull::Drop`] drops and counts the line. Write
//! errors are reported with a `tracing` warning and counted in [`LogStats`]; the
//! writer keeps the unwritten lines and reopens the file at the next flush, and never
//! leaves a torn line behind. Each file starts with IIS's header block
//! (`#Software`, `#Version`, `#Date`, `#Fields`; CRLF line ends, UTF-8 without BOM),
//! written again whenever the process (re)opens a file. Files are created with mode
//! 0640 on Unix, with the first request's line. Use one layer per directory and site.

mod body;
mod fields;
mod future;
mod layer;
mod pending;
#[cfg(feature = "server")]
pub(crate) mod plain;
pub mod reader;
mod record;
pub(crate) mod rollover;
mod service;
mod stem;
mod writer;

use std::borrow::Cow;
use std::sync::Arc;

pub use body::LogBody;
pub use fields::{
    push_value, CustomField, CustomSource, Field, FieldSet, MAX_CUSTOM_FIELD_LENGTH,
    MAX_FIELD_LENGTH, MAX_LINE_LENGTH,
};
pub use future::{ResponseFuture, NO_RESPONSE_STATUS};
#[cfg(feature = "failed-request-tracing")]
pub(crate) use layer::host_name;
pub use layer::{W3cLogBuilder, W3cLogLayer, MAX_QUEUE_CAPACITY};
pub use record::{WIN32_CLIENT_GONE, WIN32_CONNECTION_ABORTED};
pub use rollover::{
    Clock, ManualClock, Period, SystemClock, DEFAULT_TRUNCATE_SIZE, MIN_TRUNCATE_SIZE,
};
pub use service::W3cLog;
pub use writer::{LogStats, MemorySink, QueueFull, Sink, W3cLogGuard, W3cLogHandle, BUFFER_SIZE};

/// The authenticated user logged in `cs-username`.
///
/// An authentication layer puts it in the response extensions (or, when it runs
/// outside the log layer, in the request extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogonUser(Arc<str>);

impl LogonUser {
    /// A user name, e.g. `CONTOSO\alice`.
    #[must_use]
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self(name.into())
    }

    /// The user name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// Values the application sets for [`CustomField::app_value`] columns: put it in the
/// response extensions.
///
/// ```
/// use tower_iis::w3c::LogValues;
///
/// let mut res = http::Response::new(());
/// res.extensions_mut().insert(LogValues::new().with("tenant", "acme corp"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogValues(Vec<(Cow<'static, str>, String)>);

impl LogValues {
    /// No values.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value` (replacing an earlier value).
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// [`insert`](Self::insert), by value.
    #[must_use]
    pub fn with(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// The value of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests;
