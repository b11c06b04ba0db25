//! [`HttpErrorsLayer`].

use std::marker::PhantomData;
use std::sync::Arc;

use tower_layer::Layer;

use super::config::{HttpErrorsBuilder, Resolved};
use super::execute_url::{NoExecuteUrl, WithExecuteUrl};
use super::HttpErrors;
use crate::ConfigError;

/// Applies IIS's `<httpErrors>` rules to responses: renders detailed and custom
/// error pages. See the [module docs](super) for an example.
///
/// `M` is [`NoExecuteUrl`] (the default: any request body type) or
/// [`WithExecuteUrl`] (from
/// [`HttpErrorsBuilder::build_with_execute_url`]); see
/// [`execute_url`](super::execute_url).
#[derive(Debug, Clone)]
#[must_use]
pub struct HttpErrorsLayer<M = NoExecuteUrl> {
    pub(crate) config: Arc<Resolved>,
    mode: PhantomData<fn() -> M>,
}

impl HttpErrorsLayer {
    /// The IIS defaults: `DetailedLocalOnly`, `Auto`, the nine built-in custom pages.
    pub fn new() -> Self {
        Self::builder()
            .build()
            .expect("the default httpErrors configuration is valid")
    }

    /// The preset for JSON APIs: the body an application wrote passes through to
    /// every client, and an empty error response gets an RFC 9457
    /// `application/problem+json` document when the client prefers JSON (`Accept`),
    /// else the IIS page (detailed for loopback clients, custom for the rest).
    ///
    /// Beside IIS's own `existingResponse` modes:
    ///
    /// | mode | a body the application wrote | an empty error response |
    /// |---|---|---|
    /// | `Auto` (IIS default) | replaced for remote clients (custom mode), kept for local ones | page |
    /// | `Replace` | replaced | page |
    /// | `PassThrough` | kept | kept empty |
    /// | [`api()`](Self::api) ([`ExistingResponse::FillEmpty`](super::ExistingResponse::FillEmpty) + problem details) | kept | problem+json or page, by `Accept` |
    ///
    /// The same as `HttpErrorsLayer::builder().existing_response(ExistingResponse::FillEmpty)
    /// .problem_details(true).build()`; start from that builder to add rows.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response, StatusCode};
    /// use http_body_util::BodyExt;
    /// use tower::{ServiceBuilder, ServiceExt};
    /// use tower_iis::{HttpErrorsLayer, IisError, IisStatus};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let api = ServiceBuilder::new()
    ///     .layer(HttpErrorsLayer::api())
    ///     .service_fn(|req: Request<String>| async move {
    ///         Ok::<_, Infallible>(if req.uri().path() == "/users" {
    ///             let mut res = Response::new(r#"{"error":"already exists"}"#.to_owned());
    ///             *res.status_mut() = StatusCode::CONFLICT;
    ///             res
    ///         } else {
    ///             IisError::new(IisStatus::NOT_FOUND).into_http_response()
    ///         })
    ///     });
    /// let json = |path| Request::builder().uri(path).header("accept", "application/json").body(String::new());
    /// let res = api.clone().oneshot(json("/users")?).await?;
    /// assert_eq!(res.status(), 409);
    /// assert_eq!(res.into_body().collect().await?.to_bytes(), r#"{"error":"already exists"}"#);
    /// let res = api.oneshot(json("/users/7")?).await?;
    /// assert_eq!(res.headers()["content-type"], "application/problem+json");
    /// let body = res.into_body().collect().await?.to_bytes();
    /// assert!(std::str::from_utf8(&body)?.contains(r#""iisStatus":"404.0""#));
    /// # Ok(())
    /// # }
    /// ```
    pub fn api() -> Self {
        Self::builder()
            .existing_response(super::ExistingResponse::FillEmpty)
            .problem_details(true)
            .build()
            .expect("the API httpErrors configuration is valid")
    }

    /// A builder to set modes, rows and page settings.
    pub fn builder() -> HttpErrorsBuilder {
        HttpErrorsBuilder::default()
    }
}

impl<M> HttpErrorsLayer<M> {
    pub(crate) fn from_resolved(config: Arc<Resolved>) -> Self {
        Self {
            config,
            mode: PhantomData,
        }
    }
}

impl From<HttpErrorsLayer<NoExecuteUrl>> for HttpErrorsLayer<WithExecuteUrl> {
    /// The same configuration (it has no ExecuteURL row) in a layer that needs an
    /// [`ExecuteUrlBody`](super::ExecuteUrlBody) request body, as a site built from a
    /// web.config uses.
    fn from(layer: HttpErrorsLayer<NoExecuteUrl>) -> Self {
        Self::from_resolved(layer.config)
    }
}

impl Default for HttpErrorsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl TryFrom<HttpErrorsBuilder> for HttpErrorsLayer {
    type Error = ConfigError;

    fn try_from(builder: HttpErrorsBuilder) -> Result<Self, Self::Error> {
        builder.build()
    }
}

impl<S, M> Layer<S> for HttpErrorsLayer<M> {
    type Service = HttpErrors<S, M>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpErrors {
            inner,
            config: self.config.clone(),
            mode: PhantomData,
        }
    }
}
