//! The response future of [`FailedRequestTracing`](super::FailedRequestTracing).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use super::service::Pending;
use super::TraceBody;

pin_project! {
    /// Response future of [`FailedRequestTracing`](super::FailedRequestTracing):
    /// polls the inner future inside the request's span.
    ///
    /// Dropped before the inner service answered, or when it fails, the request
    /// counts as answered with 500 (as the W3C log records it).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Box<Pending>>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(mut p) = this.project().pending.take() {
                p.no_response();
                p.finish();
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, pending: Option<Box<Pending>>) -> Self {
        Self { inner, pending }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<TraceBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.pending.as_ref().map(|p| p.span.enter());
            ready!(this.inner.poll(cx))
        };
        let pending = this.pending.take();
        match result {
            Ok(res) => {
                let pending = pending.map(|mut p| {
                    p.on_response(&res);
                    p
                });
                let head = res.status();
                Poll::Ready(Ok(res.map(|body| TraceBody::new(body, head, pending))))
            }
            Err(e) => {
                if let Some(mut p) = pending {
                    p.no_response();
                    p.finish();
                }
                Poll::Ready(Err(e))
            }
        }
    }
}
