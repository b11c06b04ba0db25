//! [`ExecuteUrlBody`]: the request body an ExecuteURL row's child request needs.

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

default_child_body!((), String, Vec<u8>, Bytes);

#[cfg(feature = "axum")]
default_child_body!(axum::body::Body);

#[cfg(feature = "hyper")]
impl ExecuteUrlBody for hyper::body::Incoming {
    fn empty_for_child() -> Option<Self> {
        None
    }
}
