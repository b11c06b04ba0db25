//! tower-iis
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod catalog;
pub mod connection;
pub mod error;
pub mod status;
pub mod w3c;

pub use connection::ConnectionInfo;
pub use error::IisError;
pub use status::{win32_status_from_hresult, IisStatus, ParseStatusError};
pub use w3c::W3cLogLayer;
