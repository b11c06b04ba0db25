//! tower-iis
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod catalog;
pub mod connection;
pub mod error;
pub mod ip_security;
pub mod limits;
pub mod request_filtering;
pub mod ssl;
pub mod status;

pub use connection::ConnectionInfo;
pub use error::IisError;
pub use ip_security::IpSecurityLayer;
pub use limits::ConcurrentRequestLimitLayer;
pub use request_filtering::RequestFilteringLayer;
pub use ssl::RequireSslLayer;
pub use status::{win32_status_from_hresult, IisStatus, ParseStatusError};
