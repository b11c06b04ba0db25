//! The application's concurrent request limit (IIS `<serverRuntime appConcurrentRequestLimit>`).
//!
//! [`ConcurrentRequestLimitLayer`] counts the requests in flight, from the call of the
//! inner service until the response body is finished or dropped. A request that
//! arrives when the count is at the limit is answered **at once** with 503.2
//! ("Concurrent request limit exceeded"), never queued, and the inner service is not
//! called. This is unlike `tower::limit::ConcurrencyLimit`, which waits for a slot.
//!
//! | Setting (IIS name) | IIS default | Denied with |
//! |---|---|---|
//! | `serverRuntime@appConcurrentRequestLimit` | 5000 | 503.2 |
//!
//! The counter belongs to the layer: every service the layer (or a clone of it)
//! builds shares it, as every request of an IIS application shares one limit. The
//! response carries an [`IisError`] naming module `IIS Web Core`, notification
//! `BeginRequest` and HRESULT 0 (what IIS shows for 503.2 is not documented).
//!
//! # Example
//!
//! Needs in your crate `tower` (feature `util`), `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_iis::limits::ConcurrentRequestLimitLayer;
//! use tower_iis::IisError;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let limit = ConcurrentRequestLimitLayer::new(1);
//! let svc = ServiceBuilder::new()
//!     .layer(limit.clone())
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("hello")))
//!     }));
//!
//! // The first response holds the only slot until its body is dropped.
//! let first = svc.clone().oneshot(Request::new(String::new())).await?;
//! assert_eq!(limit.in_flight(), 1);
//! let second = svc.clone().oneshot(Request::new(String::new())).await?;
//! assert_eq!(second.status(), 503);
//! assert_eq!(second.extensions().get::<IisError>().unwrap().status().to_string(), "503.2");
//!
//! drop(first);
//! let third = svc.oneshot(Request::new(String::new())).await?;
//! assert_eq!(third.status(), 200);
//! # Ok(())
//! # }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::gate::{Denial, Guard};
use crate::{IisError, IisStatus};

/// IIS's default `appConcurrentRequestLimit`.
pub const DEFAULT_APP_CONCURRENT_REQUEST_LIMIT: usize = 5000;

/// Answers 503.2 at once when `appConcurrentRequestLimit` requests are in flight.
///
/// See the [module docs](self).
#[derive(Debug, Clone)]
#[must_use]
pub struct ConcurrentRequestLimitLayer {
    counter: Arc<AtomicUsize>,
    limit: usize,
}

impl ConcurrentRequestLimitLayer {
    /// A limit of `limit` requests in flight (0 denies every request).
    pub fn new(limit: usize) -> Self {
        Self {
            counter: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// IIS's default limit, 5000.
    pub fn iis_defaults() -> Self {
        Self::new(DEFAULT_APP_CONCURRENT_REQUEST_LIMIT)
    }

    /// The limit.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many requests are in flight now.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.counter.load(Ordering::Acquire)
    }

    /// A slot for one more request, or the 503.2 when `limit` are in flight.
    #[cfg(feature = "site")]
    pub(crate) fn acquire(&self) -> Result<Guard, Denial> {
        acquire(&self.counter, self.limit)
    }
}

/// A slot in `counter`, or the 503.2 when `limit` requests hold one.
fn acquire(counter: &Arc<AtomicUsize>, limit: usize) -> Result<Guard, Denial> {
    Guard::try_acquire(counter, limit).ok_or_else(|| {
        tracing::debug!(
            target: "tower_iis::limits",
            limit,
            "appConcurrentRequestLimit reached: 503.2"
        );
        // Module, notification and HRESULT come from the catalog entry for 503.2.
        Denial::new(IisError::new(
            IisStatus::SERVICE_UNAVAILABLE_CONCURRENT_REQUEST_LIMIT,
        ))
    })
}

impl Default for ConcurrentRequestLimitLayer {
    fn default() -> Self {
        Self::iis_defaults()
    }
}

impl<S> Layer<S> for ConcurrentRequestLimitLayer {
    type Service = ConcurrentRequestLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConcurrentRequestLimit {
            inner,
            counter: self.counter.clone(),
            limit: self.limit,
        }
    }
}

/// The service built by [`ConcurrentRequestLimitLayer`].
#[derive(Debug, Clone)]
pub struct ConcurrentRequestLimit<S> {
    inner: S,
    counter: Arc<AtomicUsize>,
    limit: usize,
}

impl<S> ConcurrentRequestLimit<S> {
    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ConcurrentRequestLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        match acquire(&self.counter, self.limit) {
            Ok(guard) => ResponseFuture::call(self.inner.call(req), Some(guard)),
            Err(denial) => ResponseFuture::deny(denial),
        }
    }
}

define_guarded_response!("ConcurrentRequestLimit");

impl<B> ResponseBody<B> {
    /// `inner`, keeping `guard`'s slot until it ends or is dropped.
    #[cfg(feature = "site")]
    pub(crate) fn guarded(inner: B, guard: Option<Guard>) -> Self {
        Self {
            inner: crate::gate::GuardedBody::new(inner, guard),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use tower::{service_fn, ServiceBuilder, ServiceExt};

    use super::*;

    #[test]
    fn default_is_5000() {
        assert_eq!(DEFAULT_APP_CONCURRENT_REQUEST_LIMIT, 5000);
        assert_eq!(ConcurrentRequestLimitLayer::iis_defaults().limit(), 5000);
        assert_eq!(ConcurrentRequestLimitLayer::default().limit(), 5000);
    }

    #[tokio::test]
    async fn past_the_limit_is_503_2_at_once_and_released_at_body_end() {
        let layer = ConcurrentRequestLimitLayer::new(2);
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let svc = ServiceBuilder::new()
            .layer(layer.clone())
            .service(service_fn(move |_req: Request<()>| {
                c.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("body")))) }
            }));

        let a = svc.clone().oneshot(Request::new(())).await.unwrap();
        let b = svc.clone().oneshot(Request::new(())).await.unwrap();
        assert_eq!(layer.in_flight(), 2);
        let denied = svc.clone().oneshot(Request::new(())).await.unwrap();
        assert_eq!(denied.status(), 503);
        let err = denied.extensions().get::<IisError>().unwrap();
        assert_eq!(err.status().to_string(), "503.2");
        assert_eq!(err.notification(), "BeginRequest");
        assert_eq!(err.hresult(), 0);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(layer.in_flight(), 2);

        // Reading a body to the end releases its slot; dropping one does too.
        let body = a.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "body");
        assert_eq!(layer.in_flight(), 1);
        drop(b);
        assert_eq!(layer.in_flight(), 0);
        let ok = svc.oneshot(Request::new(())).await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failed_call_releases_its_slot() {
        let layer = ConcurrentRequestLimitLayer::new(1);
        let svc = ServiceBuilder::new()
            .layer(layer.clone())
            .service(service_fn(|_req: Request<()>| async {
                Err::<Response<Full<Bytes>>, _>(std::io::Error::other("boom"))
            }));
        assert!(svc.clone().oneshot(Request::new(())).await.is_err());
        assert_eq!(layer.in_flight(), 0);
    }

    #[tokio::test]
    async fn composes_with_axum_router() {
        use axum::{routing::get, Router};
        let layer = ConcurrentRequestLimitLayer::new(0);
        let app = Router::new()
            .route("/", get(|| async { "hi" }))
            .layer(layer);
        let res = app
            .oneshot(Request::get("/").body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), 503);
    }
}
