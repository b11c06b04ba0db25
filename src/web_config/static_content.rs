//! The `<staticContent>` section: the MIME map.

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::{Collection, Parser};
use crate::static_files::MimeMap;

impl<'input> Parser<'_, 'input> {
    /// Reads `<staticContent>` onto the inherited MIME map.
    pub(super) fn static_content(
        &mut self,
        node: Node<'_, 'input>,
        map: &mut MimeMap,
    ) -> Result<(), WebConfigError> {
        self.attributes(
            node,
            &[],
            &["enableDocFooter", "defaultDocFooter", "isDocFooterFileName"],
        )?;
        let mut sorted: Vec<_> = map.iter().collect();
        sorted.sort_unstable();
        let mut coll: Collection<(String, String)> = Collection::inherited(
            true,
            sorted
                .into_iter()
                .map(|(e, m)| (e, (e.to_owned(), m.to_owned()))),
        );
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
        let mut read = MimeMap::empty();
        for (e, m) in coll.into_values() {
            read.insert(e, m)
                .expect("mime map entries were checked when read");
        }
        *map = read;
        Ok(())
    }
}
