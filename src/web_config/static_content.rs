//! The `<staticContent>` section: the MIME map.

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::{Collection, Parser};
use crate::static_files::MimeMap;

impl<'input> Parser<'_, 'input> {
    pub(super) fn static_content(
        &mut self,
        node: Node<'_, 'input>,
    ) -> Result<MimeMap, WebConfigError> {
        self.attributes(
            node,
            &[],
            &["enableDocFooter", "defaultDocFooter", "isDocFooterFileName"],
        )?;
        let mut coll: Collection<(String, String)> = Collection::new(true);
        let defaults = MimeMap::iis_defaults();
        let mut sorted: Vec<_> = defaults.iter().collect();
        sorted.sort_unstable();
        for (e, m) in sorted {
            coll = coll.inherit(e, (e.to_owned(), m.to_owned()));
        }
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
        let mut map = MimeMap::empty();
        for (e, m) in coll.into_values() {
            map.insert(e, m)
                .expect("mime map entries were checked when read");
        }
        Ok(map)
    }
}
