//! The sections of `<system.webServer>` this crate reads, in one table.
//!
//! Every row names a section by its path under `system.webServer`, says whether
//! IIS's stock `applicationHost.config` locks it (`overrideModeDefault="Deny"`),
//! and gives its reader. A reader applies one element **onto the inherited
//! value**: the [`WebConfig`] it receives is a copy of the parent level's
//! effective configuration (IIS's defaults at the site root), so an attribute
//! that is present overrides, an absent one keeps the parent's value, and a
//! collection starts from the parent's entries (see
//! [`Collection::inherited`](super::parse::Collection::inherited)) before its
//! own `<add>`, `<remove>` and `<clear/>`.
//!
//! # Adding a section
//!
//! 1. Give [`WebConfig`] a field holding the section's effective value (its
//!    `Default` being what IIS has with no configuration at all), and set it in
//!    `WebConfig::defaults`.
//! 2. Write the reader in its own file as
//!    `fn name(&mut self, node, &mut Value) -> Result<(), WebConfigError>` on
//!    [`Parser`]: read each attribute with `Option` and assign only when
//!    present; build collections from the inherited value.
//! 3. Add one row to [`SECTIONS`] (and its group to [`GROUPS`] if it opens a
//!    new `sectionGroup`), with `locked_by_default` as in applicationHost.config.
//!
//! Nothing else changes: `<location>`, locking (500.19 `0x80070021`), per-folder
//! web.config files and the site's dispatch all go through this table.

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::Parser;
use super::WebConfig;

/// A section reader: applies `node` onto the inherited configuration.
pub(super) type Reader = for<'p, 'n, 'input> fn(
    &mut Parser<'p, 'input>,
    Node<'n, 'input>,
    &mut WebConfig,
) -> Result<(), WebConfigError>;

/// One section of `<system.webServer>`.
pub(super) struct Section {
    /// The path under `system.webServer` (`httpErrors`, `security/ipSecurity`).
    pub(super) path: &'static str,
    /// IIS's `applicationHost.config` declares it `overrideModeDefault="Deny"`:
    /// with [`iis_default_locks`](super::SiteConfigBuilder::iis_default_locks) a
    /// web.config that sets it is a lock violation.
    pub(super) locked_by_default: bool,
    /// Reads the element onto the inherited configuration.
    pub(super) read: Reader,
}

/// A `sectionGroup`: an element whose children are sections.
pub(super) struct Group {
    /// Its path under `system.webServer`.
    pub(super) path: &'static str,
    /// Children that are IIS's but not emulated: warned and left out.
    pub(super) unsupported: &'static [&'static str],
    /// Whether any other unknown child is an error (otherwise a warning).
    pub(super) strict: bool,
}

/// The sections read, with applicationHost.config's stock `overrideModeDefault`.
pub(super) const SECTIONS: &[Section] = &[
    Section {
        path: "httpErrors",
        locked_by_default: false,
        read: |p, n, c| p.http_errors(n, &mut c.http_errors),
    },
    Section {
        path: "security/requestFiltering",
        locked_by_default: false,
        read: |p, n, c| {
            c.request_filtering = p.request_filtering(n, &mut c.request_filtering_state)?;
            Ok(())
        },
    },
    Section {
        path: "security/ipSecurity",
        locked_by_default: true,
        read: |p, n, c| p.ip_security(n, &mut c.ip_security),
    },
    Section {
        path: "security/dynamicIpSecurity",
        locked_by_default: true,
        read: |p, n, c| p.dynamic_ip_security(n, &mut c.ip_security),
    },
    Section {
        path: "security/access",
        locked_by_default: true,
        read: |p, n, c| p.access(n, &mut c.access),
    },
    #[cfg(feature = "authentication")]
    Section {
        path: "security/authentication/anonymousAuthentication",
        locked_by_default: true,
        read: |p, n, c| p.anonymous_authentication(n, &mut c.authentication),
    },
    #[cfg(feature = "authentication")]
    Section {
        path: "security/authentication/basicAuthentication",
        locked_by_default: true,
        read: |p, n, c| p.basic_authentication(n, &mut c.authentication),
    },
    // Methods that need Windows accounts: read only to warn when turned on.
    #[cfg(feature = "authentication")]
    Section {
        path: "security/authentication/windowsAuthentication",
        locked_by_default: true,
        read: |p, n, _| p.not_emulated_authentication(n),
    },
    #[cfg(feature = "authentication")]
    Section {
        path: "security/authentication/digestAuthentication",
        locked_by_default: true,
        read: |p, n, _| p.not_emulated_authentication(n),
    },
    #[cfg(feature = "authentication")]
    Section {
        path: "security/authentication/clientCertificateMappingAuthentication",
        locked_by_default: true,
        read: |p, n, _| p.not_emulated_authentication(n),
    },
    #[cfg(feature = "authentication")]
    Section {
        path: "security/authentication/iisClientCertificateMappingAuthentication",
        locked_by_default: true,
        read: |p, n, _| p.not_emulated_authentication(n),
    },
    Section {
        path: "security/authorization",
        locked_by_default: false,
        read: |p, n, c| p.authorization(n, &mut c.authorization),
    },
    Section {
        path: "defaultDocument",
        locked_by_default: false,
        read: |p, n, c| p.default_document(n, &mut c.default_document),
    },
    Section {
        path: "directoryBrowse",
        locked_by_default: false,
        read: |p, n, c| {
            p.attributes(n, &["enabled"], &["showFlags"])?;
            if let Some(first) = Parser::elements(n).next() {
                return Err(p.unrecognized(first));
            }
            if let Some(enabled) = p.bool_attr(n, "enabled")? {
                c.directory_browse = enabled;
            }
            Ok(())
        },
    },
    Section {
        path: "staticContent",
        locked_by_default: false,
        read: |p, n, c| p.static_content(n, &mut c.mime_map),
    },
    Section {
        path: "httpProtocol",
        locked_by_default: false,
        read: |p, n, c| p.http_protocol(n, &mut c.custom_headers),
    },
    #[cfg(feature = "failed-request-tracing")]
    Section {
        path: "tracing/traceFailedRequests",
        locked_by_default: false,
        read: |p, n, c| p.trace_failed_requests(n, &mut c.trace_failed_requests),
    },
    #[cfg(feature = "rewrite")]
    Section {
        path: "rewrite/rewriteMaps",
        locked_by_default: false,
        read: |p, n, c| p.rewrite_maps(n, &mut c.rewrite),
    },
    #[cfg(feature = "rewrite")]
    Section {
        path: "rewrite/rules",
        locked_by_default: false,
        read: |p, n, c| p.rewrite_rules(n, &mut c.rewrite),
    },
];

/// The section groups walked into.
pub(super) const GROUPS: &[Group] = &[
    Group {
        path: "security",
        unsupported: &[],
        strict: false,
    },
    #[cfg(feature = "authentication")]
    Group {
        path: "security/authentication",
        unsupported: &[],
        strict: false,
    },
    #[cfg(feature = "failed-request-tracing")]
    Group {
        path: "tracing",
        unsupported: &["traceProviderDefinitions"],
        strict: true,
    },
    #[cfg(feature = "rewrite")]
    Group {
        path: "rewrite",
        unsupported: &[
            "outboundRules",
            "globalRules",
            "providers",
            "allowedServerVariables",
        ],
        strict: true,
    },
];

/// A section found in a `<system.webServer>` element.
pub(super) type Found<'n, 'input> = (&'static Section, Node<'n, 'input>);

impl<'input> Parser<'_, 'input> {
    /// The sections of one `<system.webServer>` element, in the order they are
    /// read (`rewriteMaps` before `rules`, which may name the maps); what is not
    /// emulated is warned.
    ///
    /// # Errors
    ///
    /// A section given twice, or an unknown element inside a group that allows
    /// none.
    pub(super) fn sections<'n>(
        &mut self,
        web_server: Node<'n, 'input>,
    ) -> Result<Vec<Found<'n, 'input>>, WebConfigError> {
        let mut found = Vec::new();
        self.group_sections(web_server, "", &mut found)?;
        // Stable: only moves rules after the maps.
        found.sort_by_key(|(s, _)| s.path == "rewrite/rules");
        Ok(found)
    }

    fn group_sections<'n>(
        &mut self,
        node: Node<'n, 'input>,
        prefix: &str,
        found: &mut Vec<Found<'n, 'input>>,
    ) -> Result<(), WebConfigError> {
        let group = GROUPS.iter().find(|g| g.path == prefix);
        let mut seen: Vec<&str> = Vec::new();
        for child in Self::elements(node) {
            let name = child.tag_name().name();
            let path = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            };
            let section = SECTIONS.iter().find(|s| s.path == path);
            let is_group = GROUPS.iter().any(|g| g.path == path);
            if section.is_none() && !is_group {
                match group {
                    Some(g) if g.strict && !g.unsupported.contains(&name) => {
                        return Err(self.unrecognized(child));
                    }
                    _ => self.warn(child, None),
                }
                continue;
            }
            if seen.contains(&name) {
                return Err(self.error(
                    child,
                    None,
                    format!("There is a duplicate 'system.webServer/{path}' section defined"),
                ));
            }
            seen.push(name);
            match section {
                Some(s) => found.push((s, child)),
                None => {
                    self.attributes(child, &[], &[])?;
                    self.group_sections(child, &path, found)?;
                }
            }
        }
        Ok(())
    }
}
