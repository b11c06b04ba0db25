//! The reader's common parts: attribute helpers, errors placed on the XML node,
//! and [`Collection`] for `<add>` / `<remove>` / `<clear/>`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use roxmltree::{Document, Node};

use super::error::{
    source_lines, ConfigWarning, ErrorInner, WebConfigError, HRESULT_DUPLICATE,
    HRESULT_INVALID_DATA,
};

/// A collection under construction: ordered, keyed, inherited entries first.
/// Lookups, adds and removes take constant time (a hash index over the keys), so
/// a file with hundreds of thousands of entries is read in linear time.
///
/// A folder's web.config starts from its parent's collection
/// ([`Collection::inherited`]): `<add>` of a key already there is IIS's duplicate
/// error, `<remove>` and `<clear/>` drop inherited entries too.
#[derive(Debug, Clone)]
pub(super) struct Collection<T> {
    /// In order; a removed entry leaves a hole.
    entries: Vec<Option<T>>,
    /// The position of each present entry, by normalised key.
    index: HashMap<String, usize>,
    case_insensitive: bool,
}

impl<T> Collection<T> {
    pub(super) fn new(case_insensitive: bool) -> Self {
        Self {
            entries: Vec::new(),
            index: HashMap::new(),
            case_insensitive,
        }
    }

    pub(super) fn norm<'k>(&self, key: &'k str) -> Cow<'k, str> {
        if self.case_insensitive && key.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(key.to_ascii_lowercase())
        } else {
            Cow::Borrowed(key)
        }
    }

    pub(super) fn inherit(mut self, key: &str, value: T) -> Self {
        self.push(key, value);
        self
    }

    /// A collection holding what a parent level left, in order.
    pub(super) fn inherited<'k>(
        case_insensitive: bool,
        entries: impl IntoIterator<Item = (&'k str, T)>,
    ) -> Self {
        let mut c = Self::new(case_insensitive);
        for (k, v) in entries {
            c.push(k, v);
        }
        c
    }

    pub(super) fn contains(&self, key: &str) -> bool {
        self.index.contains_key(self.norm(key).as_ref())
    }

    /// The entry under `key`, if there is one.
    pub(super) fn get(&self, key: &str) -> Option<&T> {
        let i = *self.index.get(self.norm(key).as_ref())?;
        self.entries[i].as_ref()
    }

    /// Adds an entry (the caller has checked that `key` is not there yet).
    pub(super) fn push(&mut self, key: &str, value: T) {
        let k = self.norm(key).into_owned();
        if let Some(old) = self.index.insert(k, self.entries.len()) {
            self.entries[old] = None;
        }
        self.entries.push(Some(value));
    }

    pub(super) fn remove(&mut self, key: &str) {
        if let Some(i) = self.index.remove(self.norm(key).as_ref()) {
            self.entries[i] = None;
        }
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
    }

    pub(super) fn into_values(self) -> Vec<T> {
        self.entries.into_iter().flatten().collect()
    }
}

pub(super) struct Parser<'a, 'input> {
    pub(super) text: &'a str,
    pub(super) doc: &'a Document<'input>,
    pub(super) file: &'a Path,
    pub(super) base: PathBuf,
    /// The configuration path the sections being read apply to, relative to the
    /// site root (`""` at the root, `"blog/admin"`): a web.config's folder, or its
    /// `<location path>`. URL Rewrite's rules read it.
    #[cfg_attr(not(feature = "rewrite"), allow(dead_code))]
    pub(super) scope: String,
    pub(super) warnings: Vec<ConfigWarning>,
}

/// Attributes every IIS element accepts (locking, configSource); ignored with a warning.
const LOCK_ATTRIBUTES: [&str; 6] = [
    "lockAttributes",
    "lockAllAttributesExcept",
    "lockElements",
    "lockAllElementsExcept",
    "lockItem",
    "configSource",
];

impl<'input> Parser<'_, 'input> {
    pub(super) fn line_of(&self, pos: usize) -> u32 {
        self.doc.text_pos_at(pos).row
    }

    pub(super) fn error_at(
        &self,
        pos: usize,
        element: &str,
        attribute: Option<&str>,
        message: String,
        hresult: u32,
    ) -> WebConfigError {
        let line = self.line_of(pos);
        WebConfigError::from(ErrorInner {
            file: self.file.to_path_buf(),
            line,
            element: element.to_owned(),
            attribute: attribute.map(str::to_owned),
            message,
            detail: None,
            hresult,
            source_lines: source_lines(self.text, line),
        })
    }

    pub(super) fn error(
        &self,
        node: Node<'_, '_>,
        attribute: Option<&str>,
        message: String,
    ) -> WebConfigError {
        let pos = attribute
            .and_then(|a| node.attribute_node(a))
            .map_or(node.range().start, |a| a.range().start);
        self.error_at(
            pos,
            node.tag_name().name(),
            attribute,
            message,
            HRESULT_INVALID_DATA,
        )
    }

    pub(super) fn warn(&mut self, node: Node<'_, '_>, attribute: Option<&str>) {
        self.warnings.push(ConfigWarning {
            line: self.line_of(node.range().start),
            element: node.tag_name().name().to_owned(),
            attribute: attribute.map(str::to_owned),
        });
    }

    /// Checks the attributes of `node`: `known` are read by the caller,
    /// `unsupported` are IIS's but not emulated (warned), anything else is refused.
    pub(super) fn attributes(
        &mut self,
        node: Node<'_, '_>,
        known: &[&str],
        unsupported: &[&str],
    ) -> Result<(), WebConfigError> {
        for attr in node.attributes() {
            let name = attr.name();
            if attr.namespace().is_some() {
                // xmlns:… and transform attributes (xdt:Transform) belong to tools.
                self.warn(node, Some(name));
                continue;
            }
            if known.contains(&name) {
                continue;
            }
            if unsupported.contains(&name) || LOCK_ATTRIBUTES.contains(&name) {
                self.warn(node, Some(name));
                continue;
            }
            return Err(self.error(
                node,
                Some(name),
                format!("Unrecognized attribute '{name}'. Note that attribute names are case-sensitive."),
            ));
        }
        Ok(())
    }

    pub(super) fn elements<'n>(node: Node<'n, 'input>) -> impl Iterator<Item = Node<'n, 'input>> {
        node.children().filter(Node::is_element)
    }

    pub(super) fn unrecognized(&self, node: Node<'_, '_>) -> WebConfigError {
        self.error(
            node,
            None,
            format!("Unrecognized element '{}'", node.tag_name().name()),
        )
    }

    pub(super) fn required<'n>(
        &self,
        node: Node<'n, '_>,
        attr: &str,
    ) -> Result<&'n str, WebConfigError> {
        node.attribute(attr)
            .ok_or_else(|| self.error(node, None, format!("Missing required attribute '{attr}'")))
    }

    pub(super) fn invalid(
        &self,
        node: Node<'_, '_>,
        attr: &str,
        value: &str,
        expected: &str,
    ) -> WebConfigError {
        self.error(
            node,
            Some(attr),
            format!("The attribute '{attr}' has an invalid value '{value}'"),
        )
        .with_detail(expected)
    }

    pub(super) fn bool_attr(
        &self,
        node: Node<'_, '_>,
        attr: &str,
    ) -> Result<Option<bool>, WebConfigError> {
        match node.attribute(attr) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(self.invalid(node, attr, v, "expected true or false")),
        }
    }

    pub(super) fn uint_attr(
        &self,
        node: Node<'_, '_>,
        attr: &str,
    ) -> Result<Option<u64>, WebConfigError> {
        match node.attribute(attr) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= u64::from(u32::MAX))
                .map(Some)
                .ok_or_else(|| {
                    self.invalid(
                        node,
                        attr,
                        v,
                        "expected a whole number from 0 to 4294967295",
                    )
                }),
        }
    }

    pub(super) fn u32_attr(
        &self,
        node: Node<'_, '_>,
        attr: &str,
    ) -> Result<Option<u32>, WebConfigError> {
        Ok(self
            .uint_attr(node, attr)?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    pub(super) fn enum_attr<T: Copy>(
        &self,
        node: Node<'_, '_>,
        attr: &str,
        values: &[(&str, T)],
    ) -> Result<Option<T>, WebConfigError> {
        let Some(v) = node.attribute(attr) else {
            return Ok(None);
        };
        values
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(v))
            .map(|(_, t)| Some(*t))
            .ok_or_else(|| {
                let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
                self.invalid(
                    node,
                    attr,
                    v,
                    &format!("expected one of {}", names.join(", ")),
                )
            })
    }

    pub(super) fn duplicate(
        &self,
        node: Node<'_, '_>,
        key_attr: &str,
        key: &str,
    ) -> WebConfigError {
        let pos = node
            .attribute_node(key_attr)
            .map_or(node.range().start, |a| a.range().start);
        self.error_at(
            pos,
            node.tag_name().name(),
            Some(key_attr),
            format!(
                "Cannot add duplicate collection entry of type '{}' with unique key attribute '{key_attr}' set to '{key}'",
                node.tag_name().name()
            ),
            HRESULT_DUPLICATE,
        )
    }

    /// Walks a collection's children: `add_name` entries, `<remove key>`, `<clear/>`.
    pub(super) fn collection<T>(
        &mut self,
        node: Node<'_, 'input>,
        add_name: &str,
        key_attr: &str,
        coll: &mut Collection<T>,
        mut item: impl FnMut(&mut Self, Node<'_, 'input>) -> Result<T, WebConfigError>,
    ) -> Result<(), WebConfigError> {
        for child in Self::elements(node) {
            let name = child.tag_name().name();
            if name == add_name {
                let key = self.required(child, key_attr)?;
                if coll.contains(key) {
                    return Err(self.duplicate(child, key_attr, key));
                }
                let value = item(self, child)?;
                coll.push(key, value);
            } else if name == "remove" {
                self.attributes(child, &[key_attr], &[])?;
                let key = self.required(child, key_attr)?;
                coll.remove(key);
            } else if name == "clear" {
                self.attributes(child, &[], &[])?;
                coll.clear();
            } else {
                return Err(self.unrecognized(child));
            }
        }
        Ok(())
    }

    pub(super) fn resolve_file(&self, path: &str) -> String {
        let p = Path::new(path);
        if p.is_absolute() {
            path.to_owned()
        } else {
            self.base.join(p).display().to_string()
        }
    }
}
