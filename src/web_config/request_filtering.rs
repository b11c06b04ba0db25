//! The `<security><requestFiltering>` section.
//!
//! Read in phases: the section's flags, then each child element into its
//! collection (every `<add>` checked as it is read, so an error names its own
//! line), then the collections into the builder.

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::{Collection, Parser};
use crate::request_filtering::{
    check_always_allowed_url, check_extension, check_hidden_segment, check_rule_has_deny_strings,
    check_rule_name, check_verb, header_name, non_empty, FilteringRule, RequestFilteringBuilder,
    RequestFilteringLayer, DEFAULT_DENIED_FILE_EXTENSIONS, DEFAULT_HIDDEN_SEGMENTS,
};
use crate::ConfigError;

/// A check of one `<add>` value.
type Check = fn(&str) -> Result<(), ConfigError>;

/// The section's collections as read: inherited entries first, then `<add>`,
/// `<remove>` and `<clear/>` in order.
#[derive(Debug, Clone)]
struct Collections {
    file_extensions: Collection<(String, bool)>,
    hidden: Collection<String>,
    verbs: Collection<(String, bool)>,
    deny_urls: Collection<String>,
    deny_queries: Collection<String>,
    allowed_urls: Collection<String>,
    allowed_queries: Collection<String>,
    header_limits: Collection<(String, u32)>,
    rules: Collection<FilteringRule>,
}

impl Collections {
    /// What IIS inherits from its server-level configuration.
    fn inherited() -> Self {
        let mut file_extensions = Collection::new(true);
        for ext in DEFAULT_DENIED_FILE_EXTENSIONS {
            file_extensions = file_extensions.inherit(ext, (ext.to_owned(), false));
        }
        let mut hidden = Collection::new(true);
        for seg in DEFAULT_HIDDEN_SEGMENTS {
            hidden = hidden.inherit(seg, seg.to_owned());
        }
        Self {
            file_extensions,
            hidden,
            verbs: Collection::new(false),
            deny_urls: Collection::new(true),
            deny_queries: Collection::new(true),
            allowed_urls: Collection::new(true),
            allowed_queries: Collection::new(false),
            header_limits: Collection::new(true),
            rules: Collection::new(true),
        }
    }

    /// Hands every entry to the builder, in order.
    fn apply(self, mut b: RequestFilteringBuilder) -> RequestFilteringBuilder {
        // The collections are unique already: no duplicate scan per row.
        b = b.unique_rows(
            self.file_extensions.into_values(),
            self.hidden.into_values(),
            self.verbs.into_values(),
        );
        for s in self.deny_urls.into_values() {
            b = b.deny_url_sequence(s);
        }
        for s in self.deny_queries.into_values() {
            b = b.deny_query_string_sequence(s);
        }
        for s in self.allowed_urls.into_values() {
            b = b.always_allowed_url(s);
        }
        for s in self.allowed_queries.into_values() {
            b = b.always_allowed_query_string(s);
        }
        for (h, n) in self.header_limits.into_values() {
            b = b.header_limit(h, n);
        }
        for r in self.rules.into_values() {
            b = b.filtering_rule(r);
        }
        b
    }
}

/// `<requestFiltering>` as merged so far, before validation: the flags (in a
/// builder that never holds collections) and the collections. A folder's
/// web.config reads onto its parent's, and the validated
/// [`RequestFilteringLayer`] is built again from the result.
#[derive(Debug, Clone)]
pub(super) struct RequestFilteringState {
    flags: RequestFilteringBuilder,
    collections: Collections,
}

impl Default for RequestFilteringState {
    fn default() -> Self {
        Self {
            flags: RequestFilteringBuilder::new(),
            collections: Collections::inherited(),
        }
    }
}

impl<'input> Parser<'_, 'input> {
    /// Reads `<requestFiltering>` onto the inherited state and rebuilds the layer.
    pub(super) fn request_filtering(
        &mut self,
        node: Node<'_, 'input>,
        state: &mut RequestFilteringState,
    ) -> Result<RequestFilteringLayer, WebConfigError> {
        let mut b = self.request_filtering_flags(node, state.flags.clone())?;
        let mut collections = state.collections.clone();
        let mut seen: Vec<&str> = Vec::new();
        for child in Self::elements(node) {
            let name = child.tag_name().name();
            if seen.contains(&name) {
                return Err(self.error(
                    child,
                    None,
                    format!("There is a duplicate '{name}' element"),
                ));
            }
            seen.push(name);
            b = self.request_filtering_child(child, b, &mut collections)?;
        }
        // Every entry was checked as it was read; what is left is the whole.
        let layer = collections
            .clone()
            .apply(b.clone())
            .build()
            .map_err(|e| self.error(node, None, e.to_string()))?;
        *state = RequestFilteringState {
            flags: b,
            collections,
        };
        Ok(layer)
    }

    /// The `<requestFiltering>` attributes.
    fn request_filtering_flags(
        &mut self,
        node: Node<'_, 'input>,
        mut b: RequestFilteringBuilder,
    ) -> Result<RequestFilteringBuilder, WebConfigError> {
        self.attributes(
            node,
            &[
                "allowDoubleEscaping",
                "allowHighBitCharacters",
                "unescapeQueryString",
            ],
            &["removeServerHeader"],
        )?;
        if let Some(v) = self.bool_attr(node, "allowDoubleEscaping")? {
            b = b.allow_double_escaping(v);
        }
        if let Some(v) = self.bool_attr(node, "allowHighBitCharacters")? {
            b = b.allow_high_bit_characters(v);
        }
        if let Some(v) = self.bool_attr(node, "unescapeQueryString")? {
            b = b.unescape_query_string(v);
        }
        Ok(b)
    }

    /// One child element of `<requestFiltering>`.
    fn request_filtering_child(
        &mut self,
        child: Node<'_, 'input>,
        mut b: RequestFilteringBuilder,
        c: &mut Collections,
    ) -> Result<RequestFilteringBuilder, WebConfigError> {
        match child.tag_name().name() {
            "requestLimits" => b = self.request_limits(child, b, &mut c.header_limits)?,
            "fileExtensions" => {
                self.attributes(child, &["allowUnlisted"], &["applyToWebDAV"])?;
                if let Some(v) = self.bool_attr(child, "allowUnlisted")? {
                    b = b.file_extensions_allow_unlisted(v);
                }
                self.collection(
                    child,
                    "add",
                    "fileExtension",
                    &mut c.file_extensions,
                    |p, n| {
                        p.attributes(n, &["fileExtension", "allowed"], &[])?;
                        let ext = p.checked_key(n, "fileExtension", |v| {
                            check_extension("fileExtensions/add@fileExtension", v)
                        })?;
                        Ok((ext, p.bool_attr(n, "allowed")?.unwrap_or(true)))
                    },
                )?;
            }
            "verbs" => {
                self.attributes(child, &["allowUnlisted"], &["applyToWebDAV"])?;
                if let Some(v) = self.bool_attr(child, "allowUnlisted")? {
                    b = b.verbs_allow_unlisted(v);
                }
                self.collection(child, "add", "verb", &mut c.verbs, |p, n| {
                    p.attributes(n, &["verb", "allowed"], &[])?;
                    let verb = p.checked_key(n, "verb", |v| check_verb(v).map(drop))?;
                    Ok((verb, p.bool_attr(n, "allowed")?.unwrap_or(true)))
                })?;
            }
            "hiddenSegments" => {
                self.attributes(child, &[], &["applyToWebDAV"])?;
                self.string_collection(child, "segment", &mut c.hidden, check_hidden_segment)?;
            }
            "denyUrlSequences" => {
                self.attributes(child, &[], &[])?;
                self.string_collection(child, "sequence", &mut c.deny_urls, |v| {
                    non_empty("denyUrlSequences/add@sequence", v)
                })?;
            }
            "denyQueryStringSequences" => {
                self.attributes(child, &[], &[])?;
                self.string_collection(child, "sequence", &mut c.deny_queries, |v| {
                    non_empty("denyQueryStringSequences/add@sequence", v)
                })?;
            }
            "alwaysAllowedUrls" => {
                self.attributes(child, &[], &[])?;
                self.string_collection(
                    child,
                    "url",
                    &mut c.allowed_urls,
                    check_always_allowed_url,
                )?;
            }
            "alwaysAllowedQueryStrings" => {
                self.attributes(child, &[], &[])?;
                self.string_collection(child, "queryString", &mut c.allowed_queries, |_| Ok(()))?;
            }
            "filteringRules" => {
                self.attributes(child, &[], &[])?;
                self.collection(child, "filteringRule", "name", &mut c.rules, |p, n| {
                    p.filtering_rule(n)
                })?;
            }
            _ => return Err(self.unrecognized(child)),
        }
        Ok(b)
    }

    /// `<requestLimits>` and its `<headerLimits>`.
    fn request_limits(
        &mut self,
        node: Node<'_, 'input>,
        mut b: RequestFilteringBuilder,
        header_limits: &mut Collection<(String, u32)>,
    ) -> Result<RequestFilteringBuilder, WebConfigError> {
        self.attributes(
            node,
            &["maxAllowedContentLength", "maxUrl", "maxQueryString"],
            &[],
        )?;
        if let Some(v) = self.uint_attr(node, "maxAllowedContentLength")? {
            b = b.max_allowed_content_length(v);
        }
        if let Some(v) = self.u32_attr(node, "maxUrl")? {
            b = b.max_url(v);
        }
        if let Some(v) = self.u32_attr(node, "maxQueryString")? {
            b = b.max_query_string(v);
        }
        for limits in Self::elements(node) {
            if limits.tag_name().name() != "headerLimits" {
                return Err(self.unrecognized(limits));
            }
            self.attributes(limits, &[], &[])?;
            self.collection(limits, "add", "header", header_limits, |p, n| {
                p.attributes(n, &["header", "sizeLimit"], &[])?;
                let size = p.u32_attr(n, "sizeLimit")?.unwrap_or(0);
                let header = p.checked_key(n, "header", |v| {
                    header_name("headerLimits/add@header", v).map(drop)
                })?;
                Ok((header, size))
            })?;
        }
        Ok(b)
    }

    /// A collection of `<add key>` entries with one attribute, each checked by `check`.
    fn string_collection(
        &mut self,
        node: Node<'_, 'input>,
        key: &str,
        coll: &mut Collection<String>,
        check: impl Fn(&str) -> Result<(), ConfigError>,
    ) -> Result<(), WebConfigError> {
        self.collection(node, "add", key, coll, |p, n| {
            p.attributes(n, &[key], &[])?;
            p.checked_key(n, key, &check)
        })
    }

    /// The value of `node`'s `attr`, refused at that attribute when `check` refuses it.
    fn checked_key(
        &self,
        node: Node<'_, '_>,
        attr: &str,
        check: impl FnOnce(&str) -> Result<(), ConfigError>,
    ) -> Result<String, WebConfigError> {
        let value = node.attribute(attr).unwrap_or_default();
        check(value).map_err(|e| self.error(node, Some(attr), e.to_string()))?;
        Ok(value.to_owned())
    }

    /// One `<filteringRule>`: its flags and its three collections.
    fn filtering_rule(&mut self, node: Node<'_, 'input>) -> Result<FilteringRule, WebConfigError> {
        self.attributes(
            node,
            &["name", "scanUrl", "scanQueryString"],
            &["scanAllRaw"],
        )?;
        let name = self.checked_key(node, "name", check_rule_name)?;
        let mut rule = FilteringRule::new(name.clone())
            .scan_url(self.bool_attr(node, "scanUrl")?.unwrap_or(false))
            .scan_query_string(self.bool_attr(node, "scanQueryString")?.unwrap_or(false));
        let mut deny_strings = 0;
        for part in Self::elements(node) {
            let (key, check): (&str, Check) = match part.tag_name().name() {
                "scanHeaders" => ("requestHeader", |v| {
                    header_name("filteringRule/scanHeaders/add@requestHeader", v).map(drop)
                }),
                "appliesTo" => ("fileExtension", |v| {
                    check_extension("filteringRule/appliesTo/add@fileExtension", v)
                }),
                "denyStrings" => ("string", |v| {
                    non_empty("filteringRule/denyStrings/add@string", v)
                }),
                _ => return Err(self.unrecognized(part)),
            };
            self.attributes(part, &[], &[])?;
            let mut values: Collection<String> = Collection::new(true);
            self.string_collection(part, key, &mut values, check)?;
            for v in values.into_values() {
                rule = match key {
                    "requestHeader" => rule.scan_header(v),
                    "fileExtension" => rule.applies_to(v),
                    _ => {
                        deny_strings += 1;
                        rule.deny_string(v)
                    }
                };
            }
        }
        check_rule_has_deny_strings(&name, deny_strings)
            .map_err(|e| self.error(node, Some("name"), e.to_string()))?;
        Ok(rule)
    }
}

#[cfg(test)]
mod tests {
    use crate::web_config::{WebConfig, WebConfigError, HRESULT_INVALID_DATA};

    fn bad(section: &str) -> WebConfigError {
        let text = format!(
            "<configuration>\n<system.webServer>\n<security><requestFiltering>\n{section}\n</requestFiltering></security>\n</system.webServer>\n</configuration>\n"
        );
        WebConfig::parse(&text, "/srv/site/web.config").unwrap_err()
    }

    fn assert_at(err: &WebConfigError, line: u32, element: &str, attribute: &str, value: &str) {
        assert_eq!(err.line(), line, "{err}");
        assert_eq!(err.element(), element, "{err}");
        assert_eq!(err.attribute(), Some(attribute), "{err}");
        assert_eq!(err.hresult(), HRESULT_INVALID_DATA, "{err}");
        assert!(err.message().contains(&format!("{value:?}")), "{err}");
    }

    #[test]
    fn each_add_is_refused_at_its_own_line() {
        let err = bad("<verbs>\n<add verb=\"GET\" allowed=\"true\" />\n<add verb=\"BAD VERB\" allowed=\"false\" />\n</verbs>");
        assert_at(&err, 6, "add", "verb", "BAD VERB");
        assert!(err.message().contains("verbs/add@verb"), "{err}");

        let err = bad("<requestLimits>\n<headerLimits>\n<add header=\"Bad Header\" sizeLimit=\"10\" />\n</headerLimits>\n</requestLimits>");
        assert_at(&err, 6, "add", "header", "Bad Header");

        let err = bad("<hiddenSegments>\n<add segment=\"a/b\" />\n</hiddenSegments>");
        assert_at(&err, 5, "add", "segment", "a/b");

        let err = bad("<alwaysAllowedUrls>\n<add url=\"nope\" />\n</alwaysAllowedUrls>");
        assert_at(&err, 5, "add", "url", "nope");

        let err =
            bad("<denyQueryStringSequences>\n<add sequence=\"\" />\n</denyQueryStringSequences>");
        assert_at(&err, 5, "add", "sequence", "");
    }

    #[test]
    fn filtering_rules_are_refused_where_they_are_wrong() {
        // A bad entry inside a rule: its own <add>.
        let err = bad("<filteringRules>\n<filteringRule name=\"r\">\n<scanHeaders>\n<add requestHeader=\"No Good\" />\n</scanHeaders>\n<denyStrings><add string=\"x\" /></denyStrings>\n</filteringRule>\n</filteringRules>");
        assert_at(&err, 7, "add", "requestHeader", "No Good");
        assert!(
            err.message()
                .contains("filteringRule/scanHeaders/add@requestHeader"),
            "{err}"
        );

        let err = bad("<filteringRules>\n<filteringRule name=\"r\">\n<appliesTo>\n<add fileExtension=\"asp\" />\n</appliesTo>\n<denyStrings><add string=\"x\" /></denyStrings>\n</filteringRule>\n</filteringRules>");
        assert_at(&err, 7, "add", "fileExtension", "asp");

        // A rule that denies nothing: the rule itself, at its name.
        let err = bad("<filteringRules>\n<filteringRule name=\"empty\" scanUrl=\"true\">\n</filteringRule>\n</filteringRules>");
        assert_at(&err, 5, "filteringRule", "name", "empty");
        assert!(err.message().contains("at least one deny string"), "{err}");
    }
}
