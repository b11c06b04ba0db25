//! The three pattern syntaxes of a rule, compiled once.

use fancy_regex::{Regex, RegexBuilder};

use super::PatternSyntax;

/// A compiled `url` or condition `pattern`.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// `ECMAScript` and `Wildcard` (translated to a regular expression).
    Regex(Regex),
    /// `ExactMatch`: the text, lower-cased when the match ignores case.
    Exact { text: String, ignore_case: bool },
}

/// The limit on backtracking steps of one match (fancy-regex's default is one
/// million); a pattern that needs more does not match.
const BACKTRACK_LIMIT: usize = 1_000_000;

impl Pattern {
    /// Compiles `text` in `syntax`.
    pub(crate) fn compile(
        syntax: PatternSyntax,
        text: &str,
        ignore_case: bool,
    ) -> Result<Self, String> {
        let source = match syntax {
            PatternSyntax::ExactMatch => {
                return Ok(Self::Exact {
                    text: if ignore_case {
                        text.to_lowercase()
                    } else {
                        text.to_owned()
                    },
                    ignore_case,
                })
            }
            PatternSyntax::EcmaScript => text.to_owned(),
            PatternSyntax::Wildcard => wildcard_to_regex(text),
        };
        RegexBuilder::new(&source)
            .case_insensitive(ignore_case)
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map(Self::Regex)
            .map_err(|e| format!("not a valid regular expression: {e}"))
    }

    /// Matches `input`; `Some` with the groups (`0` the whole match) when it matches.
    /// Groups that took no part in the match are empty.
    pub(crate) fn captures(&self, input: &str, groups: &mut Vec<String>) -> bool {
        groups.clear();
        match self {
            Self::Exact { text, ignore_case } => {
                let hit = if *ignore_case {
                    input.to_lowercase() == *text
                } else {
                    input == text
                };
                if hit {
                    groups.push(input.to_owned());
                }
                hit
            }
            Self::Regex(re) => match re.captures(input) {
                Ok(Some(c)) => {
                    groups.extend(
                        (0..c.len())
                            .map(|i| c.get(i).map_or(String::new(), |m| m.as_str().to_owned())),
                    );
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    tracing::warn!(target: "tower_iis::rewrite", "pattern {} not evaluated: {e}", re.as_str());
                    false
                }
            },
        }
    }

    /// Whether `input` matches, without captures.
    pub(crate) fn is_match(&self, input: &str) -> bool {
        match self {
            Self::Exact { text, ignore_case } => {
                if *ignore_case {
                    input.to_lowercase() == *text
                } else {
                    input == text
                }
            }
            Self::Regex(re) => re.is_match(input).unwrap_or(false),
        }
    }
}

/// `Wildcard`: `*` matches any run of characters and is a group; `?` matches one
/// character; everything else is literal; the whole input must match.
fn wildcard_to_regex(text: &str) -> String {
    let mut re = String::from("^(?s)");
    let mut lit = String::new();
    let flush = |lit: &mut String, re: &mut String| {
        re.push_str(&fancy_regex::escape(lit));
        lit.clear();
    };
    for c in text.chars() {
        match c {
            '*' => {
                flush(&mut lit, &mut re);
                re.push_str("(.*)");
            }
            '?' => {
                flush(&mut lit, &mut re);
                re.push('.');
            }
            c => lit.push(c),
        }
    }
    flush(&mut lit, &mut re);
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntaxes() {
        let mut g = Vec::new();
        let p = Pattern::compile(PatternSyntax::Wildcard, "blog/*/p.aspx", true).unwrap();
        assert!(p.captures("Blog/2024/P.aspx", &mut g));
        assert_eq!(g, ["Blog/2024/P.aspx", "2024"]);
        assert!(!p.captures("xblog/2024/p.aspx", &mut g));
        let p = Pattern::compile(PatternSyntax::ExactMatch, "Old.HTML", true).unwrap();
        assert!(p.captures("old.html", &mut g));
        assert!(!p.captures("old.htm", &mut g));
        let p = Pattern::compile(PatternSyntax::ExactMatch, "Old.HTML", false).unwrap();
        assert!(!p.is_match("old.html"));
        // Back-references and look-around, which the regex crate lacks.
        let p = Pattern::compile(PatternSyntax::EcmaScript, r"^(\w+)/\1$", false).unwrap();
        assert!(p.is_match("ab/ab") && !p.is_match("ab/cd"));
        let p = Pattern::compile(PatternSyntax::EcmaScript, r"^(?!api/).*", true).unwrap();
        assert!(p.is_match("app/x") && !p.is_match("API/x"));
        assert!(Pattern::compile(PatternSyntax::EcmaScript, "(", true)
            .unwrap_err()
            .starts_with("not a valid regular expression"));
    }
}
