//! [`RequestFiltering`], the service, and its response future.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderValue, CONNECTION};
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::body::LimitedBody;
use super::check::{self, Denial};
use super::config::{Config, LimitCodes};
use crate::IisError;

/// The service built by [`RequestFilteringLayer`](super::RequestFilteringLayer).
///
/// A request that breaks a rule is answered at once (the inner service is not
/// called); one that passes reaches the inner service with its body wrapped in a
/// [`LimitedBody`].
#[derive(Debug, Clone)]
pub struct RequestFiltering<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> RequestFiltering<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    define_inner_service_accessors!();
}

/// The response IIS's request-filtering module leaves: the status, an empty body,
/// the [`IisError`] (its module `RequestFilteringModule`, notification
/// `BeginRequest` and HRESULT 0 come from the catalog) and `Connection: close`.
pub(crate) fn rejection<B: Default>(denial: Denial) -> Response<B> {
    tracing::debug!(
        name: "REQUEST_FILTERING_DENIED",
        target: "tower_iis::request_filtering",
        area = "Security",
        status = %denial.status,
        reason = denial.reason,
        "request denied by request filtering"
    );
    let mut res = IisError::new(denial.status).into_http_response::<B>();
    res.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    res
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestFiltering<S>
where
    S: Service<Request<LimitedBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let cfg = &*self.config;
        if let Some(denial) = check::check(cfg, &req) {
            return ResponseFuture {
                fut: None,
                denial: Some(denial),
                tripped: None,
                codes: cfg.limit_codes,
            };
        }
        let limit = cfg.max_allowed_content_length;
        // A body whose own size hint keeps it within the limit (hyper's, from
        // Content-Length) needs no flag: only a body of unknown length (chunked) can
        // be cut off, and only then is a flag allocated to hear about it.
        let tripped = match req.body().size_hint().upper() {
            Some(upper) if upper <= limit => None,
            _ if req.body().is_end_stream() => None,
            _ => Some(Arc::new(AtomicBool::new(false))),
        };
        let flag = tripped.clone();
        ResponseFuture {
            fut: Some(
                self.inner
                    .call(req.map(|b| LimitedBody::new(b, limit, flag))),
            ),
            denial: None,
            tripped,
            codes: cfg.limit_codes,
        }
    }
}

pin_project! {
    /// The response future of [`RequestFiltering`].
    pub struct ResponseFuture<F> {
        // The inner service's future; `None` for a request denied in `call`.
        #[pin]
        fut: Option<F>,
        // The denial, until answered.
        denial: Option<Denial>,
        // For a body of unknown length, the flag its `LimitedBody` raises when it
        // cuts the body off: then the answer is 413.1.
        tripped: Option<Arc<AtomicBool>>,
        codes: LimitCodes,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(fut) = this.fut.as_pin_mut() else {
            let denial = this.denial.take().expect("future polled after completion");
            return Poll::Ready(Ok(rejection(denial)));
        };
        let Some(tripped) = this.tripped else {
            // Straight through: the inner future writes the output where it goes.
            return fut.poll(cx);
        };
        let res = std::task::ready!(fut.poll(cx));
        if tripped.load(Ordering::Acquire) {
            // The body went past maxAllowedContentLength while the handler read it:
            // whatever it answered (a 413/400 rejection, an error), IIS would have
            // answered 413.1.
            return Poll::Ready(Ok(rejection(check::content_too_long(*this.codes))));
        }
        Poll::Ready(res)
    }
}
