//! IIS `<httpErrors>`: detailed and custom error pages, rendered late.
//!
//! Handlers and inner layers only *mark* a response (status, empty body, an
//! [`IisError`](crate::IisError) in the extensions). [`HttpErrorsLayer`] decides,
//! as IIS's custom-error module does, whether to replace the body and with what:
//!
//! - **errorMode** ([`ErrorMode`]): `DetailedLocalOnly` (default) shows the detailed
//!   page to loopback clients and the custom page to everyone else; `Custom` and
//!   `Detailed` force one or the other.
//! - **existingResponse** ([`ExistingResponse`]): `Auto` (default) follows IIS's
//!   decision list: the "try skip custom errors" flag passes the response through;
//!   otherwise custom mode replaces the body, and detailed mode fills an empty body
//!   but passes a handler's own body through. `Replace` always replaces;
//!   `PassThrough` never does. Only statuses 400 and above are touched.
//!   For JSON APIs, [`HttpErrorsLayer::api`] (`FillEmpty`, not an IIS value) keeps
//!   every body the application wrote and fills only empty error responses, with
//!   problem+json or the page by `Accept`.
//! - **rows** ([`ErrorRow`]): for custom mode, the exact `status.substatus` row wins,
//!   then the status's any-substatus row, then `defaultPath`, then a one-line body.
//!   A row serves a file (`File`, optionally per `Accept-Language` folder),
//!   re-dispatches to the inner service (`ExecuteURL`, with the query
//!   `?<status>;<original absolute URL>`), or redirects (`Redirect`, 302 with an
//!   absolute `Location`). IIS's nine default rows (401, 403, 404, 405, 406, 412,
//!   500, 501, 502) are built in, with pages in this crate's words.
//!
//! The detailed page follows the IIS 8.5/10 layout (XHTML 1.0 Strict, title
//! `IIS 10.0 Detailed Error - 404.3 - Not Found`). Every value that came from the
//! request is HTML-escaped. Headers the inner service set (`Allow`,
//! `WWW-Authenticate`, `Connection`, `Retry-After`, …) survive a replacement; the
//! headers that describe the old body do not. A `HEAD` request gets the headers
//! and no body.
//!
//! On 1xx–3xx responses the inner body is passed through untouched and nothing is
//! allocated.
//!
//! # Example
//!
//! Needs in your crate `tower` (feature `util`), `http-body-util`, `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use http_body_util::BodyExt;
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_iis::http_errors::{ErrorMode, HttpErrorsLayer};
//! use tower_iis::{ConnectionInfo, IisError, IisStatus};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let svc = ServiceBuilder::new()
//!     .layer(HttpErrorsLayer::new())
//!     .service_fn(|_req: Request<String>| async {
//!         Ok::<Response<String>, Infallible>(
//!             IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION).into_http_response(),
//!         )
//!     });
//!
//! // A loopback client sees the detailed page.
//! let mut req = Request::builder().uri("/file.xyz").header("host", "localhost").body(String::new())?;
//! req.extensions_mut().insert(ConnectionInfo::new(
//!     "127.0.0.1:50000".parse()?,
//!     "127.0.0.1:8080".parse()?,
//! ));
//! let res = svc.clone().oneshot(req).await?;
//! assert_eq!(res.status(), 404);
//! assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
//! let page = String::from_utf8(res.into_body().collect().await?.to_bytes().to_vec())?;
//! assert!(page.contains("<title>IIS 10.0 Detailed Error - 404.3 - Not Found</title>"));
//! assert!(page.contains("http://localhost:8080/file.xyz"));
//!
//! // A client with no known address is remote: the custom page, no substatus.
//! let req = Request::builder().uri("/file.xyz").header("accept-language", "en-US").body(String::new())?;
//! let res = svc.oneshot(req).await?;
//! let page = String::from_utf8(res.into_body().collect().await?.to_bytes().to_vec())?;
//! assert!(page.contains("<title>404 - File or directory not found.</title>"));
//! assert!(!page.contains("404.3"));
//!
//! // Configuration is checked when the layer is built.
//! let err = HttpErrorsLayer::builder()
//!     .error_mode(ErrorMode::Custom)
//!     .error(tower_iis::http_errors::ErrorRow::file(404, "/no/such/page.htm"))
//!     .build()
//!     .unwrap_err();
//! assert!(err.to_string().contains("statusCode=\"404\""));
//! # Ok(())
//! # }
//! ```

mod body;
mod config;
pub mod execute_url;
mod future;
mod layer;
pub(crate) mod render;
mod service;

pub use body::ResponseBody;
pub use config::{
    ErrorMode, ErrorRow, ExistingResponse, HttpErrorsBuilder, ResponseMode, DEFAULT_BUILD,
    DEFAULT_MORE_INFORMATION_LINK, DEFAULT_SERVER_VERSION,
};
pub use execute_url::{ExecuteUrlBody, NoExecuteUrl, WithExecuteUrl};
pub use future::ResponseFuture;
pub use layer::HttpErrorsLayer;
pub use service::HttpErrors;
