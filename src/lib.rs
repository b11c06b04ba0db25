//! Tower middleware that makes a service behave like Microsoft IIS where people see it.
//!
//! - [`IisStatus`] and the [`catalog`]: IIS's `status.substatus` codes (`404.3`,
//!   `500.19`, `403.14` …), every one by name, with what IIS shows for it.
//! - [`IisError`]: what a handler returns to fail the IIS way. It marks the response
//!   (status, empty body, detail in the extensions) and renders nothing.
//! - [`HttpErrorsLayer`]: IIS's `<httpErrors>`: detailed and custom error pages,
//!   `errorMode`, `existingResponse`, and File / ExecuteURL / Redirect rows.
//! - The IIS modules that answer before the handler: [`RequestFilteringLayer`]
//!   (`<requestFiltering>` with IIS 10 defaults), [`ConcurrentRequestLimitLayer`]
//!   (503.2), [`IpSecurityLayer`] (IP and dynamic IP restrictions) and
//!   [`SslAccessLayer`] (`sslFlags`: 403.4, 403.5, 403.7, 403.16, 403.17; with
//!   [`RequireSslLayer`] the shorthand for 403.4).
//! - `authentication` (feature of the same name): IIS's anonymous and Basic
//!   authentication with the credential check you supply, putting the [`Logon`] on
//!   the request and the response; [`authorization`]: IIS URL Authorization's
//!   allow and deny rules (401.2).
//! - [`W3cLogLayer`]: IIS's W3C extended access log (`u_ex*.log` files, IIS's
//!   fields and rollover periods, written off the request path), and
//!   [`w3c::reader`] to read such logs back.
//! - `freb` (feature `failed-request-tracing`): IIS's Failed Request Tracing, the
//!   `frNNNNNN.xml` trace of each request that fails a rule, from its `tracing`
//!   events, with a stylesheet for the browser.
//! - `rewrite` (feature of the same name): `RewriteLayer`, IIS URL Rewrite's
//!   inbound rules and rewrite maps (Rewrite, Redirect, CustomResponse with your
//!   own substatus codes, AbortRequest).
//! - [`CustomHeadersLayer`]: IIS's `<httpProtocol><customHeaders>`, headers added to
//!   every response.
//! - [`ConnectionInfo`]: the client and server addresses, which decide who is local.
//! - A whole site: `static_files` (IIS's static file module over tower-http's file
//!   service), `web_config` (reads an IIS `web.config`), `site` (`IisSite`, every
//!   layer in IIS's order) and `test_site` (`TestSite`, a site on a loopback port
//!   for tests), behind features of the same names.
//!
//! # Example with axum
//!
//! Needs feature `axum` and in your crate `axum`, `tower` (feature `util`),
//! `http-body-util` and `tokio` (features `macros`, `rt`).
//!
//! ```
//! # #[cfg(feature = "axum")]
//! # mod with_axum {
//! use axum::{routing::get, Router};
//! use http::Request;
//! use http_body_util::BodyExt;
//! use tower::ServiceExt;
//! use tower_iis::{HttpErrorsLayer, IisError, IisResultExt, IisStatus, RequestFilteringLayer};
//!
//! async fn report() -> Result<String, IisError> {
//!     Err(IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION))
//! }
//!
//! async fn config() -> Result<String, IisError> {
//!     // An io::Error converts as IIS maps it: a missing file is 404.0.
//!     Ok(std::fs::read_to_string("/no/such/app.config")?)
//! }
//!
//! async fn user() -> Result<String, IisError> {
//!     let id: Option<&str> = None;
//!     Ok(id.iis(IisStatus::NOT_FOUND)?.to_owned())
//! }
//!
//! pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
//!     let app = Router::new()
//!         .route("/report.xyz", get(report))
//!         .route("/config", get(config))
//!         .route("/user", get(user))
//!         .layer(RequestFilteringLayer::iis_defaults())
//!         .layer(HttpErrorsLayer::new());
//!     // Serve it with `app.into_make_service_with_connect_info::<tower_iis::ConnectionInfo>()`
//!     // so that loopback clients get the detailed page; here, one request in process.
//!     let req = Request::builder().uri("/config").header("accept-language", "en-US").body(axum::body::Body::empty())?;
//!     let res = app.oneshot(req).await?;
//!     assert_eq!(res.status(), 404);
//!     assert_eq!(res.extensions().get::<IisError>().unwrap().hresult(), 0x8007_0002);
//!     let page = res.into_body().collect().await?.to_bytes();
//!     assert!(std::str::from_utf8(&page)?.contains("<title>404 - File or directory not found.</title>"));
//!     Ok(())
//! }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # #[cfg(feature = "axum")]
//! # with_axum::run().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Example with any tower service
//!
//! Needs in your crate `tower` (feature `util`), `http-body-util`, `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use http_body_util::BodyExt;
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_iis::{HttpErrorsLayer, IisError, IisStatus, RequestFilteringLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let svc = ServiceBuilder::new()
//!     .layer(HttpErrorsLayer::new())
//!     .layer(RequestFilteringLayer::iis_defaults())
//!     .service_fn(|req: Request<_>| async move {
//!         if req.uri().path().ends_with(".xyz") {
//!             return Ok(IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION).into_http_response());
//!         }
//!         Ok::<_, Infallible>(Response::new(String::from("hello")))
//!     });
//!
//! // Request filtering hides web.config: 404.8, answered before the handler runs.
//! let req = Request::builder()
//!     .uri("/web.config")
//!     .header("accept-language", "en-US")
//!     .body(String::new())?;
//! let res = svc.clone().oneshot(req).await?;
//! assert_eq!(res.status(), 404);
//! assert_eq!(res.extensions().get::<IisError>().unwrap().status(), IisStatus::NOT_FOUND_HIDDEN_NAMESPACE);
//! // The client has no known address, so it is remote: the custom page.
//! let page = res.into_body().collect().await?.to_bytes();
//! assert!(std::str::from_utf8(&page)?.contains("<title>404 - File or directory not found.</title>"));
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `axum`: `IntoResponse` for [`IisError`], axum's `ConnectInfo` understood, and a
//!   `Connected` impl so `into_make_service_with_connect_info::<ConnectionInfo>()` works.
//! - `hyper`: ExecuteURL support for hyper's `Incoming` request body type.
//! - `local-time`: W3C log rollover at local midnight
//!   (`W3cLogBuilder::local_time_rollover`; pulls jiff and the system time zone).
//! - `static-files`: `static_files::StaticFiles` (pulls tower-http's `fs` and tokio's `fs`).
//! - `rewrite`: `rewrite::RewriteLayer` (pulls fancy-regex and tokio's `fs`).
//! - `web-config`: `web_config::WebConfig` (pulls roxmltree; implies `static-files`).
//! - `authentication`: `authentication::AuthenticationLayer`, anonymous and Basic
//!   authentication (pulls base64).
//! - `site`: `site::IisSite` (implies `web-config`, `rewrite` and `authentication`).
//! - `failed-request-tracing`: `freb`: IIS's Failed Request Tracing, a trace file
//!   for each request that fails, from `tracing` events (pulls tracing-subscriber).
//! - `tls`: HTTPS for `server` (rustls on the ring provider, ALPN `h2` and
//!   `http/1.1`), `tls::TlsConfig` from PEM files or self-signed, client
//!   certificates in [`TlsInfo`], trusted CAs for [`SslAccessLayer`], and
//!   `tls::TlsListener` for `axum::serve` (with `axum`). Implies `server`.
//! - `test-site`: `test_site::TestSite` (implies `site` and `hyper`; pulls hyper's
//!   server, hyper-util and a tokio runtime).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;
// Before the modules that use its macros.
#[macro_use]
mod gate;

#[cfg(feature = "authentication")]
#[cfg_attr(docsrs, doc(cfg(feature = "authentication")))]
pub mod authentication;
pub mod authorization;
pub mod catalog;
mod config_error;
pub mod connection;
pub mod custom_headers;
pub mod error;
#[cfg(feature = "failed-request-tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "failed-request-tracing")))]
pub mod freb;
pub mod http_errors;
mod http_util;
mod ip_net;
pub mod ip_security;
pub mod limits;
mod logon;
mod percent;
pub mod request_filtering;
#[cfg(feature = "rewrite")]
#[cfg_attr(docsrs, doc(cfg(feature = "rewrite")))]
pub mod rewrite;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;
#[cfg(feature = "site")]
#[cfg_attr(docsrs, doc(cfg(feature = "site")))]
pub mod site;
pub mod ssl;
#[cfg(feature = "static-files")]
#[cfg_attr(docsrs, doc(cfg(feature = "static-files")))]
pub mod static_files;
pub mod status;
#[cfg(feature = "test-site")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-site")))]
pub mod test_site;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
mod tls_info;
pub mod w3c;
#[cfg(feature = "web-config")]
#[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
pub mod web_config;
mod wire;

pub use config_error::{BoxError, ConfigError};

/// The README's code blocks, compiled and run by `cargo test --doc` (they use
/// every feature).
#[cfg(all(doctest, feature = "axum", feature = "test-site", feature = "tls"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
pub use connection::ConnectionInfo;
pub use custom_headers::CustomHeadersLayer;
pub use error::{IisError, IisResultExt};
pub use http_errors::HttpErrorsLayer;
pub use ip_security::IpSecurityLayer;
pub use limits::ConcurrentRequestLimitLayer;
pub use logon::Logon;
pub use request_filtering::RequestFilteringLayer;
pub use ssl::{RequireSslLayer, SslAccessLayer};
pub use status::{win32_status_from_hresult, IisStatus, ParseStatusError};
pub use tls_info::{TlsInfo, TlsVersion};
pub use w3c::W3cLogLayer;
