//! [`IisSite`]: an IIS site in one service, from code or from a `web.config`.
//!
//! The site stacks every layer of this crate in IIS's order, outermost first:
//!
//! ```text
//! W3C log → (failed request tracing)
//!   → the request's folder (Folders), then for that folder:
//!     customHeaders → httpErrors → (500.19 while its web.config is bad)
//!   → requestFiltering → ipSecurity / dynamicIpSecurity → URL Rewrite
//!   → access sslFlags (403.4, 403.5, 403.7, 403.16, 403.17)
//!   → authentication (anonymous, Basic) → URL Authorization
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
//! Authentication and URL Authorization run next, as IIS's `AuthenticateRequest`
//! and `AuthorizeRequest` follow `BeginRequest`: from web.config's
//! `<security><authentication>` and `<authorization>` (see
//! [`authentication`](crate::authentication) and
//! [`authorization`](crate::authorization)), with the credential check for Basic
//! authentication given to [`credentials`](IisSiteBuilder::credentials). The
//! authentication layer puts the [`Logon`](crate::Logon) on the request for your
//! application and on every error response coming back, so the error pages (outside it)
//! show the logon method and user of any error after a successful logon, and the
//! log writes `cs-username`. A web.config that turns Basic on while the site has no
//! credential check builds, with a `tracing` warning, and every Basic sign-in fails
//! with 401.1.
//!
//! A configuration path that leaves all five of IP restrictions, URL Rewrite,
//! `sslFlags`, authentication and URL Authorization at IIS's defaults (no IP rule,
//! no rewrite rule, no `sslFlags`, anonymous authentication alone,
//! `<allow users="*" />` alone) gets none of their layers: its requests go
//! straight to the request limit with the anonymous logon on them, which is all
//! those modules do then ([`SiteModules`]). Configuring any one of them stacks
//! all five, in the order above.
//!
//! Your application (an axum `Router`, any tower service) runs for requests whose
//! path names no existing file or folder under the content root, as ASP.NET routing
//! does on IIS by default; see [`StaticFiles`](crate::static_files). It receives the
//! request body as a [`LimitedBody`](crate::request_filtering::LimitedBody).
//!
//! [`IisSite::from_web_config`] reads `<root>/web.config` (a site without one gets
//! IIS's defaults) and every `web.config` in the folders below it, with their
//! `<location>` elements, merged per folder as IIS merges them
//! ([`SiteConfig`]). The site builds one stack of layers per configuration path
//! and sends each request to the stack of the deepest one its URL is in (after
//! `%XX` decoding and `.`/`..` resolution, on whole segments, ignoring case), so
//! a folder has its own error pages, request filtering, IP restrictions,
//! headers, default documents and rewrite rules. The W3C log and failed request
//! tracing stay outside, one for the whole site; tracing uses the root's
//! `<traceFailedRequests>` rules. With only a root configuration the dispatch
//! is a branch on a `None`: no lookup, no allocation. The files are read when
//! the site is built: IIS watches them and reloads, this crate does not, so a
//! changed web.config needs a new build.
//!
//! When a web.config is bad, [`build`](IisSiteBuilder::build) fails with the
//! [`WebConfigError`], unless
//! [`serve_config_errors`](IisSiteBuilder::serve_config_errors) is on: then the site
//! starts anyway and, as IIS does, answers the requests that file configures (all of
//! them for the root's file, those under its folder for a sub-folder's) with the
//! `500.19` page naming the file, line and offending element (logged `500 19 13`,
//! or `500 19 33` for a section locked at a parent level).
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
//!
//! // A folder with a web.config of its own: it inherits the root's and adds a
//! // MIME type, for its own URLs only.
//! std::fs::create_dir_all(root.join("reports"))?;
//! std::fs::write(root.join("reports/q1.xyz"), "first quarter")?;
//! std::fs::write(
//!     root.join("reports/web.config"),
//!     r#"<configuration><system.webServer><staticContent>
//!          <mimeMap fileExtension=".xyz" mimeType="text/plain" />
//!        </staticContent></system.webServer></configuration>"#,
//! )?;
//! let site = IisSite::from_web_config(&root).build()?;
//! let res = site.clone().oneshot(Request::get("/Reports/q1.xyz").body(String::new())?).await?;
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.headers()["content-type"], "text/plain");
//! let res = site.clone().oneshot(Request::get("/report.xyz").body(String::new())?).await?;
//! assert_eq!(res.status(), 404);
//! # std::fs::remove_dir_all(&root)?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::authentication::{Authentication, AuthenticationLayer, CredentialValidator};
use crate::authorization::{Authorization, AuthorizationLayer};
use crate::connection::TrustedProxies;
use crate::custom_headers::CustomHeaders;
use crate::gate::{Denial, Guard};
use crate::http_errors::{HttpErrors, HttpErrorsLayer, WithExecuteUrl};
use crate::ip_security::{IpSecurity, IpSecurityLayer};
use crate::limits::{ConcurrentRequestLimit, ConcurrentRequestLimitLayer};
use crate::request_filtering::{RequestFiltering, RequestFilteringLayer};
use crate::rewrite::{Rewrite, RewriteLayer};
use crate::ssl::{SslAccess, SslAccessLayer};
use crate::static_files::{NoFallback, PathLookup, StaticFiles, StaticFilesError};
use crate::w3c::{Sink, W3cLog, W3cLogGuard, W3cLogHandle, W3cLogLayer};
use crate::web_config::{
    ConfigWarning, IpSecuritySection, PathTable, SiteConfig, WebConfig, WebConfigError,
};
use crate::IisError;

/// The layers of a site inside the log (and failed request tracing), outermost
/// first.
pub type SiteLayers<S> = CustomHeaders<
    HttpErrors<ConfigFailure<RequestFiltering<SiteModules<StaticFiles<S>>>>, WithExecuteUrl>,
>;

/// The modules between request filtering and the static files, outermost
/// first, when a configuration path uses any of IP restrictions, URL Rewrite,
/// `sslFlags`, authentication and URL Authorization (see [`SiteModules`]).
pub type SiteChecks<S> =
    IpSecurity<Rewrite<SslAccess<Authentication<Authorization<ConcurrentRequestLimit<S>>>>>>;

/// The layers of a site, outermost first: the log and failed request tracing
/// for the whole site, then the layers of the request's folder.
#[cfg(feature = "failed-request-tracing")]
pub type SiteStack<S> = W3cLog<crate::freb::FailedRequestTracing<Folders<SiteLayers<S>>>>;

/// The layers of a site, outermost first: the log for the whole site, then
/// the layers of the request's folder.
#[cfg(not(feature = "failed-request-tracing"))]
pub type SiteStack<S> = W3cLog<Folders<SiteLayers<S>>>;

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
    /// The authentication settings are bad (a realm with a control character).
    Authentication(crate::ConfigError),
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
            Self::Authentication(e) => write!(f, "bad authentication settings: {e}"),
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
            Self::Authentication(e) => Some(e),
        }
    }
}

/// A configuration path and its configuration (`None`: IIS's defaults).
type SiteLevel = (String, Option<Result<WebConfig, WebConfigError>>);

/// Where the site's configuration comes from.
enum ConfigChoice {
    /// IIS's defaults.
    None,
    /// One web.config (or its error), for the whole site.
    One(Box<Result<WebConfig, WebConfigError>>),
    /// Every web.config under the content root.
    Scan,
    /// A merged configuration you built.
    Site(SiteConfig),
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
    web_config: ConfigChoice,
    iis_default_locks: bool,
    serve_config_errors: bool,
    http_errors: Option<HttpErrorsLayer<WithExecuteUrl>>,
    request_filtering: Option<RequestFilteringLayer>,
    ip_security: Option<IpSecurityLayer>,
    rewrite: Option<RewriteLayer>,
    ssl_access: Option<SslAccessLayer>,
    ssl_trust: Option<SslAccessLayer>,
    authentication: Option<AuthenticationLayer>,
    credentials: Option<Arc<dyn CredentialValidator>>,
    authorization: Option<AuthorizationLayer>,
    concurrent_request_limit: usize,
    directory_browse: Option<bool>,
    case_insensitive_paths: bool,
    path_lookup: Option<PathLookup>,
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
            iis_default_locks: self.iis_default_locks,
            serve_config_errors: self.serve_config_errors,
            http_errors: self.http_errors,
            request_filtering: self.request_filtering,
            ip_security: self.ip_security,
            rewrite: self.rewrite,
            ssl_access: self.ssl_access,
            ssl_trust: self.ssl_trust,
            authentication: self.authentication,
            credentials: self.credentials,
            authorization: self.authorization,
            concurrent_request_limit: self.concurrent_request_limit,
            directory_browse: self.directory_browse,
            case_insensitive_paths: self.case_insensitive_paths,
            path_lookup: self.path_lookup,
            log: self.log,
            trusted_proxies: self.trusted_proxies,
            #[cfg(feature = "failed-request-tracing")]
            tracing: self.tracing,
        }
    }

    /// Configures the whole site from one parsed web.config (no per-folder
    /// files). Layers set explicitly with the other methods win over it.
    pub fn web_config(mut self, config: WebConfig) -> Self {
        self.web_config = ConfigChoice::One(Box::new(Ok(config)));
        self
    }

    /// Reads one web.config file for the whole site (a missing file means IIS's
    /// defaults); sub-folders' files are not looked for.
    pub fn web_config_file(mut self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        self.web_config = if path.exists() {
            ConfigChoice::One(Box::new(WebConfig::load(path)))
        } else {
            ConfigChoice::None
        };
        self
    }

    /// Every web.config under the content root, merged per folder
    /// ([`SiteConfig`]); what [`IisSite::from_web_config`] does.
    pub fn web_config_tree(mut self) -> Self {
        self.web_config = ConfigChoice::Scan;
        self
    }

    /// A merged configuration you built (say with
    /// [`SiteConfigBuilder::file`](crate::web_config::SiteConfigBuilder::file)).
    pub fn site_config(mut self, config: SiteConfig) -> Self {
        self.web_config = ConfigChoice::Site(config);
        self
    }

    /// With [`web_config_tree`](Self::web_config_tree): lock what IIS's stock
    /// applicationHost.config locks, so a web.config that sets `ipSecurity` (and
    /// the other sections with `overrideModeDefault="Deny"`) is a 500.19
    /// `0x80070021` for its folder. Off by default; see
    /// [`SiteConfigBuilder::iis_default_locks`](crate::web_config::SiteConfigBuilder::iis_default_locks)
    /// for why.
    pub fn iis_default_locks(mut self, enabled: bool) -> Self {
        self.iis_default_locks = enabled;
        self
    }

    /// IIS's behaviour for a bad web.config: start anyway and answer the
    /// requests it configures with the 500.19 page (every request for the
    /// root's file, the requests under its folder for a sub-folder's). Off by
    /// default ([`build`](Self::build) fails instead).
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

    /// IIS's `sslFlags` (instead of web.config's `<security><access sslFlags>`;
    /// `None` by default): HTTPS required, client certificates, and the CAs they
    /// must lead to. Checked after URL Rewrite, before the static files and the
    /// application.
    pub fn ssl_access(mut self, layer: SslAccessLayer) -> Self {
        self.ssl_access = Some(layer);
        self
    }

    /// The CAs client certificates must lead to (403.16 otherwise), for the
    /// `sslFlags` each folder's web.config sets: the layer's own flags are
    /// replaced by each configuration path's (see
    /// [`SslAccessLayer::with_flags`]). Not needed for `Ssl` alone.
    pub fn client_certificate_trust(mut self, layer: SslAccessLayer) -> Self {
        self.ssl_trust = Some(layer);
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

    /// The credential check for Basic authentication (not in web.config). With
    /// Basic on and no check, every Basic sign-in fails with 401.1.
    pub fn credentials(mut self, validator: impl CredentialValidator) -> Self {
        self.credentials = Some(Arc::new(validator));
        self
    }

    /// The authentication layer (instead of one from web.config's
    /// `<authentication>` and [`credentials`](Self::credentials); IIS's defaults,
    /// anonymous only, otherwise).
    pub fn authentication(mut self, layer: AuthenticationLayer) -> Self {
        self.authentication = Some(layer);
        self
    }

    /// URL Authorization's rules (instead of web.config's `<authorization>`; IIS's
    /// `Allow users="*"` by default).
    pub fn authorization(mut self, layer: AuthorizationLayer) -> Self {
        self.authorization = Some(layer);
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

    /// How the static files tell a path that names nothing (your application's)
    /// without a file-system call per request: an index of the content root kept
    /// by a file watcher by default; pick [`PathLookup::NegativeCache`] or
    /// [`PathLookup::FileSystem`] for a content root on a network share whose
    /// changes the watcher does not see. See [`StaticFiles`](crate::static_files#which-paths-ask-the-file-system).
    pub fn path_lookup(mut self, lookup: PathLookup) -> Self {
        self.path_lookup = Some(lookup);
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

    /// Builds the site: one stack of layers per configuration path (the root,
    /// each folder with a web.config, each `<location path>`), behind the
    /// site-wide log and failed request tracing.
    ///
    /// # Errors
    ///
    /// A bad web.config, the root's or a folder's (unless
    /// [`serve_config_errors`](Self::serve_config_errors)), a content root that
    /// is not a readable folder, `<httpErrors>` rows whose files cannot be
    /// read, a log that cannot be set up.
    pub fn build(self) -> Result<IisSite<S>, SiteError>
    where
        S: Clone,
    {
        let (levels, table): (Vec<SiteLevel>, _) = match self.web_config {
            ConfigChoice::None => (vec![(String::new(), None)], PathTable::default()),
            ConfigChoice::One(c) => (vec![(String::new(), Some(*c))], PathTable::default()),
            ConfigChoice::Scan => {
                let file = self.root.join("web.config");
                let site = SiteConfig::builder(&self.root)
                    .iis_default_locks(self.iis_default_locks)
                    .load_file("", &file)
                    .scan()
                    .build();
                let (levels, table) = site.into_parts();
                let levels = levels
                    .into_iter()
                    .map(|(p, c)| {
                        // The root of a site without any web.config: the defaults.
                        let none = p.is_empty() && !file.exists();
                        (p, (!none).then_some(c))
                    })
                    .collect();
                (levels, table)
            }
            ConfigChoice::Site(site) => {
                let (levels, table) = site.into_parts();
                (
                    levels.into_iter().map(|(p, c)| (p, Some(c))).collect(),
                    table,
                )
            }
        };
        for (path, config) in &levels {
            if let Some(Err(e)) = config {
                if !self.serve_config_errors {
                    return Err(SiteError::WebConfig(e.clone()));
                }
                tracing::error!(target: "tower_iis::site", folder = %path, "{e}; the requests it configures are answered 500.19");
            }
        }
        let root_config = match &levels[0].1 {
            Some(Ok(c)) => Some(c),
            _ => None,
        };
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
        if self.tracing.is_some() {
            // Tracing is site-wide, with the root's rules: say so when a folder differs.
            for (path, config) in &levels[1..] {
                if let (Some(Ok(c)), Some(root)) = (config, root_config) {
                    if c.trace_failed_requests != root.trace_failed_requests {
                        tracing::warn!(target: "tower_iis::site", folder = %path, "the folder's <traceFailedRequests> rules differ from the root's; failed request tracing uses the root's for the whole site");
                    }
                }
            }
        }
        #[cfg(feature = "failed-request-tracing")]
        let (tracing_layer, trace_guard) = match self.tracing {
            None => (crate::freb::FailedRequestTracingLayer::disabled(), None),
            Some(mut b) => {
                if let Some(c) = root_config {
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
        let parts = LevelParts {
            root: &self.root,
            app: &self.app,
            http_errors: self.http_errors.as_ref(),
            request_filtering: self.request_filtering.as_ref(),
            ip_security: self.ip_security.as_ref(),
            rewrite: self.rewrite.as_ref(),
            ssl_access: self.ssl_access.as_ref(),
            ssl_trust: self.ssl_trust.as_ref(),
            authentication: self.authentication.as_ref(),
            credentials: self.credentials.as_ref(),
            authorization: self.authorization.as_ref(),
            limit: ConcurrentRequestLimitLayer::new(self.concurrent_request_limit),
            directory_browse: self.directory_browse,
            case_insensitive_paths: self.case_insensitive_paths,
            path_lookup: self.path_lookup,
        };
        let mut ip_layers: Vec<(IpSecuritySection, IpSecurityLayer)> = Vec::new();
        let mut lookup = None;
        let root_stack = parts.stack(levels[0].1.as_ref(), &mut ip_layers, &mut lookup)?;
        let mut folders = Vec::with_capacity(levels.len() - 1);
        for (_, config) in &levels[1..] {
            folders.push(parts.stack(config.as_ref(), &mut ip_layers, &mut lookup)?);
        }
        let warnings = root_config.map(|c| c.warnings.clone()).unwrap_or_default();
        let mut errors = levels
            .into_iter()
            .filter_map(|(path, c)| match c {
                Some(Err(e)) => Some((path, e)),
                _ => None,
            })
            .peekable();
        let config_error = errors.next_if(|(p, _)| p.is_empty()).map(|(_, e)| e);
        let folder_errors = errors.collect();
        let inner = Folders {
            root: root_stack,
            folders,
            table: table.has_folders().then(|| Arc::new(table)),
        };
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
                warnings,
                config_error,
                folder_errors,
                trusted_proxies: self.trusted_proxies,
            }),
        })
    }
}

/// What every folder's stack is built from.
struct LevelParts<'a, S> {
    root: &'a Path,
    app: &'a Option<S>,
    http_errors: Option<&'a HttpErrorsLayer<WithExecuteUrl>>,
    request_filtering: Option<&'a RequestFilteringLayer>,
    ip_security: Option<&'a IpSecurityLayer>,
    rewrite: Option<&'a RewriteLayer>,
    ssl_access: Option<&'a SslAccessLayer>,
    ssl_trust: Option<&'a SslAccessLayer>,
    authentication: Option<&'a AuthenticationLayer>,
    credentials: Option<&'a Arc<dyn CredentialValidator>>,
    authorization: Option<&'a AuthorizationLayer>,
    /// One counter for the whole site.
    limit: ConcurrentRequestLimitLayer,
    directory_browse: Option<bool>,
    case_insensitive_paths: bool,
    path_lookup: Option<PathLookup>,
}

impl<S: Clone> LevelParts<'_, S> {
    /// The layers of one configuration path, from customHeaders in. A level
    /// whose configuration is bad answers 500.19 behind IIS's default error
    /// pages. Folders with the same IP restrictions share one
    /// [`IpSecurityLayer`] (and so its dynamic counters).
    fn stack(
        &self,
        config: Option<&Result<WebConfig, WebConfigError>>,
        ip_layers: &mut Vec<(IpSecuritySection, IpSecurityLayer)>,
        lookup: &mut Option<StaticFiles>,
    ) -> Result<SiteLayers<S>, SiteError> {
        let (config, failure) = match config {
            None => (None, None),
            Some(Ok(c)) => (Some(c), None),
            Some(Err(e)) => (None, Some(e.to_iis_error())),
        };
        let mut files = match config {
            Some(c) => c.static_files(self.root),
            None => StaticFiles::builder(self.root),
        };
        if let Some(b) = self.directory_browse {
            files = files.directory_browse(b);
        }
        files = files.case_insensitive(self.case_insensitive_paths);
        if let Some(l) = self.path_lookup {
            files = files.path_lookup(l);
        }
        // One index (and file watcher) of the content root for all the levels.
        if let Some(first) = lookup {
            files = files.share_path_lookup(first);
        }
        let files = files.build().map_err(SiteError::StaticFiles)?;
        if lookup.is_none() {
            *lookup = Some(files.clone());
        }
        let http_errors = match (self.http_errors, config) {
            (Some(l), _) => l.clone(),
            (None, Some(c)) => c.http_errors_layer().map_err(SiteError::HttpErrors)?,
            (None, None) => HttpErrorsLayer::new().into(),
        };
        let request_filtering = match (self.request_filtering, config) {
            (Some(l), _) => l.clone(),
            (None, Some(c)) => c.request_filtering.clone(),
            (None, None) => RequestFilteringLayer::iis_defaults(),
        };
        let section = config.map(|c| c.ip_security.clone()).unwrap_or_default();
        let ip_security = match self.ip_security {
            Some(l) => l.clone(),
            None => match ip_layers.iter().find(|(s, _)| *s == section) {
                Some((_, l)) => l.clone(),
                None => {
                    let l = section
                        .builder()
                        .build()
                        .expect("the ipSecurity section was validated when it was read");
                    ip_layers.push((section, l.clone()));
                    l
                }
            },
        };
        let rewrite = match (self.rewrite, config) {
            (Some(l), _) => l.clone(),
            (None, Some(c)) => c.rewrite.layer(self.root),
            (None, None) => RewriteLayer::builder()
                .build()
                .expect("an empty rule set is valid"),
        };
        let flags = config.map(|c| c.access.ssl_flags).unwrap_or_default();
        let ssl_access = match (self.ssl_access, self.ssl_trust) {
            (Some(l), _) => l.clone(),
            (None, Some(trust)) => trust.with_flags(flags),
            (None, None) => SslAccessLayer::new(flags),
        };
        let authentication = match self.authentication {
            Some(l) => l.clone(),
            None => {
                let mut b = AuthenticationLayer::builder();
                if let Some(c) = config {
                    b = b.section(&c.authentication);
                }
                if let Some(v) = self.credentials {
                    b = b.credentials_arc(v.clone());
                }
                b.build().map_err(SiteError::Authentication)?
            }
        };
        let authorization = match (self.authorization, config) {
            (Some(l), _) => l.clone(),
            (None, Some(c)) => c.authorization_layer(),
            (None, None) => AuthorizationLayer::default(),
        };
        let custom_headers = config
            .map(WebConfig::custom_headers_layer)
            .unwrap_or_default();
        let files = files.with_fallback(self.app.clone());
        // IIS's defaults for all five modules: nothing can be denied, rewritten
        // or challenged, so none is stacked.
        let idle = ip_security.lets_everyone_through()
            && rewrite.is_empty()
            && ssl_access.flags().is_none()
            && authorization.rules().allows_everyone();
        let inner = match authentication.anonymous_only() {
            Some(logon) if idle => SiteModules::anonymous(files, logon.clone(), self.limit.clone()),
            _ => {
                let inner = self.limit.clone().layer(files);
                let inner = authorization.layer(inner);
                let inner = authentication.layer(inner);
                let inner = ssl_access.layer(inner);
                let inner = rewrite.layer(inner);
                SiteModules::checked(ip_security.layer(inner))
            }
        };
        let inner = request_filtering.layer(inner);
        let inner = ConfigFailure {
            inner,
            error: failure,
        };
        let inner = http_errors.layer(inner);
        Ok(custom_headers.layer(inner))
    }
}

struct Shared {
    handle: W3cLogHandle,
    _guard: Option<Arc<W3cLogGuard>>,
    #[cfg(feature = "failed-request-tracing")]
    trace_guard: Option<Arc<crate::freb::TraceGuard>>,
    warnings: Vec<ConfigWarning>,
    config_error: Option<WebConfigError>,
    folder_errors: Vec<(String, WebConfigError)>,
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
            web_config: ConfigChoice::None,
            iis_default_locks: false,
            serve_config_errors: false,
            http_errors: None,
            request_filtering: None,
            ip_security: None,
            rewrite: None,
            ssl_access: None,
            ssl_trust: None,
            authentication: None,
            credentials: None,
            authorization: None,
            concurrent_request_limit: crate::limits::DEFAULT_APP_CONCURRENT_REQUEST_LIMIT,
            directory_browse: None,
            case_insensitive_paths: true,
            path_lookup: None,
            log: LogChoice::Tracing,
            trusted_proxies: None,
            #[cfg(feature = "failed-request-tracing")]
            tracing: None,
        }
    }

    /// A site serving `root`, configured by `root/web.config` and every
    /// sub-folder's web.config, merged per folder as IIS does
    /// ([`web_config_tree`](IisSiteBuilder::web_config_tree)).
    pub fn from_web_config(root: impl Into<PathBuf>) -> IisSiteBuilder {
        Self::builder(root).web_config_tree()
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

    /// The configuration paths below the root whose web.config (or a
    /// parent's `<location>` for them) is bad, with the error their requests are
    /// answered with, when the site was built with
    /// [`serve_config_errors`](IisSiteBuilder::serve_config_errors).
    pub fn folder_config_errors(&self) -> impl Iterator<Item = (&str, &WebConfigError)> {
        self.shared
            .folder_errors
            .iter()
            .map(|(p, e)| (p.as_str(), e))
    }

    /// The layers, for callers that need the concrete service.
    #[must_use]
    pub fn stack(&self) -> &SiteStack<S> {
        &self.service
    }

    /// The per-folder stacks, inside the log (and failed request tracing).
    #[cfg(test)]
    fn folders(&self) -> &Folders<SiteLayers<S>> {
        #[cfg(feature = "failed-request-tracing")]
        return self.service.get_ref().get_ref();
        #[cfg(not(feature = "failed-request-tracing"))]
        return self.service.get_ref();
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

    #[inline]
    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some(proxies) = &self.shared.trusted_proxies {
            proxies.apply(&mut req);
        }
        self.service.call(req)
    }
}

/// Sends each request to the stack of the deepest configuration path its URL is
/// in: the root's, a folder's with its own web.config, a `<location path>`'s.
///
/// The URL path is matched after resolving literal `.` and `..` segments and
/// decoding `%XX` once (as static files do), on whole segments, ignoring case.
/// A site with only a root configuration holds one stack and looks at nothing.
///
/// Cloning it (hyper clones the service for every request) clones the root's
/// stack alone when there are no folders: an empty `Vec` does not allocate.
#[derive(Debug, Clone)]
pub struct Folders<S> {
    root: S,
    /// The other configuration paths' stacks, in the order of the table's levels.
    folders: Vec<S>,
    /// `None` with only the root.
    table: Option<Arc<PathTable>>,
}

impl<S> Folders<S> {
    /// The stack of the site root.
    pub fn root(&self) -> &S {
        &self.root
    }

    /// How many configuration paths have a stack (the root's included).
    pub fn len(&self) -> usize {
        1 + self.folders.len()
    }

    /// Never: the root always has its stack.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The index in `stacks` of the stack for `raw_path`.
    fn pick(table: &PathTable, raw_path: &str) -> usize {
        let resolved = crate::static_files::path::resolve_literal_dots(raw_path);
        if !resolved.contains('%') {
            return table.deepest(resolved.split(['/', '\\']).filter(|s| !s.is_empty()));
        }
        match percent_encoding::percent_decode_str(&resolved).decode_utf8() {
            Ok(decoded) => table.deepest(decoded.split(['/', '\\']).filter(|s| !s.is_empty())),
            // Not UTF-8: the root's request filtering and static files refuse it.
            Err(_) => 0,
        }
    }
}

impl<S, B> Service<Request<B>> for Folders<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        std::task::ready!(self.root.poll_ready(cx))?;
        for stack in &mut self.folders {
            std::task::ready!(stack.poll_ready(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    #[inline]
    fn call(&mut self, req: Request<B>) -> Self::Future {
        let Some(table) = &self.table else {
            return self.root.call(req);
        };
        match Self::pick(table, req.uri().path()) {
            0 => self.root.call(req),
            i => self.folders[i - 1].call(req),
        }
    }
}

/// IP restrictions, URL Rewrite, `sslFlags`, authentication, URL Authorization
/// and the request limit for one configuration path: [`SiteChecks`] when the
/// path's configuration uses any of the first five, else (IIS's defaults: no IP
/// rule, no rewrite rule, no `sslFlags`, anonymous authentication alone,
/// `allow users="*"`) the request limit and the inner service in one step, with
/// the anonymous [`Logon`](crate::Logon) put on the request and on its error
/// responses, which is all the five modules do then.
#[derive(Clone)]
pub struct SiteModules<S> {
    kind: ModulesKind<S>,
}

#[derive(Clone)]
enum ModulesKind<S> {
    Checked(SiteChecks<S>),
    Anonymous {
        inner: S,
        logon: crate::Logon,
        limit: ConcurrentRequestLimitLayer,
    },
}

impl<S> SiteModules<S> {
    /// The modules stacked over `inner`.
    pub fn checked(stack: SiteChecks<S>) -> Self {
        Self {
            kind: ModulesKind::Checked(stack),
        }
    }

    /// None of the five modules: `inner` gets every request the limit lets
    /// through, with `logon` (the anonymous logon) on it.
    fn anonymous(inner: S, logon: crate::Logon, limit: ConcurrentRequestLimitLayer) -> Self {
        Self {
            kind: ModulesKind::Anonymous {
                inner,
                logon,
                limit,
            },
        }
    }

    /// The modules' stack, when the configuration uses any of them.
    pub fn checks(&self) -> Option<&SiteChecks<S>> {
        match &self.kind {
            ModulesKind::Checked(s) => Some(s),
            ModulesKind::Anonymous { .. } => None,
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for SiteModules<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ModulesKind::Checked(s) => f.debug_tuple("SiteModules").field(s).finish(),
            ModulesKind::Anonymous {
                inner,
                logon,
                limit,
            } => f
                .debug_struct("SiteModules")
                .field("inner", inner)
                .field("logon", logon)
                .field("limit", limit)
                .finish(),
        }
    }
}

impl<S, B, RB> Service<Request<B>> for SiteModules<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone,
    RB: Default,
{
    type Response = Response<ModulesBody<RB>>;
    type Error = S::Error;
    type Future = ModulesFuture<<SiteChecks<S> as Service<Request<B>>>::Future, S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.kind {
            ModulesKind::Checked(s) => s.poll_ready(cx),
            ModulesKind::Anonymous { inner, .. } => inner.poll_ready(cx),
        }
    }

    #[inline]
    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let state = match &mut self.kind {
            ModulesKind::Checked(s) => FutureState::Checked { fut: s.call(req) },
            ModulesKind::Anonymous {
                inner,
                logon,
                limit,
            } => match limit.acquire() {
                Ok(guard) => {
                    req.extensions_mut().insert(logon.clone());
                    FutureState::Anonymous {
                        fut: inner.call(req),
                        logon: Some(logon.clone()),
                        guard: Some(guard),
                    }
                }
                Err(denial) => FutureState::Denied {
                    denial: Some(denial),
                    logon: logon.clone(),
                },
            },
        };
        ModulesFuture { state }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`SiteModules`].
    pub struct ModulesFuture<C, F> {
        #[pin]
        state: FutureState<C, F>,
    }
}

pin_project_lite::pin_project! {
    #[project = FutureStateProj]
    enum FutureState<C, F> {
        // Through the modules.
        Checked { #[pin] fut: C },
        // Straight to the inner service, holding a slot of the limit.
        Anonymous { #[pin] fut: F, logon: Option<crate::Logon>, guard: Option<Guard> },
        // The limit's 503.2.
        Denied { denial: Option<Denial>, logon: crate::Logon },
    }
}

impl<C, F> fmt::Debug for ModulesFuture<C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModulesFuture").finish_non_exhaustive()
    }
}

/// The body of a response through the modules.
type CheckedBody<B> = crate::ip_security::ResponseBody<
    crate::http_errors::ResponseBody<crate::limits::ResponseBody<B>>,
>;

impl<C, F, B, E> std::future::Future for ModulesFuture<C, F>
where
    C: std::future::Future<Output = Result<Response<CheckedBody<B>>, E>>,
    F: std::future::Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<ModulesBody<B>>, E>;

    #[inline]
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (mut res, logon, guard) = match self.project().state.project() {
            FutureStateProj::Checked { fut } => {
                let res = std::task::ready!(fut.poll(cx))?;
                return Poll::Ready(Ok(res.map(|body| ModulesBody {
                    kind: BodyKind::Checked { body },
                })));
            }
            FutureStateProj::Anonymous { fut, logon, guard } => {
                let res = std::task::ready!(fut.poll(cx))?;
                let logon = logon.take().expect("polled after completion");
                (res, logon, guard.take())
            }
            FutureStateProj::Denied { denial, logon } => {
                let denial = denial.take().expect("polled after completion");
                (denial.into_response::<B>(), logon.clone(), None)
            }
        };
        crate::authentication::mark_response(&logon, &mut res);
        Poll::Ready(Ok(res.map(|body| ModulesBody {
            kind: BodyKind::Plain {
                body: crate::limits::ResponseBody::guarded(body, guard),
            },
        })))
    }
}

pin_project_lite::pin_project! {
    /// The response body of [`SiteModules`].
    #[derive(Debug)]
    pub struct ModulesBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = BodyKindProj]
    #[derive(Debug)]
    enum BodyKind<B> {
        // Through the modules.
        Checked { #[pin] body: CheckedBody<B> },
        // The inner service's body, holding its slot of the limit.
        Plain { #[pin] body: crate::limits::ResponseBody<B> },
    }
}

impl<B: Default> Default for ModulesBody<B> {
    fn default() -> Self {
        Self {
            kind: BodyKind::Plain {
                body: crate::limits::ResponseBody::default(),
            },
        }
    }
}

impl<B> http_body::Body for ModulesBody<B>
where
    B: http_body::Body,
    B::Data: From<bytes::Bytes> + bytes::Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            BodyKindProj::Checked { body } => body.poll_frame(cx),
            BodyKindProj::Plain { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Checked { body } => body.is_end_stream(),
            BodyKind::Plain { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.kind {
            BodyKind::Checked { body } => body.size_hint(),
            BodyKind::Plain { body } => body.size_hint(),
        }
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

    #[inline]
    fn call(&mut self, req: Request<B>) -> Self::Future {
        match &self.error {
            Some(err) => ConfigFailureFuture::deny(err.clone()),
            None => ConfigFailureFuture::call(self.inner.call(req)),
        }
    }
}

define_error_gate!(
    ConfigFailureFuture,
    "The response future of [`ConfigFailure`]: the inner service's response, or the configuration error."
);

#[cfg(test)]
mod tests {
    use super::Folders;
    use crate::web_config::SiteConfig;

    /// A folder at IIS's defaults skips the five modules; one whose rules let
    /// everyone through (two allow rules) goes through them: both answer alike,
    /// the logon on the application's request and on the error pages included.
    #[tokio::test]
    async fn the_modules_at_their_defaults_answer_as_the_modules_do() {
        use crate::authorization::{AuthorizationLayer, AuthorizationRule, AuthorizationRules};
        use crate::w3c::LogonUser;
        use crate::{ConnectionInfo, Logon};
        use http::{Request, Response, StatusCode};
        use http_body_util::BodyExt;
        use tower::ServiceExt;

        let root =
            std::env::temp_dir().join(format!("tower-iis-site-modules-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("a.txt"), "file a").unwrap();
        let app = tower::service_fn(
            |req: Request<crate::request_filtering::LimitedBody<String>>| async move {
                let logon = req.extensions().get::<Logon>().cloned();
                let status = if req.uri().path() == "/fail" {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                };
                let mut res = Response::new(http_body_util::Full::new(bytes::Bytes::from(
                    format!("{} {logon:?}", req.uri().path()),
                )));
                *res.status_mut() = status;
                Ok::<_, std::convert::Infallible>(res)
            },
        );
        let build = |limit: usize, rules: Option<AuthorizationRules>| {
            let mut b = super::IisSite::builder(&root)
                .app(app)
                .concurrent_request_limit(limit);
            if let Some(r) = rules {
                b = b.authorization(AuthorizationLayer::new(r));
            }
            b.build().unwrap()
        };
        // Whether the root folder's modules run their checks.
        let runs_checks = |site: &super::IisSite<_>| {
            site.folders()
                .root()
                .get_ref()
                .get_ref()
                .get_ref()
                .get_ref()
                .checks()
                .is_some()
        };
        let idle = super::IisSite::builder(&root).app(app).build().unwrap();
        assert!(!runs_checks(&idle));
        let rules = AuthorizationRules::new()
            .with(AuthorizationRule::allow().users("*"))
            .with(AuthorizationRule::allow().users("?"));
        let checked = super::IisSite::builder(&root)
            .app(app)
            .authorization(AuthorizationLayer::new(rules.clone()))
            .build()
            .unwrap();
        assert!(runs_checks(&checked));
        let conn = ConnectionInfo::new(
            "127.0.0.1:50000".parse().unwrap(),
            "127.0.0.1:80".parse().unwrap(),
        );
        for path in [
            "/api/items?id=1",
            "/a.txt",
            "/A.TXT",
            "/docs",
            "/docs/",
            "/",
            "/fail",
            "/web.config",
            "/x/../a.txt",
        ] {
            let mut answers = Vec::new();
            for site in [&idle, &checked] {
                let mut req = Request::get(path)
                    .header("host", "localhost")
                    .body(String::new())
                    .unwrap();
                req.extensions_mut().insert(conn);
                let res = site.clone().oneshot(req).await.unwrap();
                let (parts, body) = res.into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                answers.push((
                    parts.status,
                    format!("{:?}", parts.headers),
                    parts.extensions.get::<Logon>().cloned(),
                    parts.extensions.get::<LogonUser>().cloned(),
                    body,
                ));
            }
            assert_eq!(answers[0], answers[1], "{path}");
            // With no slot left: the 503.2 page alike, the logon on it.
            let mut full = Vec::new();
            for site in [build(0, None), build(0, Some(rules.clone()))] {
                let mut req = Request::get(path)
                    .header("host", "localhost")
                    .body(String::new())
                    .unwrap();
                req.extensions_mut().insert(conn);
                let (parts, body) = site.oneshot(req).await.unwrap().into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                full.push((
                    parts.status,
                    format!("{:?}", parts.headers),
                    parts.extensions.get::<Logon>().cloned(),
                    body,
                ));
            }
            assert_eq!(full[0], full[1], "{path}");
            if path != "/web.config" {
                assert_eq!(full[0].0, StatusCode::SERVICE_UNAVAILABLE, "{path}");
                let page = String::from_utf8_lossy(&full[0].3);
                assert!(
                    page.contains("503.2") && page.contains("Anonymous"),
                    "{page}"
                );
            }
            let (status, _, _, _, body) = &answers[0];
            let body = String::from_utf8_lossy(body);
            match path {
                // The application saw the anonymous logon.
                "/api/items?id=1" => assert!(body.starts_with("/api/items Some(Logon"), "{body}"),
                // The error page names the logon method.
                "/fail" => {
                    assert_eq!(*status, StatusCode::INTERNAL_SERVER_ERROR);
                    assert!(body.contains("Anonymous"), "{body}");
                }
                _ => {}
            }
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_request_goes_to_its_deepest_folder_however_it_is_written() {
        let site = SiteConfig::builder("/srv/site")
            .file("sub", "<configuration />")
            .file("sub/deep", "<configuration />")
            .file(
                "",
                r#"<configuration><location path="files/é"><system.webServer /></location></configuration>"#,
            )
            .build();
        let (levels, table) = site.into_parts();
        let paths: Vec<_> = levels.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["", "sub", "files/é", "sub/deep"]);
        let pick = |p| paths[Folders::<()>::pick(&table, p)];
        for (url, folder) in [
            ("/", ""),
            ("/sub", "sub"),
            ("/sub/", "sub"),
            ("/SUB/x.htm", "sub"),
            ("/s%75b/x.htm", "sub"),
            ("/sub%2fdeep/x", "sub/deep"),
            ("/sub\\deep\\x", "sub/deep"),
            ("/sub//deep/x", "sub/deep"),
            ("/sub/deep/../x", "sub"),
            ("/sub/./deep/x", "sub/deep"),
            ("/other/../sub/x", "sub"),
            ("/subway/x", ""),
            ("/sub.htm", ""),
            ("/files/%C3%89/x", "files/é"),
            ("/files/É/x", "files/é"),
            ("/files/e/x", ""),
            // Encoded dots are not resolved: the root refuses them (400).
            ("/sub/%2e%2e/x", ""),
            ("/sub/%ff/x", ""),
        ] {
            assert_eq!(pick(url), folder, "{url}");
        }
    }
}
