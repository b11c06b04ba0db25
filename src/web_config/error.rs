//! [`WebConfigError`]: a web.config IIS would refuse, as IIS reports it; and
//! [`ConfigWarning`]: what the file holds that is not emulated.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{ConfigErrorDetail, ConfigSourceLine};
use crate::{IisError, IisStatus};

/// HRESULT of a file that is not well-formed XML or holds an invalid value.
pub const HRESULT_INVALID_DATA: u32 = 0x8007_000d;
/// HRESULT of a duplicate collection entry.
pub const HRESULT_DUPLICATE: u32 = 0x8007_00b7;
/// HRESULT of a section set below a level that locked it (`ERROR_LOCK_VIOLATION`).
pub const HRESULT_LOCK_VIOLATION: u32 = 0x8007_0021;
/// HRESULT of a configuration file that cannot be found.
pub const HRESULT_PATH_NOT_FOUND: u32 = 0x8007_0003;
/// HRESULT of a configuration file that cannot be read for lack of permission.
pub const HRESULT_ACCESS_DENIED: u32 = 0x8007_0005;

/// Something in the file this crate does not emulate, left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The 1-based line.
    pub line: u32,
    /// The element (`rewrite`, `system.web` …).
    pub element: String,
    /// The attribute, when the warning is about one.
    pub attribute: Option<String>,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.attribute {
            Some(a) => write!(
                f,
                "line {}: attribute '{a}' of <{}> is not supported and was ignored",
                self.line, self.element
            ),
            None => write!(
                f,
                "line {}: <{}> is not supported and was ignored",
                self.line, self.element
            ),
        }
    }
}

/// A `web.config` IIS would refuse: the 500.19 detail and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfigError(Box<ErrorInner>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ErrorInner {
    pub(super) file: PathBuf,
    pub(super) line: u32,
    pub(super) element: String,
    pub(super) attribute: Option<String>,
    pub(super) message: String,
    pub(super) detail: Option<String>,
    pub(super) hresult: u32,
    pub(super) source_lines: Vec<ConfigSourceLine>,
}

impl From<ErrorInner> for WebConfigError {
    fn from(inner: ErrorInner) -> Self {
        Self(Box::new(inner))
    }
}

impl WebConfigError {
    /// The file.
    #[must_use]
    pub fn file(&self) -> &Path {
        &self.0.file
    }

    /// The 1-based line of the offending element (or of the XML error); 0 when the
    /// file could not be read.
    #[must_use]
    pub fn line(&self) -> u32 {
        self.0.line
    }

    /// The offending element (empty when the XML itself is broken).
    #[must_use]
    pub fn element(&self) -> &str {
        &self.0.element
    }

    /// The offending attribute, when there is one.
    #[must_use]
    pub fn attribute(&self) -> Option<&str> {
        self.0.attribute.as_deref()
    }

    /// IIS's "Config Error" text, as the 500.19 page shows it.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Adds the parser's own detail to IIS's text.
    pub(super) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    /// What this crate's parser adds to IIS's text (the XML parser's message, the
    /// values an attribute accepts, the I/O error); shown by `Display` and in the
    /// `tracing` event a site logs, not on the page.
    #[must_use]
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    /// The HRESULT IIS shows ("Error Code").
    #[must_use]
    pub fn hresult(&self) -> u32 {
        self.0.hresult
    }

    /// The "Config Source:" lines, the offending one highlighted.
    #[must_use]
    pub fn source_lines(&self) -> &[ConfigSourceLine] {
        &self.0.source_lines
    }

    /// The `500.19` error IIS answers every request with while this file is bad:
    /// module `IIS Web Core`, notification `Unknown`, handler and logon `Not yet
    /// determined`, the HRESULT, and the Config Error / Config File / Config
    /// Source detail.
    #[must_use]
    pub fn to_iis_error(&self) -> IisError {
        IisError::new(IisStatus::INTERNAL_SERVER_ERROR_CONFIGURATION_DATA_INVALID)
            .with_hresult(self.0.hresult)
            .with_notification("Unknown")
            .with_handler("Not yet determined")
            .with_logon_method("Not yet determined")
            .with_logon_user("Not yet determined")
            .with_config_error(ConfigErrorDetail {
                error: self.0.message.clone(),
                file: config_file_display(&self.0.file),
                source_lines: self.0.source_lines.clone(),
            })
    }
}

/// IIS prints the file as `\\?\C:\…\web.config`; other systems get the absolute path.
fn config_file_display(file: &Path) -> String {
    let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let text = abs.display().to_string();
    if cfg!(windows) && !text.starts_with(r"\\") {
        format!(r"\\?\{text}")
    } else {
        text
    }
}

impl fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.file.display())?;
        if self.0.line > 0 {
            write!(f, ", line {}", self.0.line)?;
        }
        if !self.0.element.is_empty() {
            write!(f, ", element <{}>", self.0.element)?;
        }
        if let Some(a) = &self.0.attribute {
            write!(f, ", attribute '{a}'")?;
        }
        write!(f, ": {}", self.0.message)?;
        if let Some(detail) = &self.0.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for WebConfigError {}

/// The lines IIS shows under "Config Source:": the offending one and one on each side.
pub(super) fn source_lines(text: &str, line: u32) -> Vec<ConfigSourceLine> {
    if line == 0 {
        return Vec::new();
    }
    let first = line.saturating_sub(1).max(1);
    text.lines()
        .enumerate()
        .map(|(i, l)| (u32::try_from(i + 1).unwrap_or(u32::MAX), l))
        .filter(|(n, _)| *n >= first && *n <= line + 1)
        .map(|(number, l)| ConfigSourceLine {
            number,
            text: l.trim_end().to_owned(),
            highlight: number == line,
        })
        .collect()
}
