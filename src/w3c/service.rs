//! [`W3cLog`]: the service the layer wraps around yours.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::layer::Shared;
use super::record::Record;
use super::LogBody;
use crate::wire::{Wire, WireEnd};

/// Writes one W3C log line per request handled by the inner service.
///
/// Built by [`W3cLogLayer`](super::W3cLogLayer); see the [module docs](super). The
/// log never makes a request fail: the error type is the inner service's.
#[derive(Debug, Clone)]
pub struct W3cLog<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> W3cLog<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }

    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for W3cLog<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<LogBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let mut rec = self.shared.queue.record();
        rec.fill(&req, &self.shared.format);
        let pending = Pending {
            shared: self.shared.clone(),
            start,
            head: req.method() == http::Method::HEAD,
            wire: req.extensions().get::<Wire>().cloned(),
            rec,
        };
        ResponseFuture::new(self.inner.call(req), pending)
    }
}

/// A request whose line is not written yet.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) shared: Arc<Shared>,
    pub(crate) start: Instant,
    /// A `HEAD` request: its response body is never sent.
    pub(crate) head: bool,
    pub(crate) rec: Box<Record>,
    /// The connection's byte counts, when the server owns the connection: the line
    /// then waits for the response's last byte on the socket.
    pub(crate) wire: Option<Wire>,
}

impl Pending {
    /// The response is complete (`win32` is `None`) or ended early. Under a server
    /// that counts bytes on the wire, a complete response's line waits for its
    /// last byte on the socket; otherwise the line is sent now.
    pub(crate) fn finish(mut self, win32: Option<u32>) {
        match (self.wire.take(), win32) {
            (None, _) => self.send(win32),
            (Some(wire), None) => wire.on_last_byte(Box::new(move |end| self.send_wire(end))),
            (Some(wire), Some(w)) => {
                let end = wire.aborted(w);
                self.send_wire(end);
            }
        }
    }

    /// Sends the line with the wire's counts.
    fn send_wire(mut self, end: WireEnd) {
        self.rec.sc_bytes = end.sc_bytes;
        self.rec.cs_bytes = end.cs_bytes;
        self.send(end.win32);
    }

    /// Sends the line: now is the time of the last byte.
    fn send(mut self, win32: Option<u32>) {
        let rec = &mut self.rec;
        rec.time_taken_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        rec.end_unix = super::rollover::unix_secs(self.shared.clock.now());
        if let Some(w) = win32 {
            rec.win32 = w;
        }
        self.shared.queue.send(self.rec);
    }
}
