//! The response future of [`W3cLog`](super::W3cLog).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use super::pending::Pending;
use super::record::{WIN32_CLIENT_GONE, WIN32_CONNECTION_ABORTED};
use super::LogBody;

/// The `sc-status` logged when no response exists: the inner service failed, or the
/// request was dropped (client gone) before the handler answered.
pub const NO_RESPONSE_STATUS: u16 = 500;

pin_project! {
    /// Response future of [`W3cLog`](super::W3cLog).
    ///
    /// Dropped before the inner service answered (the client went away while the
    /// handler ran), it still logs the request: `sc-status` 500, `sc-substatus` 0,
    /// `sc-win32-status` 64 (1236 if the drop comes from a panic).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(mut p) = this.project().pending.take() {
                p.rec.status = NO_RESPONSE_STATUS;
                let win32 = if std::thread::panicking() {
                    WIN32_CONNECTION_ABORTED
                } else {
                    WIN32_CLIENT_GONE
                };
                p.finish(Some(win32));
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, pending: Pending) -> Self {
        Self {
            inner,
            pending: Some(pending),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<LogBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // Matched in place: the response is not moved out of the inner result
        // before it is wrapped.
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(res)) => Poll::Ready(Ok(wrap(res, take(this.pending)))),
            Poll::Ready(Err(e)) => {
                let mut pending = take(this.pending);
                pending.rec.status = NO_RESPONSE_STATUS;
                pending.finish(Some(WIN32_CONNECTION_ABORTED));
                Poll::Ready(Err(e))
            }
        }
    }
}

/// The pending line of a future that has not answered yet.
#[inline]
fn take(pending: &mut Option<Pending>) -> Pending {
    let Some(pending) = pending.take() else {
        panic!("ResponseFuture polled after completion");
    };
    pending
}

/// The response with its body wrapped, the response side captured.
#[inline]
fn wrap<B: http_body::Body>(res: Response<B>, mut pending: Pending) -> Response<LogBody<B>> {
    pending.rec.on_response(&res, &pending.shared.format);
    let (parts, body) = res.into_parts();
    let body = LogBody::new(body, parts.status, pending);
    Response::from_parts(parts, body)
}
