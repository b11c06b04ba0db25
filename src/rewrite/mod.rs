//! IIS URL Rewrite 2.x: inbound `<rules>` and `<rewriteMaps>`.
//!
//! [`RewriteLayer`] runs the rules of a site in order, as IIS's `RewriteModule`
//! does at `BeginRequest`, compiled once when the layer is built:
//!
//! - `<match url negate ignoreCase>` against the URL path without its leading `/`,
//!   percent-decoded, without the query string. The path is relative to the site
//!   root: rules from a sub-folder's `web.config` are not read yet.
//! - `patternSyntax` [`EcmaScript`](PatternSyntax::EcmaScript) (through
//!   [fancy-regex](https://docs.rs/fancy-regex), so back-references and
//!   look-around work), [`Wildcard`](PatternSyntax::Wildcard) and
//!   [`ExactMatch`](PatternSyntax::ExactMatch).
//! - `<conditions logicalGrouping trackAllCaptures>` with `matchType` `Pattern`,
//!   `IsFile` and `IsDirectory`. File checks read the disk through
//!   `tokio::fs::metadata` (off the runtime's threads), and only for requests that
//!   reach such a condition.
//! - In inputs and URLs: server variables (`{HTTP_HOST}`, `{HTTPS}`,
//!   `{SERVER_PORT}`, `{REQUEST_URI}`, `{URL}`, `{QUERY_STRING}`,
//!   `{REQUEST_FILENAME}`, `{REMOTE_ADDR}`, `{REQUEST_METHOD}`, `{CACHE_URL}`,
//!   `{HTTP_<HEADER>}` …), `{R:n}` and `{C:n}`, the functions `{ToLower:…}`,
//!   `{UrlEncode:…}`, `{UrlDecode:…}` and `{EscapeDataString:…}`, and rewrite maps
//!   `{MapName:{key}}` with their `defaultValue`.
//! - Actions:
//!   - `Rewrite`: the request goes on to the inner service with the new URL
//!     (`appendQueryString` keeps the old query); later rules see the new URL.
//!     The inner service finds the original URL in [`OriginalUrl`] and, as on
//!     IIS, in the `X-Original-URL` header. A W3C log
//!     layer outside this one logs the original `cs-uri-stem`, as IIS does; with
//!     `logRewrittenUrl="true"` the response carries [`RewrittenUrl`] and the log
//!     writes that instead.
//!   - `Redirect`: 301, 302, 303 or 307 with `Location` and IIS's "Document
//!     Moved" body (`appendQueryString` adds the query).
//!   - `CustomResponse`: an [`IisError`](crate::IisError) with the status and
//!     substatus, module `RewriteModule`, notification `BeginRequest`, and
//!     `statusReason` / `statusDescription` as the page's reason and summary; the
//!     error pages and the log's `sc-substatus` show it.
//!   - `AbortRequest`: as this crate answers every `AbortRequest` (IIS resets the
//!     connection, which a tower service cannot do): status 400, an empty body,
//!     `Connection: close` and the [`RequestAborted`](crate::ip_security::RequestAborted)
//!     extension, so that an accept loop may reset instead. Logged `400 0 0`.
//!   - `None`.
//! - `stopProcessing` ends the rules after a matching rule; `Redirect`,
//!   `CustomResponse` and `AbortRequest` always end them.
//!
//! Events named as IIS's Failed Request Tracing names them
//! (`RULE_EVALUATION_START`, `RULE_EVALUATION_END`, `URL_CHANGED`) are emitted
//! with `tracing` at `trace` level, target `tower_iis::rewrite`.
//!
//! # Not emulated
//!
//! `<outboundRules>` (a `web.config` holding them gets a warning), `<globalRules>`,
//! rules from sub-folders' `web.config` files, `<serverVariables>` (setting server
//! variables), rewriting to another server (which needs Application Request Routing:
//! answered 404.4 as IIS without it does), and `{C:n}` of earlier conditions inside
//! a later condition's pattern. A regular expression runs under fancy-regex's
//! backtracking limit; a pattern that exceeds it does not match (with a warning).
//!
//! # Errors
//!
//! [`RewriteLayerBuilder::build`] refuses, naming the rule and the attribute: a
//! pattern that does not compile, an unknown server variable, function or map, a
//! `CustomResponse` status out of range, a `Rewrite` or `Redirect` without a URL,
//! a file check without a [physical root](RewriteLayerBuilder::physical_root). From
//! a `web.config` the same mistakes, and an unknown action type, redirect type or
//! attribute, are a [`WebConfigError`](crate::web_config::WebConfigError) (500.19)
//! on the offending line.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_iis::rewrite::{Action, Condition, RewriteLayer, RewriteMap, Rule};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let rules = RewriteLayer::builder()
//!     .rule(
//!         Rule::new("Force HTTPS", "(.*)")
//!             .condition(Condition::pattern("{HTTPS}", "^OFF$"))
//!             .action(Action::redirect("https://{HTTP_HOST}/{R:1}")),
//!     )
//!     .rule(
//!         Rule::new("Legacy pages", ".*")
//!             .condition(Condition::pattern("{Legacy:{R:0}}", "(.+)"))
//!             .action(Action::rewrite("{C:1}")),
//!     )
//!     .map(RewriteMap::new("Legacy").entry("old.aspx", "/new"))
//!     .rule(Rule::new("Block", "^private/").action(Action::custom_response(403, 502)))
//!     .build()?;
//! let svc = ServiceBuilder::new()
//!     .layer(rules)
//!     .service_fn(|req: Request<String>| async move {
//!         Ok::<_, Infallible>(Response::new(format!("handler saw {}", req.uri())))
//!     });
//!
//! let res = svc.clone().oneshot(Request::get("/a?b=1").header("host", "example.com").body(String::new())?).await?;
//! assert_eq!(res.status(), 301);
//! assert_eq!(res.headers()["location"], "https://example.com/a?b=1");
//!
//! // Over TLS the first rule lets the request through; the map rewrites it.
//! let https = |path: &str| Request::get(format!("https://example.com{path}")).body(String::new());
//! let res = svc.clone().oneshot(https("/old.aspx?x=1")?).await?;
//! let body = http_body_util::BodyExt::collect(res.into_body()).await?.to_bytes();
//! assert_eq!(body, "handler saw https://example.com/new?x=1");
//!
//! // CustomResponse: the site's own substatus, for the error pages and the log.
//! let res = svc.clone().oneshot(https("/private/x")?).await?;
//! assert_eq!(res.extensions().get::<tower_iis::IisError>().unwrap().status().to_string(), "403.502");
//! # Ok(())
//! # }
//! ```

mod engine;
mod pattern;
mod rules;
mod service;
mod template;
mod vars;

pub use rules::{
    Action, ActionType, Condition, LogicalGrouping, MatchType, PatternSyntax, RedirectType,
    RewriteMap, Rule,
};
pub use service::{
    OriginalUrl, ResponseFuture, Rewrite, RewriteLayer, RewriteLayerBuilder, RewrittenUrl,
};

#[cfg(feature = "web-config")]
pub(crate) use engine::{check_rule, Place, RuleError};
