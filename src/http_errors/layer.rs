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
