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
        let mut entries: Collection<(String, bool)> = Collection::new(true);
        for (range, allowed) in std::mem::take(&mut section.entries) {
            entries.push(&range.clone(), (range, allowed));
        }
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
