//! The `<defaultDocument>` section.

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::{Collection, Parser};
use crate::static_files::DEFAULT_DOCUMENTS;

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

impl<'input> Parser<'_, 'input> {
    /// Reads `<defaultDocument>` onto the inherited section.
    pub(super) fn default_document(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut DefaultDocumentSection,
    ) -> Result<(), WebConfigError> {
        self.attributes(node, &["enabled"], &[])?;
        if let Some(enabled) = self.bool_attr(node, "enabled")? {
            section.enabled = enabled;
        }
        let mut files: Collection<String> =
            Collection::inherited(true, section.files.iter().map(|d| (d.as_str(), d.clone())));
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
        Ok(())
    }
}
