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
//! | `security/access` (`sslFlags`) | [`AccessSection`] → [`SslAccessLayer`](crate::ssl::SslAccessLayer) |
//! | `defaultDocument` (`enabled`, `<files>`) | [`DefaultDocumentSection`] |
//! | `directoryBrowse@enabled` | [`WebConfig::directory_browse`] |
//! | `staticContent` (`<mimeMap>`, `<remove>`, `<clear>`) | [`MimeMap`] |
//! | `httpProtocol/customHeaders` | [`CustomHeadersLayer`] |
//! | `tracing/traceFailedRequests` (`<add path>` with `<traceAreas>` and `<failureDefinitions statusCodes timeTaken verbosity>`; feature `failed-request-tracing`) | `WebConfig::trace_failed_requests`, [`Rule`](crate::freb::Rule)s |
//! | `rewrite` (`<rules>`, `<rewriteMaps>`; feature `rewrite`) | [`RewriteSection`] → [`RewriteLayer`](crate::rewrite::RewriteLayer) |
//! | `security/authentication`: `anonymousAuthentication` (`enabled`, `userName`), `basicAuthentication` (`enabled`, `realm`, `defaultLogonDomain`); feature `authentication` | `WebConfig::authentication`, an [`AuthenticationSection`](crate::authentication::AuthenticationSection) |
//! | `security/authorization` (`<add accessType users roles verbs>`, `<remove>`, `<clear>`) | [`AuthorizationRules`] → [`AuthorizationLayer`] |
//!
//! Windows, Digest and client-certificate authentication are not emulated: turning
//! one on (`enabled="true"`) is a warning. IIS locks the authentication sections at
//! the server level by default, so a real IIS answers 500.19 for them in a
//! web.config until an administrator unlocks them; this crate reads them as if
//! they were unlocked. The credential check for Basic authentication is not in the
//! file: give it to the site with
//! [`IisSiteBuilder::credentials`](crate::site::IisSiteBuilder::credentials).
//!
//! The sections of a folder's web.config apply over the settings it inherits:
//! attributes present replace inherited values, absent ones keep them, and
//! `<add>` / `<remove>` / `<clear/>` change the inherited collection.
//!
//! Collections start from what IIS inherits from its server-level configuration
//! (or, in a sub-folder, from the parent's; see [below](#folders-and-location))
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
//! turns it into the `500.19` [`IisError`](crate::IisError) IIS would show, with its "Config Error",
//! "Config File", the "Config Source" lines around the offending one (highlighted)
//! and IIS's HRESULT: `0x8007000d` for malformed XML and invalid values,
//! `0x800700b7` for duplicates, `0x80070003`/`0x80070005` for a file that cannot
//! be read.
//!
//! # Folders and `<location>`
//!
//! A site may hold a `web.config` in any folder, and any web.config may hold
//! `<location path="…">` elements (paths relative to its own folder; `"."` or
//! empty is its own level). [`SiteConfig`] reads them all and gives every
//! *configuration path* (the root, each folder with a web.config, each
//! location) its effective configuration, as IIS merges them: IIS's defaults,
//! then each file from the root down, each file's own level before its
//! `<location>` elements, shallower paths first, the deepest last. A level
//! starts from a copy of its parent's effective configuration: an attribute it
//! sets overrides, one it leaves out is inherited, and its collections start
//! from the parent's entries, so `<add>` of an inherited key without `<remove>`
//! is IIS's duplicate error (`0x800700b7`) and `<remove>`/`<clear/>` drop
//! inherited entries for that folder and below. URL Rewrite's `<rules>` inherit
//! the same way (the parent's run first) and match URLs relative to the folder
//! they are written for.
//!
//! `<location overrideMode="Deny">` (or the legacy `allowOverride="false"`)
//! locks the sections it holds for deeper files; a more specific
//! `overrideMode="Allow"` reopens them. A deeper web.config that sets a locked
//! section is IIS's 500.19 `0x80070021` ("This configuration section cannot be
//! used at this path…"), on its own file and line.
//! [`SiteConfigBuilder::iis_default_locks`] adds the locks IIS's stock
//! applicationHost.config ships (`ipSecurity`, `dynamicIpSecurity`, …); it is
//! off by default.
//!
//! A bad file (malformed, an invalid value, a duplicate, a lock violation) is an
//! error for the levels it configures only: a broken `blog/web.config` fails
//! `/blog/…`, and the rest of the site keeps its configuration, as on IIS.
//! The files are read once, when the configuration is built: unlike IIS, which
//! watches them, a change needs a new build.
//!
//! Each section has one reader that applies an element onto the inherited value,
//! listed with its applicationHost.config lock in one table of this module's
//! source (`sections.rs`), which is the one place a newly read section joins
//! the merge, `<location>` and the locks.
//!
//! ```
//! use tower_iis::http_errors::ErrorMode;
//! use tower_iis::web_config::{SiteConfig, HRESULT_LOCK_VIOLATION};
//!
//! let site = SiteConfig::builder("/srv/site")
//!     .file("", r#"<configuration>
//!   <system.webServer>
//!     <httpErrors errorMode="Custom" />
//!     <httpProtocol><customHeaders><add name="X-Site" value="1" /></customHeaders></httpProtocol>
//!   </system.webServer>
//!   <location path="admin" overrideMode="Deny">
//!     <system.webServer><directoryBrowse enabled="false" /></system.webServer>
//!   </location>
//! </configuration>"#)
//!     .file("blog", r#"<configuration><system.webServer>
//!   <httpProtocol><customHeaders><add name="X-Blog" value="2" /></customHeaders></httpProtocol>
//! </system.webServer></configuration>"#)
//!     .file("admin/tools", r#"<configuration><system.webServer>
//!   <directoryBrowse enabled="true" />
//! </system.webServer></configuration>"#)
//!     .build();
//!
//! // The blog inherits errorMode and adds its header after the site's.
//! let blog = site.config_for("/Blog/2024/post.htm").as_ref().unwrap();
//! assert_eq!(blog.http_errors.error_mode, Some(ErrorMode::Custom));
//! assert_eq!(blog.custom_headers.len(), 2);
//!
//! // admin/tools sets a section the root locked for admin: 500.19 0x80070021 there only.
//! let err = site.config_for("/admin/tools/").as_ref().unwrap_err();
//! assert_eq!(err.hresult(), HRESULT_LOCK_VIOLATION);
//! assert!(err.file().ends_with("admin/tools/web.config"));
//! assert!(site.config_for("/admin/").is_ok());
//! ```
//!
//! # Warnings
//!
//! Everything this crate does not emulate (other `system.webServer` sections such
//! as `handlers`, URL Rewrite's `<outboundRules>`, other top-level sections such as `system.web`, IIS
//! attributes such as `removeServerHeader`, `lockAttributes`) is listed in
//! [`WebConfig::warnings`] with its line, and logged with `tracing` at `warn`.
//!
//! # Example
//!
//! Needs feature `web-config`.
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
//!     <handlers />
//!   </system.webServer>
//! </configuration>"#;
//! let config = WebConfig::parse(xml, "web.config")?;
//! assert_eq!(config.http_errors.error_mode, Some(ErrorMode::Custom));
//! assert_eq!(config.mime_map.get(".xyz"), Some("application/x-demo"));
//! assert_eq!(config.warnings[0].element, "handlers");
//!
//! // Adding .json again (IIS already maps it) is a duplicate, as on IIS.
//! let bad = xml.replace(".xyz", ".json");
//! let err = WebConfig::parse(&bad, "web.config").unwrap_err();
//! assert_eq!((err.line(), err.element(), err.attribute()), (6, "mimeMap", Some("fileExtension")));
//! assert!(err.to_string().contains("Cannot add duplicate collection entry of type 'mimeMap'"));
//! assert_eq!(err.to_iis_error().hresult(), 0x8007_00b7);
//! # Ok::<(), tower_iis::web_config::WebConfigError>(())
//! ```

mod access;
#[cfg(feature = "authentication")]
mod authentication;
mod authorization;
mod default_document;
mod error;
mod http_errors;
mod http_protocol;
mod ip_security;
mod parse;
mod request_filtering;
#[cfg(feature = "rewrite")]
mod rewrite;
mod sections;
mod static_content;
#[cfg(feature = "failed-request-tracing")]
mod trace_failed_requests;
mod tree;

use std::path::{Path, PathBuf};

use crate::authorization::{AuthorizationLayer, AuthorizationRules};
use crate::custom_headers::CustomHeadersLayer;
use crate::http_errors::HttpErrorsLayer;
use crate::ip_security::IpSecurityLayer;
use crate::request_filtering::RequestFilteringLayer;
use crate::static_files::MimeMap;

pub use access::AccessSection;
pub use default_document::DefaultDocumentSection;
use error::ErrorInner;
pub use error::{
    ConfigWarning, WebConfigError, HRESULT_ACCESS_DENIED, HRESULT_DUPLICATE, HRESULT_INVALID_DATA,
    HRESULT_LOCK_VIOLATION, HRESULT_PATH_NOT_FOUND,
};
pub use http_errors::HttpErrorsSection;
pub use ip_security::IpSecuritySection;
use request_filtering::RequestFilteringState;
#[cfg(feature = "rewrite")]
pub use rewrite::RewriteSection;
#[cfg(feature = "site")]
pub(crate) use tree::PathTable;
pub use tree::{SiteConfig, SiteConfigBuilder, MAX_SCAN_DEPTH, MAX_SCAN_FILES, MAX_SCAN_FOLDERS};

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
    /// `<security><access>`: `sslFlags`.
    pub access: AccessSection,
    /// `<defaultDocument>`.
    pub default_document: DefaultDocumentSection,
    /// `<directoryBrowse enabled>` (default false).
    pub directory_browse: bool,
    /// `<staticContent>`: the MIME map, starting from [`MimeMap::iis_defaults`].
    pub mime_map: MimeMap,
    /// `<httpProtocol><customHeaders>`, in order.
    pub custom_headers: Vec<(String, String)>,
    /// `<tracing><traceFailedRequests>`: the failed request tracing rules, in
    /// order (none when absent). They take effect where the site turns tracing
    /// on, as `traceFailedRequestsLogging` does on IIS.
    #[cfg(feature = "failed-request-tracing")]
    pub trace_failed_requests: Vec<crate::freb::Rule>,
    /// `<rewrite>`: URL Rewrite's inbound rules and rewrite maps.
    #[cfg(feature = "rewrite")]
    pub rewrite: RewriteSection,
    /// `<security><authentication>`: anonymous and Basic authentication.
    #[cfg(feature = "authentication")]
    pub authentication: crate::authentication::AuthenticationSection,
    /// `<security><authorization>`: URL Authorization's rules (IIS's default
    /// `Allow users="*"` when absent).
    pub authorization: AuthorizationRules,
    /// What the file holds that this crate does not emulate.
    pub warnings: Vec<ConfigWarning>,
    /// `<requestFiltering>` as merged, before validation: what a sub-folder's
    /// web.config reads onto.
    request_filtering_state: RequestFilteringState,
}

/// Where a file's bytes stop being text in its encoding.
struct BadEncoding {
    encoding: &'static str,
    /// 1-based.
    line: u32,
    /// The offset in the file, BOM included.
    byte: usize,
}

/// The text of a configuration file as IIS reads it: UTF-8 with or without a BOM,
/// UTF-16 little- or big-endian with a BOM.
fn decode(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, BadEncoding> {
    let line_of = |text: &str| u32::try_from(text.matches('\n').count() + 1).unwrap_or(u32::MAX);
    let (big, body) = match bytes {
        [0xFE, 0xFF, rest @ ..] => (true, rest),
        [0xFF, 0xFE, rest @ ..] => (false, rest),
        _ => {
            let (bom, body) = match bytes {
                [0xEF, 0xBB, 0xBF, rest @ ..] => (3, rest),
                _ => (0, bytes),
            };
            return std::str::from_utf8(body)
                .map(std::borrow::Cow::Borrowed)
                .map_err(|e| {
                    let good = e.valid_up_to();
                    let before = std::str::from_utf8(&body[..good]).unwrap_or_default();
                    BadEncoding {
                        encoding: "UTF-8",
                        line: line_of(before),
                        byte: bom + good,
                    }
                });
        }
    };
    let encoding = if big { "UTF-16BE" } else { "UTF-16LE" };
    let units = body.chunks(2).map(|c| match (c, big) {
        ([a, b], true) => u16::from_be_bytes([*a, *b]),
        ([a, b], false) => u16::from_le_bytes([*a, *b]),
        // An odd last byte: never a whole unit (a lone surrogate stands in).
        _ => 0xDC00,
    });
    let mut text = String::with_capacity(body.len() / 2);
    let mut at = 2;
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => {
                text.push(c);
                at += 2 * c.len_utf16();
            }
            Err(_) => {
                return Err(BadEncoding {
                    encoding,
                    line: line_of(&text),
                    byte: at,
                })
            }
        }
    }
    Ok(std::borrow::Cow::Owned(text))
}

impl WebConfig {
    /// Reads and parses `path`.
    ///
    /// # Errors
    ///
    /// A file that cannot be read (HRESULT `0x80070003` or `0x80070005`); a file
    /// that is not UTF-8 (with or without a BOM) or UTF-16 with a BOM (`0x8007000d`,
    /// naming the line and the byte offset); or any error of
    /// [`parse`](Self::parse).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, WebConfigError> {
        let path = path.as_ref();
        let text = read_text(path)?;
        Self::parse(&text, path)
    }

    /// Parses the text of a web.config; `path` names it in errors and is the base
    /// of relative `httpErrors` file paths. The result is the configuration of
    /// the file's own folder: `<location path=".">` applies, locations for
    /// other paths only when the file is read into a [`SiteConfig`].
    ///
    /// # Errors
    ///
    /// See the [module docs](self#errors-as-iis-reports-a-50019).
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self, WebConfigError> {
        let path = path.as_ref();
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut site = SiteConfig::builder(root);
        site = site.source("", path.to_path_buf(), Ok(text.to_owned()));
        site.build().into_root()
    }

    /// What a site without any web.config has: IIS's defaults (`file` names it).
    fn defaults(file: PathBuf) -> Self {
        WebConfig {
            file,
            http_errors: HttpErrorsSection::default(),
            request_filtering: RequestFilteringLayer::iis_defaults(),
            ip_security: IpSecuritySection::default(),
            access: AccessSection::default(),
            default_document: DefaultDocumentSection::default(),
            directory_browse: false,
            mime_map: MimeMap::iis_defaults(),
            custom_headers: Vec::new(),
            #[cfg(feature = "failed-request-tracing")]
            trace_failed_requests: Vec::new(),
            #[cfg(feature = "rewrite")]
            rewrite: RewriteSection::default(),
            #[cfg(feature = "authentication")]
            authentication: crate::authentication::AuthenticationSection::default(),
            authorization: AuthorizationRules::iis_default(),
            warnings: Vec::new(),
            request_filtering_state: RequestFilteringState::default(),
        }
    }

    /// The [`HttpErrorsLayer`] for `<httpErrors>`. A web.config may have ExecuteURL
    /// rows, so the layer is built with
    /// [`build_with_execute_url`](crate::http_errors::HttpErrorsBuilder::build_with_execute_url):
    /// the request body must implement
    /// [`ExecuteUrlBody`](crate::http_errors::ExecuteUrlBody).
    ///
    /// # Errors
    ///
    /// A row whose page file cannot be read, and the other checks of
    /// [`HttpErrorsBuilder::build`](crate::http_errors::HttpErrorsBuilder::build).
    pub fn http_errors_layer(
        &self,
    ) -> Result<HttpErrorsLayer<crate::http_errors::WithExecuteUrl>, crate::ConfigError> {
        self.http_errors.builder().build_with_execute_url()
    }

    /// A fresh [`IpSecurityLayer`] for `<ipSecurity>` and `<dynamicIpSecurity>`.
    pub fn ip_security_layer(&self) -> IpSecurityLayer {
        self.ip_security
            .builder()
            .build()
            .expect("the ipSecurity section was validated when it was read")
    }

    /// The [`AuthorizationLayer`] for `<authorization>`.
    pub fn authorization_layer(&self) -> AuthorizationLayer {
        AuthorizationLayer::new(self.authorization.clone())
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

/// The text of a configuration file, as IIS reads it.
///
/// # Errors
///
/// A file that cannot be read (HRESULT `0x80070003` or `0x80070005`), or that is
/// not UTF-8 (with or without a BOM) or UTF-16 with a BOM (`0x8007000d`).
fn read_text(path: &Path) -> Result<String, WebConfigError> {
    let bytes = std::fs::read(path).map_err(|e| {
        let denied = e.kind() == std::io::ErrorKind::PermissionDenied;
        WebConfigError::from(ErrorInner {
            file: path.to_path_buf(),
            line: 0,
            element: String::new(),
            attribute: None,
            message: if denied {
                "Cannot read configuration file due to insufficient permissions"
            } else {
                "Cannot read configuration file"
            }
            .to_owned(),
            detail: Some(e.to_string()),
            hresult: if denied {
                HRESULT_ACCESS_DENIED
            } else {
                HRESULT_PATH_NOT_FOUND
            },
            source_lines: Vec::new(),
        })
    })?;
    decode(&bytes)
        .map(std::borrow::Cow::into_owned)
        .map_err(|bad| {
            WebConfigError::from(ErrorInner {
                file: path.to_path_buf(),
                line: bad.line,
                element: String::new(),
                attribute: None,
                message: "Configuration file is not well-formed XML".to_owned(),
                detail: Some(format!(
                    "not {} text: line {}, byte {}",
                    bad.encoding, bad.line, bad.byte
                )),
                hresult: HRESULT_INVALID_DATA,
                source_lines: Vec::new(),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The effective settings of `sub/` when `sub/web.config` holds `xml` under
    /// a root web.config holding `parent`.
    fn apply_child(parent: &str, xml: &str) -> WebConfig {
        let site = SiteConfig::builder("site")
            .file("", parent)
            .file("sub", xml)
            .build();
        site.config_for("/sub/x").as_ref().unwrap().clone()
    }

    #[test]
    fn a_folder_applies_its_security_sections_over_its_parents() {
        let parent_xml = r#"<configuration><system.webServer><security>
<authentication>
  <anonymousAuthentication enabled="false" userName="Guest" />
  <basicAuthentication enabled="true" realm="Parent" defaultLogonDomain="CONTOSO" />
</authentication>
<authorization>
  <add accessType="Deny" users="mallory" />
</authorization>
</security></system.webServer></configuration>"#;
        let parent = WebConfig::parse(parent_xml, "web.config").unwrap();
        let child = apply_child(
            parent_xml,
            r#"<configuration><system.webServer><security>
<authentication><basicAuthentication realm="Child" /></authentication>
<authorization>
  <remove users="*" />
  <add accessType="Allow" roles="Staff" verbs="GET" />
</authorization>
</security></system.webServer></configuration>"#,
        );
        #[cfg(feature = "authentication")]
        {
            let a = &child.authentication;
            // Present attributes replace, absent ones are inherited.
            assert!(!a.anonymous.enabled);
            assert_eq!(a.anonymous.user_name, "Guest");
            assert!(a.basic.enabled);
            assert_eq!(a.basic.realm, "Child");
            assert_eq!(a.basic.default_logon_domain, "CONTOSO");
        }
        // The parent's rules first, the default removed, the child's added.
        let rules: Vec<(&str, &str, &str)> = child
            .authorization
            .rules()
            .iter()
            .map(|r| (r.users_attr(), r.roles_attr(), r.verbs_attr()))
            .collect();
        assert_eq!(rules, [("mallory", "", ""), ("", "Staff", "GET")]);
        // The parent is untouched.
        assert_eq!(parent.authorization.rules().len(), 2);

        // <clear/> drops what is inherited, the parent's deny included.
        let cleared = apply_child(
            parent_xml,
            r#"<configuration><system.webServer><security><authorization>
<clear /><add accessType="Allow" users="*" />
</authorization></security></system.webServer></configuration>"#,
        );
        assert_eq!(cleared.authorization, AuthorizationRules::iis_default());
    }
}
