//! The `<security><authentication>` section: `anonymousAuthentication` and
//! `basicAuthentication`; the methods that need Windows accounts are warned about.

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::Parser;
use crate::authentication::AuthenticationSection;

/// The authentication methods IIS has that this crate does not emulate.
const NOT_EMULATED: [&str; 4] = [
    "windowsAuthentication",
    "digestAuthentication",
    "clientCertificateMappingAuthentication",
    "iisClientCertificateMappingAuthentication",
];

impl<'input> Parser<'_, 'input> {
    /// Applies `<authentication>` onto `section`: attributes present replace the
    /// inherited values, absent ones keep them (a folder's web.config is applied
    /// over its parent's settings).
    pub(super) fn authentication(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut AuthenticationSection,
    ) -> Result<(), WebConfigError> {
        self.attributes(node, &[], &[])?;
        for child in Self::elements(node) {
            let name = child.tag_name().name();
            match name {
                "anonymousAuthentication" => {
                    self.attributes(
                        child,
                        &["enabled", "userName"],
                        &["password", "logonMethod"],
                    )?;
                    if let Some(first) = Self::elements(child).next() {
                        return Err(self.unrecognized(first));
                    }
                    if let Some(v) = self.bool_attr(child, "enabled")? {
                        section.anonymous.enabled = v;
                    }
                    if let Some(v) = child.attribute("userName") {
                        section.anonymous.user_name = v.to_owned();
                    }
                }
                "basicAuthentication" => {
                    self.attributes(
                        child,
                        &["enabled", "realm", "defaultLogonDomain"],
                        &["logonMethod"],
                    )?;
                    if let Some(first) = Self::elements(child).next() {
                        return Err(self.unrecognized(first));
                    }
                    if let Some(v) = self.bool_attr(child, "enabled")? {
                        section.basic.enabled = v;
                    }
                    if let Some(v) = child.attribute("realm") {
                        if v.chars().any(|c| c.is_control() && c != '\t') {
                            return Err(self.invalid(
                                child,
                                "realm",
                                v,
                                "a realm cannot hold control characters",
                            ));
                        }
                        section.basic.realm = v.to_owned();
                    }
                    if let Some(v) = child.attribute("defaultLogonDomain") {
                        section.basic.default_logon_domain = v.to_owned();
                    }
                }
                _ if NOT_EMULATED.contains(&name) => {
                    // Needs Windows accounts: turning it on is warned about and
                    // ignored; its other settings do not matter here.
                    if self.bool_attr(child, "enabled")? == Some(true) {
                        self.warn(child, Some("enabled"));
                    }
                }
                _ => self.warn(child, None),
            }
        }
        Ok(())
    }
}
