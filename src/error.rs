//! [`IisError`]: what a handler returns to fail the IIS way.
//!
//! An `IisError` carries a [status.substatus](IisStatus) and the detail IIS attaches
//! to an error: the HRESULT or Win32 status, the module, notification and handler,
//! the physical path, the logon method and user, a source error, and IIS's
//! "try skip custom errors" flag. Whatever is not set comes from the
//! [catalog](crate::catalog).
//!
//! It renders nothing. Turned into a response it gives the status, an **empty body**
//! and itself in the response extensions, as an IIS module calls `SetStatus` and
//! leaves the page to the custom-error module. The
//! [`HttpErrorsLayer`](crate::http_errors::HttpErrorsLayer) renders the page and the
//! W3C log layer reads the substatus and Win32 status from the same extension.
//!
//! # Example
//!
//! Needs no feature and no other crate.
//!
//! ```
//! use tower_iis::{IisError, IisStatus};
//!
//! let err = IisError::new(IisStatus::NOT_FOUND)
//!     .with_physical_path(r"C:\inetpub\wwwroot\missing.htm");
//! assert_eq!(err.hresult(), 0x8007_0002); // from the catalog
//! assert_eq!(err.win32_status(), 2); // what sc-win32-status logs
//! assert_eq!(err.module(), "IIS Web Core");
//!
//! let res: http::Response<String> = err.into_http_response();
//! assert_eq!(res.status(), 404);
//! assert!(res.body().is_empty());
//! let ext = res.extensions().get::<IisError>().unwrap();
//! assert_eq!(ext.status().to_string(), "404.0");
//! ```
//!
//! With the `axum` feature, `IisError` implements `IntoResponse`, so a handler can
//! return `Result<T, IisError>`. An [`io::Error`] converts with `?`
//! as IIS maps a failed file access (see [`IisError::from_io`]), and
//! [`IisResultExt::iis`] turns any other error, or a `None`, into a chosen status:
//!
//! ```
//! use tower_iis::{IisError, IisResultExt, IisStatus};
//!
//! fn read_page(path: &str) -> Result<String, IisError> {
//!     Ok(std::fs::read_to_string(path)?) // NotFound → 404.0, 0x80070002
//! }
//! fn port(query: &str) -> Result<u16, IisError> {
//!     let raw = query.strip_prefix("port=").iis(IisStatus::BAD_REQUEST)?;
//!     raw.parse().iis(IisStatus::BAD_REQUEST) // the parse error is the source
//! }
//!
//! let err = read_page("/no/such/page.htm").unwrap_err();
//! assert_eq!(err.status().to_string(), "404.0");
//! assert_eq!(err.hresult(), 0x8007_0002);
//! assert_eq!(port("port=x").unwrap_err().status().to_string(), "400.0");
//! assert!(port("port=x").unwrap_err().source_error().is_some());
//! assert_eq!(port("port=8080").unwrap(), 8080);
//! ```
//!
//! A handler that writes its own error body can still attach the detail with
//! `axum::Extension(err)` next to the body.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::sync::Arc;

use http::Response;

use crate::catalog::CodeInfo;
use crate::status::{win32_status_from_hresult, IisStatus};

/// The module IIS names when nothing more specific is known.
pub const DEFAULT_MODULE: &str = "IIS Web Core";
/// The notification IIS names when nothing more specific is known.
pub const DEFAULT_NOTIFICATION: &str = "ExecuteRequestHandler";
/// The handler IIS names when it has not mapped one yet.
pub const DEFAULT_HANDLER: &str = NOT_YET_DETERMINED;
/// The logon method and user IIS shows for an anonymous request.
pub const ANONYMOUS: &str = "Anonymous";
/// What IIS shows for a value it had not worked out when the request failed.
pub const NOT_YET_DETERMINED: &str = "Not yet determined";

/// An IIS-style error: status.substatus plus the detail IIS attaches.
///
/// Cheap to clone (the detail is shared), and `Send + Sync + 'static`, so it lives in
/// response extensions. See the [module docs](self).
#[derive(Clone)]
pub struct IisError {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    status: IisStatus,
    hresult: Option<u32>,
    win32_status: Option<u32>,
    module: Option<Cow<'static, str>>,
    notification: Option<Cow<'static, str>>,
    handler: Option<Cow<'static, str>>,
    physical_path: Option<String>,
    logon_method: Option<Cow<'static, str>>,
    logon_user: Option<String>,
    config: Option<ConfigErrorDetail>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
    try_skip_custom_errors: bool,
    reason: Option<String>,
    description: Option<String>,
}

/// The configuration detail IIS shows on a 500.19 page: the error, the file, and
/// the offending lines ("Config Source").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrorDetail {
    /// The "Config Error" row, e.g. `Cannot add duplicate collection entry`.
    pub error: String,
    /// The "Config File" row, e.g. `\\?\C:\inetpub\wwwroot\web.config`.
    pub file: String,
    /// The lines around the error, shown under "Config Source:".
    pub source_lines: Vec<ConfigSourceLine>,
}

/// One line of the "Config Source:" block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSourceLine {
    /// The 1-based line number in the file.
    pub number: u32,
    /// The text of the line.
    pub text: String,
    /// Whether this is the offending line (highlighted).
    pub highlight: bool,
}

impl IisError {
    /// An error with this status; every other detail comes from the catalog.
    #[must_use]
    pub fn new(status: IisStatus) -> Self {
        Self {
            inner: Arc::new(Inner {
                status,
                hresult: None,
                win32_status: None,
                module: None,
                notification: None,
                handler: None,
                physical_path: None,
                logon_method: None,
                logon_user: None,
                config: None,
                source: None,
                try_skip_custom_errors: false,
                reason: None,
                description: None,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Sets the reason the detailed page shows after the code (IIS's `SetStatus`
    /// reason, e.g. a URL Rewrite `statusReason`), instead of the status's standard one.
    #[must_use]
    pub fn with_reason(self, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        self.edit(|i| i.reason = Some(reason))
    }

    /// Sets the summary the detailed page shows under its heading (a URL Rewrite
    /// `statusDescription`), instead of the catalog's.
    #[must_use]
    pub fn with_description(self, description: impl Into<String>) -> Self {
        let description = description.into();
        self.edit(|i| i.description = Some(description))
    }

    /// The reason set with [`with_reason`](Self::with_reason), if any.
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        self.inner.reason.as_deref()
    }

    /// The summary set with [`with_description`](Self::with_description), if any.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        self.inner.description.as_deref()
    }

    /// Sets the HRESULT shown as "Error Code" (the log's `sc-win32-status` follows
    /// from it unless [`with_win32_status`](Self::with_win32_status) is set).
    #[must_use]
    pub fn with_hresult(self, hresult: u32) -> Self {
        self.edit(|i| i.hresult = Some(hresult))
    }

    /// Sets the Win32 status written to the log's `sc-win32-status` column, e.g. `5`
    /// for access denied. Without an HRESULT the page shows `0x8007xxxx` for it.
    #[must_use]
    pub fn with_win32_status(self, win32_status: u32) -> Self {
        self.edit(|i| i.win32_status = Some(win32_status))
    }

    /// Sets the module named on the detailed page.
    #[must_use]
    pub fn with_module(self, module: impl Into<Cow<'static, str>>) -> Self {
        self.edit(|i| i.module = Some(module.into()))
    }

    /// Sets the notification named on the detailed page.
    #[must_use]
    pub fn with_notification(self, notification: impl Into<Cow<'static, str>>) -> Self {
        self.edit(|i| i.notification = Some(notification.into()))
    }

    /// Sets the handler named on the detailed page.
    #[must_use]
    pub fn with_handler(self, handler: impl Into<Cow<'static, str>>) -> Self {
        self.edit(|i| i.handler = Some(handler.into()))
    }

    /// Sets the physical path shown to local clients on the detailed page.
    #[must_use]
    pub fn with_physical_path(self, path: impl Into<String>) -> Self {
        self.edit(|i| i.physical_path = Some(path.into()))
    }

    /// Sets the logon method (e.g. `Basic`, `Negotiate`); `Anonymous` by default.
    #[must_use]
    pub fn with_logon_method(self, method: impl Into<Cow<'static, str>>) -> Self {
        self.edit(|i| i.logon_method = Some(method.into()))
    }

    /// Sets the logon user; `Anonymous` by default.
    #[must_use]
    pub fn with_logon_user(self, user: impl Into<String>) -> Self {
        self.edit(|i| i.logon_user = Some(user.into()))
    }

    /// Attaches the configuration error detail of a 500.19 page.
    #[must_use]
    pub fn with_config_error(self, config: ConfigErrorDetail) -> Self {
        self.edit(|i| i.config = Some(config))
    }

    /// Attaches the error that caused this one; shown to local clients only.
    #[must_use]
    pub fn with_source(self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.edit(|i| i.source = Some(Arc::new(source)))
    }

    /// Sets IIS's `fTrySkipCustomErrors` flag (ASP.NET's `TrySkipIisCustomErrors`):
    /// with `existingResponse="Auto"` the response passes through untouched.
    #[must_use]
    pub fn with_try_skip_custom_errors(self, skip: bool) -> Self {
        self.edit(|i| i.try_skip_custom_errors = skip)
    }

    /// The status.substatus.
    #[must_use]
    pub fn status(&self) -> IisStatus {
        self.inner.status
    }

    /// The substatus (`3` of `404.3`).
    #[must_use]
    pub fn substatus(&self) -> u16 {
        self.inner.status.substatus()
    }

    /// What the catalog knows about the status.
    #[must_use]
    pub fn info(&self) -> Option<&'static CodeInfo> {
        self.inner.status.info()
    }

    /// The HRESULT shown as "Error Code": the one set, else one built from the Win32
    /// status set, else the catalog's, else `0`.
    #[must_use]
    pub fn hresult(&self) -> u32 {
        if let Some(h) = self.inner.hresult {
            return h;
        }
        if let Some(w) = self.inner.win32_status {
            return if w == 0 || w > 0xFFFF {
                w
            } else {
                0x8007_0000 | w
            };
        }
        self.info().and_then(CodeInfo::hresult).unwrap_or(0)
    }

    /// The value for the log's `sc-win32-status` column (IIS's rule, see
    /// [`crate::win32_status_from_hresult`]).
    #[must_use]
    pub fn win32_status(&self) -> u32 {
        match self.inner.win32_status {
            Some(w) => w,
            None => win32_status_from_hresult(self.hresult()),
        }
    }

    /// The module named on the detailed page.
    #[must_use]
    pub fn module(&self) -> &str {
        self.inner
            .module
            .as_deref()
            .or_else(|| self.info().and_then(CodeInfo::module))
            .unwrap_or(DEFAULT_MODULE)
    }

    /// The notification named on the detailed page.
    #[must_use]
    pub fn notification(&self) -> &str {
        self.inner
            .notification
            .as_deref()
            .or_else(|| self.info().and_then(CodeInfo::notification))
            .unwrap_or(DEFAULT_NOTIFICATION)
    }

    /// The handler named on the detailed page.
    #[must_use]
    pub fn handler(&self) -> &str {
        self.inner
            .handler
            .as_deref()
            .or_else(|| self.info().and_then(CodeInfo::handler))
            .unwrap_or(DEFAULT_HANDLER)
    }

    /// The physical path, when one was set.
    #[must_use]
    pub fn physical_path(&self) -> Option<&str> {
        self.inner.physical_path.as_deref()
    }

    /// The logon method: the one set; else `Not yet determined` for a
    /// configuration error (IIS fails before authentication), `Anonymous` otherwise.
    #[must_use]
    pub fn logon_method(&self) -> &str {
        self.inner
            .logon_method
            .as_deref()
            .unwrap_or_else(|| self.unauthenticated())
    }

    /// The logon user: the one set; else as [`logon_method`](Self::logon_method).
    #[must_use]
    pub fn logon_user(&self) -> &str {
        self.inner
            .logon_user
            .as_deref()
            .unwrap_or_else(|| self.unauthenticated())
    }

    /// Whether a logon method or user was set on the error itself (then it wins
    /// over the request's [`Logon`](crate::Logon) on the error page).
    pub(crate) fn has_logon(&self) -> bool {
        self.inner.logon_method.is_some() || self.inner.logon_user.is_some()
    }

    fn unauthenticated(&self) -> &'static str {
        if self.inner.config.is_some() {
            NOT_YET_DETERMINED
        } else {
            ANONYMOUS
        }
    }

    /// The configuration error detail of a 500.19 page, when set.
    #[must_use]
    pub fn config_error(&self) -> Option<&ConfigErrorDetail> {
        self.inner.config.as_ref()
    }

    /// The error behind this one, when set.
    #[must_use]
    pub fn source_error(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.inner.source.as_deref()
    }

    /// Whether the "try skip custom errors" flag is set.
    #[must_use]
    pub fn skips_custom_errors(&self) -> bool {
        self.inner.try_skip_custom_errors
    }

    /// The response IIS's module would leave behind: the status, an empty body and
    /// this error in the extensions.
    #[must_use]
    pub fn into_http_response<B: Default>(self) -> Response<B> {
        let mut res = Response::new(B::default());
        *res.status_mut() = self.inner.status.status();
        res.extensions_mut().insert(self);
        res
    }
}

impl IisError {
    /// The error IIS reports for a failed file access, with `err` as its source:
    ///
    /// | `io::ErrorKind` | status | HRESULT |
    /// |---|---|---|
    /// | `NotFound` | 404.0 | 0x80070002 (0x80070003 for a missing folder on Windows) |
    /// | `PermissionDenied` | 401.3 (ACL on resource) | 0x80070005 |
    /// | anything else | 500.0 | `0x8007xxxx` from the Win32 code: the OS error's own on Windows, else the one matching the kind where there is one |
    pub fn from_io(err: io::Error) -> Self {
        let win32 = win32_code(&err);
        let status = match err.kind() {
            io::ErrorKind::NotFound => IisStatus::NOT_FOUND,
            io::ErrorKind::PermissionDenied => IisStatus::UNAUTHORIZED_ACL_ON_RESOURCE,
            _ => IisStatus::INTERNAL_SERVER_ERROR,
        };
        let mut e = IisError::new(status);
        if let Some(code) = win32 {
            e = e.with_hresult(0x8007_0000 | (code & 0xffff));
        }
        e.with_source(err)
    }
}

/// The Win32 error code behind an I/O error: the OS's own on Windows, else the
/// code Windows gives the same condition.
fn win32_code(err: &io::Error) -> Option<u32> {
    if cfg!(windows) {
        if let Some(code) = err.raw_os_error() {
            return u32::try_from(code).ok();
        }
    }
    use io::ErrorKind as K;
    Some(match err.kind() {
        K::NotFound => 2,             // ERROR_FILE_NOT_FOUND
        K::PermissionDenied => 5,     // ERROR_ACCESS_DENIED
        K::OutOfMemory => 14,         // ERROR_OUTOFMEMORY
        K::InvalidData => 13,         // ERROR_INVALID_DATA
        K::ReadOnlyFilesystem => 19,  // ERROR_WRITE_PROTECT
        K::UnexpectedEof => 38,       // ERROR_HANDLE_EOF
        K::Unsupported => 50,         // ERROR_NOT_SUPPORTED
        K::InvalidInput => 87,        // ERROR_INVALID_PARAMETER
        K::BrokenPipe => 109,         // ERROR_BROKEN_PIPE
        K::StorageFull => 112,        // ERROR_DISK_FULL
        K::AlreadyExists => 183,      // ERROR_ALREADY_EXISTS
        K::FileTooLarge => 223,       // ERROR_FILE_TOO_LARGE
        K::NotADirectory => 267,      // ERROR_DIRECTORY
        K::ConnectionAborted => 1236, // ERROR_CONNECTION_ABORTED
        K::TimedOut => 1460,          // ERROR_TIMEOUT
        _ => return None,
    })
}

/// `?` on an [`io::Error`]: see [`IisError::from_io`].
impl From<io::Error> for IisError {
    fn from(err: io::Error) -> Self {
        Self::from_io(err)
    }
}

/// `result.iis(IisStatus::…)?`: a failure (an `Err`, or a `None`) as an
/// [`IisError`] with the chosen status; an `Err`'s error becomes the source.
pub trait IisResultExt<T> {
    /// The value, or an [`IisError`] with `status`.
    ///
    /// # Errors
    ///
    /// An [`IisError`] with `status` when `self` is an `Err` (its error as the
    /// [source](IisError::source_error)) or a `None`.
    fn iis(self, status: IisStatus) -> Result<T, IisError>;
}

impl<T, E> IisResultExt<T> for Result<T, E>
where
    E: StdError + Send + Sync + 'static,
{
    fn iis(self, status: IisStatus) -> Result<T, IisError> {
        self.map_err(|e| IisError::new(status).with_source(e))
    }
}

impl<T> IisResultExt<T> for Option<T> {
    fn iis(self, status: IisStatus) -> Result<T, IisError> {
        self.ok_or_else(|| IisError::new(status))
    }
}

impl From<IisStatus> for IisError {
    fn from(status: IisStatus) -> Self {
        Self::new(status)
    }
}

impl fmt::Debug for IisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("IisError");
        d.field("status", &i.status)
            .field("hresult", &format_args!("{:#010x}", self.hresult()))
            .field("module", &self.module())
            .field("notification", &self.notification())
            .field("handler", &self.handler());
        if let Some(p) = &i.physical_path {
            d.field("physical_path", p);
        }
        if let Some(s) = &i.source {
            d.field("source", &format_args!("{s}"));
        }
        if i.try_skip_custom_errors {
            d.field("try_skip_custom_errors", &true);
        }
        d.finish_non_exhaustive()
    }
}

impl fmt::Display for IisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.inner.status;
        write!(f, "HTTP Error {status} - {}", status.reason())?;
        if let Some(info) = self.info() {
            write!(f, " ({})", info.description())?;
        }
        Ok(())
    }
}

impl StdError for IisError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// The message of a handler panic, kept as the source of a 500.0 [`IisError`].
#[derive(Debug, Clone)]
pub struct PanicMessage(pub String);

impl fmt::Display for PanicMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the handler panicked: {}", self.0)
    }
}

impl StdError for PanicMessage {}

/// Turns a caught panic into IIS's `500.0`: status 500, empty body, and an
/// [`IisError`] whose source is the panic message (shown to local clients only).
///
/// Made for tower-http's `CatchPanicLayer::custom`, placed inside the error-page
/// layer, so the panic gets the IIS 500 page and one log line:
///
/// ```
/// use tower_http::catch_panic::CatchPanicLayer;
/// use tower_iis::{error::response_for_panic, HttpErrorsLayer};
///
/// let layers = tower::ServiceBuilder::new()
///     .layer(HttpErrorsLayer::new())
///     .layer(CatchPanicLayer::custom(response_for_panic::<String>));
/// # let _ = layers;
/// ```
pub fn response_for_panic<B: Default>(
    panic: Box<dyn std::any::Any + Send + 'static>,
) -> Response<B> {
    let message = if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    };
    IisError::new(IisStatus::INTERNAL_SERVER_ERROR)
        .with_source(PanicMessage(message))
        .into_http_response()
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for IisError {
    fn into_response(self) -> axum::response::Response {
        IisError::into_http_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_as_iis_does() {
        let e = IisError::from(io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(
            (e.status(), e.hresult(), e.win32_status()),
            (IisStatus::NOT_FOUND, 0x8007_0002, 2)
        );
        let e = IisError::from(io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(e.status().to_string(), "401.3");
        assert_eq!((e.hresult(), e.win32_status()), (0x8007_0005, 5));
        let e = IisError::from(io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(e.status().to_string(), "500.0");
        assert_eq!((e.hresult(), e.win32_status()), (0x8007_0070, 112));
        assert!(e.source_error().is_some());
        let e = IisError::from(io::Error::other("opaque"));
        assert_eq!(e.status().to_string(), "500.0");
        assert_eq!(
            e.hresult(),
            IisError::new(IisStatus::INTERNAL_SERVER_ERROR).hresult()
        );
        assert_eq!(e.source_error().unwrap().to_string(), "opaque");
    }

    #[test]
    fn iis_extension_on_result_and_option() {
        let r: Result<u8, IisError> = "x".parse::<u8>().iis(IisStatus::BAD_REQUEST);
        let e = r.unwrap_err();
        assert_eq!(e.status().to_string(), "400.0");
        assert!(e
            .source_error()
            .unwrap()
            .to_string()
            .contains("invalid digit"));
        let e = None::<u8>.iis(IisStatus::NOT_FOUND).unwrap_err();
        assert_eq!(e.status(), IisStatus::NOT_FOUND);
        assert!(e.source_error().is_none());
        assert_eq!(Some(3).iis(IisStatus::NOT_FOUND).unwrap(), 3);
    }

    #[test]
    fn defaults_come_from_the_catalog() {
        let e = IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION);
        assert_eq!(e.module(), "StaticFileModule");
        assert_eq!(e.hresult(), 0x8007_0032);
        assert_eq!(e.win32_status(), 50);
        assert_eq!(e.logon_user(), "Anonymous");
    }

    #[test]
    fn explicit_values_win() {
        let e = IisError::new(IisStatus::new(401, 2)).with_win32_status(5);
        assert_eq!(e.hresult(), 0x8007_0005);
        assert_eq!(e.win32_status(), 5);
        let e = IisError::new(IisStatus::new(401, 1)).with_hresult(0x8009_030e);
        assert_eq!(e.win32_status(), 2_148_074_254);
        let e = IisError::new(IisStatus::new(599, 7));
        assert_eq!(e.hresult(), 0);
        assert_eq!(e.module(), DEFAULT_MODULE);
        assert_eq!(e.handler(), DEFAULT_HANDLER);
    }

    #[test]
    fn response_is_empty_with_extension() {
        let e = IisError::new(IisStatus::new(403, 14)).with_try_skip_custom_errors(true);
        let res: Response<String> = e.into_http_response();
        assert_eq!(res.status(), 403);
        assert!(res.body().is_empty());
        let ext = res.extensions().get::<IisError>().unwrap();
        assert_eq!(ext.substatus(), 14);
        assert!(ext.skips_custom_errors());
    }

    #[test]
    fn source_is_kept() {
        let io = std::io::Error::other("disk on fire");
        let e = IisError::new(IisStatus::new(500, 0)).with_source(io);
        assert_eq!(e.source_error().unwrap().to_string(), "disk on fire");
        assert!(StdError::source(&e).is_some());
    }
}
