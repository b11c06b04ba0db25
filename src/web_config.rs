//! Reads an IIS `web.config` and configures the stack from it.
//!
//! [`WebConfig::parse`] (or [`WebConfig::load`]) reads the `<system.webServer>`
//! sections this crate emulates, with a real XML parser:
//!
//! | Section | What it sets |
//! |---|---|
//! | `httpErrors` (`errorMode`, `existingResponse`, `defaultPath`, `defaultResponseMode`, `detailedMoreInformationLink`; `<error>` rows with `prefixLanguageFilePath`, `<remove>`, `<clear>`) | [`HttpErrorsSection`] → [`HttpErrorsLayer`] |
//! | `security/requestFiltering`: every attribute and collection (`requestLimits` and `headerLimits`, `fileExtensions`, `verbs`, `hiddenSegments`, `denyUrlSequences`, `denyQueryStringSequences`, `filteringRules`, `alwaysAllowedUrls`, `alwaysAllowedQueryStrings`) | [`RequestFilteringLayer`] |
//! | `security/ipSecurity`, `security/dynamicIpSecurity` | [`IpSecuritySection`] → [`IpSecurityLayer`] |
//! | `defaultDocument` (`enabled`, `<files>`) | [`DefaultDocumentSection`] |
//! | `directoryBrowse@enabled` | [`WebConfig::directory_browse`] |
//! | `staticContent` (`<mimeMap>`, `<remove>`, `<clear>`) | [`MimeMap`] |
//! | `httpProtocol/customHeaders` | [`CustomHeadersLayer`] |
//!
//! Collections start from what IIS inherits from its server-level configuration
//! (the nine `httpErrors` rows, the request-filtering defaults, IIS's six default
//! documents, the common MIME map) and apply `<add>`, `<remove>` and `<clear/>` in
//! order. As on IIS, adding an entry that is already there (say `.json` to
//! `staticContent` without a `<remove>` first) is an error.
//!
//! # Errors, as IIS reports a 500.19
//!
//! A file that is not well-formed XML, an unrecognized attribute or element inside
//! a supported section, a value that is not valid for its attribute, a missing
//! required attribute or a duplicate collection entry is a [`WebConfigError`]
//! naming the file, line, element and attribute. [`WebConfigError::to_iis_error`]
//! turns it into the `500.19` [`IisError`] IIS would show, with its "Config Error",
//! "Config File", the "Config Source" lines around the offending one (highlighted)
//! and IIS's HRESULT: `0x8007000d` for malformed XML and invalid values,
//! `0x800700b7` for duplicates, `0x80070003`/`0x80070005` for a file that cannot
//! be read.
//!
//! # Warnings
//!
//! Everything this crate does not emulate (other `system.webServer` sections such
//! as `rewrite` or `handlers`, other top-level sections such as `system.web`, IIS
//! attributes such as `removeServerHeader`, `lockAttributes`) is listed in
//! [`WebConfig::warnings`] with its line, and logged with `tracing` at `warn`.
//!
//! # Example
//!
//! ```
//! use tower_iis::http_errors::ErrorMode;
//! use tower_iis::web_config::WebConfig;
//!
//! let xml = r#"<?xml version="1.0" encoding="utf-8"?>
//! <configuration>
//!   <system.webServer>
//!     <httpErrors errorMode="Custom" />
//!     <staticContent>
//!       <mimeMap fileExtension=".xyz" mimeType="application/x-demo" />
//!     </staticContent>
//!     <rewrite />
//!   </system.webServer>
//! </configuration>"#;
//! let config = WebConfig::parse(xml, "web.config")?;
//! assert_eq!(config.http_errors.error_mode, Some(ErrorMode::Custom));
//! assert_eq!(config.mime_map.get(".xyz"), Some("application/x-demo"));
//! assert_eq!(config.warnings[0].element, "rewrite");
//!
//! // Adding .json again (IIS already maps it) is a duplicate, as on IIS.
//! let bad = xml.replace(".xyz", ".json");
//! let err = WebConfig::parse(&bad, "web.config").unwrap_err();
//! assert_eq!((err.line(), err.element(), err.attribute()), (6, "mimeMap", Some("fileExtension")));
//! assert!(err.to_string().contains("Cannot add duplicate collection entry of type 'mimeMap'"));
//! assert_eq!(err.to_iis_error().hresult(), 0x8007_00b7);
//! # Ok::<(), tower_iis::web_config::WebConfigError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use roxmltree::{Document, Node};

use crate::custom_headers::CustomHeadersLayer;
use crate::error::{ConfigErrorDetail, ConfigSourceLine};
use crate::http_errors::{
    ErrorMode, ErrorRow, ExistingResponse, HttpErrorsBuilder, HttpErrorsLayer, ResponseMode,
};
use crate::ip_security::{DenyAction, IpSecurityBuilder, IpSecurityLayer};
use crate::request_filtering::{FilteringRule, RequestFilteringBuilder, RequestFilteringLayer};
use crate::static_files::{MimeMap, DEFAULT_DOCUMENTS};
use crate::{IisError, IisStatus};

/// HRESULT of a file that is not well-formed XML or holds an invalid value.
pub const HRESULT_INVALID_DATA: u32 = 0x8007_000d;
/// HRESULT of a duplicate collection entry.
pub const HRESULT_DUPLICATE: u32 = 0x8007_00b7;
/// HRESULT of a configuration file that cannot be found.
pub const HRESULT_PATH_NOT_FOUND: u32 = 0x8007_0003;
/// HRESULT of a configuration file that cannot be read for lack of permission.
pub const HRESULT_ACCESS_DENIED: u32 = 0x8007_0005;

/// The `<httpErrors>` section as read: attributes set in the file (`None`: IIS's
/// default) and the rows after `<remove>`/`<clear/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct HttpErrorsSection {
    /// `errorMode`.
    pub error_mode: Option<ErrorMode>,
    /// `existingResponse`.
    pub existing_response: Option<ExistingResponse>,
    /// `defaultPath`, resolved like a row's path.
    pub default_path: Option<String>,
    /// `defaultResponseMode`.
    pub default_response_mode: Option<ResponseMode>,
    /// `detailedMoreInformationLink`.
    pub more_information_link: Option<String>,
    /// Whether a `<clear/>` dropped the nine inherited rows.
    pub cleared: bool,
    /// Inherited rows removed with `<remove>` (`None` substatus: `-1`).
    pub removed: Vec<(u16, Option<u16>)>,
    /// The `<error>` rows added, in order. `File` paths and
    /// `prefixLanguageFilePath` are resolved against the web.config's folder.
    pub errors: Vec<ErrorRow>,
}

impl HttpErrorsSection {
    /// An [`HttpErrorsBuilder`] with these settings.
    pub fn builder(&self) -> HttpErrorsBuilder {
        let mut b = HttpErrorsLayer::builder();
        if let Some(m) = self.error_mode {
            b = b.error_mode(m);
        }
        if let Some(e) = self.existing_response {
            b = b.existing_response(e);
        }
        if self.cleared {
            b = b.clear();
        }
        for (status, sub) in &self.removed {
            b = b.remove(*status, *sub);
        }
        for row in &self.errors {
            b = b.error(row.clone());
        }
        if let Some(p) = &self.default_path {
            b = b.default_path(p.clone(), self.default_response_mode.unwrap_or_default());
        }
        if let Some(l) = &self.more_information_link {
            b = b.more_information_link(l.clone());
        }
        b
    }
}

/// The `<ipSecurity>` and `<dynamicIpSecurity>` sections as read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpSecuritySection {
    /// `ipSecurity@allowUnlisted` (default true).
    pub allow_unlisted: bool,
    /// `ipSecurity@denyAction` (default Forbidden).
    pub deny_action: DenyAction,
    /// The `<add>` entries after `<remove>`/`<clear/>`: `ipAddress[/subnetMask]`
    /// and `allowed`.
    pub entries: Vec<(String, bool)>,
    /// `denyByConcurrentRequests`: `maxConcurrentRequests` when enabled.
    pub max_concurrent_requests: Option<u32>,
    /// `denyByRequestRate`: `maxRequests` per `requestIntervalInMilliseconds` when enabled.
    pub request_rate: Option<(u32, Duration)>,
    /// `dynamicIpSecurity@enableLoggingOnlyMode`.
    pub logging_only: bool,
}

impl Default for IpSecuritySection {
    fn default() -> Self {
        Self {
            allow_unlisted: true,
            deny_action: DenyAction::Forbidden,
            entries: Vec::new(),
            max_concurrent_requests: None,
            request_rate: None,
            logging_only: false,
        }
    }
}

impl IpSecuritySection {
    /// An [`IpSecurityBuilder`] with these settings.
    pub fn builder(&self) -> IpSecurityBuilder {
        let mut b = IpSecurityLayer::builder()
            .allow_unlisted(self.allow_unlisted)
            .deny_action(self.deny_action)
            .logging_only(self.logging_only);
        for (range, allowed) in &self.entries {
            b = if *allowed {
                b.allow(range.clone())
            } else {
                b.deny(range.clone())
            };
        }
        if let Some(n) = self.max_concurrent_requests {
            b = b.deny_by_concurrent_requests(n);
        }
        if let Some((n, interval)) = self.request_rate {
            b = b.deny_by_request_rate(n, interval);
        }
        b
    }

    /// Whether any rule is configured (otherwise the layer can be left out).
    #[must_use]
    pub fn is_active(&self) -> bool {
        !self.allow_unlisted
            || !self.entries.is_empty()
            || self.max_concurrent_requests.is_some()
            || self.request_rate.is_some()
    }
}

/// The `<defaultDocument>` section as read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DefaultDocumentSection {
    /// `enabled` (default true).
    pub enabled: bool,
    /// The documents after `<add>`/`<remove>`/`<clear/>`, in order, starting from
    /// IIS's six.
    pub files: Vec<String>,
}

impl Default for DefaultDocumentSection {
    fn default() -> Self {
        Self {
            enabled: true,
            files: DEFAULT_DOCUMENTS.iter().map(|d| (*d).to_owned()).collect(),
        }
    }
}

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
struct ErrorInner {
    file: PathBuf,
    line: u32,
    element: String,
    attribute: Option<String>,
    message: String,
    hresult: u32,
    source_lines: Vec<ConfigSourceLine>,
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

    /// IIS's "Config Error" text.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.0.message
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
        write!(f, ": {}", self.0.message)
    }
}

impl std::error::Error for WebConfigError {}

/// A parsed `web.config`. See the [module docs](self).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebConfig {
    /// The file it was read from.
    pub file: PathBuf,
    /// `<httpErrors>`.
    pub http_errors: HttpErrorsSection,
    /// `<requestFiltering>`, validated (IIS 10 defaults when absent).
    pub request_filtering: RequestFilteringLayer,
    /// `<ipSecurity>` and `<dynamicIpSecurity>`.
    pub ip_security: IpSecuritySection,
    /// `<defaultDocument>`.
    pub default_document: DefaultDocumentSection,
    /// `<directoryBrowse enabled>` (default false).
    pub directory_browse: bool,
    /// `<staticContent>`: the MIME map, starting from [`MimeMap::iis_defaults`].
    pub mime_map: MimeMap,
    /// `<httpProtocol><customHeaders>`, in order.
    pub custom_headers: Vec<(String, String)>,
    /// What the file holds that this crate does not emulate.
    pub warnings: Vec<ConfigWarning>,
}

impl WebConfig {
    /// Reads and parses `path`.
    ///
    /// # Errors
    ///
    /// A file that cannot be read (HRESULT `0x80070003` or `0x80070005`), or any
    /// error of [`parse`](Self::parse).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, WebConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ErrorInner {
                file: path.to_path_buf(),
                line: 0,
                element: String::new(),
                attribute: None,
                message: format!("Cannot read configuration file ({e})"),
                hresult: if e.kind() == std::io::ErrorKind::PermissionDenied {
                    HRESULT_ACCESS_DENIED
                } else {
                    HRESULT_PATH_NOT_FOUND
                },
                source_lines: Vec::new(),
            })
            .map_err(WebConfigError::from)?;
        Self::parse(&text, path)
    }

    /// Parses the text of a web.config; `path` names it in errors and is the base
    /// of relative `httpErrors` file paths.
    ///
    /// # Errors
    ///
    /// See the [module docs](self#errors-as-iis-reports-a-50019).
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self, WebConfigError> {
        let path = path.as_ref();
        let doc = Document::parse(text).map_err(|e| {
            let line = e.pos().row;
            WebConfigError::from(ErrorInner {
                file: path.to_path_buf(),
                line,
                element: String::new(),
                attribute: None,
                message: format!("Configuration file is not well-formed XML ({e})"),
                hresult: HRESULT_INVALID_DATA,
                source_lines: source_lines(text, line),
            })
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut p = Parser {
            text,
            doc: &doc,
            file: path,
            base,
            warnings: Vec::new(),
        };
        let config = p.configuration()?;
        for w in &config.warnings {
            tracing::warn!(target: "tower_iis::web_config", file = %path.display(), "{w}");
        }
        Ok(config)
    }

    /// The [`HttpErrorsLayer`] for `<httpErrors>`.
    ///
    /// # Errors
    ///
    /// A row whose page file cannot be read, and the other checks of
    /// [`HttpErrorsBuilder::build`].
    pub fn http_errors_layer(&self) -> Result<HttpErrorsLayer, crate::http_errors::ConfigError> {
        self.http_errors.builder().build()
    }

    /// A fresh [`IpSecurityLayer`] for `<ipSecurity>` and `<dynamicIpSecurity>`.
    pub fn ip_security_layer(&self) -> IpSecurityLayer {
        self.ip_security
            .builder()
            .build()
            .expect("the ipSecurity section was validated when it was read")
    }

    /// The [`CustomHeadersLayer`] for `<customHeaders>`.
    pub fn custom_headers_layer(&self) -> CustomHeadersLayer {
        let mut layer = CustomHeadersLayer::new();
        for (name, value) in &self.custom_headers {
            layer = layer
                .header(name, value)
                .expect("custom headers were validated when they were read");
        }
        layer
    }

    /// A [`StaticFilesBuilder`](crate::static_files::StaticFilesBuilder) for
    /// `root` with `<defaultDocument>`, `<directoryBrowse>` and `<staticContent>`.
    pub fn static_files(
        &self,
        root: impl Into<PathBuf>,
    ) -> crate::static_files::StaticFilesBuilder {
        let mut b = crate::static_files::StaticFiles::builder(root)
            .default_document(self.default_document.enabled)
            .clear_default_documents()
            .directory_browse(self.directory_browse)
            .mime_map(self.mime_map.clone());
        for doc in &self.default_document.files {
            b = b.add_default_document(doc.clone());
        }
        b
    }
}

/// The lines IIS shows under "Config Source:": the offending one and one on each side.
fn source_lines(text: &str, line: u32) -> Vec<ConfigSourceLine> {
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

/// A collection under construction: ordered, keyed, inherited entries first.
struct Collection<T> {
    entries: Vec<(String, T)>,
    case_insensitive: bool,
}

impl<T> Collection<T> {
    fn new(case_insensitive: bool) -> Self {
        Self {
            entries: Vec::new(),
            case_insensitive,
        }
    }

    fn norm(&self, key: &str) -> String {
        if self.case_insensitive {
            key.to_ascii_lowercase()
        } else {
            key.to_owned()
        }
    }

    fn inherit(mut self, key: &str, value: T) -> Self {
        let k = self.norm(key);
        self.entries.push((k, value));
        self
    }

    fn contains(&self, key: &str) -> bool {
        let k = self.norm(key);
        self.entries.iter().any(|(e, _)| *e == k)
    }

    fn push(&mut self, key: &str, value: T) {
        let k = self.norm(key);
        self.entries.push((k, value));
    }

    fn remove(&mut self, key: &str) {
        let k = self.norm(key);
        self.entries.retain(|(e, _)| *e != k);
    }

    fn clear(&mut self) {
        self.entries.clear();
    }

    fn into_values(self) -> Vec<T> {
        self.entries.into_iter().map(|(_, v)| v).collect()
    }
}

/// What a value fed to a builder came from, to place the builder's own errors.
struct Origin {
    setting: &'static str,
    value: String,
    pos: usize,
    element: String,
    attribute: &'static str,
}

impl Origin {
    /// The value of an `<add>` entry's key attribute, and where it came from.
    fn of_add(
        node: Node<'_, '_>,
        setting: &'static str,
        attribute: &'static str,
    ) -> (String, Self) {
        let value = node.attribute(attribute).unwrap_or_default().to_owned();
        let origin = Self {
            setting,
            value: value.clone(),
            pos: node.range().start,
            element: "add".into(),
            attribute,
        };
        (value, origin)
    }
}

struct Parser<'a, 'input> {
    text: &'a str,
    doc: &'a Document<'input>,
    file: &'a Path,
    base: PathBuf,
    warnings: Vec<ConfigWarning>,
}

/// Attributes every IIS element accepts (locking, configSource); ignored with a warning.
const LOCK_ATTRIBUTES: [&str; 6] = [
    "lockAttributes",
    "lockAllAttributesExcept",
    "lockElements",
    "lockAllElementsExcept",
    "lockItem",
    "configSource",
];

type Result2<T> = Result<T, WebConfigError>;

impl<'input> Parser<'_, 'input> {
    fn line_of(&self, pos: usize) -> u32 {
        self.doc.text_pos_at(pos).row
    }

    fn error_at(
        &self,
        pos: usize,
        element: &str,
        attribute: Option<&str>,
        message: String,
        hresult: u32,
    ) -> WebConfigError {
        let line = self.line_of(pos);
        WebConfigError::from(ErrorInner {
            file: self.file.to_path_buf(),
            line,
            element: element.to_owned(),
            attribute: attribute.map(str::to_owned),
            message,
            hresult,
            source_lines: source_lines(self.text, line),
        })
    }

    fn error(
        &self,
        node: Node<'_, '_>,
        attribute: Option<&str>,
        message: String,
    ) -> WebConfigError {
        let pos = attribute
            .and_then(|a| node.attribute_node(a))
            .map_or(node.range().start, |a| a.range().start);
        self.error_at(
            pos,
            node.tag_name().name(),
            attribute,
            message,
            HRESULT_INVALID_DATA,
        )
    }

    fn warn(&mut self, node: Node<'_, '_>, attribute: Option<&str>) {
        self.warnings.push(ConfigWarning {
            line: self.line_of(node.range().start),
            element: node.tag_name().name().to_owned(),
            attribute: attribute.map(str::to_owned),
        });
    }

    /// Checks the attributes of `node`: `known` are read by the caller,
    /// `unsupported` are IIS's but not emulated (warned), anything else is refused.
    fn attributes(
        &mut self,
        node: Node<'_, '_>,
        known: &[&str],
        unsupported: &[&str],
    ) -> Result2<()> {
        for attr in node.attributes() {
            let name = attr.name();
            if attr.namespace().is_some() {
                // xmlns:… and transform attributes (xdt:Transform) belong to tools.
                self.warn(node, Some(name));
                continue;
            }
            if known.contains(&name) {
                continue;
            }
            if unsupported.contains(&name) || LOCK_ATTRIBUTES.contains(&name) {
                self.warn(node, Some(name));
                continue;
            }
            return Err(self.error(
                node,
                Some(name),
                format!("Unrecognized attribute '{name}'. Note that attribute names are case-sensitive."),
            ));
        }
        Ok(())
    }

    fn elements<'n>(node: Node<'n, 'input>) -> impl Iterator<Item = Node<'n, 'input>> {
        node.children().filter(Node::is_element)
    }

    fn unrecognized(&self, node: Node<'_, '_>) -> WebConfigError {
        self.error(
            node,
            None,
            format!("Unrecognized element '{}'", node.tag_name().name()),
        )
    }

    fn required<'n>(&self, node: Node<'n, '_>, attr: &str) -> Result2<&'n str> {
        node.attribute(attr)
            .ok_or_else(|| self.error(node, None, format!("Missing required attribute '{attr}'")))
    }

    fn invalid(
        &self,
        node: Node<'_, '_>,
        attr: &str,
        value: &str,
        expected: &str,
    ) -> WebConfigError {
        self.error(
            node,
            Some(attr),
            format!("The attribute '{attr}' has an invalid value '{value}': {expected}"),
        )
    }

    fn bool_attr(&self, node: Node<'_, '_>, attr: &str) -> Result2<Option<bool>> {
        match node.attribute(attr) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(self.invalid(node, attr, v, "expected true or false")),
        }
    }

    fn uint_attr(&self, node: Node<'_, '_>, attr: &str) -> Result2<Option<u64>> {
        match node.attribute(attr) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= u64::from(u32::MAX))
                .map(Some)
                .ok_or_else(|| {
                    self.invalid(
                        node,
                        attr,
                        v,
                        "expected a whole number from 0 to 4294967295",
                    )
                }),
        }
    }

    fn u32_attr(&self, node: Node<'_, '_>, attr: &str) -> Result2<Option<u32>> {
        Ok(self
            .uint_attr(node, attr)?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    fn enum_attr<T: Copy>(
        &self,
        node: Node<'_, '_>,
        attr: &str,
        values: &[(&str, T)],
    ) -> Result2<Option<T>> {
        let Some(v) = node.attribute(attr) else {
            return Ok(None);
        };
        values
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(v))
            .map(|(_, t)| Some(*t))
            .ok_or_else(|| {
                let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
                self.invalid(
                    node,
                    attr,
                    v,
                    &format!("expected one of {}", names.join(", ")),
                )
            })
    }

    fn duplicate(&self, node: Node<'_, '_>, key_attr: &str, key: &str) -> WebConfigError {
        let pos = node
            .attribute_node(key_attr)
            .map_or(node.range().start, |a| a.range().start);
        self.error_at(
            pos,
            node.tag_name().name(),
            Some(key_attr),
            format!(
                "Cannot add duplicate collection entry of type '{}' with unique key attribute '{key_attr}' set to '{key}'",
                node.tag_name().name()
            ),
            HRESULT_DUPLICATE,
        )
    }

    /// Walks a collection's children: `add_name` entries, `<remove key>`, `<clear/>`.
    fn collection<T>(
        &mut self,
        node: Node<'_, 'input>,
        add_name: &str,
        key_attr: &str,
        coll: &mut Collection<T>,
        mut item: impl FnMut(&mut Self, Node<'_, 'input>) -> Result2<T>,
    ) -> Result2<()> {
        for child in Self::elements(node) {
            let name = child.tag_name().name();
            if name == add_name {
                let key = self.required(child, key_attr)?;
                if coll.contains(key) {
                    return Err(self.duplicate(child, key_attr, key));
                }
                let value = item(self, child)?;
                coll.push(key, value);
            } else if name == "remove" {
                self.attributes(child, &[key_attr], &[])?;
                let key = self.required(child, key_attr)?;
                coll.remove(key);
            } else if name == "clear" {
                self.attributes(child, &[], &[])?;
                coll.clear();
            } else {
                return Err(self.unrecognized(child));
            }
        }
        Ok(())
    }

    fn configuration(&mut self) -> Result2<WebConfig> {
        let root = self.doc.root_element();
        if root.tag_name().name() != "configuration" {
            return Err(self.error(
                root,
                None,
                format!(
                    "The root element must be <configuration>, not <{}>",
                    root.tag_name().name()
                ),
            ));
        }
        let mut config = WebConfig {
            file: self.file.to_path_buf(),
            http_errors: HttpErrorsSection::default(),
            request_filtering: RequestFilteringLayer::iis_defaults(),
            ip_security: IpSecuritySection::default(),
            default_document: DefaultDocumentSection::default(),
            directory_browse: false,
            mime_map: MimeMap::iis_defaults(),
            custom_headers: Vec::new(),
            warnings: Vec::new(),
        };
        let mut seen_web_server = false;
        for section in Self::elements(root) {
            if section.tag_name().name() != "system.webServer" {
                self.warn(section, None);
                continue;
            }
            if seen_web_server {
                return Err(self.error(
                    section,
                    None,
                    "There is a duplicate 'system.webServer' section defined".to_owned(),
                ));
            }
            seen_web_server = true;
            self.web_server(section, &mut config)?;
        }
        config.warnings = std::mem::take(&mut self.warnings);
        Ok(config)
    }

    fn web_server(&mut self, node: Node<'_, 'input>, config: &mut WebConfig) -> Result2<()> {
        let mut seen: Vec<&str> = Vec::new();
        for child in Self::elements(node) {
            let name = child.tag_name().name();
            let supported = matches!(
                name,
                "httpErrors"
                    | "security"
                    | "defaultDocument"
                    | "directoryBrowse"
                    | "staticContent"
                    | "httpProtocol"
            );
            if !supported {
                self.warn(child, None);
                continue;
            }
            if seen.contains(&name) {
                return Err(self.error(
                    child,
                    None,
                    format!("There is a duplicate 'system.webServer/{name}' section defined"),
                ));
            }
            seen.push(name);
            match name {
                "httpErrors" => config.http_errors = self.http_errors(child)?,
                "security" => self.security(child, config)?,
                "defaultDocument" => config.default_document = self.default_document(child)?,
                "directoryBrowse" => {
                    self.attributes(child, &["enabled"], &["showFlags"])?;
                    if let Some(first) = Self::elements(child).next() {
                        return Err(self.unrecognized(first));
                    }
                    config.directory_browse = self.bool_attr(child, "enabled")?.unwrap_or(false);
                }
                "staticContent" => config.mime_map = self.static_content(child)?,
                _ => config.custom_headers = self.http_protocol(child)?,
            }
        }
        Ok(())
    }

    fn resolve_file(&self, path: &str) -> String {
        let p = Path::new(path);
        if p.is_absolute() {
            path.to_owned()
        } else {
            self.base.join(p).display().to_string()
        }
    }

    fn http_errors(&mut self, node: Node<'_, 'input>) -> Result2<HttpErrorsSection> {
        self.attributes(
            node,
            &[
                "errorMode",
                "existingResponse",
                "defaultPath",
                "defaultResponseMode",
                "detailedMoreInformationLink",
            ],
            &["allowAbsolutePathsWhenDelegated"],
        )?;
        const MODES: [(&str, ResponseMode); 3] = [
            ("File", ResponseMode::File),
            ("ExecuteURL", ResponseMode::ExecuteUrl),
            ("Redirect", ResponseMode::Redirect),
        ];
        let mut section = HttpErrorsSection {
            error_mode: self.enum_attr(
                node,
                "errorMode",
                &[
                    ("DetailedLocalOnly", ErrorMode::DetailedLocalOnly),
                    ("Custom", ErrorMode::Custom),
                    ("Detailed", ErrorMode::Detailed),
                ],
            )?,
            existing_response: self.enum_attr(
                node,
                "existingResponse",
                &[
                    ("Auto", ExistingResponse::Auto),
                    ("Replace", ExistingResponse::Replace),
                    ("PassThrough", ExistingResponse::PassThrough),
                ],
            )?,
            default_response_mode: self.enum_attr(node, "defaultResponseMode", &MODES)?,
            more_information_link: node
                .attribute("detailedMoreInformationLink")
                .map(str::to_owned),
            ..HttpErrorsSection::default()
        };
        if let Some(p) = node.attribute("defaultPath") {
            let mode = section.default_response_mode.unwrap_or_default();
            section.default_path = Some(if mode == ResponseMode::File {
                self.resolve_file(p)
            } else {
                p.to_owned()
            });
        }
        // Keys: "status,sub"; the nine inherited rows first.
        let mut rows: Collection<Option<ErrorRow>> = Collection::new(false);
        for status in crate::http_util::DEFAULT_ERROR_STATUSES {
            rows = rows.inherit(&format!("{status},-1"), None);
        }
        for child in Self::elements(node) {
            let name = child.tag_name().name();
            match name {
                "error" | "remove" => {
                    if name == "error" {
                        self.attributes(
                            child,
                            &[
                                "statusCode",
                                "subStatusCode",
                                "path",
                                "responseMode",
                                "prefixLanguageFilePath",
                            ],
                            &[],
                        )?;
                    } else {
                        self.attributes(child, &["statusCode", "subStatusCode"], &[])?;
                    }
                    self.required(child, "statusCode")?;
                    let status = self.u32_attr(child, "statusCode")?.unwrap_or(0);
                    let status = u16::try_from(status)
                        .ok()
                        .filter(|s| (400..=999).contains(s))
                        .ok_or_else(|| {
                            self.invalid(
                                child,
                                "statusCode",
                                child.attribute("statusCode").unwrap_or(""),
                                "expected a status from 400 to 999",
                            )
                        })?;
                    let sub = match child.attribute("subStatusCode").map(str::trim) {
                        None | Some("-1") => None,
                        Some(v) => {
                            Some(v.parse::<u16>().ok().filter(|s| *s <= 999).ok_or_else(|| {
                                self.invalid(
                                    child,
                                    "subStatusCode",
                                    v,
                                    "expected -1 or a number from 0 to 999",
                                )
                            })?)
                        }
                    };
                    let key = format!("{status},{}", sub.map_or(-1, i32::from));
                    if name == "remove" {
                        if rows.entries.iter().any(|(k, v)| *k == key && v.is_none()) {
                            section.removed.push((status, sub));
                        }
                        rows.remove(&key);
                        section
                            .errors
                            .retain(|r| !(r.status == status && r.substatus == sub));
                        continue;
                    }
                    if rows.contains(&key) {
                        let pos = child
                            .attribute_node("statusCode")
                            .map_or(child.range().start, |a| a.range().start);
                        return Err(self.error_at(
                            pos,
                            "error",
                            Some("statusCode"),
                            format!(
                                "Cannot add duplicate collection entry of type 'error' with combined key attributes 'statusCode, subStatusCode' set to '{status}, {}'",
                                sub.map_or(-1, i32::from)
                            ),
                            HRESULT_DUPLICATE,
                        ));
                    }
                    let path = self.required(child, "path")?;
                    let mode = self
                        .enum_attr(child, "responseMode", &MODES)?
                        .or(section.default_response_mode)
                        .unwrap_or_default();
                    let mut row = match mode {
                        ResponseMode::File => match child.attribute("prefixLanguageFilePath") {
                            Some(prefix) => ErrorRow::file(status, path)
                                .prefix_language_file_path(self.resolve_file(prefix)),
                            None => ErrorRow::file(status, self.resolve_file(path)),
                        },
                        ResponseMode::ExecuteUrl => ErrorRow::execute_url(status, path),
                        ResponseMode::Redirect => ErrorRow::redirect(status, path),
                    };
                    if let Some(s) = sub {
                        row = row.substatus(s);
                    }
                    rows.push(&key, Some(row.clone()));
                    section.errors.push(row);
                }
                "clear" => {
                    self.attributes(child, &[], &[])?;
                    rows.clear();
                    section.cleared = true;
                    section.removed.clear();
                    section.errors.clear();
                }
                _ => return Err(self.unrecognized(child)),
            }
        }
        Ok(section)
    }

    fn security(&mut self, node: Node<'_, 'input>, config: &mut WebConfig) -> Result2<()> {
        self.attributes(node, &[], &[])?;
        for child in Self::elements(node) {
            match child.tag_name().name() {
                "requestFiltering" => config.request_filtering = self.request_filtering(child)?,
                "ipSecurity" => self.ip_security(child, &mut config.ip_security)?,
                "dynamicIpSecurity" => self.dynamic_ip_security(child, &mut config.ip_security)?,
                _ => self.warn(child, None),
            }
        }
        Ok(())
    }

    fn request_filtering(&mut self, node: Node<'_, 'input>) -> Result2<RequestFilteringLayer> {
        self.attributes(
            node,
            &[
                "allowDoubleEscaping",
                "allowHighBitCharacters",
                "unescapeQueryString",
            ],
            &["removeServerHeader"],
        )?;
        let mut b = RequestFilteringBuilder::new();
        let mut origins: Vec<Origin> = Vec::new();
        if let Some(v) = self.bool_attr(node, "allowDoubleEscaping")? {
            b = b.allow_double_escaping(v);
        }
        if let Some(v) = self.bool_attr(node, "allowHighBitCharacters")? {
            b = b.allow_high_bit_characters(v);
        }
        if let Some(v) = self.bool_attr(node, "unescapeQueryString")? {
            b = b.unescape_query_string(v);
        }
        let mut file_extensions: Collection<(String, bool)> = Collection::new(true);
        for ext in crate::request_filtering::DEFAULT_DENIED_FILE_EXTENSIONS {
            file_extensions = file_extensions.inherit(ext, (ext.to_owned(), false));
        }
        let mut hidden: Collection<String> = Collection::new(true);
        for seg in crate::request_filtering::DEFAULT_HIDDEN_SEGMENTS {
            hidden = hidden.inherit(seg, seg.to_owned());
        }
        let mut verbs: Collection<(String, bool)> = Collection::new(false);
        let mut deny_urls: Collection<String> = Collection::new(true);
        let mut deny_queries: Collection<String> = Collection::new(true);
        let mut allowed_urls: Collection<String> = Collection::new(true);
        let mut allowed_queries: Collection<String> = Collection::new(false);
        let mut header_limits: Collection<(String, u32)> = Collection::new(true);
        let mut rules: Collection<FilteringRule> = Collection::new(true);
        let mut seen: Vec<&str> = Vec::new();
        for child in Self::elements(node) {
            let name = child.tag_name().name();
            if seen.contains(&name) {
                return Err(self.error(
                    child,
                    None,
                    format!("There is a duplicate '{name}' element"),
                ));
            }
            seen.push(name);
            match name {
                "requestLimits" => {
                    self.attributes(
                        child,
                        &["maxAllowedContentLength", "maxUrl", "maxQueryString"],
                        &[],
                    )?;
                    if let Some(v) = self.uint_attr(child, "maxAllowedContentLength")? {
                        b = b.max_allowed_content_length(v);
                    }
                    if let Some(v) = self.u32_attr(child, "maxUrl")? {
                        b = b.max_url(v);
                    }
                    if let Some(v) = self.u32_attr(child, "maxQueryString")? {
                        b = b.max_query_string(v);
                    }
                    for limits in Self::elements(child) {
                        if limits.tag_name().name() != "headerLimits" {
                            return Err(self.unrecognized(limits));
                        }
                        self.attributes(limits, &[], &[])?;
                        self.collection(limits, "add", "header", &mut header_limits, |p, n| {
                            p.attributes(n, &["header", "sizeLimit"], &[])?;
                            let size = p.u32_attr(n, "sizeLimit")?.unwrap_or(0);
                            let (header, origin) =
                                Origin::of_add(n, "headerLimits/add@header", "header");
                            origins.push(origin);
                            Ok((header, size))
                        })?;
                    }
                }
                "fileExtensions" => {
                    self.attributes(child, &["allowUnlisted"], &["applyToWebDAV"])?;
                    if let Some(v) = self.bool_attr(child, "allowUnlisted")? {
                        b = b.file_extensions_allow_unlisted(v);
                    }
                    self.collection(
                        child,
                        "add",
                        "fileExtension",
                        &mut file_extensions,
                        |p, n| {
                            p.attributes(n, &["fileExtension", "allowed"], &[])?;
                            let (ext, origin) = Origin::of_add(
                                n,
                                "fileExtensions/add@fileExtension",
                                "fileExtension",
                            );
                            origins.push(origin);
                            Ok((ext, p.bool_attr(n, "allowed")?.unwrap_or(true)))
                        },
                    )?;
                }
                "verbs" => {
                    self.attributes(child, &["allowUnlisted"], &["applyToWebDAV"])?;
                    if let Some(v) = self.bool_attr(child, "allowUnlisted")? {
                        b = b.verbs_allow_unlisted(v);
                    }
                    self.collection(child, "add", "verb", &mut verbs, |p, n| {
                        p.attributes(n, &["verb", "allowed"], &[])?;
                        let (verb, origin) = Origin::of_add(n, "verbs/add@verb", "verb");
                        origins.push(origin);
                        Ok((verb, p.bool_attr(n, "allowed")?.unwrap_or(true)))
                    })?;
                }
                "hiddenSegments" => {
                    self.attributes(child, &[], &["applyToWebDAV"])?;
                    self.collection(child, "add", "segment", &mut hidden, |p, n| {
                        p.attributes(n, &["segment"], &[])?;
                        let (seg, origin) =
                            Origin::of_add(n, "hiddenSegments/add@segment", "segment");
                        origins.push(origin);
                        Ok(seg)
                    })?;
                }
                "denyUrlSequences" | "denyQueryStringSequences" => {
                    self.attributes(child, &[], &[])?;
                    let (coll, setting) = if name == "denyUrlSequences" {
                        (&mut deny_urls, "denyUrlSequences/add@sequence")
                    } else {
                        (&mut deny_queries, "denyQueryStringSequences/add@sequence")
                    };
                    self.collection(child, "add", "sequence", coll, |p, n| {
                        p.attributes(n, &["sequence"], &[])?;
                        let (seq, origin) = Origin::of_add(n, setting, "sequence");
                        origins.push(origin);
                        Ok(seq)
                    })?;
                }
                "alwaysAllowedUrls" => {
                    self.attributes(child, &[], &[])?;
                    self.collection(child, "add", "url", &mut allowed_urls, |p, n| {
                        p.attributes(n, &["url"], &[])?;
                        let (url, origin) = Origin::of_add(n, "alwaysAllowedUrls/add@url", "url");
                        origins.push(origin);
                        Ok(url)
                    })?;
                }
                "alwaysAllowedQueryStrings" => {
                    self.attributes(child, &[], &[])?;
                    self.collection(child, "add", "queryString", &mut allowed_queries, |p, n| {
                        p.attributes(n, &["queryString"], &[])?;
                        Ok(n.attribute("queryString").unwrap_or_default().to_owned())
                    })?;
                }
                "filteringRules" => {
                    self.attributes(child, &[], &[])?;
                    self.collection(child, "filteringRule", "name", &mut rules, |p, n| {
                        p.filtering_rule(n, &mut origins)
                    })?;
                }
                _ => return Err(self.unrecognized(child)),
            }
        }
        b = b.clear_file_extensions().clear_hidden_segments();
        for (ext, allowed) in file_extensions.into_values() {
            b = if allowed {
                b.allow_file_extension(ext)
            } else {
                b.deny_file_extension(ext)
            };
        }
        for seg in hidden.into_values() {
            b = b.hidden_segment(seg);
        }
        for (verb, allowed) in verbs.into_values() {
            b = if allowed {
                b.allow_verb(verb)
            } else {
                b.deny_verb(verb)
            };
        }
        for s in deny_urls.into_values() {
            b = b.deny_url_sequence(s);
        }
        for s in deny_queries.into_values() {
            b = b.deny_query_string_sequence(s);
        }
        for s in allowed_urls.into_values() {
            b = b.always_allowed_url(s);
        }
        for s in allowed_queries.into_values() {
            b = b.always_allowed_query_string(s);
        }
        for (h, n) in header_limits.into_values() {
            b = b.header_limit(h, n);
        }
        for r in rules.into_values() {
            b = b.filtering_rule(r);
        }
        b.build().map_err(|e| {
            let origin = origins
                .iter()
                .find(|o| o.setting == e.setting() && o.value == e.value())
                .or_else(|| origins.iter().find(|o| o.value == e.value()));
            match origin {
                Some(o) => {
                    let pos = self
                        .doc
                        .descendants()
                        .find(|n| n.range().start == o.pos)
                        .and_then(|n| n.attribute_node(o.attribute))
                        .map_or(o.pos, |a| a.range().start);
                    self.error_at(
                        pos,
                        &o.element,
                        Some(o.attribute),
                        e.to_string(),
                        HRESULT_INVALID_DATA,
                    )
                }
                None => self.error_at(
                    node.range().start,
                    "requestFiltering",
                    None,
                    e.to_string(),
                    HRESULT_INVALID_DATA,
                ),
            }
        })
    }

    fn filtering_rule(
        &mut self,
        node: Node<'_, 'input>,
        origins: &mut Vec<Origin>,
    ) -> Result2<FilteringRule> {
        self.attributes(
            node,
            &["name", "scanUrl", "scanQueryString"],
            &["scanAllRaw"],
        )?;
        let mut rule = FilteringRule::new(node.attribute("name").unwrap_or_default())
            .scan_url(self.bool_attr(node, "scanUrl")?.unwrap_or(false))
            .scan_query_string(self.bool_attr(node, "scanQueryString")?.unwrap_or(false));
        for part in Self::elements(node) {
            let (key, setting) = match part.tag_name().name() {
                "scanHeaders" => (
                    "requestHeader",
                    "filteringRule/scanHeaders/add@requestHeader",
                ),
                "appliesTo" => ("fileExtension", "filteringRule/appliesTo/add@fileExtension"),
                "denyStrings" => ("string", "filteringRule/denyStrings/add@string"),
                _ => return Err(self.unrecognized(part)),
            };
            self.attributes(part, &[], &[])?;
            let mut values: Collection<String> = Collection::new(true);
            self.collection(part, "add", key, &mut values, |p, n| {
                p.attributes(n, &[key], &[])?;
                let (v, origin) = Origin::of_add(n, setting, key);
                origins.push(origin);
                Ok(v)
            })?;
            for v in values.into_values() {
                rule = match key {
                    "requestHeader" => rule.scan_header(v),
                    "fileExtension" => rule.applies_to(v),
                    _ => rule.deny_string(v),
                };
            }
        }
        let name = node.attribute("name").unwrap_or_default().to_owned();
        origins.push(Origin {
            setting: "filteringRule/denyStrings",
            value: name,
            pos: node.range().start,
            element: "filteringRule".into(),
            attribute: "name",
        });
        Ok(rule)
    }

    fn deny_action(&self, node: Node<'_, '_>) -> Result2<Option<DenyAction>> {
        self.enum_attr(
            node,
            "denyAction",
            &[
                ("AbortRequest", DenyAction::AbortRequest),
                ("Unauthorized", DenyAction::Unauthorized),
                ("Forbidden", DenyAction::Forbidden),
                ("NotFound", DenyAction::NotFound),
            ],
        )
    }

    fn ip_security(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut IpSecuritySection,
    ) -> Result2<()> {
        self.attributes(
            node,
            &["allowUnlisted", "denyAction"],
            &["enableReverseDns", "enableProxyMode"],
        )?;
        if let Some(v) = self.bool_attr(node, "allowUnlisted")? {
            section.allow_unlisted = v;
        }
        if let Some(v) = self.deny_action(node)? {
            section.deny_action = v;
        }
        let mut entries: Collection<(String, bool)> = Collection::new(true);
        for child in Self::elements(node) {
            let name = child.tag_name().name();
            match name {
                "add" | "remove" => {
                    let known: &[&str] = if name == "add" {
                        &["ipAddress", "subnetMask", "allowed"]
                    } else {
                        &["ipAddress", "subnetMask"]
                    };
                    self.attributes(child, known, &["domainName"])?;
                    if child.attribute("domainName").is_some()
                        && child.attribute("ipAddress").is_none()
                    {
                        // Domain restrictions need reverse DNS, which this crate never does.
                        continue;
                    }
                    let ip = self.required(child, "ipAddress")?;
                    let range = match child.attribute("subnetMask") {
                        Some(mask) => format!("{ip}/{mask}"),
                        None => ip.to_owned(),
                    };
                    if name == "remove" {
                        entries.remove(&range);
                        continue;
                    }
                    if entries.contains(&range) {
                        return Err(self.duplicate(child, "ipAddress", &range));
                    }
                    let allowed = self.bool_attr(child, "allowed")?.unwrap_or(false);
                    let check = IpSecurityLayer::builder().allow(range.clone()).build();
                    if let Err(e) = check {
                        return Err(self.error(child, Some("ipAddress"), e.to_string()));
                    }
                    entries.push(&range.clone(), (range, allowed));
                }
                "clear" => {
                    self.attributes(child, &[], &[])?;
                    entries.clear();
                }
                _ => return Err(self.unrecognized(child)),
            }
        }
        section.entries = entries.into_values();
        Ok(())
    }

    fn dynamic_ip_security(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut IpSecuritySection,
    ) -> Result2<()> {
        self.attributes(
            node,
            &["denyAction", "enableLoggingOnlyMode"],
            &["enableProxyMode"],
        )?;
        if let Some(v) = self.deny_action(node)? {
            section.deny_action = v;
        }
        if let Some(v) = self.bool_attr(node, "enableLoggingOnlyMode")? {
            section.logging_only = v;
        }
        for child in Self::elements(node) {
            match child.tag_name().name() {
                "denyByConcurrentRequests" => {
                    self.attributes(child, &["enabled", "maxConcurrentRequests"], &[])?;
                    let max = self
                        .u32_attr(child, "maxConcurrentRequests")?
                        .unwrap_or(crate::ip_security::DEFAULT_MAX_CONCURRENT_REQUESTS);
                    if max == 0 {
                        return Err(self.invalid(
                            child,
                            "maxConcurrentRequests",
                            "0",
                            "must be at least 1",
                        ));
                    }
                    section.max_concurrent_requests = self
                        .bool_attr(child, "enabled")?
                        .unwrap_or(false)
                        .then_some(max);
                }
                "denyByRequestRate" => {
                    self.attributes(
                        child,
                        &["enabled", "maxRequests", "requestIntervalInMilliseconds"],
                        &[],
                    )?;
                    let max = self
                        .u32_attr(child, "maxRequests")?
                        .unwrap_or(crate::ip_security::DEFAULT_MAX_REQUESTS);
                    if max == 0 {
                        return Err(self.invalid(child, "maxRequests", "0", "must be at least 1"));
                    }
                    let interval = match self.uint_attr(child, "requestIntervalInMilliseconds")? {
                        Some(0) => {
                            return Err(self.invalid(
                                child,
                                "requestIntervalInMilliseconds",
                                "0",
                                "must be at least 1",
                            ))
                        }
                        Some(ms) => Duration::from_millis(ms),
                        None => crate::ip_security::DEFAULT_REQUEST_INTERVAL,
                    };
                    section.request_rate = self
                        .bool_attr(child, "enabled")?
                        .unwrap_or(false)
                        .then_some((max, interval));
                }
                _ => return Err(self.unrecognized(child)),
            }
        }
        Ok(())
    }

    fn default_document(&mut self, node: Node<'_, 'input>) -> Result2<DefaultDocumentSection> {
        self.attributes(node, &["enabled"], &[])?;
        let mut section = DefaultDocumentSection {
            enabled: self.bool_attr(node, "enabled")?.unwrap_or(true),
            ..DefaultDocumentSection::default()
        };
        let mut files: Collection<String> = Collection::new(true);
        for doc in &section.files {
            files = files.inherit(doc, doc.clone());
        }
        for child in Self::elements(node) {
            if child.tag_name().name() != "files" {
                return Err(self.unrecognized(child));
            }
            self.attributes(child, &[], &[])?;
            self.collection(child, "add", "value", &mut files, |p, n| {
                p.attributes(n, &["value"], &[])?;
                let v = n.attribute("value").unwrap_or_default();
                if v.is_empty() || v.contains(['/', '\\']) {
                    return Err(p.invalid(
                        n,
                        "value",
                        v,
                        "expected a file name without `/` or `\\`",
                    ));
                }
                Ok(v.to_owned())
            })?;
        }
        section.files = files.into_values();
        Ok(section)
    }

    fn static_content(&mut self, node: Node<'_, 'input>) -> Result2<MimeMap> {
        self.attributes(
            node,
            &[],
            &["enableDocFooter", "defaultDocFooter", "isDocFooterFileName"],
        )?;
        let mut coll: Collection<(String, String)> = Collection::new(true);
        let defaults = MimeMap::iis_defaults();
        let mut sorted: Vec<_> = defaults.iter().collect();
        sorted.sort_unstable();
        for (e, m) in sorted {
            coll = coll.inherit(e, (e.to_owned(), m.to_owned()));
        }
        for child in Self::elements(node) {
            match child.tag_name().name() {
                "clientCache" => self.warn(child, None),
                "mimeMap" => {
                    self.attributes(child, &["fileExtension", "mimeType"], &[])?;
                    let key = self.required(child, "fileExtension")?;
                    if coll.contains(key) {
                        return Err(self.duplicate(child, "fileExtension", key));
                    }
                    let mime = self.required(child, "mimeType")?;
                    if let Err(e) = MimeMap::empty().insert(key, mime) {
                        let attr = if e.to_string().contains("extension starts") {
                            "fileExtension"
                        } else {
                            "mimeType"
                        };
                        return Err(self.error(child, Some(attr), e.to_string()));
                    }
                    coll.push(key, (key.to_owned(), mime.to_owned()));
                }
                "remove" => {
                    self.attributes(child, &["fileExtension"], &[])?;
                    let key = self.required(child, "fileExtension")?;
                    coll.remove(key);
                }
                "clear" => {
                    self.attributes(child, &[], &[])?;
                    coll.clear();
                }
                _ => return Err(self.unrecognized(child)),
            }
        }
        let mut map = MimeMap::empty();
        for (e, m) in coll.into_values() {
            map.insert(e, m)
                .expect("mime map entries were checked when read");
        }
        Ok(map)
    }

    fn http_protocol(&mut self, node: Node<'_, 'input>) -> Result2<Vec<(String, String)>> {
        self.attributes(node, &[], &["allowKeepAlive"])?;
        let mut headers: Collection<(String, String)> = Collection::new(true);
        for child in Self::elements(node) {
            if child.tag_name().name() != "customHeaders" {
                self.warn(child, None);
                continue;
            }
            self.attributes(child, &[], &[])?;
            self.collection(child, "add", "name", &mut headers, |p, n| {
                p.attributes(n, &["name", "value"], &[])?;
                let name = n.attribute("name").unwrap_or_default();
                let value = n.attribute("value").unwrap_or_default();
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(p.invalid(n, "name", name, "not a valid HTTP header name"));
                }
                if http::HeaderValue::from_str(value).is_err() {
                    return Err(p.invalid(n, "value", value, "not a valid HTTP header value"));
                }
                Ok((name.to_owned(), value.to_owned()))
            })?;
        }
        Ok(headers.into_values())
    }
}
