//! "Require SSL" (IIS `<access sslFlags="Ssl">`): 403.4 for requests that did not
//! arrive over TLS.
//!
//! [`RequireSslLayer`] reads [`ConnectionInfo::tls`](crate::ConnectionInfo) through
//! [`connection::connection_info`]. A request
//! without connection info counts as not TLS and is denied: the layer cannot prove
//! otherwise, and failing closed is the safe reading of "require". Forwarding headers
//! (`X-Forwarded-Proto`) are not trusted; a TLS-terminating proxy in front should set
//! `ConnectionInfo::with_tls(true)` itself.
//!
//! | Setting (IIS name) | IIS default | Denied with |
//! |---|---|---|
//! | `access@sslFlags` contains `Ssl` | off (`None`) | 403.4 |
//!
//! The response carries an [`IisError`] naming module `IIS Web Core`, notification
//! `BeginRequest` and HRESULT 0 (what IIS shows for 403.4 is not documented).
//!
//! # Example
//!
//! Needs in your crate `tower` (feature `util`), `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_iis::ssl::RequireSslLayer;
//! use tower_iis::{ConnectionInfo, IisError};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let svc = ServiceBuilder::new()
//!     .layer(RequireSslLayer::new())
//!     .service(service_fn(|_req: Request<()>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("secret")))
//!     }));
//!
//! let conn = ConnectionInfo::new("192.0.2.1:50000".parse()?, "192.0.2.2:443".parse()?);
//! let mut req = Request::new(());
//! req.extensions_mut().insert(conn);
//! let res = svc.clone().oneshot(req).await?;
//! assert_eq!(res.extensions().get::<IisError>().unwrap().status().to_string(), "403.4");
//!
//! let mut req = Request::new(());
//! req.extensions_mut().insert(conn.with_tls(true));
//! assert_eq!(svc.oneshot(req).await?.status(), 200);
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::gate::Gate;
use crate::{connection, IisError, IisStatus};

/// Denies requests that did not arrive over TLS with 403.4. See the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct RequireSslLayer {
    _priv: (),
}

impl RequireSslLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for RequireSslLayer {
    type Service = RequireSsl<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireSsl { inner }
    }
}

/// The service built by [`RequireSslLayer`].
#[derive(Debug, Clone)]
pub struct RequireSsl<S> {
    inner: S,
}

impl<S> RequireSsl<S> {
    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireSsl<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if connection::connection_info(&req).is_some_and(|c| c.tls) {
            return ResponseFuture {
                gate: Gate::call(self.inner.call(req)),
            };
        }
        tracing::debug!(target: "tower_iis::ssl", "request without TLS denied: 403.4");
        // Module, notification and HRESULT come from the catalog entry for 403.4.
        ResponseFuture {
            gate: Gate::deny(IisError::new(IisStatus::FORBIDDEN_SSL_REQUIRED)),
        }
    }
}

pin_project! {
    /// The response future of [`RequireSsl`]: the inner service's response, or 403.4.
    pub struct ResponseFuture<F> {
        #[pin]
        gate: Gate<F, IisError>,
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
        Poll::Ready(match std::task::ready!(self.project().gate.poll(cx)) {
            Ok(res) => res,
            Err(error) => Ok(error.into_http_response()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tower::{service_fn, ServiceBuilder, ServiceExt};

    use super::*;
    use crate::ConnectionInfo;

    #[tokio::test]
    async fn plain_http_and_unknown_are_403_4_tls_passes() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let svc = ServiceBuilder::new()
            .layer(RequireSslLayer::new())
            .service(service_fn(move |_req: Request<()>| {
                c.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, Infallible>(Response::new(String::from("ok"))) }
            }));
        let conn = ConnectionInfo::new(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:443".parse().unwrap(),
        );
        let with = |c: Option<ConnectionInfo>| {
            let mut req = Request::new(());
            if let Some(c) = c {
                req.extensions_mut().insert(c);
            }
            req
        };
        for req in [with(Some(conn)), with(None)] {
            let res = svc.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), 403);
            let err = res.extensions().get::<IisError>().unwrap();
            assert_eq!(err.status().to_string(), "403.4");
            assert_eq!(err.notification(), "BeginRequest");
            assert!(http_body::Body::is_end_stream(res.body()));
            assert_eq!(err.module(), "IIS Web Core");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let res = svc.oneshot(with(Some(conn.with_tls(true)))).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn all_layers_compose_on_an_axum_router() {
        use crate::{ConcurrentRequestLimitLayer, IpSecurityLayer, RequestFilteringLayer};
        use axum::{routing::get, Router};
        let app = Router::new()
            .route("/", get(|| async { "hi" }))
            .layer(RequestFilteringLayer::iis_defaults())
            .layer(
                IpSecurityLayer::builder()
                    .deny("192.0.2.0/24")
                    .build()
                    .unwrap(),
            )
            .layer(RequireSslLayer::new())
            .layer(ConcurrentRequestLimitLayer::iis_defaults());
        let conn = ConnectionInfo::new(
            "198.51.100.1:1".parse().unwrap(),
            "198.51.100.2:443".parse().unwrap(),
        )
        .with_tls(true);
        let mut req = Request::get("/").body(axum::body::Body::empty()).unwrap();
        req.extensions_mut().insert(conn);
        assert_eq!(app.clone().oneshot(req).await.unwrap().status(), 200);
        let mut req = Request::get("/web.config")
            .body(axum::body::Body::empty())
            .unwrap();
        req.extensions_mut().insert(conn);
        let res = app.oneshot(req).await.unwrap();
        let err = res.extensions().get::<IisError>().unwrap();
        assert_eq!(err.status().to_string(), "404.8");
    }
}
