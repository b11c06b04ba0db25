//! [`RequestFilteringLayer`].

use std::sync::Arc;

use tower_layer::Layer;

use super::config::{Config, RequestFilteringBuilder};
use super::service::RequestFiltering;

/// Applies IIS request filtering (`<requestFiltering>`) to a service.
///
/// Cheap to clone: the configuration is shared. See the [module docs](super).
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestFilteringLayer {
    config: Arc<Config>,
}

impl RequestFilteringLayer {
    /// The layer with IIS 10's out-of-the-box configuration.
    pub fn iis_defaults() -> Self {
        // The defaults are valid by construction.
        match RequestFilteringBuilder::new().build() {
            Ok(layer) => layer,
            Err(e) => unreachable!("IIS defaults are valid: {e}"),
        }
    }

    /// A builder starting from IIS 10's defaults.
    pub fn builder() -> RequestFilteringBuilder {
        RequestFilteringBuilder::new()
    }

    pub(crate) fn from_config(config: Arc<Config>) -> Self {
        Self { config }
    }

    /// The configuration this layer applies.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl Default for RequestFilteringLayer {
    fn default() -> Self {
        Self::iis_defaults()
    }
}

impl<S> Layer<S> for RequestFilteringLayer {
    type Service = RequestFiltering<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestFiltering::new(inner, self.config.clone())
    }
}
