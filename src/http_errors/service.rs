//! [`HttpErrors`], the service.

use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::config::Resolved;
use super::execute_url::{ExecuteUrlBody, NoExecuteUrl, WithExecuteUrl};
use super::future::ResponseFuture;
use super::render::RequestContext;
use super::ResponseBody;

/// The `<httpErrors>` middleware. See the [module docs](super).
///
/// `M` says whether it runs ExecuteURL rows ([`NoExecuteUrl`], the default, puts no
/// bound on the request body; [`WithExecuteUrl`] needs an
/// [`ExecuteUrlBody`]). See [`execute_url`](super::execute_url).
#[derive(Debug, Clone)]
pub struct HttpErrors<S, M = NoExecuteUrl> {
    pub(crate) inner: S,
    pub(crate) config: Arc<Resolved>,
    pub(crate) mode: PhantomData<fn() -> M>,
}

impl<S> HttpErrors<S> {
    /// Wraps `inner` with the IIS defaults.
    pub fn new(inner: S) -> Self {
        tower_layer::Layer::layer(&super::HttpErrorsLayer::new(), inner)
    }
}

impl<S, M> HttpErrors<S, M> {
    define_inner_service_accessors!();
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for HttpErrors<S, NoExecuteUrl>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: http_body::Body,
{
    type Response = Response<ResponseBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB, NoExecuteUrl>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let ctx = RequestContext::capture_with(&req, &self.config.capture);
        let fut = self.inner.call(req);
        ResponseFuture::new(fut, ctx, self.config.clone(), None)
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for HttpErrors<S, WithExecuteUrl>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    ReqB: ExecuteUrlBody,
    ResB: http_body::Body,
{
    type Response = Response<ResponseBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB, WithExecuteUrl>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let ctx = RequestContext::capture_with(&req, &self.config.capture);
        let child_service = self.config.has_execute_url.then(|| self.inner.clone());
        let fut = self.inner.call(req);
        ResponseFuture::new(fut, ctx, self.config.clone(), child_service)
    }
}
