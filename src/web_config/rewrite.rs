//! `<system.webServer><rewrite>`: URL Rewrite's `<rules>` and `<rewriteMaps>`.

use roxmltree::Node;

use super::parse::{Collection, Parser};
use super::WebConfigError;
use crate::rewrite::{
    check_rule, Action, ActionType, Condition, LogicalGrouping, MatchType, PatternSyntax, Place,
    RedirectType, RewriteLayer, RewriteMap, Rule, RuleError,
};

/// `<rewrite>`: the inbound rules and the rewrite maps, checked when read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RewriteSection {
    /// `<rules>`, in order (disabled ones included).
    pub rules: Vec<Rule>,
    /// `<rewriteMaps>`.
    pub maps: Vec<RewriteMap>,
}

impl RewriteSection {
    /// The [`RewriteLayer`] for these rules, `root` being the content root
    /// (`{REQUEST_FILENAME}`, `IsFile`, `IsDirectory`).
    pub fn layer(&self, root: impl Into<std::path::PathBuf>) -> RewriteLayer {
        RewriteLayer::builder()
            .rules(self.rules.iter().cloned())
            .maps(self.maps.iter().cloned())
            .physical_root(root)
            .build()
            .expect("the rewrite rules were checked when they were read")
    }
}

const SYNTAXES: [(&str, PatternSyntax); 3] = [
    ("ECMAScript", PatternSyntax::EcmaScript),
    ("Wildcard", PatternSyntax::Wildcard),
    ("ExactMatch", PatternSyntax::ExactMatch),
];

/// The elements of one `<rule>`, to place a compile error on its line.
struct RuleNodes<'n, 'input> {
    rule: Node<'n, 'input>,
    matcher: Option<Node<'n, 'input>>,
    conditions: Vec<Node<'n, 'input>>,
    action: Option<Node<'n, 'input>>,
}

impl<'input> Parser<'_, 'input> {
    /// Reads `<rewriteMaps>` onto the inherited maps.
    pub(super) fn rewrite_maps(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut RewriteSection,
    ) -> Result<(), WebConfigError> {
        self.attributes(node, &[], &[])?;
        let mut maps = Collection::inherited(
            true,
            section.maps.iter().map(|m| (m.name.as_str(), m.clone())),
        );
        self.collection(node, "rewriteMap", "name", &mut maps, |p, child| {
            p.attributes(child, &["name", "defaultValue", "ignoreCase"], &[])?;
            let mut map = RewriteMap::new(p.required(child, "name")?)
                .default_value(child.attribute("defaultValue").unwrap_or(""))
                .ignore_case(p.bool_attr(child, "ignoreCase")?.unwrap_or(true));
            let mut entries = Collection::new(map.ignore_case);
            p.collection(child, "add", "key", &mut entries, |p, add| {
                p.attributes(add, &["key", "value"], &[])?;
                Ok((
                    p.required(add, "key")?.to_owned(),
                    p.required(add, "value")?.to_owned(),
                ))
            })?;
            map.entries = entries.into_values();
            Ok(map)
        })?;
        section.maps = maps.into_values();
        Ok(())
    }

    /// Reads `<rules>` onto the inherited rules: the parent's run first, in
    /// their order; `<clear/>` and `<remove name>` drop them for this folder.
    /// The rules read here match URLs relative to [`Parser::scope`].
    pub(super) fn rewrite_rules(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut RewriteSection,
    ) -> Result<(), WebConfigError> {
        self.attributes(node, &[], &[])?;
        let names: Vec<String> = section.maps.iter().map(|m| m.name.clone()).collect();
        let maps: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut rules = Collection::inherited(
            true,
            section.rules.iter().map(|r| (r.name.as_str(), r.clone())),
        );
        self.collection(node, "rule", "name", &mut rules, |p, child| {
            p.rewrite_rule(child, &maps)
        })?;
        section.rules = rules.into_values();
        Ok(())
    }

    fn rewrite_rule(
        &mut self,
        node: Node<'_, 'input>,
        maps: &[&str],
    ) -> Result<Rule, WebConfigError> {
        self.attributes(
            node,
            &["name", "enabled", "stopProcessing", "patternSyntax"],
            &["responseCacheDirective"],
        )?;
        let mut rule = Rule::new(self.required(node, "name")?, "")
            .scope(self.scope.clone())
            .enabled(self.bool_attr(node, "enabled")?.unwrap_or(true))
            .stop_processing(self.bool_attr(node, "stopProcessing")?.unwrap_or(false))
            .pattern_syntax(
                self.enum_attr(node, "patternSyntax", &SYNTAXES)?
                    .unwrap_or_default(),
            );
        let mut nodes = RuleNodes {
            rule: node,
            matcher: None,
            conditions: Vec::new(),
            action: None,
        };
        for child in Self::elements(node) {
            match child.tag_name().name() {
                "match" => {
                    self.attributes(child, &["url", "ignoreCase", "negate"], &[])?;
                    rule.url = self.required(child, "url")?.to_owned();
                    rule.ignore_case = self.bool_attr(child, "ignoreCase")?.unwrap_or(true);
                    rule.negate = self.bool_attr(child, "negate")?.unwrap_or(false);
                    nodes.matcher = Some(child);
                }
                "conditions" => self.rewrite_conditions(child, &mut rule, &mut nodes)?,
                "action" => {
                    rule.action = self.rewrite_action(child)?;
                    nodes.action = Some(child);
                }
                "serverVariables" => self.warn(child, None),
                _ => return Err(self.unrecognized(child)),
            }
        }
        if nodes.matcher.is_none() {
            return Err(self.error(node, None, "Missing required element 'match'".to_owned()));
        }
        check_rule(&rule, maps).map_err(|e| self.rule_error(&nodes, e))?;
        Ok(rule)
    }

    fn rewrite_conditions<'n>(
        &mut self,
        node: Node<'n, 'input>,
        rule: &mut Rule,
        nodes: &mut RuleNodes<'n, 'input>,
    ) -> Result<(), WebConfigError> {
        self.attributes(node, &["logicalGrouping", "trackAllCaptures"], &[])?;
        rule.logical_grouping = self
            .enum_attr(
                node,
                "logicalGrouping",
                &[
                    ("MatchAll", LogicalGrouping::MatchAll),
                    ("MatchAny", LogicalGrouping::MatchAny),
                ],
            )?
            .unwrap_or_default();
        rule.track_all_captures = self.bool_attr(node, "trackAllCaptures")?.unwrap_or(false);
        for add in Self::elements(node) {
            match add.tag_name().name() {
                "add" => {}
                "clear" => {
                    self.attributes(add, &[], &[])?;
                    rule.conditions.clear();
                    nodes.conditions.clear();
                    continue;
                }
                _ => return Err(self.unrecognized(add)),
            }
            self.attributes(
                add,
                &["input", "pattern", "matchType", "ignoreCase", "negate"],
                &[],
            )?;
            let input = self.required(add, "input")?;
            let match_type = self
                .enum_attr(
                    add,
                    "matchType",
                    &[
                        ("Pattern", MatchType::Pattern),
                        ("IsFile", MatchType::IsFile),
                        ("IsDirectory", MatchType::IsDirectory),
                    ],
                )?
                .unwrap_or_default();
            let mut c = match match_type {
                MatchType::Pattern => {
                    Condition::pattern(input, add.attribute("pattern").unwrap_or(""))
                }
                MatchType::IsFile => Condition::is_file(input),
                MatchType::IsDirectory => Condition::is_directory(input),
            };
            c = c
                .ignore_case(self.bool_attr(add, "ignoreCase")?.unwrap_or(true))
                .negate(self.bool_attr(add, "negate")?.unwrap_or(false));
            rule.conditions.push(c);
            nodes.conditions.push(add);
        }
        Ok(())
    }

    fn rewrite_action(&mut self, node: Node<'_, 'input>) -> Result<Action, WebConfigError> {
        self.attributes(
            node,
            &[
                "type",
                "url",
                "appendQueryString",
                "redirectType",
                "statusCode",
                "subStatusCode",
                "statusReason",
                "statusDescription",
                "logRewrittenUrl",
            ],
            &[],
        )?;
        let kind = self
            .enum_attr(
                node,
                "type",
                &[
                    ("None", ActionType::None),
                    ("Rewrite", ActionType::Rewrite),
                    ("Redirect", ActionType::Redirect),
                    ("CustomResponse", ActionType::CustomResponse),
                    ("AbortRequest", ActionType::AbortRequest),
                ],
            )?
            .unwrap_or_default();
        let status = |p: &Self, attr| -> Result<Option<u16>, WebConfigError> {
            p.u32_attr(node, attr)?
                .map(|n| {
                    u16::try_from(n).ok().filter(|n| *n <= 999).ok_or_else(|| {
                        p.invalid(
                            node,
                            attr,
                            node.attribute(attr).unwrap_or(""),
                            "expected a number from 0 to 999",
                        )
                    })
                })
                .transpose()
        };
        let mut action = match kind {
            ActionType::None => Action::none(),
            ActionType::Rewrite => Action::rewrite(node.attribute("url").unwrap_or("")),
            ActionType::Redirect => Action::redirect(node.attribute("url").unwrap_or("")),
            ActionType::CustomResponse => Action::custom_response(
                status(self, "statusCode")?.ok_or_else(|| {
                    self.error(
                        node,
                        None,
                        "Missing required attribute 'statusCode'".to_owned(),
                    )
                })?,
                status(self, "subStatusCode")?.unwrap_or(0),
            ),
            ActionType::AbortRequest => Action::abort_request(),
        };
        action = action
            .append_query_string(self.bool_attr(node, "appendQueryString")?.unwrap_or(true))
            .log_rewritten_url(self.bool_attr(node, "logRewrittenUrl")?.unwrap_or(false))
            .redirect_type(
                self.enum_attr(
                    node,
                    "redirectType",
                    &[
                        ("Permanent", RedirectType::Permanent),
                        ("Found", RedirectType::Found),
                        ("SeeOther", RedirectType::SeeOther),
                        ("Temporary", RedirectType::Temporary),
                    ],
                )?
                .unwrap_or_default(),
            );
        if let Some(r) = node.attribute("statusReason") {
            action = action.status_reason(r);
        }
        if let Some(d) = node.attribute("statusDescription") {
            action = action.status_description(d);
        }
        Ok(action)
    }

    /// A rule that does not compile, placed on its element and attribute.
    fn rule_error(&self, nodes: &RuleNodes<'_, '_>, e: RuleError) -> WebConfigError {
        let node = match e.place {
            Place::Match => nodes.matcher,
            Place::Condition(i) => nodes.conditions.get(i).copied(),
            Place::Action => nodes.action,
        }
        .unwrap_or(nodes.rule);
        let attribute = node.has_attribute(e.attribute).then_some(e.attribute);
        self.error(
            node,
            attribute,
            format!(
                "The attribute '{}' of rule '{}' has an invalid value '{}': {}",
                e.attribute, e.rule, e.value, e.reason
            ),
        )
    }
}
