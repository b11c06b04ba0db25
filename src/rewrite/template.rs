//! The `{…}` expressions of inputs and action URLs: server variables,
//! back-references, functions and rewrite-map lookups, parsed once when the layer
//! is built and expanded per request.

use std::borrow::Cow;
use std::fmt::Write as _;

use http::header::HeaderName;

use super::vars::Var;

/// A parsed input or URL.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    segs: Vec<Seg>,
}

#[derive(Debug, Clone)]
enum Seg {
    Lit(String),
    Var(Var),
    /// `{R:n}`
    Rule(usize),
    /// `{C:n}`
    Cond(usize),
    Func(Func, Template),
    /// `{MapName:…}`: the map's index.
    Map(usize, Template),
}

#[derive(Debug, Clone, Copy)]
enum Func {
    ToLower,
    UrlEncode,
    UrlDecode,
    EscapeDataString,
}

/// What a template reads while it expands.
pub(crate) trait Scope {
    /// A server variable.
    fn var(&self, var: &Var, out: &mut String);
    /// `{R:n}` (`rule`) or `{C:n}`.
    fn capture(&self, rule: bool, n: usize) -> &str;
    /// The value of map `map` for `key` (its default when the key is missing).
    fn map(&self, map: usize, key: &str) -> &str;
}

impl Template {
    /// Parses `text`; `maps` are the rewrite maps' names (case-insensitive).
    pub(crate) fn parse(text: &str, maps: &[&str]) -> Result<Self, String> {
        let (t, rest) = Self::parse_until(text, maps, false)?;
        debug_assert!(rest.is_empty());
        Ok(t)
    }

    fn parse_until<'t>(
        mut text: &'t str,
        maps: &[&str],
        nested: bool,
    ) -> Result<(Self, &'t str), String> {
        let mut segs = Vec::new();
        let mut lit = String::new();
        loop {
            let stop = text.find(|c| c == '{' || (nested && c == '}'));
            let Some(i) = stop else {
                if nested {
                    return Err("a '{' has no matching '}'".to_owned());
                }
                lit.push_str(text);
                text = "";
                break;
            };
            lit.push_str(&text[..i]);
            if text.as_bytes()[i] == b'}' {
                text = &text[i..];
                break;
            }
            if !lit.is_empty() {
                segs.push(Seg::Lit(std::mem::take(&mut lit)));
            }
            let (seg, rest) = Self::parse_braced(&text[i + 1..], maps)?;
            segs.push(seg);
            text = rest;
        }
        if !lit.is_empty() {
            segs.push(Seg::Lit(lit));
        }
        Ok((Self { segs }, text))
    }

    /// Parses what follows a `{` up to and including its `}`.
    fn parse_braced<'t>(text: &'t str, maps: &[&str]) -> Result<(Seg, &'t str), String> {
        let name_end = text
            .find([':', '}', '{'])
            .ok_or_else(|| "a '{' has no matching '}'".to_owned())?;
        let name = &text[..name_end];
        match text.as_bytes()[name_end] {
            b'}' => Ok((Seg::Var(Var::parse(name)?), &text[name_end + 1..])),
            b'{' => Err(format!(
                "'{{{name}' is not a server variable, function or map"
            )),
            _ => {
                let arg = &text[name_end + 1..];
                if name.eq_ignore_ascii_case("R") || name.eq_ignore_ascii_case("C") {
                    let end = arg
                        .find('}')
                        .ok_or_else(|| "a '{' has no matching '}'".to_owned())?;
                    let n: usize = arg[..end].parse().map_err(|_| {
                        format!("'{{{name}:{}}}' is not a back-reference", &arg[..end])
                    })?;
                    let seg = if name.eq_ignore_ascii_case("R") {
                        Seg::Rule(n)
                    } else {
                        Seg::Cond(n)
                    };
                    return Ok((seg, &arg[end + 1..]));
                }
                let (inner, rest) = Self::parse_until(arg, maps, true)?;
                let rest = &rest[1..];
                let func = [
                    ("ToLower", Func::ToLower),
                    ("UrlEncode", Func::UrlEncode),
                    ("UrlDecode", Func::UrlDecode),
                    ("EscapeDataString", Func::EscapeDataString),
                ]
                .into_iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name));
                if let Some((_, f)) = func {
                    return Ok((Seg::Func(f, inner), rest));
                }
                match maps.iter().position(|m| m.eq_ignore_ascii_case(name)) {
                    Some(i) => Ok((Seg::Map(i, inner), rest)),
                    None => Err(format!(
                        "'{name}' is neither a function (ToLower, UrlEncode, UrlDecode, EscapeDataString) nor a rewrite map"
                    )),
                }
            }
        }
    }

    /// Whether the template reads `{R:n}` (`rule`) or `{C:n}`.
    pub(crate) fn reads(&self, rule: bool) -> bool {
        self.segs.iter().any(|s| match s {
            Seg::Rule(_) => rule,
            Seg::Cond(_) => !rule,
            Seg::Func(_, t) | Seg::Map(_, t) => t.reads(rule),
            _ => false,
        })
    }

    /// Appends the expansion to `out`.
    pub(crate) fn expand(&self, scope: &dyn Scope, out: &mut String) {
        for seg in &self.segs {
            match seg {
                Seg::Lit(s) => out.push_str(s),
                Seg::Var(v) => scope.var(v, out),
                Seg::Rule(n) => out.push_str(scope.capture(true, *n)),
                Seg::Cond(n) => out.push_str(scope.capture(false, *n)),
                Seg::Func(f, inner) => {
                    let mut arg = String::new();
                    inner.expand(scope, &mut arg);
                    match f {
                        Func::ToLower => out.push_str(&arg.to_lowercase()),
                        Func::UrlEncode => url_encode(&arg, out),
                        Func::UrlDecode => out.push_str(&url_decode(&arg, true)),
                        Func::EscapeDataString => escape_data_string(&arg, out),
                    }
                }
                Seg::Map(i, inner) => {
                    let mut key = String::new();
                    inner.expand(scope, &mut key);
                    out.push_str(scope.map(*i, &key));
                }
            }
        }
    }
}

/// Whether `name` is a valid header name once `HTTP_X_Y` becomes `x-y`.
pub(crate) fn header_from_var(rest: &str) -> Option<HeaderName> {
    HeaderName::from_bytes(rest.replace('_', "-").to_ascii_lowercase().as_bytes()).ok()
}

/// `%XX` escapes decoded (and `+` as a space when `plus`); invalid UTF-8 becomes U+FFFD.
pub(crate) fn url_decode(s: &str, plus: bool) -> Cow<'_, str> {
    if !(s.contains('%') || (plus && s.contains('+'))) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match (crate::percent::hex(b[i + 1]), crate::percent::hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// `{UrlEncode:…}`: as a form value is encoded (a space is `+`; letters, digits and
/// `-_.!*()` kept; everything else `%xx` per UTF-8 byte).
fn url_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'*'
            | b'('
            | b')' => {
                out.push(char::from(b));
            }
            _ => {
                let _ = write!(out, "%{b:02x}");
            }
        }
    }
}

/// `{EscapeDataString:…}`: RFC 3986's unreserved characters kept, everything else
/// `%XX` per UTF-8 byte.
fn escape_data_string(s: &str, out: &mut String) {
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_encode_and_decode() {
        let mut out = String::new();
        url_encode("a b/ü?", &mut out);
        assert_eq!(out, "a+b%2f%c3%bc%3f");
        out.clear();
        escape_data_string("a b/ü~", &mut out);
        assert_eq!(out, "a%20b%2F%C3%BC~");
        assert_eq!(url_decode("a+b%2Fc%zz%4", true), "a b/c%zz%4");
        assert_eq!(url_decode("a+b", false), "a+b");
    }

    #[test]
    fn parse_errors_name_the_expression() {
        assert!(Template::parse("{HTTP_HOST", &[])
            .unwrap_err()
            .contains("no matching"));
        assert!(Template::parse("{R:x}", &[])
            .unwrap_err()
            .contains("back-reference"));
        assert!(Template::parse("{Nope:{R:1}}", &[])
            .unwrap_err()
            .contains("'Nope'"));
        assert!(Template::parse("{NOT_A_VAR}", &[])
            .unwrap_err()
            .contains("NOT_A_VAR"));
        assert!(Template::parse("{Legacy:{R:1}}", &["legacy"]).is_ok());
        assert_eq!(
            Template::parse("plain/{", &[]).unwrap_err(),
            "a '{' has no matching '}'"
        );
    }
}
