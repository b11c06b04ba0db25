//! The `<httpProtocol>` section: `<customHeaders>`.

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::{Collection, Parser};

impl<'input> Parser<'_, 'input> {
    /// Reads `<httpProtocol>` onto the inherited custom headers.
    pub(super) fn http_protocol(
        &mut self,
        node: Node<'_, 'input>,
        inherited: &mut Vec<(String, String)>,
    ) -> Result<(), WebConfigError> {
        self.attributes(node, &[], &["allowKeepAlive"])?;
        let mut headers: Collection<(String, String)> = Collection::inherited(
            true,
            inherited
                .iter()
                .map(|(n, v)| (n.as_str(), (n.clone(), v.clone()))),
        );
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
        *inherited = headers.into_values();
        Ok(())
    }
}
