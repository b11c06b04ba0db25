//! [`W3cLog`]: the service the layer wraps around yours.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_service::Service;

use super::fields::Field;
use super::future::ResponseFuture;
use super::pending::{Pending, Shared};
use super::LogBody;
use crate::wire::Wire;

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
        // A full log queue makes new requests wait here, without a thread.
        if !self.shared.queue.poll_room(cx) {
            return Poll::Pending;
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let mut rec = self.shared.queue.record();
        rec.fill(&req, &self.shared.format);
        if rec.conn.is_none()
            && self.shared.format.fields.contains(Field::ClientIp)
            && !self.shared.warned_no_client.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                target: "tower_iis::w3c",
                "a request carries no client address (no ConnectionInfo or axum ConnectInfo): \
                 c-ip is logged as '-'. Serve with tower_iis::server, or axum's \
                 into_make_service_with_connect_info::<ConnectionInfo>() (logged once per layer)"
            );
        }
        let pending = Pending {
            shared: self.shared.clone(),
            start,
            head: req.method() == http::Method::HEAD,
            // Only `server::serve` counts bytes on the wire: without it no
            // request carries a `Wire`, and the look-up is skipped.
            wire: if cfg!(feature = "server") {
                req.extensions().get::<Wire>().cloned()
            } else {
                None
            },
            rec,
        };
        ResponseFuture::new(self.inner.call(req), pending)
    }
}
