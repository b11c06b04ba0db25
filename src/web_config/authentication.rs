//! The `<security><authentication>` section: `anonymousAuthentication` and
//! `basicAuthentication`; the methods that need Windows accounts are warned about.

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::Parser;
use crate::authentication::AuthenticationSection;

impl<'input> Parser<'_, 'input> {
    /// Applies `<anonymousAuthentication>` onto `section`: attributes present
    /// replace the inherited values, absent ones keep them (a folder's web.config
    /// is applied over its parent's settings).
    pub(super) fn anonymous_authentication(
        &mut self,
        child: Node<'_, 'input>,
        section: &mut AuthenticationSection,
    ) -> Result<(), WebConfigError> {
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
        Ok(())
    }

    /// Applies `<basicAuthentication>` onto `section`, as
    /// [`anonymous_authentication`](Self::anonymous_authentication) does.
    pub(super) fn basic_authentication(
        &mut self,
        child: Node<'_, 'input>,
        section: &mut AuthenticationSection,
    ) -> Result<(), WebConfigError> {
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
        Ok(())
    }

    /// An authentication method that needs Windows accounts: turning it on is
    /// warned about and ignored; its other settings do not matter here.
    pub(super) fn not_emulated_authentication(
        &mut self,
        child: Node<'_, 'input>,
    ) -> Result<(), WebConfigError> {
        if self.bool_attr(child, "enabled")? == Some(true) {
            self.warn(child, Some("enabled"));
        }
        Ok(())
    }
}
