//! The request body the inner service sees: cut off past `maxAllowedContentLength`.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use http_body_util::{LengthLimitError, Limited};
use pin_project_lite::pin_project;

use crate::BoxError;

pin_project! {
    /// A request body that fails with [`http_body_util::LengthLimitError`] as soon as
    /// it yields more than `maxAllowedContentLength` bytes, instead of being read to
    /// the end.
    ///
    /// Under axum, extractors that buffer the body (`Bytes`, `String`, `Json`, `Form`)
    /// turn that error into their own 413 rejection; the
    /// [`RequestFilteringLayer`](super::RequestFilteringLayer) then replaces whatever
    /// the handler answered with IIS's 413.1 (see the module docs for when it can).
    #[derive(Debug)]
    pub struct LimitedBody<B> {
        #[pin]
        inner: Limited<B>,
        tripped: Option<Arc<AtomicBool>>,
    }
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, limit: u64, tripped: Option<Arc<AtomicBool>>) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Self {
            inner: Limited::new(inner, limit),
            tripped,
        }
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let res = std::task::ready!(this.inner.poll_frame(cx));
        if let Some(Err(e)) = &res {
            if e.is::<LengthLimitError>() {
                if let Some(flag) = this.tripped {
                    flag.store(true, Ordering::Release);
                }
            }
        }
        Poll::Ready(res)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
