//! `cs-uri-stem` as IIS writes it: decoded, canonical, one token.
//!
//! http.sys canonicalises the path before IIS logs it, so IIS writes the stem
//! decoded: `/nice%20ports%2C/Tri%6Eity.txt%2ebak` is logged as
//! `/nice+ports,/Trinity.txt.bak`, `/arabic/%D8%A7%D9%84` as `/arabic/ال`, and
//! `/x%23y` as `/x#y`. The same file is so logged one way whatever spelling the
//! client chose.
//!
//! - Percent-escapes are decoded; the result is read as UTF-8.
//! - `.` and `..` segments are resolved (after decoding), never above the root.
//! - Spaces, control characters and other white space become `+`, and so does a
//!   decoded byte that is not part of valid UTF-8, as in every value
//!   ([`push_value`](super::fields::push_value)): the line stays UTF-8, and log tools that decode escapes
//!   again (GoAccess does) never meet a stray byte.
//! - Like every request-derived value, the stem is cut at
//!   [`MAX_FIELD_LENGTH`](super::fields::MAX_FIELD_LENGTH) bytes.

use super::fields::push_token;
#[cfg(test)]
use super::fields::{push_value_limited, MAX_FIELD_LENGTH};

/// The log form of a request path alone, without the column's space.
#[cfg(test)]
pub(crate) fn push_stem(out: &mut Vec<u8>, raw: &[u8]) {
    if !needs_decoding(raw) {
        return push_value_limited(out, raw, MAX_FIELD_LENGTH);
    }
    push_value_limited(out, &decode(raw), MAX_FIELD_LENGTH);
}

/// Appends the log form of a request path (as received, still percent-encoded)
/// and the space that follows it in the line.
pub(crate) fn push_stem_token(out: &mut Vec<u8>, raw: &[u8]) {
    if !needs_decoding(raw) {
        return push_token(out, raw);
    }
    push_token(out, &decode(raw));
}

/// The path decoded, its dot segments resolved.
#[cold]
fn decode(raw: &[u8]) -> Vec<u8> {
    let mut decoded: Vec<u8> = percent_encoding::percent_decode(raw).collect();
    resolve_dots(&mut decoded);
    decoded
}

/// Whether the path has a `%` or a `.` / `..` segment. The usual path has neither
/// and not even a `.` after a `/`, which is checked eight bytes at a time; the exact
/// rules are applied only to a path that has one.
fn needs_decoding(path: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    // The high bit of every byte of `x` (all below 0x80) equal to `b`.
    let equal = |x: u64, b: u8| !(((x ^ (ONES * u64::from(b))) | HIGH) - ONES) & HIGH;
    let exact = || path.contains(&b'%') || has_dot_segment(path);
    // The start of the path counts as a `/`.
    let mut after_slash = HIGH & 0x80;
    let mut chunks = path.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        if x & HIGH != 0 {
            return exact();
        }
        if equal(x, b'%') != 0 {
            return true;
        }
        let slash = equal(x, b'/');
        if equal(x, b'.') & ((slash << 8) | after_slash) != 0 {
            return exact();
        }
        after_slash = (slash >> 56) & 0x80;
    }
    let mut prev_slash = after_slash != 0;
    for &b in chunks.remainder() {
        match b {
            b'%' => return true,
            b'.' if prev_slash => return exact(),
            _ if !b.is_ascii() => return exact(),
            _ => {}
        }
        prev_slash = b == b'/';
    }
    false
}

fn has_dot_segment(path: &[u8]) -> bool {
    path.split(|&b| b == b'/').any(|s| s == b"." || s == b"..")
}

/// Resolves `.` and `..` segments in place, as RFC 3986's remove_dot_segments
/// does for an absolute path; `..` at the root stays at the root.
fn resolve_dots(path: &mut Vec<u8>) {
    if !has_dot_segment(path) {
        return;
    }
    let absolute = path.first() == Some(&b'/');
    let segments: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let last = segments.len() - 1;
    let mut kept: Vec<&[u8]> = Vec::with_capacity(segments.len());
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate() {
        if absolute && i == 0 {
            continue;
        }
        match *seg {
            b"." => trailing_slash = i == last,
            b".." => {
                kept.pop();
                trailing_slash = i == last;
            }
            s => {
                kept.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut out = Vec::with_capacity(path.len());
    for seg in &kept {
        out.push(b'/');
        out.extend_from_slice(seg);
    }
    if trailing_slash || out.is_empty() {
        out.push(b'/');
    }
    *path = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem(raw: &str) -> String {
        let mut out = Vec::new();
        push_stem(&mut out, raw.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_pass_check_agrees_with_the_rules() {
        for raw in [
            "",
            "/",
            ".",
            "..",
            "/.",
            "/..",
            "/./",
            "/../",
            "./a",
            "../a",
            "/a/.",
            "/a/..",
            "/a/./b",
            "/a/../b",
            "/.a",
            "/..a",
            "/a.",
            "/a..",
            "/a./b",
            "/...",
            "/.../",
            "/item.aspx",
            "/a.b/c.d",
            "a/.b/..c",
            "/x%2e",
            "%",
            "/a/b/",
            "/shop/products/item.aspx",
            "/shop/pr/./x",
            "/shop/p/../x",
            "/shop/products/.",
            "/shop/products/..",
            "/shop/pr/.well-known",
            "/seven7/.",
            "/seven7/x",
            "/seven7/../abcdefgh",
            "/0123456789abcde%41",
            "/0123456789abcdef/./",
            "/caf\u{e9}/./x",
            "/caf\u{e9}/x",
        ] {
            let raw = raw.as_bytes();
            assert_eq!(
                needs_decoding(raw),
                raw.contains(&b'%') || has_dot_segment(raw),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn decoded_as_iis_writes_it() {
        assert_eq!(stem("/index.html"), "/index.html");
        assert_eq!(
            stem("/nice%20ports%2C/Tri%6Eity.txt%2ebak"),
            "/nice+ports,/Trinity.txt.bak"
        );
        assert_eq!(
            stem("/nice+ports,/Trinity.txt.bak"),
            "/nice+ports,/Trinity.txt.bak"
        );
        assert_eq!(
            stem("/arabic/%D8%A7%D9%84%D9%81%D9%8A%D8%AF%D9%8A%D9%88"),
            "/arabic/الفيديو"
        );
        assert_eq!(stem("/x%23y"), "/x#y");
        assert_eq!(stem("/a%2Fb"), "/a/b");
    }

    #[test]
    fn bad_bytes_and_controls_become_plus() {
        assert_eq!(stem("/a%FFb%C3"), "/a+b+");
        assert_eq!(stem("/caf%C3%A9%FF"), "/café+");
        assert_eq!(stem("/a%00b%0D%0Ac%09d"), "/a+b++c+d");
        assert_eq!(stem("/%E2%80%A8x"), "/+x"); // U+2028, a line separator
        assert_eq!(stem("/100%"), "/100%");
        assert_eq!(stem("/%zz"), "/%zz");
    }

    #[test]
    fn dot_segments_resolved_never_above_the_root() {
        assert_eq!(stem("/images/../site.css"), "/site.css");
        assert_eq!(stem("/../x"), "/x");
        assert_eq!(stem("/a/./b/../../../c"), "/c");
        assert_eq!(stem("/a/b/.."), "/a/");
        assert_eq!(stem("/a/."), "/a/");
        assert_eq!(stem("/.."), "/");
        assert_eq!(stem("/a/%2e%2e/b"), "/b");
        assert_eq!(stem("/a/..b/c"), "/a/..b/c");
    }
}
