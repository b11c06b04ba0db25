//! ExecuteURL support: the request body of a re-dispatched child request.
//!
//! An ExecuteURL row re-dispatches a `GET` with no body to the inner service, so the
//! layer must build a request of the inner service's own body type. Only layers that
//! run ExecuteURL rows need that, so the capability is a type parameter of
//! [`HttpErrorsLayer`](super::HttpErrorsLayer) and [`HttpErrors`](super::HttpErrors):
//!
//! - [`NoExecuteUrl`] (the default, from [`HttpErrorsBuilder::build`]): no bound on
//!   the request body and no `Clone` bound on the inner service, so the layer composes
//!   with any body type (tower-http's `Limited`, this crate's `LimitedBody`, hyper's
//!   `Incoming`, …). A configuration with an ExecuteURL row is refused by `build()`.
//! - [`WithExecuteUrl`] (from [`HttpErrorsBuilder::build_with_execute_url`]): the
//!   request body must implement [`ExecuteUrlBody`] and the inner service `Clone`.
//!
//! This is the shape tower-http gives an optional capability with its own bounds
//! (`CompressionLayer<P>`, `FollowRedirectLayer<P>`): the plain layer stays generic
//! over every body, and only the opt-in pays the bound.
//!
//! [`HttpErrorsBuilder::build`]: super::HttpErrorsBuilder::build
//! [`HttpErrorsBuilder::build_with_execute_url`]: super::HttpErrorsBuilder::build_with_execute_url

use bytes::Bytes;

/// A request body type the layer can build for an ExecuteURL child request.
///
/// IIS runs the error URL as a `GET` with no body. Implemented for the common body
/// types; a body type that cannot be built empty returns `None`, and ExecuteURL rows
/// then fall back to the one-line body (with a `tracing` warning).
pub trait ExecuteUrlBody: Sized {
    /// An empty body for the child request, if this type can make one.
    fn empty_for_child() -> Option<Self>;
}

macro_rules! default_child_body {
    ($($t:ty),*) => {$(
        impl ExecuteUrlBody for $t {
            fn empty_for_child() -> Option<Self> {
                Some(<$t>::default())
            }
        }
    )*};
}

default_child_body!(
    (),
    String,
    Vec<u8>,
    Bytes,
    http_body_util::Empty<Bytes>,
    http_body_util::Full<Bytes>
);

#[cfg(feature = "axum")]
default_child_body!(axum::body::Body);

#[cfg(feature = "hyper")]
impl ExecuteUrlBody for hyper::body::Incoming {
    fn empty_for_child() -> Option<Self> {
        None
    }
}

/// The layer runs no ExecuteURL rows: no bound on the request body. The default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoExecuteUrl;

/// The layer runs ExecuteURL rows: the request body implements [`ExecuteUrlBody`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WithExecuteUrl;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::NoExecuteUrl {}
    impl Sealed for super::WithExecuteUrl {}
}

/// Whether a layer can build ExecuteURL child requests with body type `B`:
/// [`NoExecuteUrl`] or [`WithExecuteUrl`]. Sealed.
pub trait ExecuteUrlMode<B>: sealed::Sealed {
    /// The child request's body, if this mode can build one.
    fn child_body() -> Option<B>;
}

impl<B> ExecuteUrlMode<B> for NoExecuteUrl {
    fn child_body() -> Option<B> {
        None
    }
}

impl<B: ExecuteUrlBody> ExecuteUrlMode<B> for WithExecuteUrl {
    fn child_body() -> Option<B> {
        B::empty_for_child()
    }
}
