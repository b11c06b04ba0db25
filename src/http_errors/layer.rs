//! [`HttpErrorsLayer`].

use std::sync::Arc;

use tower_layer::Layer;

use super::config::{HttpErrorsBuilder, Resolved};
use super::HttpErrors;
use crate::ConfigError;

/// Applies IIS's `<httpErrors>` rules to responses: renders detailed and custom
/// error pages. See the [module docs](super) for an example.
#[derive(Debug, Clone)]
#[must_use]
pub struct HttpErrorsLayer {
    pub(crate) config: Arc<Resolved>,
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

    pub(crate) fn from_resolved(config: Arc<Resolved>) -> Self {
        Self { config }
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

impl<S> Layer<S> for HttpErrorsLayer {
    type Service = HttpErrors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpErrors {
            inner,
            config: self.config.clone(),
        }
    }
}
