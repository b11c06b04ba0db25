//! [`LogBody`]: the response body wrapper that counts bytes and writes the line.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::pending::Pending;
use super::record::{WIN32_CLIENT_GONE, WIN32_CONNECTION_ABORTED};

pin_project! {
    /// The response body of [`W3cLog`](super::W3cLog): the inner body, unchanged,
    /// with its data bytes counted.
    ///
    /// The line is written exactly once: when the last frame has been handed on
    /// (the inner body returned its end, or reports `is_end_stream` after a frame),
    /// or when the body is dropped. Dropped before its end, the body logs
    /// `sc-win32-status` 64, as IIS does when the client went away; dropped by a
    /// panic (the body itself panicked), 1236, as the response future does.
    pub struct LogBody<B> {
        #[pin]
        inner: B,
        pending: Option<Pending>,
        complete: bool,
    }

    impl<B> PinnedDrop for LogBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(p) = this.pending.take() {
                let win32 = if *this.complete {
                    None
                } else if std::thread::panicking() {
                    // The body (or the server polling it) panicked: the server cut
                    // the connection, not the client.
                    Some(WIN32_CONNECTION_ABORTED)
                } else {
                    Some(WIN32_CLIENT_GONE)
                };
                p.finish(win32);
            }
        }
    }
}

impl<B: Body> LogBody<B> {
    pub(crate) fn new(inner: B, status: http::StatusCode, pending: Pending) -> Self {
        // An empty body may never be polled; it is complete once the head is out.
        // So is the body of a response that has none on the wire (a `HEAD`
        // request, 1xx, 204, 304): the server drops it unsent.
        let bodiless = pending.head
            || status.is_informational()
            || status == http::StatusCode::NO_CONTENT
            || status == http::StatusCode::NOT_MODIFIED;
        let complete = bodiless || inner.is_end_stream();
        Self {
            inner,
            pending: Some(pending),
            complete,
        }
    }
}

impl<B> std::fmt::Debug for LogBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogBody")
            .field("complete", &self.complete)
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for LogBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                if let Some(p) = this.pending.as_mut() {
                    if let Some(data) = f.data_ref() {
                        p.rec.sc_bytes += data.remaining() as u64;
                    } else if let Some(trailers) = f.trailers_ref() {
                        p.rec.sc_bytes += trailers
                            .iter()
                            .map(|(n, v)| (n.as_str().len() + v.len() + 4) as u64)
                            .sum::<u64>();
                    }
                }
                if this.inner.is_end_stream() {
                    *this.complete = true;
                    if let Some(p) = this.pending.take() {
                        p.finish(None);
                    }
                }
            }
            Some(Err(_)) => {
                if let Some(p) = this.pending.take() {
                    p.finish(Some(WIN32_CONNECTION_ABORTED));
                }
            }
            None => {
                *this.complete = true;
                if let Some(p) = this.pending.take() {
                    p.finish(None);
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
