//! The compiled rule set and one request's evaluation.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use http::StatusCode;

use super::pattern::Pattern;
use super::rules::{ActionType, LogicalGrouping, MatchType, RewriteMap, Rule};
use super::template::{url_decode, Scope, Template};
use super::vars::{RequestView, Var};
use crate::{ConfigError, IisError, IisStatus};

/// The module name IIS shows for URL Rewrite's errors.
pub(crate) const MODULE: &str = "RewriteModule";

#[derive(Debug)]
pub(crate) struct Compiled {
    rules: Vec<CRule>,
    maps: Vec<CMap>,
    pub(crate) root: Option<PathBuf>,
}

#[derive(Debug)]
struct CMap {
    default: String,
    ignore_case: bool,
    entries: HashMap<String, String>,
}

#[derive(Debug)]
struct CRule {
    name: String,
    /// The rule's folder with a trailing `/` (empty at the site root).
    scope: String,
    stop: bool,
    pattern: Pattern,
    negate: bool,
    any: bool,
    track_all: bool,
    conditions: Vec<CCond>,
    action: CAction,
    /// Whether a condition's input reads `{R:n}` (the match's groups are needed
    /// before the conditions) or the action does (needed after them only).
    r_in_conditions: bool,
    r_in_action: bool,
    /// Whether anything reads `{C:n}` (conditions' groups are kept).
    c_read: bool,
}

#[derive(Debug)]
struct CCond {
    input: Template,
    kind: CondKind,
    negate: bool,
}

#[derive(Debug)]
enum CondKind {
    Pattern(Pattern),
    File,
    Directory,
}

#[derive(Debug)]
enum CAction {
    None,
    Rewrite {
        url: Template,
        append_query: bool,
        log: bool,
    },
    Redirect {
        url: Template,
        append_query: bool,
        status: StatusCode,
    },
    Custom(IisError),
    Abort(IisError),
}

/// Where in a rule a value is: for error messages and web.config error positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Match,
    Condition(usize),
    Action,
}

/// A value of a rule that does not compile.
#[derive(Debug)]
pub(crate) struct RuleError {
    pub(crate) rule: String,
    pub(crate) place: Place,
    pub(crate) attribute: &'static str,
    pub(crate) value: String,
    pub(crate) reason: String,
}

impl RuleError {
    pub(crate) fn into_config_error(self) -> ConfigError {
        let at = match self.place {
            Place::Match => "match".to_owned(),
            Place::Condition(i) => format!("conditions/add[{}]", i + 1),
            Place::Action => "action".to_owned(),
        };
        ConfigError::new(
            format!("rewrite rule '{}' {at}@{}", self.rule, self.attribute),
            self.value,
            self.reason,
        )
    }
}

/// The outcome for one request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Go on, with a new path and query when a rule rewrote them.
    Continue {
        url: Option<String>,
        log_rewritten: bool,
    },
    Redirect {
        status: StatusCode,
        location: String,
    },
    Custom(IisError),
    Abort(IisError),
}

/// An evaluation that needs a file-system answer first.
#[derive(Debug)]
pub(crate) enum Eval {
    Done(Outcome),
    Probe(PathBuf),
}

/// What the file system said about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Directory,
    Missing,
}

impl Compiled {
    /// Whether there is no rule: every request continues unchanged.
    #[cfg(feature = "site")]
    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub(crate) fn compile(
        rules: &[Rule],
        maps: &[RewriteMap],
        root: Option<PathBuf>,
    ) -> Result<Self, ConfigError> {
        let names: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
        for (i, m) in maps.iter().enumerate() {
            if names[..i].iter().any(|n| n.eq_ignore_ascii_case(&m.name)) {
                return Err(ConfigError::new(
                    "rewriteMaps/rewriteMap@name",
                    m.name.clone(),
                    "a rewrite map of this name is already defined",
                ));
            }
        }
        let maps = maps
            .iter()
            .map(|m| CMap {
                default: m.default_value.clone(),
                ignore_case: m.ignore_case,
                entries: m
                    .entries
                    .iter()
                    .map(|(k, v)| (m.norm(k).into_owned(), v.clone()))
                    .collect(),
            })
            .collect();
        let mut out = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if rules[..i].iter().any(|r| r.name == rule.name) {
                return Err(ConfigError::new(
                    "rewrite rule@name",
                    rule.name.clone(),
                    "a rule of this name is already defined",
                ));
            }
            let c =
                compile_rule(rule, &names, root.is_some()).map_err(RuleError::into_config_error)?;
            if rule.enabled {
                out.push(c);
            }
        }
        Ok(Self {
            rules: out,
            maps,
            root,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.rules.len()
    }

    /// Runs the rules for `req`; `probes` holds the file-system answers known so far.
    pub(crate) fn evaluate(&self, req: &RequestView<'_>, probes: &[(PathBuf, Kind)]) -> Eval {
        if self.rules.is_empty() {
            return Eval::Done(Outcome::Continue {
                url: None,
                log_rewritten: false,
            });
        }
        let mut path = url_decode(req.uri.path(), false);
        let mut query: Option<Cow<'_, str>> = req.uri.query().map(Cow::Borrowed);
        let mut changed = false;
        let mut log_rewritten = false;
        let mut st = State {
            req,
            maps: &self.maps,
            r: Vec::new(),
            c: Vec::new(),
        };
        let mut groups = Vec::new();
        let mut input = String::new();
        for rule in &self.rules {
            let _span =
                tracing::trace_span!(target: "tower_iis::rewrite", "rule", name = %rule.name)
                    .entered();
            tracing::trace!(target: "tower_iis::rewrite", event = "RULE_EVALUATION_START", rule = %rule.name, url = %path);
            let url = in_scope(&path, &rule.scope);
            // Groups are taken only when something reads them.
            st.r.clear();
            let hit = if rule.negate || !rule.r_in_conditions {
                rule.pattern.is_match(url)
            } else {
                rule.pattern.captures(url, &mut st.r)
            };
            if hit == rule.negate {
                tracing::trace!(target: "tower_iis::rewrite", event = "RULE_EVALUATION_END", rule = %rule.name, succeeded = false);
                continue;
            }
            st.c.clear();
            match self.conditions(rule, &mut st, probes, &mut groups, &mut input) {
                Err(path) => return Eval::Probe(path),
                Ok(false) => {
                    tracing::trace!(target: "tower_iis::rewrite", event = "RULE_EVALUATION_END", rule = %rule.name, succeeded = false);
                    continue;
                }
                Ok(true) => {}
            }
            tracing::trace!(target: "tower_iis::rewrite", event = "RULE_EVALUATION_END", rule = %rule.name, succeeded = true);
            if rule.r_in_action && !rule.negate && !rule.r_in_conditions {
                let url = in_scope(&path, &rule.scope);
                rule.pattern.captures(url, &mut st.r);
            }
            match &rule.action {
                CAction::None => {}
                CAction::Rewrite {
                    url,
                    append_query,
                    log,
                } => {
                    let mut target = String::new();
                    url.expand(&st, &mut target);
                    let (p, q) = match target.split_once('?') {
                        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                        None => (target, None),
                    };
                    if p.starts_with("http://") || p.starts_with("https://") {
                        // A rewrite to another server needs Application Request
                        // Routing; without it IIS finds no handler.
                        tracing::warn!(target: "tower_iis::rewrite", rule = %rule.name, "rewrite to {p} needs a reverse proxy, which is not emulated");
                        return Eval::Done(Outcome::Custom(
                            IisError::new(IisStatus::new(404, 4)).with_module(MODULE),
                        ));
                    }
                    query = match (q, *append_query, query.take()) {
                        (Some(q), true, Some(old)) if !old.is_empty() => {
                            Some(Cow::Owned(format!("{q}&{old}")))
                        }
                        (Some(q), _, _) => Some(Cow::Owned(q)),
                        (None, true, old) => old,
                        (None, false, _) => None,
                    };
                    let p = url_decode(&p, false);
                    path = Cow::Owned(if p.starts_with('/') {
                        p.into_owned()
                    } else {
                        format!("/{}{p}", rule.scope)
                    });
                    tracing::trace!(target: "tower_iis::rewrite", event = "URL_CHANGED", rule = %rule.name, new_url = %path);
                    changed = true;
                    log_rewritten |= *log;
                }
                CAction::Redirect {
                    url,
                    append_query,
                    status,
                } => {
                    let mut location = String::new();
                    url.expand(&st, &mut location);
                    if let (true, Some(q)) = (*append_query, req.uri.query()) {
                        if !q.is_empty() {
                            location.push(if location.contains('?') { '&' } else { '?' });
                            location.push_str(q);
                        }
                    }
                    return Eval::Done(Outcome::Redirect {
                        status: *status,
                        location,
                    });
                }
                CAction::Custom(e) => return Eval::Done(Outcome::Custom(e.clone())),
                CAction::Abort(e) => return Eval::Done(Outcome::Abort(e.clone())),
            }
            if rule.stop {
                break;
            }
        }
        Eval::Done(Outcome::Continue {
            url: changed.then(|| encode_path(&path, query.as_deref())),
            log_rewritten,
        })
    }

    /// Whether the rule's conditions hold; `Err` with a path whose kind is needed.
    fn conditions(
        &self,
        rule: &CRule,
        st: &mut State<'_, '_>,
        probes: &[(PathBuf, Kind)],
        groups: &mut Vec<String>,
        input: &mut String,
    ) -> Result<bool, PathBuf> {
        if rule.conditions.is_empty() {
            return Ok(true);
        }
        for cond in &rule.conditions {
            input.clear();
            cond.input.expand(st, input);
            let found = match &cond.kind {
                CondKind::Pattern(p) if rule.c_read && !cond.negate => p.captures(input, groups),
                CondKind::Pattern(p) => {
                    groups.clear();
                    p.is_match(input)
                }
                CondKind::File | CondKind::Directory => {
                    let path = self.root.as_deref().unwrap_or(Path::new("")).join(&*input);
                    let Some((_, kind)) = probes.iter().find(|(p, _)| *p == path) else {
                        return Err(path);
                    };
                    groups.clear();
                    match cond.kind {
                        CondKind::File => *kind == Kind::File,
                        _ => *kind == Kind::Directory,
                    }
                }
            };
            let holds = found != cond.negate;
            if holds && found && !groups.is_empty() {
                if rule.track_all && !st.c.is_empty() {
                    st.c.extend(groups.drain(1..));
                } else {
                    std::mem::swap(&mut st.c, groups);
                }
            }
            match (holds, rule.any) {
                (true, true) => return Ok(true),
                (false, false) => return Ok(false),
                _ => {}
            }
        }
        Ok(!rule.any)
    }
}

/// Percent-encodes what a URI path may not hold (spaces, controls, non-ASCII).
/// The URL a rule matches: without the leading `/` and, for a rule of a
/// sub-folder, relative to that folder (as URL Rewrite gives distributed rules).
/// A URL outside the folder (an earlier rule rewrote it there) is matched whole.
fn in_scope<'p>(path: &'p str, scope: &str) -> &'p str {
    let url = path.strip_prefix('/').unwrap_or(path);
    if scope.is_empty() {
        return url;
    }
    match url.get(..scope.len()) {
        Some(head) if head.eq_ignore_ascii_case(scope) => &url[scope.len()..],
        // The folder itself, without its trailing slash.
        _ if url.len() + 1 == scope.len() && scope[..url.len()].eq_ignore_ascii_case(url) => "",
        _ => url,
    }
}

fn encode_path(path: &str, query: Option<&str>) -> String {
    let mut out = String::with_capacity(path.len() + query.map_or(0, |q| q.len() + 1));
    for b in path.bytes() {
        if b.is_ascii_graphic() && b != b'?' && b != b'#' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if let Some(q) = query {
        out.push('?');
        for b in q.bytes() {
            if b.is_ascii_graphic() && b != b'#' {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

struct State<'a, 'r> {
    req: &'a RequestView<'r>,
    maps: &'a [CMap],
    r: Vec<String>,
    c: Vec<String>,
}

impl Scope for State<'_, '_> {
    fn var(&self, var: &Var, out: &mut String) {
        self.req.write(var, out);
    }

    fn capture(&self, rule: bool, n: usize) -> &str {
        let v = if rule { &self.r } else { &self.c };
        v.get(n).map_or("", String::as_str)
    }

    fn map(&self, map: usize, key: &str) -> &str {
        let m = &self.maps[map];
        let v = if m.ignore_case {
            m.entries.get(&key.to_lowercase())
        } else {
            m.entries.get(key)
        };
        v.unwrap_or(&m.default)
    }
}

/// Checks one rule as [`Compiled::compile`] would, for the web.config reader.
#[cfg(feature = "web-config")]
pub(crate) fn check_rule(rule: &Rule, maps: &[&str]) -> Result<(), RuleError> {
    compile_rule(rule, maps, true).map(drop)
}

fn compile_rule(rule: &Rule, maps: &[&str], has_root: bool) -> Result<CRule, RuleError> {
    let err = |place, attribute, value: &str, reason: String| RuleError {
        rule: rule.name.clone(),
        place,
        attribute,
        value: value.to_owned(),
        reason,
    };
    if rule.name.is_empty() {
        return Err(err(
            Place::Match,
            "name",
            "",
            "a rule needs a name".to_owned(),
        ));
    }
    let pattern = Pattern::compile(rule.pattern_syntax, &rule.url, rule.ignore_case)
        .map_err(|e| err(Place::Match, "url", &rule.url, e))?;
    let mut conditions = Vec::new();
    for (i, c) in rule.conditions.iter().enumerate() {
        let input = Template::parse(&c.input, maps)
            .map_err(|e| err(Place::Condition(i), "input", &c.input, e))?;
        let kind = match c.match_type {
            MatchType::Pattern => CondKind::Pattern(
                Pattern::compile(rule.pattern_syntax, &c.pattern, c.ignore_case)
                    .map_err(|e| err(Place::Condition(i), "pattern", &c.pattern, e))?,
            ),
            t => {
                if !has_root {
                    return Err(err(
                        Place::Condition(i),
                        "matchType",
                        if t == MatchType::IsFile {
                            "IsFile"
                        } else {
                            "IsDirectory"
                        },
                        "file checks need the layer's physical root".to_owned(),
                    ));
                }
                if t == MatchType::IsFile {
                    CondKind::File
                } else {
                    CondKind::Directory
                }
            }
        };
        conditions.push(CCond {
            input,
            kind,
            negate: c.negate,
        });
    }
    let a = &rule.action;
    let url = || Template::parse(&a.url, maps).map_err(|e| err(Place::Action, "url", &a.url, e));
    let action = match a.kind {
        ActionType::None => CAction::None,
        ActionType::Rewrite => CAction::Rewrite {
            url: url()?,
            append_query: a.append_query_string,
            log: a.log_rewritten_url,
        },
        ActionType::Redirect => CAction::Redirect {
            url: url()?,
            append_query: a.append_query_string,
            status: a.redirect_type.status(),
        },
        ActionType::CustomResponse => {
            let status = IisStatus::try_new(a.status_code, a.sub_status_code).ok_or_else(|| {
                err(
                    Place::Action,
                    "statusCode",
                    &format!("{}.{}", a.status_code, a.sub_status_code),
                    "expected a status from 100 to 999 and a substatus from 0 to 999".to_owned(),
                )
            })?;
            // The rule sets a status, no error code: HRESULT 0, logged win32 0.
            let mut e = IisError::new(status)
                .with_hresult(0)
                .with_module(MODULE)
                .with_notification("BeginRequest")
                .with_handler(crate::error::NOT_YET_DETERMINED);
            if let Some(r) = &a.status_reason {
                e = e.with_reason(r.clone());
            }
            if let Some(d) = &a.status_description {
                e = e.with_description(d.clone());
            }
            CAction::Custom(e)
        }
        ActionType::AbortRequest => CAction::Abort(
            IisError::new(IisStatus::new(400, 0))
                .with_hresult(0)
                .with_module(MODULE)
                .with_notification("BeginRequest")
                .with_handler(crate::error::NOT_YET_DETERMINED),
        ),
    };
    if matches!(a.kind, ActionType::Rewrite | ActionType::Redirect) && a.url.is_empty() {
        return Err(err(
            Place::Action,
            "url",
            "",
            "a Rewrite or Redirect action needs a url".to_owned(),
        ));
    }
    let r_in_conditions = conditions.iter().any(|c| c.input.reads(true));
    let (r_in_action, c_in_action) = match &action {
        CAction::Rewrite { url, .. } | CAction::Redirect { url, .. } => {
            (url.reads(true), url.reads(false))
        }
        _ => (false, false),
    };
    let c_read = c_in_action || conditions.iter().any(|c| c.input.reads(false));
    Ok(CRule {
        r_in_conditions,
        r_in_action,
        c_read,
        name: rule.name.clone(),
        scope: if rule.scope.is_empty() {
            String::new()
        } else {
            format!("{}/", rule.scope.trim_matches('/'))
        },
        stop: rule.stop_processing,
        pattern,
        negate: rule.negate,
        any: rule.logical_grouping == LogicalGrouping::MatchAny,
        track_all: rule.track_all_captures,
        conditions,
        action,
    })
}
