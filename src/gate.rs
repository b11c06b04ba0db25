//! "Deny now or call the inner service": the pieces shared by the modules that may
//! answer before the handler (the concurrent request limit, IP restrictions, Require
//! SSL, request filtering and a site's configuration failure).
//!
//! - [`Gate`]: a future that is either an answer decided in `call` or the inner
//!   service's future.
//! - [`Guard`] and [`GuardedBody`]: a slot in a shared counter, held until the
//!   response body ends or is dropped.
//! - [`Denial`]: an [`IisError`] answered at once, optionally as IIS's
//!   `AbortRequest` ([`RequestAborted`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderValue, CONNECTION};
use http::Response;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::IisError;

/// Marks a response whose `denyAction` is `AbortRequest`: IIS would have reset the
/// connection instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestAborted;

/// One request counted in a shared counter; uncounted when dropped.
#[derive(Debug)]
pub(crate) struct Guard(Arc<AtomicUsize>);

impl Guard {
    /// Takes a slot when fewer than `limit` are taken.
    pub(crate) fn try_acquire(counter: &Arc<AtomicUsize>, limit: usize) -> Option<Self> {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(counter.clone()))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project! {
    /// A response body that keeps its request counted until it ends or is dropped.
    #[derive(Debug)]
    pub(crate) struct GuardedBody<B> {
        #[pin]
        inner: B,
        guard: Option<Guard>,
    }
}

impl<B> GuardedBody<B> {
    pub(crate) fn new(inner: B, guard: Option<Guard>) -> Self {
        Self { inner, guard }
    }
}

impl<B: Body> Body for GuardedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let res = std::task::ready!(this.inner.as_mut().poll_frame(cx));
        // Release at the last frame: hyper may never poll again after it.
        if res.is_none() || this.inner.is_end_stream() {
            this.guard.take();
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

/// An [`IisError`] answered before the handler runs.
#[derive(Debug)]
pub(crate) struct Denial {
    error: IisError,
    abort: bool,
}

impl Denial {
    /// `error`, answered as it is.
    pub(crate) fn new(error: IisError) -> Self {
        Self {
            error,
            abort: false,
        }
    }

    /// `error`, answered in place of IIS's connection reset: with
    /// `Connection: close` and [`RequestAborted`].
    pub(crate) fn abort(error: IisError) -> Self {
        Self { error, abort: true }
    }

    /// The response IIS's module would leave behind.
    pub(crate) fn into_response<B: Default>(self) -> Response<B> {
        let mut res = self.error.into_http_response::<B>();
        if self.abort {
            res.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            res.extensions_mut().insert(RequestAborted);
        }
        res
    }
}

pin_project! {
    /// Either an answer decided in `call` (`D`) or the inner service's future.
    ///
    /// Polling yields `Ok` with the inner future's output or `Err` with the answer;
    /// the public response futures turn either into a response.
    #[project = GateProj]
    pub(crate) enum Gate<F, D> {
        /// Answered without calling the inner service.
        Deny { denial: Option<D> },
        /// The inner service's future.
        Call { #[pin] fut: F },
    }
}

impl<F, D> Gate<F, D> {
    /// A gate that answers `denial` at once.
    pub(crate) fn deny(denial: D) -> Self {
        Self::Deny {
            denial: Some(denial),
        }
    }

    /// A gate that waits for the inner service.
    pub(crate) fn call(fut: F) -> Self {
        Self::Call { fut }
    }
}

impl<F: Future, D> Future for Gate<F, D> {
    type Output = Result<F::Output, D>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GateProj::Deny { denial } => {
                Poll::Ready(Err(denial.take().expect("future polled after completion")))
            }
            GateProj::Call { fut } => fut.poll(cx).map(Ok),
        }
    }
}

/// A response future over a [`Gate`] whose denial is an [`IisError`](crate::IisError),
/// turned into IIS's response: `define_error_gate!(Name, "doc")` defines `Name<F>`
/// with `Name::call(fut)` and `Name::deny(error)`.
macro_rules! define_error_gate {
    ($name:ident, $doc:literal) => {
        pin_project_lite::pin_project! {
            #[doc = $doc]
            pub struct $name<F> {
                #[pin]
                gate: $crate::gate::Gate<F, $crate::IisError>,
            }
        }

        impl<F> $name<F> {
            #[allow(dead_code)]
            pub(crate) fn call(fut: F) -> Self {
                Self {
                    gate: $crate::gate::Gate::call(fut),
                }
            }

            #[allow(dead_code)]
            pub(crate) fn deny(error: $crate::IisError) -> Self {
                Self {
                    gate: $crate::gate::Gate::deny(error),
                }
            }
        }

        impl<F> std::fmt::Debug for $name<F> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl<F, B, E> std::future::Future for $name<F>
        where
            F: std::future::Future<Output = Result<http::Response<B>, E>>,
            B: Default,
        {
            type Output = Result<http::Response<B>, E>;

            fn poll(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Self::Output> {
                std::task::Poll::Ready(match std::task::ready!(self.project().gate.poll(cx)) {
                    Ok(res) => res,
                    Err(error) => Ok(error.into_http_response()),
                })
            }
        }
    };
}

/// The future and body types of a module that guards a slot until the response body
/// ends: `ResponseFuture<F>` over a [`Gate`] and a [`Guard`], `ResponseBody<B>` over
/// a [`GuardedBody`].
macro_rules! define_guarded_response {
    ($service:literal) => {
        pin_project_lite::pin_project! {
            #[doc = concat!("The response future of [`", $service, "`]: the inner service's response with its body in a [`ResponseBody`], or the denial.")]
            pub struct ResponseFuture<F> {
                #[pin]
                gate: $crate::gate::Gate<F, $crate::gate::Denial>,
                guard: Option<$crate::gate::Guard>,
            }
        }

        impl<F> ResponseFuture<F> {
            pub(crate) fn call(fut: F, guard: Option<$crate::gate::Guard>) -> Self {
                Self {
                    gate: $crate::gate::Gate::call(fut),
                    guard,
                }
            }

            pub(crate) fn deny(denial: $crate::gate::Denial) -> Self {
                Self {
                    gate: $crate::gate::Gate::deny(denial),
                    guard: None,
                }
            }
        }

        impl<F> std::fmt::Debug for ResponseFuture<F> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("ResponseFuture").finish_non_exhaustive()
            }
        }

        impl<F, B, E> std::future::Future for ResponseFuture<F>
        where
            F: std::future::Future<Output = Result<http::Response<B>, E>>,
            B: Default,
        {
            type Output = Result<http::Response<ResponseBody<B>>, E>;

            fn poll(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Self::Output> {
                let this = self.project();
                let res = match std::task::ready!(this.gate.poll(cx)) {
                    Ok(res) => res,
                    Err(denial) => Ok(denial.into_response::<B>()),
                };
                let guard = this.guard.take();
                std::task::Poll::Ready(res.map(|r| {
                    r.map(|b| ResponseBody {
                        inner: $crate::gate::GuardedBody::new(b, guard),
                    })
                }))
            }
        }

        pin_project_lite::pin_project! {
            #[doc = concat!("The response body of [`", $service, "`]: keeps the request counted until the body ends or is dropped.")]
            #[derive(Debug)]
            pub struct ResponseBody<B> {
                #[pin]
                inner: $crate::gate::GuardedBody<B>,
            }
        }

        impl<B: Default> Default for ResponseBody<B> {
            fn default() -> Self {
                Self {
                    inner: $crate::gate::GuardedBody::new(B::default(), None),
                }
            }
        }

        impl<B: http_body::Body> http_body::Body for ResponseBody<B> {
            type Data = B::Data;
            type Error = B::Error;

            fn poll_frame(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
                self.project().inner.poll_frame(cx)
            }

            fn is_end_stream(&self) -> bool {
                self.inner.is_end_stream()
            }

            fn size_hint(&self) -> http_body::SizeHint {
                self.inner.size_hint()
            }
        }
    };
}
