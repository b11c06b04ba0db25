//! The rules as they are written: [`Rule`], [`Condition`], [`Action`] and
//! [`RewriteMap`], plain data checked and compiled by
//! [`RewriteLayerBuilder::build`](super::RewriteLayerBuilder::build).

use std::borrow::Cow;

/// `patternSyntax`: how `url` and condition patterns are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatternSyntax {
    /// `ECMAScript` (the default): a regular expression, searched anywhere in the
    /// input unless anchored. Back-references and look-around work.
    #[default]
    EcmaScript,
    /// `Wildcard`: `*` matches any run of characters (each `*` is a group), `?` one
    /// character; the whole input must match.
    Wildcard,
    /// `ExactMatch`: the whole input equals the pattern.
    ExactMatch,
}

/// `matchType` of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchType {
    /// `Pattern` (the default): the input matches the pattern.
    #[default]
    Pattern,
    /// `IsFile`: the input is the physical path of an existing file.
    IsFile,
    /// `IsDirectory`: the input is the physical path of an existing folder.
    IsDirectory,
}

/// `logicalGrouping` of a rule's conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogicalGrouping {
    /// `MatchAll` (the default): every condition must hold.
    #[default]
    MatchAll,
    /// `MatchAny`: one condition is enough.
    MatchAny,
}

/// `redirectType` of a `Redirect` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedirectType {
    /// `Permanent` (the default): 301.
    #[default]
    Permanent,
    /// `Found`: 302.
    Found,
    /// `SeeOther`: 303.
    SeeOther,
    /// `Temporary`: 307.
    Temporary,
}

impl RedirectType {
    /// The status code it answers with.
    #[must_use]
    pub fn status(self) -> http::StatusCode {
        match self {
            Self::Permanent => http::StatusCode::MOVED_PERMANENTLY,
            Self::Found => http::StatusCode::FOUND,
            Self::SeeOther => http::StatusCode::SEE_OTHER,
            Self::Temporary => http::StatusCode::TEMPORARY_REDIRECT,
        }
    }
}

/// The `type` of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActionType {
    /// `None`: nothing (the rule only stops processing, when it says so).
    #[default]
    None,
    /// `Rewrite`: the request goes on with another URL.
    Rewrite,
    /// `Redirect`: the client is sent elsewhere.
    Redirect,
    /// `CustomResponse`: an error status and substatus.
    CustomResponse,
    /// `AbortRequest`: the connection is dropped.
    AbortRequest,
}

/// One `<add>` of a rule's `<conditions>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Condition {
    /// `input`, e.g. `{HTTP_HOST}`.
    pub input: String,
    /// `matchType`.
    pub match_type: MatchType,
    /// `pattern` (for [`MatchType::Pattern`]).
    pub pattern: String,
    /// `ignoreCase` (default true).
    pub ignore_case: bool,
    /// `negate` (default false).
    pub negate: bool,
}

impl Condition {
    /// `<add input="…" pattern="…" />`.
    pub fn pattern(input: impl Into<String>, pattern: impl Into<String>) -> Self {
        Self {
            input: input.into(),
            match_type: MatchType::Pattern,
            pattern: pattern.into(),
            ignore_case: true,
            negate: false,
        }
    }

    /// `<add input="…" matchType="IsFile" />`.
    pub fn is_file(input: impl Into<String>) -> Self {
        Self {
            match_type: MatchType::IsFile,
            ..Self::pattern(input, "")
        }
    }

    /// `<add input="…" matchType="IsDirectory" />`.
    pub fn is_directory(input: impl Into<String>) -> Self {
        Self {
            match_type: MatchType::IsDirectory,
            ..Self::pattern(input, "")
        }
    }

    /// `negate`.
    #[must_use]
    pub fn negate(mut self, negate: bool) -> Self {
        self.negate = negate;
        self
    }

    /// `ignoreCase`.
    #[must_use]
    pub fn ignore_case(mut self, ignore_case: bool) -> Self {
        self.ignore_case = ignore_case;
        self
    }
}

/// A rule's `<action>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Action {
    /// `type`.
    pub kind: ActionType,
    /// `url` (Rewrite, Redirect).
    pub url: String,
    /// `appendQueryString` (default true).
    pub append_query_string: bool,
    /// `redirectType` (default Permanent).
    pub redirect_type: RedirectType,
    /// `logRewrittenUrl` (default false): the W3C log shows the rewritten URL.
    pub log_rewritten_url: bool,
    /// `statusCode` (CustomResponse).
    pub status_code: u16,
    /// `subStatusCode` (CustomResponse, default 0).
    pub sub_status_code: u16,
    /// `statusReason` (CustomResponse).
    pub status_reason: Option<String>,
    /// `statusDescription` (CustomResponse).
    pub status_description: Option<String>,
}

impl Action {
    fn of(kind: ActionType) -> Self {
        Self {
            kind,
            url: String::new(),
            append_query_string: true,
            redirect_type: RedirectType::Permanent,
            log_rewritten_url: false,
            status_code: 0,
            sub_status_code: 0,
            status_reason: None,
            status_description: None,
        }
    }

    /// `type="None"`.
    #[must_use]
    pub fn none() -> Self {
        Self::of(ActionType::None)
    }

    /// `type="Rewrite" url="…"`.
    pub fn rewrite(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::of(ActionType::Rewrite)
        }
    }

    /// `type="Redirect" url="…"` (301 unless [`redirect_type`](Self::redirect_type)).
    pub fn redirect(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::of(ActionType::Redirect)
        }
    }

    /// `type="CustomResponse" statusCode subStatusCode`.
    #[must_use]
    pub fn custom_response(status_code: u16, sub_status_code: u16) -> Self {
        Self {
            status_code,
            sub_status_code,
            ..Self::of(ActionType::CustomResponse)
        }
    }

    /// `type="AbortRequest"`.
    #[must_use]
    pub fn abort_request() -> Self {
        Self::of(ActionType::AbortRequest)
    }

    /// `redirectType`.
    #[must_use]
    pub fn redirect_type(mut self, t: RedirectType) -> Self {
        self.redirect_type = t;
        self
    }

    /// `appendQueryString`.
    #[must_use]
    pub fn append_query_string(mut self, append: bool) -> Self {
        self.append_query_string = append;
        self
    }

    /// `logRewrittenUrl`.
    #[must_use]
    pub fn log_rewritten_url(mut self, log: bool) -> Self {
        self.log_rewritten_url = log;
        self
    }

    /// `statusReason`.
    #[must_use]
    pub fn status_reason(mut self, reason: impl Into<String>) -> Self {
        self.status_reason = Some(reason.into());
        self
    }

    /// `statusDescription`.
    #[must_use]
    pub fn status_description(mut self, description: impl Into<String>) -> Self {
        self.status_description = Some(description.into());
        self
    }
}

/// One `<rule>` of `<rules>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rule {
    /// `name` (unique).
    pub name: String,
    /// `enabled` (default true).
    pub enabled: bool,
    /// `stopProcessing` (default false).
    pub stop_processing: bool,
    /// `patternSyntax` (default ECMAScript).
    pub pattern_syntax: PatternSyntax,
    /// `<match url>`.
    pub url: String,
    /// `<match ignoreCase>` (default true).
    pub ignore_case: bool,
    /// `<match negate>` (default false).
    pub negate: bool,
    /// `<conditions logicalGrouping>`.
    pub logical_grouping: LogicalGrouping,
    /// `<conditions trackAllCaptures>` (default false).
    pub track_all_captures: bool,
    /// `<conditions>`, in order.
    pub conditions: Vec<Condition>,
    /// `<action>` (default `None`).
    pub action: Action,
    /// The folder the rule was written for, relative to the site root (`""` at
    /// the root, `"blog"`): URL Rewrite's distributed rules match the URL
    /// relative to the web.config (or `<location>`) that holds them, and a
    /// relative `Rewrite` URL stays in that folder.
    pub scope: String,
}

impl Rule {
    /// `<rule name="…"><match url="…" /></rule>` with IIS's defaults.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            enabled: true,
            stop_processing: false,
            pattern_syntax: PatternSyntax::EcmaScript,
            url: url.into(),
            ignore_case: true,
            negate: false,
            logical_grouping: LogicalGrouping::MatchAll,
            track_all_captures: false,
            conditions: Vec::new(),
            action: Action::none(),
            scope: String::new(),
        }
    }

    /// The folder the rule applies to (see [`scope`](Self#structfield.scope)).
    #[must_use]
    pub fn scope(mut self, folder: impl Into<String>) -> Self {
        self.scope = folder.into().trim_matches('/').to_owned();
        self
    }

    /// `enabled`.
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// `stopProcessing`.
    #[must_use]
    pub fn stop_processing(mut self, stop: bool) -> Self {
        self.stop_processing = stop;
        self
    }

    /// `patternSyntax`.
    #[must_use]
    pub fn pattern_syntax(mut self, syntax: PatternSyntax) -> Self {
        self.pattern_syntax = syntax;
        self
    }

    /// `<match ignoreCase>`.
    #[must_use]
    pub fn ignore_case(mut self, ignore_case: bool) -> Self {
        self.ignore_case = ignore_case;
        self
    }

    /// `<match negate>`.
    #[must_use]
    pub fn negate(mut self, negate: bool) -> Self {
        self.negate = negate;
        self
    }

    /// `<conditions logicalGrouping>`.
    #[must_use]
    pub fn logical_grouping(mut self, grouping: LogicalGrouping) -> Self {
        self.logical_grouping = grouping;
        self
    }

    /// `<conditions trackAllCaptures>`.
    #[must_use]
    pub fn track_all_captures(mut self, track: bool) -> Self {
        self.track_all_captures = track;
        self
    }

    /// Adds a condition.
    #[must_use]
    pub fn condition(mut self, condition: Condition) -> Self {
        self.conditions.push(condition);
        self
    }

    /// `<action>`.
    #[must_use]
    pub fn action(mut self, action: Action) -> Self {
        self.action = action;
        self
    }
}

/// A `<rewriteMap>`: keys to values, read with `{MapName:{key}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RewriteMap {
    /// `name`.
    pub name: String,
    /// `defaultValue` (default empty): the value of a missing key.
    pub default_value: String,
    /// `ignoreCase` (default true): keys compare without case.
    pub ignore_case: bool,
    /// The `<add key value>` entries.
    pub entries: Vec<(String, String)>,
}

impl RewriteMap {
    /// An empty map.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            default_value: String::new(),
            ignore_case: true,
            entries: Vec::new(),
        }
    }

    /// `defaultValue`.
    #[must_use]
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.default_value = value.into();
        self
    }

    /// `ignoreCase`.
    #[must_use]
    pub fn ignore_case(mut self, ignore_case: bool) -> Self {
        self.ignore_case = ignore_case;
        self
    }

    /// `<add key value>`.
    #[must_use]
    pub fn entry(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.entries.push((key.into(), value.into()));
        self
    }

    pub(crate) fn norm<'k>(&self, key: &'k str) -> Cow<'k, str> {
        if self.ignore_case {
            Cow::Owned(key.to_lowercase())
        } else {
            Cow::Borrowed(key)
        }
    }
}
