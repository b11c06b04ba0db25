//! The `<security><access>` section: `sslFlags`.

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::Parser;
use crate::ssl::SslFlags;

/// The `<access>` section (system.webServer/security/access) as read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessSection {
    /// `sslFlags` (default `None`).
    pub ssl_flags: SslFlags,
}

impl AccessSection {
    /// The [`SslAccessLayer`](crate::ssl::SslAccessLayer) for these flags (trusting
    /// no CA: add CAs with [`SslAccessLayer::builder`](crate::ssl::SslAccessLayer::builder)).
    pub fn layer(&self) -> crate::ssl::SslAccessLayer {
        crate::ssl::SslAccessLayer::new(self.ssl_flags)
    }
}

impl<'input> Parser<'_, 'input> {
    /// Reads `<access>` onto `section`: an attribute that is present replaces the
    /// value, one that is absent keeps it (a folder's file applies over its
    /// parent's).
    pub(super) fn access(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut AccessSection,
    ) -> Result<(), WebConfigError> {
        self.attributes(node, &["sslFlags"], &[])?;
        if let Some(first) = Self::elements(node).next() {
            return Err(self.unrecognized(first));
        }
        if let Some(value) = node.attribute("sslFlags") {
            section.ssl_flags = value.parse().map_err(|_| {
                self.invalid(
                    node,
                    "sslFlags",
                    value,
                    "a comma-separated list of None, Ssl, SslNegotiateCert, SslRequireCert, SslMapCert, Ssl128",
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::ssl::SslFlags;
    use crate::web_config::WebConfig;

    fn config(access: &str) -> Result<WebConfig, crate::web_config::WebConfigError> {
        WebConfig::parse(
            &format!(
                "<configuration>\n<system.webServer>\n<security>\n{access}\n</security>\n</system.webServer>\n</configuration>"
            ),
            "web.config",
        )
    }

    #[test]
    fn ssl_flags_are_read() {
        assert_eq!(config("").unwrap().access.ssl_flags, SslFlags::NONE);
        let c = config(r#"<access sslFlags="Ssl, SslNegotiateCert, Ssl128" />"#).unwrap();
        assert_eq!(
            c.access.ssl_flags,
            SslFlags::SSL | SslFlags::SSL_NEGOTIATE_CERT | SslFlags::SSL_128
        );
        assert_eq!(c.access.layer().flags(), c.access.ssl_flags);
        let c = config(r#"<access sslFlags="None" />"#).unwrap();
        assert_eq!(c.access.ssl_flags, SslFlags::NONE);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn bad_flag_is_a_500_19_naming_it() {
        let err = config(r#"<access sslFlags="Ssl,SslRequired" />"#).unwrap_err();
        assert_eq!(
            (err.line(), err.element(), err.attribute()),
            (4, "access", Some("sslFlags"))
        );
        assert!(
            err.to_string()
                .contains("The attribute 'sslFlags' has an invalid value 'Ssl,SslRequired'"),
            "{err}"
        );
        let err = config(r#"<access sslFlags="Ssl" flags="Read" />"#).unwrap_err();
        assert_eq!(err.attribute(), Some("flags"));
    }

    #[test]
    fn applies_over_the_value_already_there() {
        let flags = |child: &str| {
            let site = crate::web_config::SiteConfig::builder("site")
                .file(
                    "",
                    r#"<configuration><system.webServer><security><access sslFlags="Ssl, SslRequireCert" /></security></system.webServer></configuration>"#,
                )
                .file(
                    "sub",
                    format!("<configuration><system.webServer><security>{child}</security></system.webServer></configuration>"),
                )
                .build();
            site.config_for("/sub/").as_ref().unwrap().access.ssl_flags
        };
        // A child file without the attribute keeps the parent's flags …
        assert_eq!(
            flags("<access />"),
            SslFlags::SSL | SslFlags::SSL_REQUIRE_CERT
        );
        // … and one with it replaces them.
        assert_eq!(flags(r#"<access sslFlags="None" />"#), SslFlags::NONE);
    }
}
