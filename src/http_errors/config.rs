//! `<httpErrors>` configuration: modes, rows, and the checks done at build time.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;

use super::render::{self, CapturePlan, LanguageNeed, Needs, PageSettings};
use crate::ConfigError;

/// IIS `errorMode`: who sees the detailed page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ErrorMode {
    /// Detailed pages for loopback clients, custom pages for everyone else (IIS default).
    #[default]
    DetailedLocalOnly,
    /// Custom pages for every client.
    Custom,
    /// Detailed pages for every client. Physical paths and module names become
    /// visible to the world; the source error is still shown to local clients only.
    Detailed,
}

/// IIS `existingResponse`: what to do when the inner service already wrote a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExistingResponse {
    /// IIS's decision list (default): the skip flag passes through; custom mode
    /// replaces; detailed mode passes a body through and fills an empty one.
    #[default]
    Auto,
    /// Always replace the body with the IIS page, skip flag or not.
    Replace,
    /// Never touch the response, even an empty one.
    PassThrough,
    /// Not an IIS value; the mode of [`HttpErrorsLayer::api`](super::HttpErrorsLayer::api):
    /// a body the application wrote always passes through (JSON error bodies reach
    /// every client unchanged), and an empty error response (an
    /// [`IisError`](crate::IisError), an empty 404 from a router) is filled, in either
    /// error mode. IIS's `Auto` does this in detailed mode only.
    FillEmpty,
}

/// IIS `responseMode` of an error row (and `defaultResponseMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ResponseMode {
    /// Serve a file's content with the original status (IIS default).
    #[default]
    File,
    /// Re-dispatch the request internally to a URL of the same service.
    ExecuteUrl,
    /// Answer `302 Found` with a `Location`.
    Redirect,
}

impl ResponseMode {
    /// The name IIS uses in configuration (`File`, `ExecuteURL`, `Redirect`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "File",
            Self::ExecuteUrl => "ExecuteURL",
            Self::Redirect => "Redirect",
        }
    }
}

/// One `<error>` row of `<httpErrors>`.
///
/// ```
/// use tower_iis::http_errors::ErrorRow;
///
/// let row = ErrorRow::file(404, "pages/404.htm");
/// let exact = ErrorRow::execute_url(500, "/errors/config").substatus(19);
/// let moved = ErrorRow::redirect(403, "https://example.com/denied");
/// let localized = ErrorRow::file(404, "404.htm").prefix_language_file_path("custerr");
/// # let _ = (row, exact, moved, localized);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRow {
    pub(crate) status: u16,
    pub(crate) substatus: Option<u16>,
    pub(crate) mode: ResponseMode,
    pub(crate) path: String,
    pub(crate) language_prefix: Option<PathBuf>,
}

impl ErrorRow {
    fn new(status: u16, mode: ResponseMode, path: impl Into<String>) -> Self {
        Self {
            status,
            substatus: None,
            mode,
            path: path.into(),
            language_prefix: None,
        }
    }

    /// A `File` row: serve this file (relative to the current directory, or absolute).
    #[must_use]
    pub fn file(status: u16, path: impl Into<String>) -> Self {
        Self::new(status, ResponseMode::File, path)
    }

    /// An `ExecuteURL` row: re-dispatch to this site-absolute path (`/errors/404`).
    #[must_use]
    pub fn execute_url(status: u16, path: impl Into<String>) -> Self {
        Self::new(status, ResponseMode::ExecuteUrl, path)
    }

    /// A `Redirect` row: answer 302 to this URL (absolute, or site-absolute `/x`).
    #[must_use]
    pub fn redirect(status: u16, path: impl Into<String>) -> Self {
        Self::new(status, ResponseMode::Redirect, path)
    }

    /// Limits the row to one substatus (IIS `subStatusCode`; default: any, `-1`).
    #[must_use]
    pub fn substatus(mut self, substatus: u16) -> Self {
        self.substatus = Some(substatus);
        self
    }

    /// IIS `prefixLanguageFilePath`: the file is `<prefix>/<language>/<path>`, picked
    /// by the request's `Accept-Language` (File rows only).
    #[must_use]
    pub fn prefix_language_file_path(mut self, prefix: impl Into<PathBuf>) -> Self {
        self.language_prefix = Some(prefix.into());
        self
    }

    fn key(&self) -> String {
        match self.substatus {
            Some(sub) => format!("statusCode=\"{}\" subStatusCode=\"{sub}\"", self.status),
            None => format!("statusCode=\"{}\" subStatusCode=\"-1\"", self.status),
        }
    }
}

/// A row's target, loaded and checked.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A page held in memory, with its content type; by language when localized.
    File {
        content_type: HeaderValue,
        pages: Pages,
    },
    ExecuteUrl(String),
    Redirect(String),
}

/// A page held in memory, with its `Content-Length` value made once.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub(crate) body: Bytes,
    pub(crate) length: HeaderValue,
}

impl Page {
    pub(crate) fn new(body: Bytes) -> Self {
        let length = HeaderValue::from(body.len());
        Self { body, length }
    }
}

/// The content of a File target: one page, or one per language folder.
#[derive(Debug, Clone)]
pub(crate) enum Pages {
    Single(Page),
    /// Lower-cased language tag → page; `default_language` (en-US, else en) is
    /// served when none of the client's `Accept-Language` languages has a folder.
    /// Not to be confused with the builder's
    /// [`fallback_language`](HttpErrorsBuilder::fallback_language), which is only for
    /// clients that send no `Accept-Language`.
    Localized {
        by_language: HashMap<String, Page>,
        default_language: Option<String>,
    },
}

/// The configuration, resolved: everything the service needs at request time.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) error_mode: ErrorMode,
    pub(crate) existing_response: ExistingResponse,
    pub(crate) rows: HashMap<(u16, Option<u16>), Target, RowHasher>,
    pub(crate) default_target: Option<Target>,
    pub(crate) settings: PageSettings,
    pub(crate) problem_details: bool,
    /// `Server: Microsoft-IIS/<version>`, when the emulation is on.
    pub(crate) server_header: Option<HeaderValue>,
    pub(crate) has_execute_url: bool,
    /// The language served to clients without `Accept-Language` (none: one-liner).
    pub(crate) no_header_language: Option<String>,
    /// What the layer keeps of each request for the pages it may send.
    pub(crate) capture: CapturePlan,
}

impl Resolved {
    /// IIS's lookup order: exact row, then the any-substatus row, then the default.
    pub(crate) fn target(&self, status: u16, substatus: u16) -> Option<&Target> {
        self.rows
            .get(&(status, Some(substatus)))
            .or_else(|| self.rows.get(&(status, None)))
            .or(self.default_target.as_ref())
    }
}

/// Hashes the rows' `(status, substatus)` keys: two small integers, looked up on
/// every error response, need no SipHash.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RowHasher;

impl std::hash::BuildHasher for RowHasher {
    type Hasher = RowHash;

    fn build_hasher(&self) -> RowHash {
        RowHash(0)
    }
}

/// The state of [`RowHasher`]: each integer folded in with a multiply.
#[derive(Debug)]
pub(crate) struct RowHash(u64);

impl std::hash::Hasher for RowHash {
    fn finish(&self) -> u64 {
        // hashbrown takes its control bits from the top of the hash.
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(17) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }
}

/// Builder for [`HttpErrorsLayer`](super::HttpErrorsLayer). See the
/// [module docs](super) for an example.
#[derive(Debug, Clone)]
#[must_use]
pub struct HttpErrorsBuilder {
    error_mode: ErrorMode,
    existing_response: ExistingResponse,
    rows: Vec<ErrorRow>,
    removed: Vec<(u16, Option<u16>)>,
    clear_defaults: bool,
    default_path: Option<String>,
    default_response_mode: ResponseMode,
    more_information_link: String,
    server_version: String,
    build: u32,
    problem_details: bool,
    server_header: bool,
    fallback_language: Option<String>,
}

/// IIS's `detailedMoreInformationLink` default.
pub const DEFAULT_MORE_INFORMATION_LINK: &str = "https://go.microsoft.com/fwlink/?LinkID=62293";
/// The IIS version shown by default in titles and the `Server` header.
pub const DEFAULT_SERVER_VERSION: &str = "10.0";
/// The Windows build shown in the more-information link by default (Server 2022).
pub const DEFAULT_BUILD: u32 = 20348;

impl Default for HttpErrorsBuilder {
    fn default() -> Self {
        Self {
            error_mode: ErrorMode::default(),
            existing_response: ExistingResponse::default(),
            rows: Vec::new(),
            removed: Vec::new(),
            clear_defaults: false,
            default_path: None,
            default_response_mode: ResponseMode::File,
            more_information_link: DEFAULT_MORE_INFORMATION_LINK.to_owned(),
            server_version: DEFAULT_SERVER_VERSION.to_owned(),
            build: DEFAULT_BUILD,
            problem_details: false,
            server_header: false,
            fallback_language: None,
        }
    }
}

impl HttpErrorsBuilder {
    /// Sets `errorMode` (default [`ErrorMode::DetailedLocalOnly`]).
    pub fn error_mode(mut self, mode: ErrorMode) -> Self {
        self.error_mode = mode;
        self
    }

    /// Sets `existingResponse` (default [`ExistingResponse::Auto`]).
    pub fn existing_response(mut self, existing: ExistingResponse) -> Self {
        self.existing_response = existing;
        self
    }

    /// Adds an `<error>` row. A second row with the same status and substatus is an
    /// error at [`build`](Self::build), unless the first was [`remove`](Self::remove)d.
    pub fn error(mut self, row: ErrorRow) -> Self {
        self.rows.push(row);
        self
    }

    /// `<remove statusCode subStatusCode>`: drops a row added before, or one of the
    /// nine built-in defaults (`substatus` `None` = the `-1` row).
    pub fn remove(mut self, status: u16, substatus: Option<u16>) -> Self {
        self.rows
            .retain(|r| !(r.status == status && r.substatus == substatus));
        self.removed.push((status, substatus));
        self
    }

    /// `<clear/>`: drops every row, the nine built-in defaults included.
    pub fn clear(mut self) -> Self {
        self.rows.clear();
        self.clear_defaults = true;
        self
    }

    /// Sets `defaultPath` and `defaultResponseMode`, used when no row matches.
    pub fn default_path(mut self, path: impl Into<String>, mode: ResponseMode) -> Self {
        self.default_path = Some(path.into());
        self.default_response_mode = mode;
        self
    }

    /// Sets `detailedMoreInformationLink`.
    pub fn more_information_link(mut self, link: impl Into<String>) -> Self {
        self.more_information_link = link.into();
        self
    }

    /// The IIS version shown in page titles and the `Server` header (default `10.0`).
    pub fn server_version(mut self, version: impl Into<String>) -> Self {
        self.server_version = version.into();
        self
    }

    /// The Windows build number in the more-information link (default 20348).
    pub fn build_number(mut self, build: u32) -> Self {
        self.build = build;
        self
    }

    /// Opt-in: a client that prefers `application/problem+json` or `application/json`
    /// gets an RFC 9457 problem document instead of an HTML page.
    pub fn problem_details(mut self, enable: bool) -> Self {
        self.problem_details = enable;
        self
    }

    /// Opt-in: add `Server: Microsoft-IIS/<version>` to every response, as IIS
    /// does (an emulation then looks like IIS to a fingerprinting tool).
    /// `X-Powered-By` is not implied; add it as IIS does, as a custom header
    /// ([`CustomHeadersLayer`](crate::custom_headers::CustomHeadersLayer) or
    /// web.config's `<customHeaders>`).
    pub fn emulate_server_header(mut self, enable: bool) -> Self {
        self.server_header = enable;
        self
    }

    /// The fallback language: the language of the localized page served to a client
    /// that sends **no** `Accept-Language` (e.g. `"en-US"`). IIS sends the one-line
    /// body then; so does this layer unless a fallback language is set. A client
    /// whose languages have no folder is not affected: it gets the `en-US` page,
    /// else the `en` one, as IIS does.
    pub fn fallback_language(mut self, language: impl Into<String>) -> Self {
        self.fallback_language = Some(language.into());
        self
    }

    /// Checks the configuration, loads every page file, and builds the layer.
    ///
    /// # Errors
    ///
    /// A row with a status outside 400–999 or a substatus above 999, a duplicate row,
    /// a page file that cannot be read, an ExecuteURL path that is not site-absolute,
    /// a Redirect target that is neither absolute nor site-absolute, a server version
    /// or link that cannot appear in a header or page; an ExecuteURL row (or
    /// `defaultResponseMode="ExecuteURL"`): those need
    /// [`build_with_execute_url`](Self::build_with_execute_url).
    pub fn build(self) -> Result<super::HttpErrorsLayer, ConfigError> {
        let execute_url = self.first_execute_url();
        let resolved = self.resolve()?;
        if let Some((setting, path)) = execute_url {
            return Err(ConfigError::new(
                setting,
                path,
                "an ExecuteURL row re-dispatches to the inner service: build the layer with build_with_execute_url()",
            ));
        }
        Ok(super::HttpErrorsLayer::from_resolved(Arc::new(resolved)))
    }

    /// As [`build`](Self::build), for a configuration with ExecuteURL rows: the layer
    /// re-dispatches to the inner service, so its request body type must implement
    /// [`ExecuteUrlBody`](super::ExecuteUrlBody) and the inner service `Clone`.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build), ExecuteURL rows excepted.
    pub fn build_with_execute_url(
        self,
    ) -> Result<super::HttpErrorsLayer<super::WithExecuteUrl>, ConfigError> {
        self.resolve()
            .map(|r| super::HttpErrorsLayer::from_resolved(Arc::new(r)))
    }

    /// The setting and path of the first ExecuteURL row, if any.
    fn first_execute_url(&self) -> Option<(String, String)> {
        if let Some(row) = self
            .rows
            .iter()
            .find(|r| r.mode == ResponseMode::ExecuteUrl)
        {
            return Some((
                format!("httpErrors/error {} @responseMode", row.key()),
                row.path.clone(),
            ));
        }
        let default = self.default_path.as_ref()?;
        (self.default_response_mode == ResponseMode::ExecuteUrl)
            .then(|| ("httpErrors@defaultResponseMode".to_owned(), default.clone()))
    }

    pub(crate) fn resolve(self) -> Result<Resolved, ConfigError> {
        self.check_page_settings()?;
        let mut rows = if self.clear_defaults {
            HashMap::default()
        } else {
            self.default_rows()
        };
        let mut has_execute_url = self.resolve_rows(&mut rows)?;
        let default_target = match &self.default_path {
            Some(path) => {
                has_execute_url |= self.default_response_mode == ResponseMode::ExecuteUrl;
                Some(resolve_target(
                    "defaultPath",
                    self.default_response_mode,
                    path,
                    None,
                )?)
            }
            None => None,
        };
        let no_header_language = self.no_header_language()?;
        // The version was checked above: letters, digits and dots only.
        let server_header = self
            .server_header
            .then(|| crate::custom_headers::server_header(&self.server_version))
            .flatten();
        let capture = capture_plan(
            self.error_mode,
            self.problem_details,
            has_execute_url,
            no_header_language.as_deref(),
            rows.values().chain(&default_target),
        );
        Ok(Resolved {
            capture,
            error_mode: self.error_mode,
            existing_response: self.existing_response,
            rows,
            default_target,
            settings: PageSettings {
                server_version: self.server_version,
                build: self.build,
                more_information_link: self.more_information_link,
            },
            problem_details: self.problem_details,
            server_header,
            has_execute_url,
            no_header_language,
        })
    }

    /// The server version and the "More Information" link: safe in a header and a page.
    fn check_page_settings(&self) -> Result<(), ConfigError> {
        if self.server_version.is_empty()
            || !self
                .server_version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.')
        {
            return Err(ConfigError::new(
                "server version",
                self.server_version.clone(),
                "must be letters, digits and dots, such as \"10.0\"",
            ));
        }
        if !(self.more_information_link.starts_with("http://")
            || self.more_information_link.starts_with("https://"))
            || self
                .more_information_link
                .bytes()
                .any(|b| b <= b' ' || b == b'"' || b == b'<' || b == b'>')
        {
            return Err(ConfigError::new(
                "httpErrors@detailedMoreInformationLink",
                self.more_information_link.clone(),
                "must be an absolute http(s) URL without spaces or quotes",
            ));
        }
        Ok(())
    }

    /// IIS's inherited rows (the built-in custom pages), less those removed.
    fn default_rows(&self) -> HashMap<(u16, Option<u16>), Target, RowHasher> {
        let mut rows = HashMap::default();
        for status in crate::http_util::DEFAULT_ERROR_STATUSES {
            if self.removed.contains(&(status, None)) {
                continue;
            }
            let mut by_language = HashMap::new();
            if let Some(page) = render::custom_page(status) {
                by_language.insert("en-us".to_owned(), Page::new(page));
            }
            rows.insert(
                (status, None),
                Target::File {
                    content_type: HeaderValue::from_static("text/html"),
                    pages: Pages::Localized {
                        by_language,
                        default_language: Some("en-us".to_owned()),
                    },
                },
            );
        }
        rows
    }

    /// Checks and loads the configured rows into `rows`. Returns whether one is an
    /// ExecuteURL row.
    fn resolve_rows(
        &self,
        rows: &mut HashMap<(u16, Option<u16>), Target, RowHasher>,
    ) -> Result<bool, ConfigError> {
        let mut has_execute_url = false;
        let mut seen = Vec::new();
        for row in &self.rows {
            if !(400..=999).contains(&row.status) {
                return Err(ConfigError::new(
                    "httpErrors/error@statusCode",
                    row.status.to_string(),
                    format!(
                        "error row {}: statusCode must be from 400 to 999",
                        row.key()
                    ),
                ));
            }
            if row.substatus.is_some_and(|s| s > 999) {
                return Err(ConfigError::new(
                    "httpErrors/error@subStatusCode",
                    row.substatus.unwrap_or_default().to_string(),
                    format!(
                        "error row {}: subStatusCode must be from -1 to 999",
                        row.key()
                    ),
                ));
            }
            let key = (row.status, row.substatus);
            if seen.contains(&key) {
                return Err(ConfigError::new(
                    "httpErrors/error@statusCode",
                    row.status.to_string(),
                    format!(
                        "error row {}: cannot add duplicate collection entry (remove the first one before adding it again)",
                        row.key()
                    ),
                ));
            }
            seen.push(key);
            has_execute_url |= row.mode == ResponseMode::ExecuteUrl;
            let target = resolve_target(
                &row.key(),
                row.mode,
                &row.path,
                row.language_prefix.as_deref(),
            )?;
            rows.insert(key, target);
        }
        Ok(has_execute_url)
    }

    /// The language of pages for a request without `Accept-Language`, checked.
    fn no_header_language(&self) -> Result<Option<String>, ConfigError> {
        Ok(match &self.fallback_language {
            Some(lang) => {
                let lang = lang.to_ascii_lowercase();
                if !valid_language(&lang) {
                    return Err(ConfigError::new(
                        "fallback language",
                        lang,
                        "not a language tag such as \"en-US\"",
                    ));
                }
                Some(lang)
            }
            None => None,
        })
    }
}

/// What a request must leave behind for the pages this configuration can send.
fn capture_plan<'a>(
    mode: ErrorMode,
    problem_details: bool,
    has_execute_url: bool,
    no_header_language: Option<&str>,
    targets: impl Iterator<Item = &'a Target>,
) -> CapturePlan {
    let (mut redirect, mut language) = (false, LanguageNeed::None);
    for target in targets {
        match target {
            Target::Redirect(_) => redirect = true,
            Target::File {
                pages:
                    Pages::Localized {
                        by_language,
                        default_language,
                    },
                ..
            } => {
                language = language.max(language_need(
                    by_language,
                    default_language.as_deref(),
                    no_header_language,
                ))
            }
            Target::File { .. } | Target::ExecuteUrl(_) => {}
        }
    }
    CapturePlan {
        detailed: match mode {
            ErrorMode::Detailed => Some(true),
            ErrorMode::Custom => Some(false),
            ErrorMode::DetailedLocalOnly => None,
        },
        // The page itself, or the problem document in its place.
        for_detailed: Needs {
            url: true,
            accept: problem_details,
            accept_language: LanguageNeed::None,
        },
        for_custom: Needs {
            url: problem_details || has_execute_url || redirect,
            accept: problem_details || has_execute_url,
            // The child request of an ExecuteURL row carries the header itself.
            accept_language: if has_execute_url {
                LanguageNeed::Value
            } else {
                language
            },
        },
    }
}

/// What the page choice needs of `Accept-Language` to choose among
/// `by_language`: its value when there are languages besides the default one,
/// else only whether the client sent it, or nothing when the page for a request
/// without it (`no_header_language`) is the page for one with it.
fn language_need(
    by_language: &HashMap<String, Page>,
    default_language: Option<&str>,
    no_header_language: Option<&str>,
) -> LanguageNeed {
    // Keys and the default are compared as stored: a key that differs from the
    // default only in case is another page for the lookup.
    if !by_language
        .keys()
        .all(|lang| default_language == Some(lang.as_str()))
    {
        return LanguageNeed::Value;
    }
    // With the header: the default language's page, whatever the value says.
    let with_header = default_language.filter(|d| by_language.contains_key(*d));
    let without_header = no_header_language.filter(|l| by_language.contains_key(*l));
    match (with_header, without_header) {
        (None, None) => LanguageNeed::None,
        (Some(a), Some(b)) if a == b => LanguageNeed::None,
        _ => LanguageNeed::Presence,
    }
}

fn valid_language(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 35
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn content_type_for(path: &Path) -> HeaderValue {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    HeaderValue::from_static(match ext.as_deref() {
        Some("htm" | "html") => "text/html",
        Some("xhtml") => "application/xhtml+xml",
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        Some("xml") => "text/xml",
        Some("css") => "text/css",
        Some("js") => "application/javascript",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("jpg" | "jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    })
}

fn read_page(key: &str, path: &Path) -> Result<Bytes, ConfigError> {
    fs::read(path).map(Bytes::from).map_err(|e| {
        ConfigError::new(
            "httpErrors/error@path",
            path.display().to_string(),
            format!("error row {key}: cannot read page file {}", path.display()),
        )
        .with_io(e)
    })
}

fn resolve_target(
    key: &str,
    mode: ResponseMode,
    path: &str,
    language_prefix: Option<&Path>,
) -> Result<Target, ConfigError> {
    if path.is_empty() {
        return Err(ConfigError::new(
            "httpErrors/error@path",
            path,
            format!("error row {key}: path is empty"),
        ));
    }
    if path.bytes().any(|b| b.is_ascii_control()) {
        return Err(ConfigError::new(
            "httpErrors/error@path",
            path,
            format!("error row {key}: path {path:?} contains a control character"),
        ));
    }
    match mode {
        ResponseMode::File => {
            let rel = Path::new(path);
            match language_prefix {
                None => Ok(Target::File {
                    content_type: content_type_for(rel),
                    pages: Pages::Single(Page::new(read_page(key, rel)?)),
                }),
                Some(prefix) => localized_target(key, path, prefix),
            }
        }
        ResponseMode::ExecuteUrl => {
            if !path.starts_with('/') || path.starts_with("//") || path.contains("://") {
                return Err(ConfigError::new(
                    "httpErrors/error@path",
                    path,
                    format!("error row {key}: ExecuteURL path {path:?} must be site-absolute, such as \"/errors/404\""),
                ));
            }
            if path.parse::<http::uri::PathAndQuery>().is_err() {
                return Err(ConfigError::new(
                    "httpErrors/error@path",
                    path,
                    format!("error row {key}: ExecuteURL path {path:?} is not a valid URL path"),
                ));
            }
            Ok(Target::ExecuteUrl(path.to_owned()))
        }
        ResponseMode::Redirect => {
            let absolute = path.starts_with("http://") || path.starts_with("https://");
            if !(absolute || (path.starts_with('/') && !path.starts_with("//")))
                || HeaderValue::from_str(path).is_err()
                || path.contains(' ')
            {
                return Err(ConfigError::new(
                    "httpErrors/error@path",
                    path,
                    format!("error row {key}: Redirect path {path:?} must be an absolute URL or a site-absolute path"),
                ));
            }
            Ok(Target::Redirect(path.to_owned()))
        }
    }
}

/// A File row with `prefixLanguageFilePath`: the page in every language folder
/// under `prefix` that holds `path`.
fn localized_target(key: &str, path: &str, prefix: &Path) -> Result<Target, ConfigError> {
    let rel = Path::new(path);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(ConfigError::new(
            "httpErrors/error@path",
            path,
            format!("error row {key}: path {path:?} must be relative to prefixLanguageFilePath"),
        ));
    }
    let dir = fs::read_dir(prefix).map_err(|e| {
        ConfigError::new(
            "httpErrors/error@prefixLanguageFilePath",
            prefix.display().to_string(),
            format!(
                "error row {key}: cannot read prefixLanguageFilePath {}",
                prefix.display()
            ),
        )
        .with_io(e)
    })?;
    let mut by_language = HashMap::new();
    for entry in dir.flatten() {
        let Some(lang) = entry.file_name().to_str().map(str::to_ascii_lowercase) else {
            continue;
        };
        let file = entry.path().join(rel);
        if valid_language(&lang) && file.is_file() {
            by_language.insert(lang, Page::new(read_page(key, &file)?));
        }
    }
    if by_language.is_empty() {
        return Err(ConfigError::new(
            "httpErrors/error@path",
            path,
            format!(
                "error row {key}: no language folder under {} holds {path:?}",
                prefix.display()
            ),
        ));
    }
    let default_language = ["en-us", "en"]
        .into_iter()
        .find(|l| by_language.contains_key(*l))
        .map(str::to_owned);
    Ok(Target::File {
        content_type: content_type_for(rel),
        pages: Pages::Localized {
            by_language,
            default_language,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn languages(langs: &[&str]) -> HashMap<String, Page> {
        langs
            .iter()
            .map(|l| ((*l).to_owned(), Page::new(Bytes::from_static(b"page"))))
            .collect()
    }

    /// A row's languages, its default language, the fallback language, and what
    /// the page choice needs of `Accept-Language`.
    type Case = (
        &'static [&'static str],
        Option<&'static str>,
        Option<&'static str>,
        LanguageNeed,
    );

    #[test]
    fn accept_language_is_read_only_as_far_as_the_page_choice_needs() {
        use LanguageNeed::{None as Nothing, Presence, Value};
        let cases: [Case; 9] = [
            // IIS's built-in rows: one language; without the header, a one-liner.
            (&["en-us"], Some("en-us"), None, Presence),
            (&["en-us"], Some("en-us"), Some("en-us"), Nothing),
            (&["en-us"], Some("en-us"), Some("fr"), Presence),
            // Another language: the value chooses.
            (&["en-us", "fr"], Some("en-us"), Some("en-us"), Value),
            (&["fr"], Some("en-us"), None, Value),
            // A key that differs from the default only in case is another page.
            (&["en-us"], Some("EN-US"), None, Value),
            // No page at all either way.
            (&[], Some("en-us"), None, Nothing),
            (&[], None, Some("en-us"), Nothing),
            (&["en-us"], Some("en-us"), Some("EN-US"), Presence),
        ];
        for (langs, default, no_header, expected) in cases {
            assert_eq!(
                language_need(&languages(langs), default, no_header),
                expected,
                "{langs:?}, default {default:?}, without the header {no_header:?}"
            );
        }
    }

    #[test]
    fn the_default_configuration_keeps_only_whether_accept_language_was_sent() {
        let plan = HttpErrorsBuilder::default()
            .resolve()
            .expect("valid")
            .capture;
        assert_eq!(plan.for_custom.accept_language, LanguageNeed::Presence);
        assert_eq!(plan.for_detailed.accept_language, LanguageNeed::None);
        let plan = HttpErrorsBuilder::default()
            .fallback_language("en-US")
            .resolve()
            .expect("valid")
            .capture;
        assert_eq!(plan.for_custom.accept_language, LanguageNeed::None);
    }
}
