//! From a request path to file-system segments, refusing anything that could leave
//! the root before the file system is touched.

use crate::percent::hex;

/// Why a request path cannot name a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathProblem {
    /// An attack or a malformed URL: answered 400 whatever the site holds.
    Invalid(&'static str),
    /// A name the file system could alias to another one (`web.config.`, `a:b`,
    /// `CON`): no file is looked up; it is "not found" (404.0, or the fallback).
    Unmappable(&'static str),
}

/// The path split into decoded segments, and whether it ended with a separator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segments {
    pub(crate) segments: Vec<String>,
    pub(crate) trailing_slash: bool,
}

/// Decodes `%XX` once. A `%` not followed by two hex digits is malformed (the
/// `percent-encoding` crate would keep it as it is; IIS refuses it).
fn percent_decode(raw: &str) -> Result<Vec<u8>, PathProblem> {
    let bytes = raw.as_bytes();
    let is_hex = |i: usize| bytes.get(i).copied().and_then(hex).is_some();
    let broken = bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'%' && !(is_hex(i + 1) && is_hex(i + 2)));
    if broken {
        return Err(PathProblem::Invalid("a % not followed by two hex digits"));
    }
    Ok(percent_encoding::percent_decode(bytes).collect())
}

/// Windows device names, which name a device in every directory.
const DEVICE_NAMES: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Resolves the `.` and `..` segments a client wrote literally (between raw `/`),
/// as http.sys does before IIS sees the URL: `/images/../site.css` is
/// `/site.css`, and a `..` at the root stays at the root (`/../x` is `/x`).
/// Encoded dots and separators (`%2e%2e`, `..%5c`) are left for [`split`] to refuse.
pub(crate) fn resolve_literal_dots(raw_path: &str) -> std::borrow::Cow<'_, str> {
    if !raw_path.split('/').any(|s| s == "." || s == "..") {
        return std::borrow::Cow::Borrowed(raw_path);
    }
    let parts: Vec<&str> = raw_path.split('/').collect();
    let last = parts.len() - 1;
    let mut kept: Vec<&str> = Vec::with_capacity(parts.len());
    let mut trailing_slash = false;
    for (i, seg) in parts.iter().enumerate().skip(1) {
        match *seg {
            "." => trailing_slash = i == last,
            ".." => {
                kept.pop();
                trailing_slash = i == last;
            }
            s => {
                kept.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(raw_path.len());
    for seg in kept {
        out.push('/');
        out.push_str(seg);
    }
    if trailing_slash || out.is_empty() {
        out.push('/');
    }
    std::borrow::Cow::Owned(out)
}

/// Splits and checks a request path (`/a/b%20c.htm`).
///
/// `.` and `..` segments written literally are resolved first
/// ([`resolve_literal_dots`]). The path is then percent-decoded exactly once, and
/// must be UTF-8 (overlong forms are not UTF-8) without control characters. `/` and
/// `\` both separate segments, whether sent raw or encoded (`%2f`, `%5c`), as on
/// IIS. A `.` or `..` segment left after that (it was encoded, or next to a `\`)
/// is refused outright; so the result can be joined to a root with no way up.
pub(crate) fn split(raw_path: &str) -> Result<Segments, PathProblem> {
    let resolved = resolve_literal_dots(raw_path);
    let decoded = percent_decode(&resolved)?;
    let text = String::from_utf8(decoded)
        .map_err(|_| PathProblem::Invalid("not UTF-8 after decoding (overlong or broken)"))?;
    if text.chars().any(char::is_control) {
        return Err(PathProblem::Invalid("a NUL or control character"));
    }
    let trailing_slash = text.ends_with(['/', '\\']);
    let mut segments = Vec::new();
    let mut unmappable = None;
    for seg in text.split(['/', '\\']) {
        if seg.is_empty() {
            continue;
        }
        if seg == "." || seg == ".." {
            return Err(PathProblem::Invalid("a `.` or `..` segment"));
        }
        if unmappable.is_none() {
            unmappable = check_segment(seg);
        }
        segments.push(seg.to_owned());
    }
    match unmappable {
        Some(why) => Err(PathProblem::Unmappable(why)),
        None => Ok(Segments {
            segments,
            trailing_slash,
        }),
    }
}

fn check_segment(seg: &str) -> Option<&'static str> {
    if seg.contains(':') {
        return Some("a `:` (drive letter or alternate data stream)");
    }
    if seg.ends_with(['.', ' ']) {
        return Some("a name ending with `.` or a space (Windows drops them)");
    }
    if seg.contains(['*', '?', '"', '<', '>', '|']) {
        return Some("a character Windows file names cannot hold");
    }
    let stem = seg.split('.').next().unwrap_or(seg).trim_end();
    if DEVICE_NAMES.iter().any(|d| stem.eq_ignore_ascii_case(d)) {
        return Some("a Windows device name");
    }
    None
}

/// Percent-encodes a path for an `href`: unreserved characters and `/` stay.
pub(crate) fn encode_href(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$'()*,;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> Vec<String> {
        split(p).unwrap().segments
    }

    #[test]
    fn splits() {
        assert_eq!(ok("/"), Vec::<String>::new());
        assert_eq!(ok("/a/b.htm"), ["a", "b.htm"]);
        assert_eq!(ok("/a%20b/c%2fd"), ["a b", "c", "d"]);
        assert_eq!(ok("/a\\b"), ["a", "b"]);
        assert_eq!(ok("//a//b"), ["a", "b"]);
        assert_eq!(ok("/%25252e"), ["%252e"]);
        assert!(split("/dir/").unwrap().trailing_slash);
        assert!(!split("/dir").unwrap().trailing_slash);
        assert_eq!(ok("/caf%C3%A9"), ["café"]);
    }

    #[test]
    fn refuses() {
        for bad in [
            "/%2e%2e/x",
            "/%2E%2e%2fx",
            "/.%2e/x",
            "/..%5cx",
            "/a\\..\\b",
            "/%00",
            "/a%00.htm",
            "/%0d%0a",
            "/%c0%ae%c0%ae/x",
            "/%c0%af",
            "/%e0%80%ae",
            "/%ff",
            "/%",
            "/%2",
            "/%zz",
            "/a/.%2e/x",
            "/a/%2E/x",
        ] {
            assert!(
                matches!(split(bad), Err(PathProblem::Invalid(_))),
                "{bad}: {:?}",
                split(bad)
            );
        }
        for odd in [
            "/C:/x",
            "/c:",
            "/a::$DATA",
            "/web.config.",
            "/x.htm%20",
            "/CON",
            "/nul.txt",
            "/Lpt1",
            "/a*b",
            "/a%3Fb",
        ] {
            assert!(
                matches!(split(odd), Err(PathProblem::Unmappable(_))),
                "{odd}: {:?}",
                split(odd)
            );
        }
    }

    #[test]
    fn literal_dot_segments_resolve_inside_the_root() {
        assert_eq!(ok("/images/../site.css"), ["site.css"]);
        assert_eq!(ok("/../x"), ["x"]);
        assert_eq!(ok("/../../../etc/passwd"), ["etc", "passwd"]);
        assert_eq!(ok("/./x"), ["x"]);
        assert_eq!(ok("/a/b/../../c/./d"), ["c", "d"]);
        assert_eq!(ok(".."), Vec::<String>::new());
        assert_eq!(ok("/.."), Vec::<String>::new());
        assert!(split("/..").unwrap().trailing_slash);
        assert_eq!(ok("/a/.."), Vec::<String>::new());
        assert!(split("/a/b/..").unwrap().trailing_slash);
        assert_eq!(ok("/a/..b/c"), ["a", "..b", "c"]);
        assert_eq!(resolve_literal_dots("/a/b%2e%2e/c"), "/a/b%2e%2e/c");
    }

    #[test]
    fn hrefs() {
        assert_eq!(encode_href("/a b/<c>&.htm"), "/a%20b/%3Cc%3E%26.htm");
        assert_eq!(encode_href("/café"), "/caf%C3%A9");
    }
}
