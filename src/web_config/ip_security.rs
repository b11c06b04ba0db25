//! The `<security><ipSecurity>` and `<security><dynamicIpSecurity>` sections.

use std::time::Duration;

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::{Collection, Parser};
use crate::ip_security::{DenyAction, IpSecurityBuilder, IpSecurityLayer};

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
    /// `ipSecurity@enableProxyMode` (default false): the static rules also judge
    /// the addresses of `X-Forwarded-For`; see
    /// [`IpSecurityBuilder::proxy_mode`].
    pub proxy_mode: bool,
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
            proxy_mode: false,
        }
    }
}

impl IpSecuritySection {
    /// An [`IpSecurityBuilder`] with these settings.
    pub fn builder(&self) -> IpSecurityBuilder {
        let mut b = IpSecurityLayer::builder()
            .allow_unlisted(self.allow_unlisted)
            .deny_action(self.deny_action)
            .logging_only(self.logging_only)
            .proxy_mode(self.proxy_mode);
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
    /// Proxy mode alone is no rule.
    #[must_use]
    pub fn is_active(&self) -> bool {
        !self.allow_unlisted
            || !self.entries.is_empty()
            || self.max_concurrent_requests.is_some()
            || self.request_rate.is_some()
    }
}

impl<'input> Parser<'_, 'input> {
    pub(super) fn deny_action(
        &self,
        node: Node<'_, '_>,
    ) -> Result<Option<DenyAction>, WebConfigError> {
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

    /// Applies `<ipSecurity>` onto `section`, which holds what is inherited (IIS's
    /// defaults, or a parent folder's effective section): attributes present
    /// override, `<add>`, `<remove>` and `<clear/>` change the inherited entries.
    pub(super) fn ip_security(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut IpSecuritySection,
    ) -> Result<(), WebConfigError> {
        self.attributes(
            node,
            &["allowUnlisted", "denyAction", "enableProxyMode"],
            &["enableReverseDns"],
        )?;
        if let Some(v) = self.bool_attr(node, "allowUnlisted")? {
            section.allow_unlisted = v;
        }
        if let Some(v) = self.deny_action(node)? {
            section.deny_action = v;
        }
        if let Some(v) = self.bool_attr(node, "enableProxyMode")? {
            section.proxy_mode = v;
        }
        let mut entries: Collection<(String, bool)> = Collection::inherited(
            true,
            section
                .entries
                .iter()
                .map(|(range, allowed)| (range.as_str(), (range.clone(), *allowed))),
        );
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

    /// Applies `<dynamicIpSecurity>` onto `section` (see
    /// [`ip_security`](Self::ip_security)): a rule element without `enabled`
    /// keeps the inherited on/off state, and an absent limit keeps the inherited
    /// one (IIS's default when there is none).
    pub(super) fn dynamic_ip_security(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut IpSecuritySection,
    ) -> Result<(), WebConfigError> {
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
                    let inherited = section.max_concurrent_requests;
                    let max = self
                        .u32_attr(child, "maxConcurrentRequests")?
                        .or(inherited)
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
                        .unwrap_or(inherited.is_some())
                        .then_some(max);
                }
                "denyByRequestRate" => {
                    self.attributes(
                        child,
                        &["enabled", "maxRequests", "requestIntervalInMilliseconds"],
                        &[],
                    )?;
                    let inherited = section.request_rate;
                    let max = self
                        .u32_attr(child, "maxRequests")?
                        .or(inherited.map(|(n, _)| n))
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
                        None => inherited
                            .map_or(crate::ip_security::DEFAULT_REQUEST_INTERVAL, |(_, i)| i),
                    };
                    section.request_rate = self
                        .bool_attr(child, "enabled")?
                        .unwrap_or(inherited.is_some())
                        .then_some((max, interval));
                }
                _ => return Err(self.unrecognized(child)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    /// Applies the `<ipSecurity>` and `<dynamicIpSecurity>` of `xml` onto
    /// `section`, as a sub-folder's web.config is applied onto a copy of its
    /// parent's effective configuration.
    fn apply(xml: &str, section: &mut IpSecuritySection) -> Result<(), WebConfigError> {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let mut p = Parser {
            text: xml,
            doc: &doc,
            file: Path::new("web.config"),
            base: PathBuf::new(),
            scope: String::new(),
            warnings: Vec::new(),
        };
        for node in doc.descendants() {
            match node.tag_name().name() {
                "ipSecurity" => p.ip_security(node, section)?,
                "dynamicIpSecurity" => p.dynamic_ip_security(node, section)?,
                _ => {}
            }
        }
        Ok(())
    }

    #[test]
    fn applies_onto_the_inherited_section() {
        let mut parent = IpSecuritySection::default();
        apply(
            r#"<security>
                 <ipSecurity allowUnlisted="false" denyAction="NotFound">
                   <add ipAddress="10.0.0.0" subnetMask="255.0.0.0" allowed="true" />
                   <add ipAddress="192.168.1.1" allowed="true" />
                   <add ipAddress="203.0.113.0" subnetMask="255.255.255.0" />
                 </ipSecurity>
                 <dynamicIpSecurity>
                   <denyByRequestRate enabled="true" maxRequests="50" requestIntervalInMilliseconds="1000" />
                 </dynamicIpSecurity>
               </security>"#,
            &mut parent,
        )
        .unwrap();
        assert!(!parent.proxy_mode);

        // A child with attributes only keeps the inherited entries and settings.
        let mut child = parent.clone();
        apply(r#"<ipSecurity enableProxyMode="true" />"#, &mut child).unwrap();
        assert!(child.proxy_mode);
        assert!(!child.allow_unlisted);
        assert_eq!(child.deny_action, DenyAction::NotFound);
        assert_eq!(child.entries, parent.entries);
        assert_eq!(child.request_rate, Some((50, Duration::from_millis(1000))));

        // <remove> and <add> change the inherited collection, in order.
        let mut child = parent.clone();
        apply(
            r#"<security><ipSecurity allowUnlisted="true">
                 <remove ipAddress="192.168.1.1" />
                 <remove ipAddress="10.0.0.0" subnetMask="255.0.0.0" />
                 <add ipAddress="::ffff:198.51.100.0" subnetMask="255.255.255.0" />
               </ipSecurity>
               <dynamicIpSecurity><denyByRequestRate maxRequests="10" /></dynamicIpSecurity></security>"#,
            &mut child,
        )
        .unwrap();
        assert!(child.allow_unlisted);
        assert_eq!(child.deny_action, DenyAction::NotFound);
        assert!(!child.proxy_mode);
        assert_eq!(
            child.entries,
            vec![
                ("203.0.113.0/255.255.255.0".to_owned(), false),
                ("::ffff:198.51.100.0/255.255.255.0".to_owned(), false),
            ]
        );
        // `enabled` absent: still on, with the new limit and the inherited window.
        assert_eq!(child.request_rate, Some((10, Duration::from_millis(1000))));

        // An inherited entry added again is a duplicate, as on IIS.
        let mut child = parent.clone();
        let err = apply(
            r#"<ipSecurity><add ipAddress="192.168.1.1" allowed="false" /></ipSecurity>"#,
            &mut child,
        )
        .unwrap_err();
        assert_eq!(err.attribute(), Some("ipAddress"));
        assert!(err.to_string().contains("duplicate"), "{err}");

        // <clear/> drops what was inherited.
        let mut child = parent.clone();
        apply(
            r#"<ipSecurity><clear /><add ipAddress="127.0.0.1" allowed="true" /></ipSecurity>"#,
            &mut child,
        )
        .unwrap();
        assert_eq!(child.entries, vec![("127.0.0.1".to_owned(), true)]);
        assert!(!child.allow_unlisted);
        // The parent is untouched.
        assert_eq!(parent.entries.len(), 3);
    }

    #[test]
    fn enable_proxy_mode_reaches_the_layer() {
        let mut section = IpSecuritySection::default();
        apply(
            r#"<ipSecurity enableProxyMode="true"><add ipAddress="203.0.113.0" subnetMask="255.255.255.0" /></ipSecurity>"#,
            &mut section,
        )
        .unwrap();
        assert!(section.proxy_mode);
        assert!(section.builder().build().is_ok());
        let err = apply(r#"<ipSecurity enableProxyMode="maybe" />"#, &mut section).unwrap_err();
        assert_eq!(err.attribute(), Some("enableProxyMode"));
    }
}
