//! [`FailedRequestTracing`]: the service the layer wraps around yours.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderMap, Request, Response};
use tower_service::Service;

use super::collector::{open_span, RequestBuffer, TARGET};
use super::future::ResponseFuture;
use super::layer::Shared;
use super::rules::FailureReason;
use super::writer::{notification_number, Job, TraceHead};
use super::TraceBody;
use crate::http_errors::render::RequestContext;
use crate::IisError;

/// Buffers the `tracing` events of each request a rule covers and writes them as a
/// trace file when the request fails. Built by
/// [`FailedRequestTracingLayer`](super::FailedRequestTracingLayer); see the
/// [module docs](super).
#[derive(Debug, Clone)]
pub struct FailedRequestTracing<S> {
    pub(crate) inner: S,
    pub(crate) shared: Option<Arc<Shared>>,
}

impl<S> FailedRequestTracing<S> {
    define_inner_service_accessors!();
}

/// A header block as HTTP/1.1 writes it, formatted only when an event is recorded.
struct HeaderText<'a>(&'a HeaderMap);

impl fmt::Display for HeaderText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in self.0 {
            f.write_str(name.as_str())?;
            f.write_str(": ")?;
            match value.to_str() {
                Ok(v) => f.write_str(v)?,
                Err(_) => f.write_str(&String::from_utf8_lossy(value.as_bytes()))?,
            }
            f.write_str("\r\n")?;
        }
        Ok(())
    }
}

/// An IP address, IPv4 without the formatter's padding machinery.
struct Ip(std::net::IpAddr);

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            std::net::IpAddr::V4(v4) => {
                let mut buf = [0u8; 15];
                let mut len = 0;
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        buf[len] = b'.';
                        len += 1;
                    }
                    let mut b = itoa::Buffer::new();
                    let s = b.format(octet).as_bytes();
                    buf[len..len + s.len()].copy_from_slice(s);
                    len += s.len();
                }
                f.write_str(std::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?)
            }
            ip => fmt::Display::fmt(&ip, f),
        }
    }
}

/// The requested URL, formatted only when an event is recorded.
struct Url<'a>(&'a RequestContext);

impl fmt::Display for Url<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.full_url())
    }
}

fn headers_len(headers: &HeaderMap) -> u64 {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().len() + v.len() + 4) as u64)
        .sum()
}

/// `{00000000-0000-0000-XXXX-XXXXXXXXXXXX}`: unique in the process, different
/// from one run to the next.
fn activity_id() -> String {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        (nanos << 16) ^ (u64::from(std::process::id()) << 40)
    });
    let n = seed.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed));
    format!(
        "{{00000000-0000-0000-{:04X}-{:012X}}}",
        (n >> 48) as u16,
        n & 0xFFFF_FFFF_FFFF
    )
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for FailedRequestTracing<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: http_body::Body,
{
    type Response = Response<TraceBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let Some(shared) = &self.shared else {
            return ResponseFuture::new(self.inner.call(req), None);
        };
        let Some(rule) = shared.rules.iter().position(|r| r.covers(req.uri().path())) else {
            return ResponseFuture::new(self.inner.call(req), None);
        };
        let buf = Arc::new(RequestBuffer::new(shared.budget));
        let span = open_span(&buf);
        if !buf.attached.load(Ordering::Relaxed) {
            if !shared.warned_no_collector.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    target: "tower_iis::freb::setup",
                    "failed request tracing has rules, but the tracing subscriber has no TraceCollector or filters out the span `tower_iis::freb` at INFO: nothing is traced"
                );
            }
            return ResponseFuture::new(self.inner.call(req), None);
        }
        let plan = TracePlan(Arc::new(Plan {
            shared: shared.clone(),
            rule,
            buf,
            start: Instant::now(),
            number: OnceLock::new(),
        }));
        let mut req = req;
        let ctx = RequestContext::capture(&req);
        let h = req.headers();
        let uri_len = req.uri().path_and_query().map_or(1, |pq| pq.as_str().len()) as u64;
        let body_len = crate::http_util::content_length(h).unwrap_or(0);
        let bytes_received =
            req.method().as_str().len() as u64 + uri_len + 12 + headers_len(h) + 2 + body_len;
        span.in_scope(|| {
            tracing::info!(
                name: "GENERAL_REQUEST_START",
                target: TARGET,
                SiteId = shared.site_id,
                AppPoolId = %shared.app_pool_id,
                RequestURL = %Url(&ctx),
                RequestVerb = req.method().as_str(),
            );
            if let Some(c) = crate::connection::connection_info(&req) {
                tracing::info!(
                    name: "GENERAL_ENDPOINT_INFORMATION",
                    target: TARGET,
                    RemoteAddress = %Ip(c.remote.ip()),
                    RemotePort = c.remote.port(),
                    LocalAddress = %Ip(c.local.ip()),
                    LocalPort = c.local.port(),
                );
            }
            tracing::debug!(name: "GENERAL_REQUEST_HEADERS", target: TARGET, Headers = %HeaderText(h));
        });
        let verb = req.method().clone();
        let request_headers = h.clone();
        // The error page inside may name the trace file this request will get.
        req.extensions_mut().insert(plan.clone());
        let fut = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        let pending = Box::new(Pending {
            plan,
            span,
            ctx,
            verb,
            bytes_received,
            bytes_sent: 0,
            status: 500,
            substatus: 0,
            user: String::new(),
            request_headers,
            response_headers: HeaderMap::new(),
        });
        ResponseFuture::new(fut, Some(pending))
    }
}

/// A traced request whose outcome is not known yet.
pub(crate) struct Pending {
    plan: TracePlan,
    pub(crate) span: tracing::Span,
    ctx: RequestContext,
    verb: http::Method,
    bytes_received: u64,
    pub(crate) bytes_sent: u64,
    status: u16,
    substatus: u16,
    user: String,
    /// Formatted into the trace only when it is written.
    request_headers: HeaderMap,
    response_headers: HeaderMap,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("uri", self.ctx.uri())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Pending {
    /// The response is known: records who set its error status, and its headers.
    pub(crate) fn on_response<B>(&mut self, res: &Response<B>) {
        let ext = res.extensions();
        let err = ext.get::<IisError>();
        self.status = res.status().as_u16();
        self.substatus = err.map_or(0, IisError::substatus);
        if let Some(u) = ext.get::<crate::w3c::LogonUser>() {
            self.user = u.name().to_owned();
        }
        let reason = res.status().canonical_reason().unwrap_or("");
        self.bytes_sent = 8 + 1 + 3 + 1 + reason.len() as u64 + 2 + headers_len(res.headers()) + 2;
        let _entered = self.span.enter();
        if let Some(e) = err {
            // The single place a module's error status becomes a trace event: every
            // layer of this crate marks its errors with an `IisError`.
            tracing::warn!(
                name: "MODULE_SET_RESPONSE_ERROR_STATUS",
                target: TARGET,
                ModuleName = e.module(),
                Notification = notification_number(e.notification()),
                HttpStatus = self.status,
                HttpReason = reason,
                HttpSubStatus = self.substatus,
                ErrorCode = u64::from(e.hresult()),
                ConfigExceptionInfo = "",
            );
        }
        tracing::debug!(name: "GENERAL_RESPONSE_HEADERS", target: TARGET, Headers = %HeaderText(res.headers()));
        drop(_entered);
        self.response_headers = res.headers().clone();
    }

    /// The inner service failed or the request was dropped before its response.
    pub(crate) fn no_response(&mut self) {
        self.status = crate::w3c::NO_RESPONSE_STATUS;
        self.substatus = 0;
    }

    /// The request is over: writes its end event and, if a rule says it failed,
    /// hands the trace to the writer.
    pub(crate) fn finish(self: Box<Self>) {
        let plan = &self.plan.0;
        let taken = plan.start.elapsed();
        self.span.in_scope(|| {
            tracing::info!(
                name: "GENERAL_REQUEST_END",
                target: TARGET,
                BytesSent = self.bytes_sent,
                BytesReceived = self.bytes_received,
                HttpStatus = self.status,
                HttpSubStatus = self.substatus,
            );
        });
        drop(self.span);
        let worst = plan.worst();
        let rules = &plan.shared.rules;
        let failure = rules[plan.rule].failure(self.status, self.substatus, taken, worst);
        // A trace the error page already named is written whatever the end.
        let reason = match (failure, plan.number.get()) {
            (Some(reason), _) => reason,
            (None, Some(_)) => FailureReason::StatusCode,
            (None, None) => return,
        };
        let number = *plan
            .number
            .get_or_init(|| plan.shared.next_number.fetch_add(1, Ordering::Relaxed));
        let job = Job {
            number,
            head: TraceHead {
                url: self.ctx.full_url(),
                verb: self.verb.as_str().to_owned(),
                status: self.status,
                substatus: self.substatus,
                reason,
                time_taken_ms: u64::try_from(taken.as_millis()).unwrap_or(u64::MAX),
                activity_id: activity_id(),
                user: self.user,
            },
            rules: rules.clone(),
            rule: plan.rule,
            recorded: {
                let mut rec = plan.buf.take();
                rec.fill_deferred(|event, field, out| {
                    let conn = self.ctx.conn;
                    let _ = match (event, field) {
                        ("GENERAL_REQUEST_HEADERS", _) => {
                            write!(out, "{}", HeaderText(&self.request_headers))
                        }
                        ("GENERAL_RESPONSE_HEADERS", _) => {
                            write!(out, "{}", HeaderText(&self.response_headers))
                        }
                        (_, "RequestURL") => write!(out, "{}", Url(&self.ctx)),
                        (_, "RemoteAddress") => {
                            conn.map_or(Ok(()), |c| write!(out, "{}", Ip(c.remote.ip())))
                        }
                        (_, "LocalAddress") => {
                            conn.map_or(Ok(()), |c| write!(out, "{}", Ip(c.local.ip())))
                        }
                        _ => Ok(()),
                    };
                });
                rec
            },
        };
        plan.shared.queue.send(job);
    }
}

/// What a traced request's error page needs to name its trace file: the rule
/// that covers the request and what the request recorded so far. The layer puts
/// it in the request's extensions.
#[derive(Clone)]
pub(crate) struct TracePlan(Arc<Plan>);

struct Plan {
    shared: Arc<Shared>,
    rule: usize,
    buf: Arc<RequestBuffer>,
    start: Instant,
    /// The trace file's number, once one is promised.
    number: OnceLock<u64>,
}

impl fmt::Debug for TracePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracePlan")
            .field("rule", &self.0.rule)
            .field("number", &self.0.number.get())
            .finish_non_exhaustive()
    }
}

impl Plan {
    fn worst(&self) -> Option<super::Verbosity> {
        self.buf
            .recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .worst
    }
}

impl TracePlan {
    /// The trace file this request gets if it ends with `status` now: the rule
    /// says it failed (by status, time so far, or an event so far). The number is
    /// promised, so the file is written under it however the request ends.
    pub(crate) fn file_for(&self, status: crate::IisStatus) -> Option<std::path::PathBuf> {
        let plan = &self.0;
        if plan.number.get().is_none() {
            let rule = &plan.shared.rules[plan.rule];
            rule.failure(
                status.code(),
                status.substatus(),
                plan.start.elapsed(),
                plan.worst(),
            )?;
        }
        let number = *plan
            .number
            .get_or_init(|| plan.shared.next_number.fetch_add(1, Ordering::Relaxed));
        Some(plan.shared.site_dir.join(super::writer::file_name(number)))
    }
}
