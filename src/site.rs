//! [`IisSite`]: an IIS site in one service, from code or from a `web.config`.
//!
//! The site stacks every layer of this crate in IIS's order, outermost first:
//!
//! ```text
//! W3C log → (failed request tracing) → customHeaders → httpErrors → (500.19 while web.config is bad)
//!   → requestFiltering → ipSecurity / dynamicIpSecurity → URL Rewrite
//!   → appConcurrentRequestLimit
//!   → static files (StaticFileModule, default documents, directory listing)
//!   → your application, for paths that name no file or folder
//! ```
//!
//! URL Rewrite's inbound rules ([`RewriteLayer`], from `<rewrite>` or
//! [`rewrite`](IisSiteBuilder::rewrite)) run at `BeginRequest` after request
//! filtering and the IP restrictions, which are registered ahead of `RewriteModule`
//! on IIS: a URL request filtering refuses is refused before any rule sees it, and a
//! rewritten URL is not filtered again. The W3C log sits outside, so it logs the URL
//! the client sent (`cs-uri-stem`), as IIS does, unless a rule says
//! `logRewrittenUrl="true"`. A rewritten URL is served by the static files or your
//! application, and a `CustomResponse` is rendered by the error pages.
//!
//! Your application (an axum `Router`, any tower service) runs for requests whose
//! path names no existing file or folder under the content root, as ASP.NET routing
//! does on IIS by default; see [`StaticFiles`](crate::static_files). It receives the
//! request body as a [`LimitedBody`](crate::request_filtering::LimitedBody).
//!
//! [`IisSite::from_web_config`] reads `<root>/web.config` (a site without one gets
//! IIS's defaults). When the file is bad, [`build`](IisSiteBuilder::build) fails with
//! the [`WebConfigError`], unless
//! [`serve_config_errors`](IisSiteBuilder::serve_config_errors) is on: then the site
//! starts anyway and, as IIS does, answers **every** request with the `500.19` page
//! naming the file, line and offending element (logged `500 19 13`).
//!
//! Behind a reverse proxy,
//! [`trusted_proxies`](IisSiteBuilder::trusted_proxies) makes the whole site,
//! the W3C log included, see the client the proxy names instead of the proxy.
//!
//! Without a log directory or layer, log lines go to `tracing` (target
//! `tower_iis::w3c::access`).
//!
//! With the `failed-request-tracing` feature,
//! [`failed_request_logging`](IisSiteBuilder::failed_request_logging) turns on IIS's
//! Failed Request Tracing with the rules of web.config's `<traceFailedRequests>`
//! (see [`freb`](crate::freb)).
//!
//! # Example
//!
//! Needs feature `site` and in your crate `tower` (feature `util`), `http-body-util`, `tokio` (features `macros`, `rt`).
//!
//! ```
//! use http::Request;
//! use http_body_util::BodyExt;
//! use tower::ServiceExt;
//! use tower_iis::site::IisSite;
//! use tower_iis::ConnectionInfo;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let root = std::env::temp_dir().join(format!("tower-iis-doc-site-{}", std::process::id()));
//! std::fs::create_dir_all(&root)?;
//! std::fs::write(root.join("report.xyz"), "no MIME map")?;
//! std::fs::write(
//!     root.join("web.config"),
//!     r#"<configuration><system.webServer><directoryBrowse enabled="true" /></system.webServer></configuration>"#,
//! )?;
//!
//! let site = IisSite::from_web_config(&root).build()?;
//! let mut req = Request::get("/report.xyz").header("host", "localhost").body(String::new())?;
//! req.extensions_mut().insert(ConnectionInfo::new("127.0.0.1:50000".parse()?, "127.0.0.1:80".parse()?));
//! let res = site.clone().oneshot(req).await?;
//! assert_eq!(res.status(), 404);
//! let page = String::from_utf8(res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes().to_vec())?;
//! assert!(page.contains("<title>IIS 10.0 Detailed Error - 404.3 - Not Found</title>"));
//!
//! // Request filtering hides web.config itself (404.8), before the file system.
//! let res = site.clone().oneshot(Request::get("/web.config").body(String::new())?).await?;
//! assert_eq!(res.status(), 404);
//! # std::fs::remove_dir_all(&root)?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::connection::TrustedProxies;
use crate::custom_headers::CustomHeaders;
use crate::gate::Gate;
use crate::http_errors::{HttpErrors, HttpErrorsLayer, WithExecuteUrl};
use crate::ip_security::{IpSecurity, IpSecurityLayer};
use crate::limits::{ConcurrentRequestLimit, ConcurrentRequestLimitLayer};
use crate::request_filtering::{RequestFiltering, RequestFilteringLayer};
use crate::rewrite::{Rewrite, RewriteLayer};
use crate::static_files::{NoFallback, StaticFiles, StaticFilesError};
use crate::w3c::{Sink, W3cLog, W3cLogGuard, W3cLogHandle, W3cLogLayer};
use crate::web_config::{ConfigWarning, WebConfig, WebConfigError};
use crate::IisError;

/// The layers of a site inside the log (and failed request tracing), outermost
/// first.
pub type SiteLayers<S> = CustomHeaders<
    HttpErrors<
        ConfigFailure<
            RequestFiltering<IpSecurity<Rewrite<ConcurrentRequestLimit<StaticFiles<S>>>>>,
        >,
        WithExecuteUrl,
    >,
>;

/// The layers of a site, outermost first.
#[cfg(feature = "failed-request-tracing")]
pub type SiteStack<S> = W3cLog<crate::freb::FailedRequestTracing<SiteLayers<S>>>;

/// The layers of a site, outermost first.
#[cfg(not(feature = "failed-request-tracing"))]
pub type SiteStack<S> = W3cLog<SiteLayers<S>>;

/// Why a site could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum SiteError {
    /// The web.config is bad (and [`IisSiteBuilder::serve_config_errors`] is off).
    WebConfig(WebConfigError),
    /// The content root cannot be served.
    StaticFiles(StaticFilesError),
    /// The `<httpErrors>` rows cannot be loaded (a page file is missing …).
    HttpErrors(crate::ConfigError),
    /// The W3C log cannot be set up.
    Log(crate::ConfigError),
    /// Failed request tracing cannot be set up.
    #[cfg(feature = "failed-request-tracing")]
    Tracing(crate::ConfigError),
}

impl fmt::Display for SiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WebConfig(e) => write!(f, "bad web.config: {e}"),
            Self::StaticFiles(e) => write!(f, "bad content root: {e}"),
            Self::HttpErrors(e) => e.fmt(f),
            Self::Log(e) => write!(f, "cannot set up the W3C log: {e}"),
            #[cfg(feature = "failed-request-tracing")]
            Self::Tracing(e) => write!(f, "cannot set up failed request tracing: {e}"),
        }
    }
}

impl std::error::Error for SiteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::WebConfig(e) => Some(e),
            Self::StaticFiles(e) => Some(e),
            Self::HttpErrors(e) => Some(e),
            Self::Log(e) => Some(e),
            #[cfg(feature = "failed-request-tracing")]
            Self::Tracing(e) => Some(e),
        }
    }
}

enum LogChoice {
    Tracing,
    Directory(PathBuf),
    Layer(W3cLogLayer),
}

/// Builds an [`IisSite`]. See the [module docs](self).
#[must_use]
pub struct IisSiteBuilder<S = NoFallback> {
    root: PathBuf,
    app: Option<S>,
    web_config: Option<Result<WebConfig, WebConfigError>>,
    serve_config_errors: bool,
    http_errors: Option<HttpErrorsLayer<WithExecuteUrl>>,
    request_filtering: Option<RequestFilteringLayer>,
    ip_security: Option<IpSecurityLayer>,
    rewrite: Option<RewriteLayer>,
    concurrent_request_limit: usize,
    directory_browse: Option<bool>,
    case_insensitive_paths: bool,
    log: LogChoice,
    trusted_proxies: Option<TrustedProxies>,
    #[cfg(feature = "failed-request-tracing")]
    tracing: Option<crate::freb::FailedRequestTracingBuilder>,
}

impl<S> fmt::Debug for IisSiteBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IisSiteBuilder")
            .field("root", &self.root)
            .field("app", &self.app.is_some())
            .field("serve_config_errors", &self.serve_config_errors)
            .finish_non_exhaustive()
    }
}

impl<S> IisSiteBuilder<S> {
    /// The application: requests for paths that name no file or folder go to it.
    pub fn app<T>(self, app: T) -> IisSiteBuilder<T> {
        IisSiteBuilder {
            root: self.root,
            app: Some(app),
            web_config: self.web_config,
            serve_config_errors: self.serve_config_errors,
            http_errors: self.http_errors,
            request_filtering: self.request_filtering,
            ip_security: self.ip_security,
            rewrite: self.rewrite,
            concurrent_request_limit: self.concurrent_request_limit,
            directory_browse: self.directory_browse,
            case_insensitive_paths: self.case_insensitive_paths,
            log: self.log,
            trusted_proxies: self.trusted_proxies,
            #[cfg(feature = "failed-request-tracing")]
            tracing: self.tracing,
        }
    }

    /// Configures the site from a parsed web.config. Layers set explicitly with the
    /// other methods win over it.
    pub fn web_config(mut self, config: WebConfig) -> Self {
        self.web_config = Some(Ok(config));
        self
    }

    /// Reads a web.config file (a missing file means IIS's defaults).
    pub fn web_config_file(mut self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        self.web_config = path.exists().then(|| WebConfig::load(path));
        self
    }

    /// IIS's behaviour for a bad web.config: start anyway and answer every request
    /// with the 500.19 page. Off by default ([`build`](Self::build) fails instead).
    pub fn serve_config_errors(mut self, enable: bool) -> Self {
        self.serve_config_errors = enable;
        self
    }

    /// The error-page layer (instead of the one from web.config or the defaults),
    /// from [`build`](crate::http_errors::HttpErrorsBuilder::build) or
    /// [`build_with_execute_url`](crate::http_errors::HttpErrorsBuilder::build_with_execute_url).
    pub fn http_errors(mut self, layer: impl Into<HttpErrorsLayer<WithExecuteUrl>>) -> Self {
        self.http_errors = Some(layer.into());
        self
    }

    /// The request-filtering layer (instead of web.config's or IIS 10's defaults).
    pub fn request_filtering(mut self, layer: RequestFilteringLayer) -> Self {
        self.request_filtering = Some(layer);
        self
    }

    /// The IP restrictions (instead of web.config's; none by default).
    pub fn ip_security(mut self, layer: IpSecurityLayer) -> Self {
        self.ip_security = Some(layer);
        self
    }

    /// URL Rewrite's rules (instead of web.config's `<rewrite>`; none by default).
    /// Build the layer with the site's content root as its
    /// [`physical_root`](crate::rewrite::RewriteLayerBuilder::physical_root) for
    /// `IsFile` / `IsDirectory` conditions.
    pub fn rewrite(mut self, layer: RewriteLayer) -> Self {
        self.rewrite = Some(layer);
        self
    }

    /// `appConcurrentRequestLimit` (default 5000).
    pub fn concurrent_request_limit(mut self, limit: usize) -> Self {
        self.concurrent_request_limit = limit;
        self
    }

    /// `directoryBrowse@enabled`, over web.config's.
    pub fn directory_browse(mut self, enabled: bool) -> Self {
        self.directory_browse = Some(enabled);
        self
    }

    /// Paths compare ignoring case, as on NTFS (`/SITE.CSS` serves `site.css`); on
    /// by default, so a site moved from Windows keeps its links. `false` makes
    /// them case-sensitive, as the file system here is. Hidden segments, file
    /// extensions and default documents compare ignoring case either way.
    pub fn case_insensitive_paths(mut self, enabled: bool) -> Self {
        self.case_insensitive_paths = enabled;
        self
    }

    /// W3C log files under `dir/W3SVC1/` (IIS's defaults); the site flushes and
    /// closes them when its last clone is dropped.
    pub fn log_directory(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log = LogChoice::Directory(dir.into());
        self
    }

    /// Turns failed request tracing on (IIS's `traceFailedRequestsLogging
    /// enabled="true"`): trace files under `dir/W3SVC1/`, IIS's other defaults
    /// (`maxLogFiles` 50), the rules of web.config's `<traceFailedRequests>`.
    ///
    /// The events are collected by a [`TraceCollector`](crate::freb::TraceCollector)
    /// that must be in the process's `tracing` subscriber.
    #[cfg(feature = "failed-request-tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "failed-request-tracing")))]
    pub fn failed_request_logging(self, dir: impl Into<PathBuf>) -> Self {
        self.failed_request_tracing(
            crate::freb::FailedRequestTracingLayer::builder().directory(dir),
        )
    }

    /// Turns failed request tracing on with your settings and rules; the rules of
    /// web.config's `<traceFailedRequests>` come after yours. Without any rule the
    /// site traces nothing.
    #[cfg(feature = "failed-request-tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "failed-request-tracing")))]
    pub fn failed_request_tracing(
        mut self,
        builder: crate::freb::FailedRequestTracingBuilder,
    ) -> Self {
        self.tracing = Some(builder);
        self
    }

    /// The reverse proxies whose forwarding header names the client (see
    /// [`connection`](crate::connection#behind-a-reverse-proxy)). The site takes
    /// the client address from it before any of its layers runs, so the W3C log's
    /// `c-ip`, the local/remote choice of the error pages and the IP
    /// restrictions all see the real client. None by default.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = (!proxies.is_empty()).then_some(proxies);
        self
    }

    /// A W3C log layer you built (you keep its guard).
    pub fn log(mut self, layer: W3cLogLayer) -> Self {
        self.log = LogChoice::Layer(layer);
        self
    }

    /// Builds the site.
    ///
    /// # Errors
    ///
    /// A bad web.config (unless [`serve_config_errors`](Self::serve_config_errors)),
    /// a content root that is not a readable folder, `<httpErrors>` rows whose
    /// files cannot be read, a log that cannot be set up.
    pub fn build(self) -> Result<IisSite<S>, SiteError> {
        let (config, failure) = match self.web_config {
            None => (None, None),
            Some(Ok(c)) => (Some(c), None),
            Some(Err(e)) if self.serve_config_errors => {
                tracing::error!(target: "tower_iis::site", "{e}; every request is answered 500.19");
                (None, Some(e))
            }
            Some(Err(e)) => return Err(SiteError::WebConfig(e)),
        };
        let mut files = match &config {
            Some(c) => c.static_files(&self.root),
            None => StaticFiles::builder(&self.root),
        };
        if let Some(b) = self.directory_browse {
            files = files.directory_browse(b);
        }
        files = files.case_insensitive(self.case_insensitive_paths);
        let files = files.build().map_err(SiteError::StaticFiles)?;
        let http_errors = match (self.http_errors, &config) {
            (Some(l), _) => l,
            (None, Some(c)) => c.http_errors_layer().map_err(SiteError::HttpErrors)?,
            (None, None) => HttpErrorsLayer::new().into(),
        };
        let request_filtering = match (self.request_filtering, &config) {
            (Some(l), _) => l,
            (None, Some(c)) => c.request_filtering.clone(),
            (None, None) => RequestFilteringLayer::iis_defaults(),
        };
        let ip_security = match (self.ip_security, &config) {
            (Some(l), _) => l,
            (None, Some(c)) => c.ip_security_layer(),
            (None, None) => IpSecurityLayer::builder()
                .build()
                .expect("the default ipSecurity configuration is valid"),
        };
        let rewrite = match (self.rewrite, &config) {
            (Some(l), _) => l,
            (None, Some(c)) => c.rewrite.layer(&self.root),
            (None, None) => RewriteLayer::builder()
                .build()
                .expect("an empty rule set is valid"),
        };
        let custom_headers = config
            .as_ref()
            .map(WebConfig::custom_headers_layer)
            .unwrap_or_default();
        let (log, guard) = match self.log {
            LogChoice::Layer(l) => (l, None),
            LogChoice::Tracing => {
                let (l, g) = W3cLogLayer::builder()
                    .sink(Sink::tracing())
                    .build()
                    .map_err(SiteError::Log)?;
                (l, Some(Arc::new(g)))
            }
            LogChoice::Directory(dir) => {
                let (l, g) = W3cLogLayer::builder()
                    .directory(dir)
                    .build()
                    .map_err(SiteError::Log)?;
                (l, Some(Arc::new(g)))
            }
        };
        #[cfg(feature = "failed-request-tracing")]
        let (tracing_layer, trace_guard) = match self.tracing {
            None => (crate::freb::FailedRequestTracingLayer::disabled(), None),
            Some(mut b) => {
                if let Some(c) = &config {
                    b = b.rules(c.trace_failed_requests.iter().cloned());
                }
                if b.has_rules() {
                    let (l, g) = b.build().map_err(SiteError::Tracing)?;
                    (l, Some(Arc::new(g)))
                } else {
                    (crate::freb::FailedRequestTracingLayer::disabled(), None)
                }
            }
        };
        let files = files.with_fallback(self.app);
        let inner = ConcurrentRequestLimitLayer::new(self.concurrent_request_limit).layer(files);
        let inner = rewrite.layer(inner);
        let inner = ip_security.layer(inner);
        let inner = request_filtering.layer(inner);
        let inner = ConfigFailure {
            inner,
            error: failure.as_ref().map(WebConfigError::to_iis_error),
        };
        let inner = http_errors.layer(inner);
        let inner = custom_headers.layer(inner);
        #[cfg(feature = "failed-request-tracing")]
        let inner = tracing_layer.layer(inner);
        let handle = log.handle();
        let service = log.layer(inner);
        Ok(IisSite {
            service,
            shared: Arc::new(Shared {
                handle,
                _guard: guard,
                #[cfg(feature = "failed-request-tracing")]
                trace_guard,
                warnings: config.map(|c| c.warnings).unwrap_or_default(),
                config_error: failure,
                trusted_proxies: self.trusted_proxies,
            }),
        })
    }
}

struct Shared {
    handle: W3cLogHandle,
    _guard: Option<Arc<W3cLogGuard>>,
    #[cfg(feature = "failed-request-tracing")]
    trace_guard: Option<Arc<crate::freb::TraceGuard>>,
    warnings: Vec<ConfigWarning>,
    config_error: Option<WebConfigError>,
    trusted_proxies: Option<TrustedProxies>,
}

/// An IIS site as one tower service. See the [module docs](self).
///
/// Cheap to clone; clones share the log, the limits and the configuration.
pub struct IisSite<S = NoFallback> {
    service: SiteStack<S>,
    shared: Arc<Shared>,
}

impl<S: Clone> Clone for IisSite<S> {
    fn clone(&self) -> Self {
        Self {
            service: self.service.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<S> fmt::Debug for IisSite<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IisSite")
            .field("warnings", &self.shared.warnings)
            .field("config_error", &self.shared.config_error)
            .finish_non_exhaustive()
    }
}

impl IisSite {
    /// A site serving `root` with IIS's defaults and no web.config.
    pub fn builder(root: impl Into<PathBuf>) -> IisSiteBuilder {
        IisSiteBuilder {
            root: root.into(),
            app: None,
            web_config: None,
            serve_config_errors: false,
            http_errors: None,
            request_filtering: None,
            ip_security: None,
            rewrite: None,
            concurrent_request_limit: crate::limits::DEFAULT_APP_CONCURRENT_REQUEST_LIMIT,
            directory_browse: None,
            case_insensitive_paths: true,
            log: LogChoice::Tracing,
            trusted_proxies: None,
            #[cfg(feature = "failed-request-tracing")]
            tracing: None,
        }
    }

    /// A site serving `root`, configured by `root/web.config` when there is one.
    pub fn from_web_config(root: impl Into<PathBuf>) -> IisSiteBuilder {
        let root = root.into();
        let file = root.join("web.config");
        Self::builder(root).web_config_file(file)
    }
}

impl<S> IisSite<S> {
    /// A handle on the W3C log: flush it, read its counters.
    #[must_use]
    pub fn log_handle(&self) -> W3cLogHandle {
        self.shared.handle.clone()
    }

    /// A handle on the failed request trace writer, when tracing is on and has
    /// rules: flush it, list and read the trace files.
    #[cfg(feature = "failed-request-tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "failed-request-tracing")))]
    #[must_use]
    pub fn trace_handle(&self) -> Option<crate::freb::TraceHandle> {
        self.shared.trace_guard.as_ref().map(|g| g.handle())
    }

    /// What the web.config held that this crate does not emulate.
    #[must_use]
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.shared.warnings
    }

    /// The web.config error every request is answered with, when the site was
    /// built with [`serve_config_errors`](IisSiteBuilder::serve_config_errors).
    #[must_use]
    pub fn config_error(&self) -> Option<&WebConfigError> {
        self.shared.config_error.as_ref()
    }

    /// The layers, for callers that need the concrete service.
    #[must_use]
    pub fn stack(&self) -> &SiteStack<S> {
        &self.service
    }
}

impl<S, B> Service<Request<B>> for IisSite<S>
where
    SiteStack<S>: Service<Request<B>>,
{
    type Response = <SiteStack<S> as Service<Request<B>>>::Response;
    type Error = <SiteStack<S> as Service<Request<B>>>::Error;
    type Future = <SiteStack<S> as Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some(proxies) = &self.shared.trusted_proxies {
            proxies.apply(&mut req);
        }
        self.service.call(req)
    }
}

/// Answers every request with a configuration error (500.19) while the site's
/// web.config is bad; passes everything through otherwise.
#[derive(Debug, Clone)]
pub struct ConfigFailure<S> {
    inner: S,
    error: Option<IisError>,
}

impl<S> ConfigFailure<S> {
    define_inner_service_accessors!();
}

impl<S, B, RB> Service<Request<B>> for ConfigFailure<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    RB: Default,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = ConfigFailureFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.error.is_some() {
            return Poll::Ready(Ok(()));
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match &self.error {
            Some(err) => ConfigFailureFuture {
                gate: Gate::deny(err.clone()),
            },
            None => ConfigFailureFuture {
                gate: Gate::call(self.inner.call(req)),
            },
        }
    }
}

pin_project! {
    /// The response future of [`ConfigFailure`]: the inner service's response, or
    /// the configuration error.
    pub struct ConfigFailureFuture<F> {
        #[pin]
        gate: Gate<F, IisError>,
    }
}

impl<F> std::fmt::Debug for ConfigFailureFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigFailureFuture")
            .finish_non_exhaustive()
    }
}

impl<F, RB, E> Future for ConfigFailureFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
    RB: Default,
{
    type Output = Result<Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(match std::task::ready!(self.project().gate.poll(cx)) {
            Ok(res) => res,
            Err(error) => Ok(error.into_http_response()),
        })
    }
}
