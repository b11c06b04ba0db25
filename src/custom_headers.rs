//! IIS `<httpProtocol><customHeaders>`: headers added to every response.
//!
//! [`CustomHeadersLayer`] appends its headers to every response that passes through
//! it, error pages included when it sits outside the error-page layer (as in
//! [`IisSite`](crate::site)). Like IIS it adds and never replaces: a header the
//! application already set is sent twice.
//!
//! # Example
//!
//! Needs in your crate `tower` (feature `util`), `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_iis::custom_headers::CustomHeadersLayer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = CustomHeadersLayer::new()
//!     .header("X-Powered-By", "ASP.NET")?
//!     .header("X-Content-Type-Options", "nosniff")?;
//! let svc = ServiceBuilder::new().layer(layer).service_fn(|_req: Request<()>| async {
//!     Ok::<_, Infallible>(Response::new(String::from("hello")))
//! });
//! let res = svc.oneshot(Request::new(())).await?;
//! assert_eq!(res.headers()["x-powered-by"], "ASP.NET");
//! assert_eq!(res.headers()["x-content-type-options"], "nosniff");
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

/// `Server: Microsoft-IIS/<version>`; `None` when `version` cannot be a header value.
pub(crate) fn server_header(version: &str) -> Option<HeaderValue> {
    if version == crate::http_errors::DEFAULT_SERVER_VERSION {
        // Static: the copy put on each response is cloned and dropped without
        // touching a reference count.
        return Some(HeaderValue::from_static(DEFAULT_SERVER));
    }
    HeaderValue::from_str(&format!("Microsoft-IIS/{version}")).ok()
}

/// The `Server` value for [`DEFAULT_SERVER_VERSION`](crate::http_errors::DEFAULT_SERVER_VERSION).
const DEFAULT_SERVER: &str = "Microsoft-IIS/10.0";

/// Sets the `Server` header IIS sends on every response (made by
/// [`server_header`]), replacing any already there. The error-page layer's
/// `emulate_server_header` uses it. `X-Powered-By` is not implied: IIS sends it
/// only because its configuration lists it under `<customHeaders>`, so it comes
/// from a [`CustomHeadersLayer`] (or web.config's `customHeaders`) when wanted.
pub(crate) fn insert_server_header(headers: &mut HeaderMap, server: &HeaderValue) {
    headers.insert(http::header::SERVER, server.clone());
}

/// A header name or value [`CustomHeadersLayer::header`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHeader {
    name: String,
    value: String,
}

impl std::fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid custom header {:?}: {:?}: not a valid HTTP header name and value",
            self.name, self.value
        )
    }
}

impl std::error::Error for InvalidHeader {}

/// Adds IIS's `<customHeaders>` to every response. See the [module docs](self).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CustomHeadersLayer {
    headers: Arc<Vec<(HeaderName, HeaderValue)>>,
}

impl CustomHeadersLayer {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// `<add name value>`: one more header, after the ones added before.
    ///
    /// # Errors
    ///
    /// A name or value that cannot be an HTTP header.
    pub fn header(self, name: &str, value: &str) -> Result<Self, InvalidHeader> {
        let err = || InvalidHeader {
            name: name.to_owned(),
            value: value.to_owned(),
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| err())?;
        let value = HeaderValue::from_str(value).map_err(|_| err())?;
        Ok(self.typed_header(name, value))
    }

    /// [`header`](Self::header) with a name and value already checked.
    pub fn typed_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        Arc::make_mut(&mut self.headers).push((name, value));
        self
    }

    /// The headers, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.headers.iter().map(|(n, v)| (n, v))
    }
}

impl<S> Layer<S> for CustomHeadersLayer {
    type Service = CustomHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CustomHeaders {
            inner,
            headers: self.headers.clone(),
        }
    }
}

/// The service built by [`CustomHeadersLayer`].
#[derive(Debug, Clone)]
pub struct CustomHeaders<S> {
    inner: S,
    headers: Arc<Vec<(HeaderName, HeaderValue)>>,
}

impl<S> CustomHeaders<S> {
    define_inner_service_accessors!();
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for CustomHeaders<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        ResponseFuture {
            inner: self.inner.call(req),
            // None to add (a site without `<customHeaders>`): no reference taken.
            headers: (!self.headers.is_empty()).then(|| self.headers.clone()),
        }
    }
}

pin_project! {
    /// The response future of [`CustomHeaders`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        headers: Option<Arc<Vec<(HeaderName, HeaderValue)>>>,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        if let Some(list) = this.headers {
            let headers = res.headers_mut();
            for (name, value) in list.iter() {
                headers.append(name.clone(), value.clone());
            }
        }
        Poll::Ready(Ok(res))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_errors::DEFAULT_SERVER_VERSION;

    #[test]
    fn the_static_default_server_value_is_the_built_one() {
        let built = HeaderValue::from_str(&format!("Microsoft-IIS/{DEFAULT_SERVER_VERSION}"))
            .expect("a valid header value");
        assert_eq!(server_header(DEFAULT_SERVER_VERSION), Some(built));
        assert_eq!(
            server_header("8.5").expect("a valid version"),
            "Microsoft-IIS/8.5"
        );
        assert_eq!(server_header("10.0\n"), None);
    }
}
