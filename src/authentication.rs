//! IIS authentication (`<system.webServer><security><authentication>`): anonymous
//! and Basic authentication, with the credential check your application supplies.
//!
//! [`AuthenticationLayer`] runs at IIS's `AuthenticateRequest`, after request
//! filtering, the IP restrictions and URL Rewrite, before URL Authorization
//! ([`authorization`](crate::authorization)), the static files and your
//! application. It settles who the request runs as, a [`Logon`]:
//!
//! | Request | `anonymousAuthentication` on | off |
//! |---|---|---|
//! | no `Authorization: Basic` header | anonymous (`Anonymous` / `Anonymous` on error pages, `-` in `cs-username`) | **401.2** + `WWW-Authenticate`, logged `401 2 5` |
//! | Basic credentials the [`CredentialValidator`] accepts | the user (`Basic` / `alice`, `cs-username` `alice`) | the same |
//! | Basic credentials it refuses | **401.1** + `WWW-Authenticate`, logged `401 1 1326` with the attempted user name in `cs-username` | the same |
//! | a malformed `Authorization: Basic` header | **401.1**, logged `401 1 87` | the same |
//!
//! The 401.1 and 401.2 answers carry an [`IisError`] from the
//! [`catalog`](crate::catalog) (module `IIS Web Core`, notification
//! `AuthenticateRequest`) whose page shows Logon Method and Logon User `Not yet
//! determined`: nobody is signed in when they are sent.
//!
//! With `basicAuthentication` off the `Authorization` header is not looked at, as on
//! IIS where no enabled module claims it. With both off every request gets 401.2
//! without a challenge: no client can ever sign in.
//!
//! The [`Logon`] goes into the request extensions (URL Authorization and your
//! application read it) and into the response extensions of every **error**
//! response (400–599) that comes back through the layer, whoever produced it, so
//! the detailed error page of a 404 or a 500 after a successful logon shows Logon
//! Method `Basic` and Logon User `alice`. Every response to a signed-in user also
//! carries a [`LogonUser`], so the W3C log writes the user in `cs-username`. Every 401 that comes
//! back (from URL Authorization or your application) gets the Basic challenge
//! when Basic is on, as IIS's Basic module adds it.
//!
//! # Basic authentication, in detail
//!
//! - `WWW-Authenticate: Basic realm="<realm>"`; an empty `realm` (the default)
//!   names the host the client asked for (`Host` without the port), as IIS does.
//!   A `"` or `\` in the realm is escaped.
//! - The user name and password are decoded as UTF-8, or as ISO-8859-1 when they are
//!   not valid UTF-8 (older clients). Padding may be left out.
//! - `defaultLogonDomain`: a user name without a domain (`alice`, not `CONTOSO\alice`
//!   or `alice@contoso.com`) is checked as `DOMAIN\alice`.
//! - The check is the application's: a [`CredentialValidator`] (a closure, an async
//!   check through [`from_async_fn`], or [`StaticUsers`] for tests and demos)
//!   returns the [`Identity`] (name and roles) or nothing. Without a validator every
//!   Basic attempt fails with 401.1.
//! - **Malformed credentials** (not base64, no `:` between user and password, an
//!   empty user name, or a token over [`MAX_CREDENTIALS_LEN`] bytes) are a failed
//!   logon: 401.1 with HRESULT `0x80070057` (`ERROR_INVALID_PARAMETER`, logged `87`)
//!   so they can be told apart from wrong passwords in the log. What IIS itself logs
//!   for such a header is not documented; this is our choice.
//!
//! # What is not emulated
//!
//! Windows authentication (NTLM, Negotiate/Kerberos), Digest, client certificate
//! mapping and `logonMethod` need Windows accounts: a web.config that turns them on
//! gets a [`ConfigWarning`](crate::web_config::ConfigWarning) and the setting is
//! ignored. Forms authentication is ASP.NET's, not IIS's.
//!
//! # Example
//!
//! Needs feature `authentication` and in your crate `tower` (feature `util`), `tokio`
//! (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceExt};
//! use tower_iis::authentication::{AuthenticationLayer, StaticUsers};
//! use tower_iis::{IisError, Logon};
//! use tower_layer::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = AuthenticationLayer::builder()
//!     .anonymous(false)
//!     .basic(true)
//!     .realm("Staff")
//!     .credentials(StaticUsers::new().user("alice", "demo-password"))
//!     .build()?;
//! let svc = layer.layer(service_fn(|req: Request<String>| async move {
//!     let user = req.extensions().get::<Logon>().and_then(Logon::user).unwrap_or("").to_owned();
//!     Ok::<_, Infallible>(Response::new(format!("hello {user}")))
//! }));
//!
//! // No credentials: 401.2 and the challenge.
//! let res = svc.clone().oneshot(Request::get("/").body(String::new())?).await?;
//! assert_eq!(res.status(), 401);
//! assert_eq!(res.headers()["www-authenticate"], r#"Basic realm="Staff""#);
//! assert_eq!(res.extensions().get::<IisError>().unwrap().substatus(), 2);
//!
//! // alice:demo-password
//! let req = Request::get("/")
//!     .header("authorization", "Basic YWxpY2U6ZGVtby1wYXNzd29yZA==")
//!     .body(String::new())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.into_body(), "hello alice");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use http::header::{HeaderValue, AUTHORIZATION, HOST, WWW_AUTHENTICATE};
use http::{HeaderMap, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::NOT_YET_DETERMINED;
use crate::logon::eq_ignore_case;
use crate::w3c::LogonUser;
use crate::{ConfigError, IisError, IisStatus};

pub use crate::logon::Logon;

/// The logon method of Basic authentication, as the detailed error page shows it.
pub const BASIC: &str = "Basic";
/// IIS's default anonymous identity (`anonymousAuthentication@userName`).
pub const DEFAULT_ANONYMOUS_USER: &str = "IUSR";
/// The longest base64 token of `Authorization: Basic` that is decoded; a longer
/// one is malformed (401.1). Windows user names and passwords are far shorter.
pub const MAX_CREDENTIALS_LEN: usize = 4096;
/// HRESULT of a refused user name or password (`ERROR_LOGON_FAILURE`, logged `1326`).
pub const HRESULT_LOGON_FAILURE: u32 = 0x8007_052e;
/// HRESULT of malformed Basic credentials (`ERROR_INVALID_PARAMETER`, logged `87`).
pub const HRESULT_INVALID_PARAMETER: u32 = 0x8007_0057;
/// HRESULT of a request without credentials IIS accepts (logged `5`).
pub const HRESULT_NO_CREDENTIALS: u32 = 0x8007_0005;

/// Who a credential check says the user is: the name logged and shown, and the
/// roles URL Authorization matches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Identity {
    /// The user name (`alice`, `CONTOSO\alice`).
    pub name: String,
    /// The roles (groups).
    pub roles: Vec<String>,
}

impl Identity {
    /// A user without roles.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            roles: Vec::new(),
        }
    }

    /// The same user in these roles.
    #[must_use]
    pub fn with_roles<R: Into<String>>(mut self, roles: impl IntoIterator<Item = R>) -> Self {
        self.roles.extend(roles.into_iter().map(Into::into));
        self
    }
}

/// The outcome of a [`CredentialValidator::check`]: ready at once, or a future.
pub struct Check(CheckInner);

enum CheckInner {
    Ready(Option<Option<Identity>>),
    Pending(Pin<Box<dyn Future<Output = Option<Identity>> + Send>>),
}

impl Check {
    /// An answer known at once (no allocation).
    #[must_use]
    pub fn ready(identity: Option<Identity>) -> Self {
        Self(CheckInner::Ready(Some(identity)))
    }

    /// An answer still to come (a database or directory lookup).
    pub fn new(fut: impl Future<Output = Option<Identity>> + Send + 'static) -> Self {
        Self(CheckInner::Pending(Box::pin(fut)))
    }

    /// The answer, when it is known without waiting.
    fn take_ready(&mut self) -> Option<Option<Identity>> {
        match &mut self.0 {
            CheckInner::Ready(v) => v.take(),
            CheckInner::Pending(_) => None,
        }
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            CheckInner::Ready(_) => "Check::Ready",
            CheckInner::Pending(_) => "Check::Pending",
        })
    }
}

impl Future for Check {
    type Output = Option<Identity>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            CheckInner::Ready(v) => Poll::Ready(v.take().expect("Check polled after completion")),
            CheckInner::Pending(fut) => fut.as_mut().poll(cx),
        }
    }
}

/// Checks a user name and password: the application's half of Basic
/// authentication.
///
/// A closure `Fn(&str, &str) -> Option<Identity>` is one; for an async check wrap
/// an async closure with [`from_async_fn`]; [`StaticUsers`] is a fixed list.
///
/// ```
/// use tower_iis::authentication::{AuthenticationLayer, Identity};
///
/// let layer = AuthenticationLayer::builder()
///     .basic(true)
///     .credentials(|user: &str, password: &str| {
///         (user == "alice" && password == "demo-password").then(|| Identity::new(user).with_roles(["Staff"]))
///     })
///     .build()
///     .unwrap();
/// # let _ = layer;
/// ```
pub trait CredentialValidator: Send + Sync + 'static {
    /// The identity for this user name (with `defaultLogonDomain` applied) and
    /// password, or `None` to refuse them (401.1).
    fn check(&self, user: &str, password: &str) -> Check;
}

impl<F> CredentialValidator for F
where
    F: Fn(&str, &str) -> Option<Identity> + Send + Sync + 'static,
{
    fn check(&self, user: &str, password: &str) -> Check {
        Check::ready(self(user, password))
    }
}

/// A [`CredentialValidator`] over an async function of the (owned) user name and
/// password. See [`from_async_fn`].
#[derive(Clone)]
pub struct AsyncValidator<F>(F);

impl<F> fmt::Debug for AsyncValidator<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AsyncValidator")
    }
}

/// Wraps an async check: `from_async_fn(|user, password| async move { … })`.
///
/// ```
/// use tower_iis::authentication::{from_async_fn, AuthenticationLayer, Identity};
///
/// let check = from_async_fn(|user: String, password: String| async move {
///     // e.g. a directory lookup
///     (password == "demo-password").then(|| Identity::new(user))
/// });
/// let layer = AuthenticationLayer::builder().basic(true).credentials(check).build().unwrap();
/// # let _ = layer;
/// ```
pub fn from_async_fn<F, Fut>(f: F) -> AsyncValidator<F>
where
    F: Fn(String, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Identity>> + Send + 'static,
{
    AsyncValidator(f)
}

impl<F, Fut> CredentialValidator for AsyncValidator<F>
where
    F: Fn(String, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Identity>> + Send + 'static,
{
    fn check(&self, user: &str, password: &str) -> Check {
        Check::new((self.0)(user.to_owned(), password.to_owned()))
    }
}

/// A fixed list of users and passwords, for tests and demos (never for real
/// accounts: the passwords are in memory in clear).
///
/// User names compare ignoring case, as Windows account names do; passwords
/// compare exactly, in time that does not depend on where they differ.
///
/// ```
/// use tower_iis::authentication::{CredentialValidator, StaticUsers};
///
/// let users = StaticUsers::new()
///     .user("alice", "demo-password")
///     .user_in_roles("bob", "demo-password-2", ["Editors"]);
/// assert_eq!(users.names().collect::<Vec<_>>(), ["alice", "bob"]);
/// # let _ = users.check("alice", "demo-password");
/// ```
#[derive(Clone, Default)]
pub struct StaticUsers {
    users: Vec<StaticUser>,
}

#[derive(Clone)]
struct StaticUser {
    name: String,
    password: String,
    roles: Vec<String>,
}

impl fmt::Debug for StaticUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the passwords.
        f.debug_struct("StaticUsers")
            .field("names", &self.names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl StaticUsers {
    /// No users.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a user without roles (replacing one of the same name).
    #[must_use]
    pub fn user(self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.user_in_roles(name, password, std::iter::empty::<String>())
    }

    /// Adds a user in these roles (replacing one of the same name).
    #[must_use]
    pub fn user_in_roles<R: Into<String>>(
        mut self,
        name: impl Into<String>,
        password: impl Into<String>,
        roles: impl IntoIterator<Item = R>,
    ) -> Self {
        let name = name.into();
        self.users.retain(|u| !eq_ignore_case(&u.name, &name));
        self.users.push(StaticUser {
            name,
            password: password.into(),
            roles: roles.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// The user names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(|u| u.name.as_str())
    }
}

/// Compares without stopping at the first difference.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (i, x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(!x);
    }
    diff == 0
}

impl CredentialValidator for StaticUsers {
    fn check(&self, user: &str, password: &str) -> Check {
        let found = self
            .users
            .iter()
            .find(|u| eq_ignore_case(&u.name, user))
            .filter(|u| same_secret(u.password.as_bytes(), password.as_bytes()))
            .map(|u| Identity::new(u.name.clone()).with_roles(u.roles.iter().cloned()));
        Check::ready(found)
    }
}

/// `<anonymousAuthentication>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnonymousAuthentication {
    /// `enabled` (default true).
    pub enabled: bool,
    /// `userName`: the account anonymous requests run as (default `IUSR`); see
    /// [`Logon::identity`].
    pub user_name: String,
}

impl Default for AnonymousAuthentication {
    fn default() -> Self {
        Self {
            enabled: true,
            user_name: DEFAULT_ANONYMOUS_USER.to_owned(),
        }
    }
}

/// `<basicAuthentication>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BasicAuthentication {
    /// `enabled` (default false).
    pub enabled: bool,
    /// `realm` (default empty: the request's host name).
    pub realm: String,
    /// `defaultLogonDomain` (default empty: none added).
    pub default_logon_domain: String,
}

/// `<security><authentication>`: the settings of the emulated methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticationSection {
    /// `<anonymousAuthentication>`.
    pub anonymous: AnonymousAuthentication,
    /// `<basicAuthentication>`.
    pub basic: BasicAuthentication,
}

/// Builds an [`AuthenticationLayer`].
#[must_use]
pub struct AuthenticationBuilder {
    section: AuthenticationSection,
    validator: Option<Arc<dyn CredentialValidator>>,
}

impl fmt::Debug for AuthenticationBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticationBuilder")
            .field("section", &self.section)
            .field("validator", &self.validator.is_some())
            .finish()
    }
}

impl AuthenticationBuilder {
    /// All settings at once (from a web.config).
    pub fn section(mut self, section: &AuthenticationSection) -> Self {
        self.section = section.clone();
        self
    }

    /// `anonymousAuthentication@enabled` (default true).
    pub fn anonymous(mut self, enabled: bool) -> Self {
        self.section.anonymous.enabled = enabled;
        self
    }

    /// `anonymousAuthentication@userName` (default `IUSR`).
    pub fn anonymous_user(mut self, name: impl Into<String>) -> Self {
        self.section.anonymous.user_name = name.into();
        self
    }

    /// `basicAuthentication@enabled` (default false).
    pub fn basic(mut self, enabled: bool) -> Self {
        self.section.basic.enabled = enabled;
        self
    }

    /// `basicAuthentication@realm` (default empty: the request's host name).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.section.basic.realm = realm.into();
        self
    }

    /// `basicAuthentication@defaultLogonDomain`.
    pub fn default_logon_domain(mut self, domain: impl Into<String>) -> Self {
        self.section.basic.default_logon_domain = domain.into();
        self
    }

    /// The credential check for Basic authentication.
    pub fn credentials(mut self, validator: impl CredentialValidator) -> Self {
        self.validator = Some(Arc::new(validator));
        self
    }

    /// The credential check, shared.
    pub fn credentials_arc(mut self, validator: Arc<dyn CredentialValidator>) -> Self {
        self.validator = Some(validator);
        self
    }

    /// Builds the layer. Basic on without a validator is allowed: every Basic
    /// attempt then fails with 401.1 (and a `tracing` warning is logged now).
    ///
    /// # Errors
    ///
    /// A `realm` with a control character (it could not be sent in a header).
    pub fn build(self) -> Result<AuthenticationLayer, ConfigError> {
        let basic = &self.section.basic;
        if basic.realm.chars().any(|c| c.is_control() && c != '\t') {
            return Err(ConfigError::new(
                "basicAuthentication@realm",
                basic.realm.clone(),
                "a realm cannot hold control characters",
            ));
        }
        let challenge = if basic.realm.is_empty() {
            None
        } else {
            Some(challenge_for(&basic.realm))
        };
        if basic.enabled && self.validator.is_none() {
            tracing::warn!(
                target: "tower_iis::authentication",
                "Basic authentication is enabled without a credential check: every Basic sign-in fails with 401.1"
            );
        }
        Ok(AuthenticationLayer {
            config: Arc::new(Config {
                anonymous: self
                    .section
                    .anonymous
                    .enabled
                    .then(|| Logon::anonymous(self.section.anonymous.user_name.clone())),
                basic: basic.enabled.then(|| Basic {
                    challenge,
                    domain: basic.default_logon_domain.clone(),
                    validator: self.validator.clone(),
                }),
                section: self.section.clone(),
            }),
        })
    }
}

/// `Basic realm="…"` with `"` and `\` escaped.
fn challenge_for(realm: &str) -> HeaderValue {
    let mut text = String::with_capacity(realm.len() + 14);
    text.push_str("Basic realm=\"");
    for c in realm.chars() {
        if c == '"' || c == '\\' {
            text.push('\\');
        }
        text.push(c);
    }
    text.push('"');
    HeaderValue::from_str(&text).expect("control characters were refused")
}

struct Config {
    /// The logon of an anonymous request, when anonymous authentication is on.
    anonymous: Option<Logon>,
    basic: Option<Basic>,
    section: AuthenticationSection,
}

struct Basic {
    /// The challenge of a fixed realm; `None`: the request's host.
    challenge: Option<HeaderValue>,
    domain: String,
    validator: Option<Arc<dyn CredentialValidator>>,
}

impl Config {
    /// The `WWW-Authenticate` value for a request to `host`, when Basic is on.
    fn challenge(&self, host: Option<&HeaderValue>) -> Option<HeaderValue> {
        let basic = self.basic.as_ref()?;
        if let Some(c) = &basic.challenge {
            return Some(c.clone());
        }
        let host = host.and_then(|h| h.to_str().ok()).unwrap_or("");
        let name = match host.strip_prefix('[') {
            // [::1]:80
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None => host.rsplit_once(':').map_or(host, |(name, _)| name),
        };
        let name: String = name.chars().filter(|c| !c.is_control()).collect();
        Some(challenge_for(&name))
    }
}

/// IIS's authentication modules as a layer. See the [module docs](self).
#[derive(Clone)]
pub struct AuthenticationLayer {
    config: Arc<Config>,
}

impl fmt::Debug for AuthenticationLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticationLayer")
            .field("section", &self.config.section)
            .field(
                "validator",
                &self
                    .config
                    .basic
                    .as_ref()
                    .is_some_and(|b| b.validator.is_some()),
            )
            .finish()
    }
}

impl Default for AuthenticationLayer {
    /// IIS's defaults: anonymous on, Basic off.
    fn default() -> Self {
        Self::builder()
            .build()
            .expect("the default settings are valid")
    }
}

impl AuthenticationLayer {
    /// IIS's defaults (anonymous on, Basic off), to change.
    pub fn builder() -> AuthenticationBuilder {
        AuthenticationBuilder {
            section: AuthenticationSection::default(),
            validator: None,
        }
    }

    /// The settings.
    #[must_use]
    pub fn section(&self) -> &AuthenticationSection {
        &self.config.section
    }

    /// The logon every request gets when anonymous authentication is the only
    /// method (IIS's default): the layer then has nothing to check or challenge,
    /// and does no more than put it on the request and pass it to
    /// [`mark_response`].
    #[cfg(feature = "site")]
    pub(crate) fn anonymous_only(&self) -> Option<&Logon> {
        match &self.config.basic {
            None => self.config.anonymous.as_ref(),
            Some(_) => None,
        }
    }
}

impl<S> Layer<S> for AuthenticationLayer {
    type Service = Authentication<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authentication {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service of [`AuthenticationLayer`].
#[derive(Clone)]
pub struct Authentication<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S: fmt::Debug> fmt::Debug for Authentication<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authentication")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> Authentication<S> {
    define_inner_service_accessors!();
}

/// What the `Authorization` header holds for Basic authentication.
#[derive(Debug, PartialEq, Eq)]
enum Credentials {
    /// No header, or another scheme.
    None,
    /// `Basic` with a token that cannot be user and password.
    Malformed,
    /// `Basic` user and password.
    Basic(String, String),
}

/// Text of a decoded credential: UTF-8, else ISO-8859-1.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

fn basic_credentials(headers: &HeaderMap) -> Credentials {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Credentials::None;
    };
    let value = value.as_bytes();
    let value = value.trim_ascii_start();
    let scheme_end = value
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .unwrap_or(value.len());
    if !value[..scheme_end].eq_ignore_ascii_case(b"basic") {
        return Credentials::None;
    }
    let token = value[scheme_end..].trim_ascii();
    if token.is_empty() || token.len() > MAX_CREDENTIALS_LEN {
        return Credentials::Malformed;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT.decode(token)
    else {
        return Credentials::Malformed;
    };
    let Some(colon) = decoded.iter().position(|b| *b == b':') else {
        return Credentials::Malformed;
    };
    if colon == 0 {
        return Credentials::Malformed;
    }
    Credentials::Basic(text(&decoded[..colon]), text(&decoded[colon + 1..]))
}

/// The 401.2 of a request without credentials the site accepts.
fn no_credentials() -> IisError {
    IisError::new(IisStatus::UNAUTHORIZED_LOGON_FAILED_SERVER_CONFIG)
        .with_hresult(HRESULT_NO_CREDENTIALS)
        .with_logon_method(NOT_YET_DETERMINED)
        .with_logon_user(NOT_YET_DETERMINED)
}

/// The 401.1 of refused or malformed credentials.
fn logon_failed(hresult: u32) -> IisError {
    IisError::new(IisStatus::UNAUTHORIZED_LOGON_FAILED)
        .with_hresult(hresult)
        .with_logon_method(NOT_YET_DETERMINED)
        .with_logon_user(NOT_YET_DETERMINED)
}

impl<S, B, RB> Service<Request<B>> for Authentication<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone,
    RB: Default,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let config = self.config.clone();
        let host = config
            .basic
            .as_ref()
            .filter(|b| b.challenge.is_none())
            .and_then(|_| req.headers().get(HOST).cloned());
        let credentials = match &config.basic {
            Some(_) => basic_credentials(req.headers()),
            None => Credentials::None,
        };
        let (user, password) = match credentials {
            Credentials::None => {
                let Some(logon) = config.anonymous.clone() else {
                    return ResponseFuture::denied(no_credentials(), None, config, host);
                };
                req.extensions_mut().insert(logon.clone());
                let fut = self.inner.call(req);
                return ResponseFuture::inner(fut, logon, config, host);
            }
            Credentials::Malformed => {
                return ResponseFuture::denied(
                    logon_failed(HRESULT_INVALID_PARAMETER),
                    None,
                    config,
                    host,
                );
            }
            Credentials::Basic(user, password) => (user, password),
        };
        let basic = config
            .basic
            .as_ref()
            .expect("credentials are read when Basic is on");
        let user = if basic.domain.is_empty() || user.contains(['\\', '@']) {
            user
        } else {
            format!("{}\\{user}", basic.domain)
        };
        let mut check = match &basic.validator {
            Some(v) => v.check(&user, &password),
            None => Check::ready(None),
        };
        drop(password);
        match check.take_ready() {
            Some(identity) => match identity {
                Some(identity) => {
                    let logon = Logon::authenticated(BASIC, identity.name, identity.roles);
                    req.extensions_mut().insert(logon.clone());
                    let fut = self.inner.call(req);
                    ResponseFuture::inner(fut, logon, config, host)
                }
                None => ResponseFuture::denied(
                    logon_failed(HRESULT_LOGON_FAILURE),
                    Some(user),
                    config,
                    host,
                ),
            },
            None => {
                // The service that was made ready goes with the request; a clone
                // stays for the next one.
                let clone = self.inner.clone();
                let service = std::mem::replace(&mut self.inner, clone);
                ResponseFuture {
                    state: State::Checking {
                        pending: Box::new(Pending {
                            check,
                            service: Some(service),
                            req: Some(req),
                            user: Some(user),
                        }),
                    },
                    config,
                    host,
                    logon: None,
                }
            }
        }
    }
}

pin_project! {
    /// The response future of [`Authentication`].
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
        config: Arc<Config>,
        host: Option<HeaderValue>,
        logon: Option<Logon>,
    }
}

/// A Basic sign-in whose credential check has not answered yet.
struct Pending<S, B> {
    check: Check,
    service: Option<S>,
    req: Option<Request<B>>,
    user: Option<String>,
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        // Boxed: the response future of every other request stays small.
        Checking { pending: Box<Pending<S, B>> },
        Inner { #[pin] fut: S::Future },
        Denied { error: Option<IisError>, user: Option<String> },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn inner(fut: S::Future, logon: Logon, config: Arc<Config>, host: Option<HeaderValue>) -> Self {
        Self {
            state: State::Inner { fut },
            config,
            host,
            logon: Some(logon),
        }
    }

    fn denied(
        error: IisError,
        user: Option<String>,
        config: Arc<Config>,
        host: Option<HeaderValue>,
    ) -> Self {
        Self {
            state: State::Denied {
                error: Some(error),
                user,
            },
            config,
            host,
            logon: None,
        }
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("logon", &self.logon)
            .finish_non_exhaustive()
    }
}

/// What a response that the inner service gave after a logon carries back: the
/// [`Logon`] on an error (the error pages show it) and the [`LogonUser`] (the
/// log's `cs-username`) when the logon names a user.
pub(crate) fn mark_response<RB>(logon: &Logon, res: &mut Response<RB>) {
    let error = res.status().as_u16() >= 400;
    let ext = res.extensions_mut();
    // The error pages need it; a success costs nothing extra.
    if error && ext.get::<Logon>().is_none() {
        ext.insert(logon.clone());
    }
    if let Some(user) = logon.user_arc() {
        if ext.get::<LogonUser>().is_none() {
            ext.insert(LogonUser::new(user));
        }
    }
}

/// Adds the Basic challenge to a 401 that has none.
fn add_challenge(config: &Config, host: Option<&HeaderValue>, headers: &mut HeaderMap) {
    let has_basic = headers.get_all(WWW_AUTHENTICATE).iter().any(|v| {
        v.as_bytes()
            .get(..5)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"basic"))
    });
    if !has_basic {
        if let Some(c) = config.challenge(host) {
            headers.append(WWW_AUTHENTICATE, c);
        }
    }
}

impl<S, B, RB> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<RB>>,
    RB: Default,
{
    type Output = Result<Response<RB>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Checking { pending } => {
                    let Pending {
                        check,
                        service,
                        req,
                        user,
                    } = &mut **pending;
                    let identity = std::task::ready!(Pin::new(check).poll(cx));
                    let mut req = req.take().expect("polled after completion");
                    match identity {
                        Some(identity) => {
                            let logon = Logon::authenticated(BASIC, identity.name, identity.roles);
                            req.extensions_mut().insert(logon.clone());
                            let mut service = service.take().expect("polled after completion");
                            let fut = service.call(req);
                            *this.logon = Some(logon);
                            this.state.set(State::Inner { fut });
                        }
                        None => {
                            let user = user.take();
                            this.state.set(State::Denied {
                                error: Some(logon_failed(HRESULT_LOGON_FAILURE)),
                                user,
                            });
                        }
                    }
                }
                StateProj::Inner { fut } => {
                    let mut res = std::task::ready!(fut.poll(cx))?;
                    let logon = this.logon.as_ref().expect("an inner call has a logon");
                    mark_response(logon, &mut res);
                    if res.status() == StatusCode::UNAUTHORIZED {
                        add_challenge(this.config, this.host.as_ref(), res.headers_mut());
                    }
                    return Poll::Ready(Ok(res));
                }
                StateProj::Denied { error, user } => {
                    let error = error.take().expect("polled after completion");
                    tracing::debug!(
                        target: "tower_iis::authentication",
                        status = %error.status(),
                        user = user.as_deref().unwrap_or(""),
                        "authentication refused the request"
                    );
                    let mut res = error.into_http_response::<RB>();
                    if let Some(user) = user.take() {
                        // IIS logs the name that failed to sign in.
                        res.extensions_mut().insert(LogonUser::new(user));
                    }
                    add_challenge(this.config, this.host.as_ref(), res.headers_mut());
                    return Poll::Ready(Ok(res));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        h
    }

    #[test]
    fn basic_credentials_are_read_leniently_and_never_panic() {
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let ok = |u: &str, p: &str| Credentials::Basic(u.to_owned(), p.to_owned());
        assert_eq!(basic_credentials(&HeaderMap::new()), Credentials::None);
        assert_eq!(
            basic_credentials(&headers(b"Bearer abc")),
            Credentials::None
        );
        assert_eq!(
            basic_credentials(&headers(b"Basicx abc")),
            Credentials::None
        );
        let t = format!("Basic {}", b64(b"alice:pw:with:colons"));
        assert_eq!(
            basic_credentials(&headers(t.as_bytes())),
            ok("alice", "pw:with:colons")
        );
        let t = format!("bAsIc   {}  ", b64(b"alice:"));
        assert_eq!(basic_credentials(&headers(t.as_bytes())), ok("alice", ""));
        // No padding.
        assert_eq!(
            basic_credentials(&headers(b"Basic YWxpY2U6cHc")),
            ok("alice", "pw")
        );
        // ISO-8859-1 when not UTF-8.
        let t = format!("Basic {}", b64(b"J\xf6rg:pw"));
        assert_eq!(basic_credentials(&headers(t.as_bytes())), ok("Jörg", "pw"));
        let t = format!("Basic {}", b64("Jörg:pw".as_bytes()));
        assert_eq!(basic_credentials(&headers(t.as_bytes())), ok("Jörg", "pw"));
        for bad in [
            "Basic".to_owned(),
            "Basic ".to_owned(),
            "Basic !!!!".to_owned(),
            format!("Basic {}", b64(b"no-colon")),
            format!("Basic {}", b64(b":only-password")),
            format!("Basic {}", "A".repeat(MAX_CREDENTIALS_LEN + 4)),
        ] {
            assert_eq!(
                basic_credentials(&headers(bad.as_bytes())),
                Credentials::Malformed,
                "{bad:.40}"
            );
        }
    }

    #[test]
    fn static_users_ignore_case_in_names_only() {
        let users = StaticUsers::new()
            .user("alice", "pw")
            .user_in_roles("Bob", "pw2", ["Editors"])
            .user("ALICE", "new");
        assert_eq!(users.names().collect::<Vec<_>>(), ["Bob", "ALICE"]);
        let get = |u: &str, p: &str| users.check(u, p).take_ready().unwrap();
        assert_eq!(get("alice", "new"), Some(Identity::new("ALICE")));
        assert_eq!(get("alice", "pw"), None);
        assert_eq!(
            get("bob", "pw2"),
            Some(Identity::new("Bob").with_roles(["Editors"]))
        );
        assert_eq!(get("bob", "PW2"), None);
        assert_eq!(get("bob", "pw2x"), None);
        assert_eq!(get("carol", "pw"), None);
        assert!(!format!("{users:?}").contains("pw2"));
    }

    #[tokio::test]
    async fn responses_carry_the_logon_where_it_is_needed() {
        use tower::ServiceExt as _;
        let layer = AuthenticationLayer::builder()
            .basic(true)
            .credentials(StaticUsers::new().user("alice", "pw"))
            .build()
            .unwrap();
        let svc = layer.layer(tower::service_fn(|req: Request<()>| async move {
            let mut res = Response::new(String::new());
            if req.uri().path() == "/fail" {
                *res.status_mut() = StatusCode::NOT_FOUND;
            }
            Ok::<_, std::convert::Infallible>(res)
        }));
        let call = |path: &str, auth: Option<&str>| {
            let mut req = Request::get(path);
            if let Some(a) = auth {
                req = req.header(AUTHORIZATION, a);
            }
            svc.clone().oneshot(req.body(()).unwrap())
        };
        // alice:pw
        let alice = Some("Basic YWxpY2U6cHc=");
        // Anonymous success: nothing added.
        let res = call("/", None).await.unwrap();
        assert!(res.extensions().get::<Logon>().is_none());
        assert!(res.extensions().get::<LogonUser>().is_none());
        // Anonymous error: the logon for the page.
        let res = call("/fail", None).await.unwrap();
        assert!(res.extensions().get::<Logon>().unwrap().is_anonymous());
        assert!(res.extensions().get::<LogonUser>().is_none());
        // Signed in: the user for the log, and the logon on errors.
        let res = call("/", alice).await.unwrap();
        assert_eq!(res.extensions().get::<LogonUser>().unwrap().name(), "alice");
        assert!(res.extensions().get::<Logon>().is_none());
        let res = call("/fail", alice).await.unwrap();
        assert_eq!(
            res.extensions().get::<Logon>().unwrap().user(),
            Some("alice")
        );
        assert_eq!(res.extensions().get::<LogonUser>().unwrap().name(), "alice");
    }

    #[tokio::test]
    async fn an_async_check_is_awaited_before_the_inner_service() {
        use tower::ServiceExt as _;
        let check = from_async_fn(|user: String, password: String| async move {
            tokio::task::yield_now().await;
            (password == "pw").then(|| Identity::new(user).with_roles(["Staff"]))
        });
        let layer = AuthenticationLayer::builder()
            .anonymous(false)
            .basic(true)
            .default_logon_domain("CONTOSO")
            .credentials(check)
            .build()
            .unwrap();
        let svc = layer.layer(tower::service_fn(|req: Request<()>| async move {
            let logon = req.extensions().get::<Logon>().unwrap().clone();
            Ok::<_, std::convert::Infallible>(Response::new(format!(
                "{} {}",
                logon.user().unwrap(),
                logon.is_in_role("staff")
            )))
        }));
        let req = |auth: &str| {
            Request::get("/")
                .header(AUTHORIZATION, auth)
                .body(())
                .unwrap()
        };
        // alice:pw, checked as CONTOSO\alice.
        let res = svc
            .clone()
            .oneshot(req("Basic YWxpY2U6cHc="))
            .await
            .unwrap();
        assert_eq!(res.into_body(), "CONTOSO\\alice true");
        // alice@example.com:pw keeps its own domain.
        let res = svc
            .clone()
            .oneshot(req("Basic YWxpY2VAZXhhbXBsZS5jb206cHc="))
            .await
            .unwrap();
        assert_eq!(res.into_body(), "alice@example.com true");
        // alice:no
        let res = svc.oneshot(req("Basic YWxpY2U6bm8=")).await.unwrap();
        assert_eq!(res.status(), 401);
        let err = res.extensions().get::<IisError>().unwrap();
        assert_eq!((err.substatus(), err.win32_status()), (1, 1326));
        assert_eq!(
            res.extensions().get::<LogonUser>().unwrap().name(),
            "CONTOSO\\alice"
        );
    }

    #[test]
    fn challenges_name_the_realm_or_the_host() {
        let layer = AuthenticationLayer::builder().basic(true).build().unwrap();
        let host = |h: &str| {
            layer
                .config
                .challenge(Some(&HeaderValue::from_str(h).unwrap()))
                .unwrap()
        };
        assert_eq!(
            host("www.contoso.com:8080"),
            r#"Basic realm="www.contoso.com""#
        );
        assert_eq!(host("[::1]:80"), r#"Basic realm="::1""#);
        assert_eq!(host("localhost"), r#"Basic realm="localhost""#);
        assert_eq!(layer.config.challenge(None).unwrap(), r#"Basic realm="""#);
        let layer = AuthenticationLayer::builder()
            .basic(true)
            .realm(r#"The "Q" \ Team"#)
            .build()
            .unwrap();
        assert_eq!(
            layer.config.challenge(None).unwrap(),
            r#"Basic realm="The \"Q\" \\ Team""#
        );
        let off = AuthenticationLayer::builder().build().unwrap();
        assert_eq!(off.config.challenge(None), None);
        let err = AuthenticationLayer::builder()
            .realm("a\r\nb")
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "basicAuthentication@realm");
    }
}
