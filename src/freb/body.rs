//! [`TraceBody`]: counts the bytes sent and ends the request's trace.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::service::Pending;

pin_project! {
    /// The response body of [`FailedRequestTracing`](super::FailedRequestTracing):
    /// the inner body, unchanged, polled inside the request's span.
    ///
    /// The request's trace ends when the last frame has been handed on or the body
    /// is dropped; only then is it known how long the request took.
    pub struct TraceBody<B> {
        #[pin]
        inner: B,
        pending: Option<Box<Pending>>,
    }

    impl<B> PinnedDrop for TraceBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(p) = this.project().pending.take() {
                p.finish();
            }
        }
    }
}

impl<B: Body> TraceBody<B> {
    pub(crate) fn new(inner: B, status: http::StatusCode, pending: Option<Box<Pending>>) -> Self {
        let bodiless = status.is_informational()
            || status == http::StatusCode::NO_CONTENT
            || status == http::StatusCode::NOT_MODIFIED;
        let mut pending = pending;
        if bodiless || inner.is_end_stream() {
            if let Some(p) = pending.take() {
                p.finish();
            }
        }
        Self { inner, pending }
    }
}

impl<B> std::fmt::Debug for TraceBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceBody")
            .field("traced", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for TraceBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = {
            let _entered = this.pending.as_ref().map(|p| p.span.enter());
            ready!(this.inner.as_mut().poll_frame(cx))
        };
        if let Some(p) = this.pending.as_mut() {
            if let Some(Ok(f)) = &frame {
                if let Some(data) = f.data_ref() {
                    p.bytes_sent += data.remaining() as u64;
                }
            }
            if frame.is_none() || matches!(frame, Some(Err(_))) || this.inner.is_end_stream() {
                if let Some(p) = this.pending.take() {
                    p.finish();
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
