//! The crate's configuration error and its boxed body error.
//!
//! Every builder in the crate checks its values when the layer is built and refuses
//! a bad one with a [`ConfigError`]: the setting's IIS name (or the builder method's
//! name where IIS has none), the refused value, and why it was refused. When the
//! check had to read the disk (an `<httpErrors>` page file) or ask the OS for
//! something (the W3C log writer's thread), the OS error comes along as the
//! error's [`source`](std::error::Error::source).

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;

/// The error type of the body wrappers and of anything that may fail with any
/// error: a boxed, thread-safe [`std::error::Error`] (the same shape as tower's
/// and hyper's).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A configuration value a builder refused: the setting, the value and the reason.
///
/// The message names the value: `invalid <setting> "<value>": <reason>`, followed
/// by the OS error when there is one.
///
/// ```
/// use tower_iis::request_filtering::RequestFilteringLayer;
///
/// let err = RequestFilteringLayer::builder()
///     .deny_file_extension("config")
///     .build()
///     .unwrap_err();
/// assert_eq!(err.setting(), "fileExtensions/add@fileExtension");
/// assert_eq!(err.value(), "config");
/// assert!(err.to_string().contains("\"config\""));
/// ```
#[derive(Debug, Clone)]
pub struct ConfigError {
    setting: Cow<'static, str>,
    value: String,
    reason: Cow<'static, str>,
    io: Option<Arc<io::Error>>,
}

impl ConfigError {
    pub(crate) fn new(
        setting: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            setting: setting.into(),
            value: value.into(),
            reason: reason.into(),
            io: None,
        }
    }

    /// The same error, caused by `err` from the OS.
    pub(crate) fn with_io(mut self, err: io::Error) -> Self {
        self.io = Some(Arc::new(err));
        self
    }

    /// The setting's name, e.g. `fileExtensions/add@fileExtension`.
    #[must_use]
    pub fn setting(&self) -> &str {
        &self.setting
    }

    /// The refused value.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Why it was refused.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The OS error behind the refusal, if the check read the disk or started a thread.
    #[must_use]
    pub fn io_error(&self) -> Option<&io::Error> {
        self.io.as_deref()
    }
}

/// Equal when setting, value and reason are, and both or neither carry an OS error
/// of the same kind.
impl PartialEq for ConfigError {
    fn eq(&self, other: &Self) -> bool {
        self.setting == other.setting
            && self.value == other.value
            && self.reason == other.reason
            && self.io.as_ref().map(|e| e.kind()) == other.io.as_ref().map(|e| e.kind())
    }
}

impl Eq for ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {:?}: {}",
            self.setting, self.value, self.reason
        )?;
        if let Some(e) = &self.io {
            write!(f, ": {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
