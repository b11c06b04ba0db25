//! IIS request filtering (`<system.webServer><security><requestFiltering>`).
//!
//! [`RequestFilteringLayer`] checks each request against IIS's request-filtering
//! rules before the inner service sees it. A request that breaks a rule is answered
//! at once, the inner service never called, with what IIS's `RequestFilteringModule`
//! leaves behind: the status, an empty body, `Connection: close`, and an
//! [`IisError`](crate::IisError) in the response extensions carrying the substatus,
//! module `RequestFilteringModule`, notification `BeginRequest` and HRESULT `0`. The
//! error-page layer renders it and the log layer logs `404 7 0` (say) from it, as for
//! any handler error.
//!
//! # Rules, defaults and codes
//!
//! Out of the box the layer is configured as IIS 10 is ([`RequestFilteringLayer::iis_defaults`]).
//!
//! | # | Rule (IIS name) | IIS 10 default | Denied with |
//! |---|---|---|---|
//! | 1 | `verbs` (`allowUnlisted`, `<add verb allowed>`), case-sensitive, exact | all verbs allowed, no rows | 404.6 |
//! | 2 | `requestLimits@maxAllowedContentLength` (declared `Content-Length`, or a body read past it) | 30000000 bytes | 413.1 (legacy: 404.13) |
//! | 3 | `requestLimits@maxUrl` (path bytes as sent, query excluded) | 4096 | 404.14 |
//! | 4 | `requestLimits@maxQueryString` (bytes, `?` excluded) | 2048 | 404.15 |
//! | 5 | `requestLimits/headerLimits` (`<add header sizeLimit>`) | none | 431 (legacy: 404.10) |
//! | 6 | `allowDoubleEscaping` (an escape left after one decoding, or any `+`) | false | 404.11 |
//! | 7 | `allowHighBitCharacters` (a byte above 0x7F in the path) | true | 404.12 |
//! | 8 | URL segment count ([`max_url_segments`](RequestFilteringBuilder::max_url_segments); no IIS attribute) | off | 404.20 |
//! | 9 | `denyUrlSequences` (raw and decoded path, ASCII case-insensitive) | none | 404.5 |
//! | 10 | `hiddenSegments` (whole segment, ASCII case-insensitive) | `web.config`, `bin`, `App_code`, `App_GlobalResources`, `App_LocalResources`, `App_WebReferences`, `App_Data`, `App_Browsers` | 404.8 |
//! | 11 | `fileExtensions` (`allowUnlisted`, `<add fileExtension allowed>`; no extension is `.`) | unlisted allowed; the 44 of [`DEFAULT_DENIED_FILE_EXTENSIONS`] denied | 404.7 |
//! | 12 | `denyQueryStringSequences` (raw, and decoded when `unescapeQueryString`) | none; `unescapeQueryString` true | 404.18 |
//! | 13 | `filteringRules` (`scanUrl`, `scanQueryString`, `scanHeaders`, `appliesTo`, `denyStrings`) | none | 404.19 |
//! | – | `alwaysAllowedUrls` / `alwaysAllowedQueryStrings` (exempt from rules 6, 7, 9–11, 13 / 12–13) | none | – |
//!
//! The rules run in the order of the table and the first one broken answers. IIS does
//! not document its order; this one checks the request line and headers first (verb,
//! declared length, sizes), then the URL's form (escaping, high-bit characters,
//! segment count), then its content (sequences, hidden segments, extensions), then
//! the query string, then the custom rules, so a request that breaks several rules
//! gets the code of the cheapest, most basic check.
//!
//! [`LimitCodes::Legacy`] answers 404.13 and 404.10 instead of 413.1 and 431, as IIS
//! 7.0 to 8.5 did.
//!
//! # How things are counted and matched
//!
//! - Lengths are bytes of the request target as sent: `maxUrl` counts the raw path,
//!   `maxQueryString` the raw query without `?`. A path of exactly `maxUrl` bytes
//!   passes; one byte more is denied.
//! - Path rules other than lengths look at the path decoded once (`%41` → `A`);
//!   `\` separates segments as `/` does. The extension is taken from the last segment,
//!   from its last dot; a last segment without a dot (or an empty one, `/dir/`) has no
//!   extension, which IIS writes `.`: allow `.` to serve extensionless URLs when
//!   `fileExtensions@allowUnlisted` is false.
//! - Deny sequences, deny strings, hidden segments and extensions compare ASCII
//!   case-insensitively; verbs are case-sensitive and exact (`get` is not `GET`).
//! - `headerLimits` measure a header's value; repeated headers count as joined by `, `.
//! - Decoding costs nothing for a target without `%`, and is done on the stack for a
//!   path or query of up to 1 KiB; only a longer escaped one is decoded on the heap.
//!   A request that passes with neither allocates nothing in the filter
//!   (`tests/alloc/request_filtering_alloc.rs` checks it).
//! - Always-allowed URLs compare with the raw path (ASCII case-insensitive);
//!   always-allowed query strings with the raw query, exactly. The limits, verbs and
//!   header scans of filtering rules still apply to them.
//!
//! # Bodies past `maxAllowedContentLength`
//!
//! A declared `Content-Length` above the limit is answered 413.1 before the handler
//! runs (and, since the body is never read, hyper sends no `100 Continue`). A body
//! without a declared length (chunked) cannot be judged up front, so the inner service
//! gets the body as a [`LimitedBody`], which fails with
//! [`http_body_util::LengthLimitError`] at the first frame past the limit instead of
//! reading on. A handler sees that as a body error: axum's `Bytes`, `String`, `Json`
//! and `Form` extractors reject with their own 413, and a handler reading the body by
//! hand gets the error from `frame()`/`collect()`. When that happens the layer
//! replaces whatever the inner service answered (a response or an error) with 413.1,
//! so the client gets IIS's answer. This needs one small shared flag per request whose
//! body is of unknown length; a request with no body or a known length within the
//! limit allocates nothing. A body that lies about its length is still cut off, but
//! then the handler's own answer stands.
//!
//! # Example
//!
//! Needs in your crate `tower` (feature `util`), `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_iis::request_filtering::RequestFilteringLayer;
//! use tower_iis::IisError;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let svc = ServiceBuilder::new()
//!     .layer(RequestFilteringLayer::builder().deny_verb("TRACE").build()?)
//!     .service(service_fn(|_req: Request<_>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("hello")))
//!     }));
//!
//! let req = Request::get("/App_Data/users.mdf").body(String::new())?;
//! let res = svc.clone().oneshot(req).await?;
//! assert_eq!(res.status(), 404);
//! assert_eq!(res.headers()["connection"], "close");
//! let err = res.extensions().get::<IisError>().unwrap();
//! assert_eq!(err.status().to_string(), "404.8");
//! assert_eq!(err.module(), "RequestFilteringModule");
//!
//! let res = svc.oneshot(Request::get("/index.html").body(String::new())?).await?;
//! assert_eq!(res.status(), 200);
//! # Ok(())
//! # }
//! ```
//!
//! With axum, `Router::new().route(..).layer(RequestFilteringLayer::iis_defaults())`.

mod body;
mod check;
mod config;
mod layer;
#[cfg(test)]
mod reference;
mod service;

pub use body::LimitedBody;
#[cfg(feature = "web-config")]
pub(crate) use config::{
    check_always_allowed_url, check_extension, check_hidden_segment, check_rule_has_deny_strings,
    check_rule_name, check_verb, header_name, non_empty,
};
pub use config::{
    Config, FilteringRule, LimitCodes, RequestFilteringBuilder, DEFAULT_DENIED_FILE_EXTENSIONS,
    DEFAULT_HIDDEN_SEGMENTS, DEFAULT_MAX_ALLOWED_CONTENT_LENGTH, DEFAULT_MAX_QUERY_STRING,
    DEFAULT_MAX_URL,
};
pub use layer::RequestFilteringLayer;
pub use service::{RequestFiltering, ResponseFuture};

#[cfg(test)]
mod tests;
