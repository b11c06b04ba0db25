//! Small HTTP helpers more than one module needs: the pages' escaper, the
//! "Document Moved" page, TLS detection, `host:port` splitting, `Content-Length`
//! parsing and IIS's default error statuses.

use std::fmt;

use askama::Template;
use http::header::{self, HeaderMap};
use http::uri::{Scheme, Uri};

use crate::ConnectionInfo;

/// The statuses of IIS's nine inherited `<httpErrors>` rows, each with a built-in
/// custom page.
pub(crate) const DEFAULT_ERROR_STATUSES: [u16; 9] = [401, 403, 404, 405, 406, 412, 500, 501, 502];

/// The pages' escaper: `&`, `<`, `>` and `"` become the named entities IIS writes
/// (`&amp;`, `&lt;`, `&gt;`, `&quot;`), `'` becomes `&#39;` (XHTML served as HTML
/// has no `&apos;`), and every character XML 1.0 does not allow (C0 controls other
/// than tab, CR and LF; U+FFFE; U+FFFF) becomes U+FFFD. Such a character cannot be
/// written even as a character reference, so without this an error detail holding
/// one (a NUL in a path, a control byte in an error message) would make the page
/// ill-formed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Xhtml;

fn xml_allowed(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// The replacement for a character that needs one, `None` for the rest.
fn xhtml_escape(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        c if !xml_allowed(c) => Some("\u{fffd}"),
        _ => None,
    }
}

/// Bytes that start something [`xhtml_escape`] may replace: the five markup
/// characters, C0 controls, and `0xEF` (the lead byte of U+FFFE and U+FFFF).
static MAY_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = !matches!(b, 0x09 | 0x0a | 0x0d);
        b += 1;
    }
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\'' as usize] = true;
    table[0xef] = true;
    table
};

/// The block [`block_is_plain`] tests at once.
const PLAIN_BLOCK: usize = 16;

/// Whether no byte of `block` is in [`MAY_ESCAPE`], computed without branches.
#[inline]
fn block_is_plain(block: &[u8]) -> bool {
    block.iter().fold(true, |plain, &b| {
        let control = (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r');
        let markup = (b == b'&') | (b == b'<') | (b == b'>') | (b == b'"') | (b == b'\'');
        plain & !(control | markup | (b == 0xef))
    })
}

impl askama::filters::Escaper for Xhtml {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, string: &str) -> fmt::Result {
        // Byte by byte through a table: every character that may need replacing
        // starts with a byte of `MAY_ESCAPE`; the text between is written at once.
        let bytes = string.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            // A whole block without such a byte is skipped with one branch-free test
            // the compiler vectorises; most text has none at all.
            let end = bytes.len().min(i + PLAIN_BLOCK);
            if end - i == PLAIN_BLOCK && block_is_plain(&bytes[i..end]) {
                i = end;
                continue;
            }
            while i < end {
                if !MAY_ESCAPE[usize::from(bytes[i])] {
                    i += 1;
                    continue;
                }
                // `i` is on a character boundary: every byte of `MAY_ESCAPE` is ASCII
                // or a lead byte.
                let c = string[i..].chars().next().unwrap_or_default();
                if let Some(text) = xhtml_escape(c) {
                    dest.write_str(&string[start..i])?;
                    dest.write_str(text)?;
                    start = i + c.len_utf8();
                }
                i += c.len_utf8();
            }
        }
        dest.write_str(&string[start..])
    }

    fn write_escaped_char<W: fmt::Write>(&self, mut dest: W, c: char) -> fmt::Result {
        match xhtml_escape(c) {
            Some(text) => dest.write_str(text),
            None => dest.write_char(c),
        }
    }
}

#[derive(Template)]
#[template(path = "redirect.html")]
struct RedirectPage<'a> {
    location: &'a str,
}

/// The "Document Moved" body IIS sends with a redirect to `location`.
pub(crate) fn redirect_page(location: &str) -> String {
    RedirectPage { location }.render().unwrap_or_default()
}

/// Whether the request came over TLS, for the URLs IIS prints and redirects to:
/// the connection says so, or the request target is an `https://` URI.
///
/// Not a security check: the URI's scheme is the client's to choose (`RequireSsl`
/// reads the connection alone).
pub(crate) fn is_tls(conn: Option<ConnectionInfo>, uri: &Uri) -> bool {
    conn.is_some_and(|c| c.tls) || uri.scheme() == Some(&Scheme::HTTPS)
}

/// Splits a `Host` value into the host (an IPv6 literal keeps its brackets) and the
/// text after the last `:`, if any. `None` for an IPv6 literal without its `]`.
pub(crate) fn split_host_port(h: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = h.strip_prefix('[') {
        let end = rest.find(']')?;
        // "[" + the address + "]"
        return Some((&h[..end + 2], rest[end + 1..].strip_prefix(':')));
    }
    Some(match h.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (h, None),
    })
}

/// The `Content-Length` of `headers`, when there is a well-formed one (surrounding
/// white space allowed).
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(split_host_port("example.com"), Some(("example.com", None)));
        assert_eq!(
            split_host_port("example.com:8080"),
            Some(("example.com", Some("8080")))
        );
        assert_eq!(split_host_port("[::1]:443"), Some(("[::1]", Some("443"))));
        assert_eq!(split_host_port("[::1]"), Some(("[::1]", None)));
        assert_eq!(split_host_port("[::1"), None);
    }

    /// The escaper against the character rules, one character at a time, with the
    /// characters to replace at every offset around the escaper's 16-byte blocks.
    #[test]
    fn escaper_matches_the_character_rules_at_every_offset() {
        use askama::filters::Escaper as _;
        let reference = |text: &str| {
            text.chars()
                .map(|c| xhtml_escape(c).map_or_else(|| c.to_string(), str::to_owned))
                .collect::<String>()
        };
        let specials = [
            "&",
            "<",
            ">",
            "\"",
            "'",
            "\0",
            "\u{1f}",
            "\t",
            "\r",
            "\n",
            "\u{fffe}",
            "\u{ffff}",
            "\u{fffd}",
            "\u{f000}",
            "\u{e9}",
            "\u{10000}",
            "\u{7f}",
        ];
        for len in [0, 1, 15, 16, 17, 31, 32, 33, 40] {
            for at in 0..=len {
                for special in specials {
                    let text = format!("{}{special}{}", "a".repeat(at), "b".repeat(len - at));
                    let mut out = String::new();
                    Xhtml.write_escaped_str(&mut out, &text).unwrap();
                    assert_eq!(out, reference(&text), "{text:?}");
                }
            }
        }
        let mut out = String::new();
        let mixed = "x&y\u{ffff}z".repeat(9);
        Xhtml.write_escaped_str(&mut out, &mixed).unwrap();
        assert_eq!(out, reference(&mixed));
    }

    #[test]
    fn content_length_is_trimmed_and_checked() {
        let mut h = HeaderMap::new();
        assert_eq!(content_length(&h), None);
        h.insert(header::CONTENT_LENGTH, " 42 ".parse().unwrap());
        assert_eq!(content_length(&h), Some(42));
        h.insert(header::CONTENT_LENGTH, "4x".parse().unwrap());
        assert_eq!(content_length(&h), None);
    }
}
