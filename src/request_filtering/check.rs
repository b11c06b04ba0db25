//! The checks, in IIS's order as this crate runs them. Nothing here allocates for a
//! URL or query of up to [`STACK_DECODE`] bytes.

use crate::percent::hex;
use http::{HeaderMap, Request};
use http_body::Body;

use super::config::{Config, LimitCodes};
use crate::{http_util, IisStatus};

/// Paths and queries up to this many bytes are percent-decoded on the stack.
pub(crate) const STACK_DECODE: usize = 1024;

/// Why a request was denied: the code plus a short reason for traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Denial {
    pub(crate) status: IisStatus,
    pub(crate) reason: &'static str,
}

const fn deny(status: IisStatus, reason: &'static str) -> Denial {
    Denial { status, reason }
}

pub(crate) const URL_SEQUENCE: Denial = deny(
    IisStatus::NOT_FOUND_DENIED_BY_REQUEST_FILTERING,
    "URL_SEQUENCE_DENIED",
);
pub(crate) const VERB: Denial = deny(IisStatus::NOT_FOUND_VERB_DENIED, "VERB_DENIED");
pub(crate) const FILE_EXTENSION: Denial = deny(
    IisStatus::NOT_FOUND_FILE_EXTENSION_DENIED,
    "FILE_EXTENSION_DENIED",
);
pub(crate) const HIDDEN_SEGMENT: Denial =
    deny(IisStatus::NOT_FOUND_HIDDEN_NAMESPACE, "HIDDEN_NAMESPACE");
pub(crate) const DOUBLE_ESCAPED: Denial = deny(
    IisStatus::NOT_FOUND_URL_DOUBLE_ESCAPED,
    "URL_DOUBLE_ESCAPED",
);
pub(crate) const HIGH_BIT: Denial = deny(
    IisStatus::NOT_FOUND_HIGH_BIT_CHARACTERS,
    "URL_HAS_HIGH_BIT_CHARS",
);
pub(crate) const URL_TOO_LONG: Denial = deny(IisStatus::NOT_FOUND_URL_TOO_LONG, "URL_TOO_LONG");
pub(crate) const QUERY_TOO_LONG: Denial = deny(
    IisStatus::NOT_FOUND_QUERY_STRING_TOO_LONG,
    "QUERY_STRING_TOO_LONG",
);
pub(crate) const QUERY_SEQUENCE: Denial = deny(
    IisStatus::NOT_FOUND_QUERY_STRING_SEQUENCE_DENIED,
    "QUERY_STRING_SEQUENCE_DENIED",
);
pub(crate) const FILTERING_RULE: Denial = deny(
    IisStatus::NOT_FOUND_DENIED_BY_FILTERING_RULE,
    "FILTERING_RULE",
);
pub(crate) const TOO_MANY_SEGMENTS: Denial = deny(
    IisStatus::NOT_FOUND_TOO_MANY_URL_SEGMENTS,
    "TOO_MANY_URL_SEGMENTS",
);

pub(crate) fn content_too_long(codes: LimitCodes) -> Denial {
    match codes {
        LimitCodes::Iis10 => deny(
            IisStatus::PAYLOAD_TOO_LARGE_CONTENT_LENGTH,
            "CONTENT_LENGTH_TOO_LARGE",
        ),
        LimitCodes::Legacy => deny(
            IisStatus::NOT_FOUND_CONTENT_LENGTH_TOO_LARGE,
            "CONTENT_LENGTH_TOO_LARGE",
        ),
    }
}

pub(crate) fn header_too_long(codes: LimitCodes) -> Denial {
    match codes {
        LimitCodes::Iis10 => deny(
            IisStatus::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "HEADER_TOO_LONG",
        ),
        LimitCodes::Legacy => deny(
            IisStatus::NOT_FOUND_REQUEST_HEADER_TOO_LONG,
            "HEADER_TOO_LONG",
        ),
    }
}

/// The outcome of one phase: `Err` with the denial that ends the checks.
type Phase = Result<(), Denial>;

/// The path or the query string: as sent, percent-decoded once, and whether an
/// `alwaysAllowed` entry exempts it from the rules that read it.
#[derive(Clone, Copy)]
struct Part<'a> {
    raw: &'a [u8],
    decoded: &'a [u8],
    allowed: bool,
}

impl Part<'_> {
    /// Whether any of `needles` occurs, case-insensitively, as sent or decoded.
    fn contains_any<'n>(&self, mut needles: impl Iterator<Item = &'n str>) -> bool {
        needles
            .any(|s| contains_ci(self.raw, s.as_bytes()) || contains_ci(self.decoded, s.as_bytes()))
    }
}

/// Runs every rule; `None` when the request passes.
pub(crate) fn check<B: Body>(cfg: &Config, req: &Request<B>) -> Option<Denial> {
    let path = req.uri().path().as_bytes();
    let query = req.uri().query().unwrap_or("").as_bytes();
    verb(cfg, req)
        .and_then(|()| sizes(cfg, req, path, query))
        .and_then(|()| {
            // The buffer is only zeroed for a path that has something to decode.
            let mut buf;
            let mut heap = Vec::new();
            let (escaped, plus) = has_percent_and_plus(path);
            let decoded = if escaped {
                buf = [0u8; STACK_DECODE];
                decode(path, &mut buf, &mut heap)
            } else {
                path
            };
            let allowed = cfg
                .always_allowed_urls
                .iter()
                .any(|u| u.as_bytes().eq_ignore_ascii_case(path));
            let path = Part {
                raw: path,
                decoded,
                allowed,
            };
            url_encoding(cfg, path, escaped, plus)?;
            url_rules(cfg, path)?;
            query_rules(cfg, req, path, query)
        })
        .err()
}

/// 1. Verbs (404.6).
fn verb<B>(cfg: &Config, req: &Request<B>) -> Phase {
    let method = req.method();
    match cfg.verbs.iter().find(|(m, _)| m == method) {
        Some((_, false)) => Err(VERB),
        None if !cfg.verbs_allow_unlisted => Err(VERB),
        Some((_, true)) | None => Ok(()),
    }
}

/// 2.–4. Request limits: the content length, the URL and query lengths, the headers.
fn sizes<B: Body>(cfg: &Config, req: &Request<B>, path: &[u8], query: &[u8]) -> Phase {
    // 2. Declared content length (413.1 / 404.13), and a body that says it is longer.
    if http_util::content_length(req.headers()).is_some_and(|n| n > cfg.max_allowed_content_length)
        || req.body().size_hint().lower() > cfg.max_allowed_content_length
    {
        return Err(content_too_long(cfg.limit_codes));
    }

    // 3. URL and query lengths (404.14, 404.15), as sent, in bytes.
    if path.len() as u64 > u64::from(cfg.max_url) {
        return Err(URL_TOO_LONG);
    }
    if query.len() as u64 > u64::from(cfg.max_query_string) {
        return Err(QUERY_TOO_LONG);
    }

    // 4. Header limits (431 / 404.10).
    for (name, limit) in &cfg.header_limits {
        let mut size = 0u64;
        for (i, v) in req.headers().get_all(name).iter().enumerate() {
            size += v.len() as u64 + if i > 0 { 2 } else { 0 };
        }
        if size > u64::from(*limit) {
            return Err(header_too_long(cfg.limit_codes));
        }
    }
    Ok(())
}

/// 5.–7. How the path is written: double escaping, high-bit characters and the
/// segment count. `escaped` and `plus`: whether the path as sent holds a `%` or a `+`.
fn url_encoding(cfg: &Config, path: Part<'_>, escaped: bool, plus: bool) -> Phase {
    if !path.allowed {
        // 5. Double escaping (404.11): decoding again would change the path, or a `+`.
        // Without an escape in the path none can be left after decoding it.
        if !cfg.allow_double_escaping
            && (plus || escaped && (path.decoded.contains(&b'+') || has_escape(path.decoded)))
        {
            return Err(DOUBLE_ESCAPED);
        }
        // 6. High-bit characters (404.12).
        if !cfg.allow_high_bit_characters
            && (path.raw.iter().any(|b| *b >= 0x80) || path.decoded.iter().any(|b| *b >= 0x80))
        {
            return Err(HIGH_BIT);
        }
    }

    // 7. Segment count (404.20).
    if let Some(max) = cfg.max_url_segments {
        let count = segments(path.decoded).filter(|s| !s.is_empty()).count();
        if count as u64 > u64::from(max) {
            return Err(TOO_MANY_SEGMENTS);
        }
    }
    Ok(())
}

/// 8.–10. What the path names: URL sequences, hidden segments, file extensions.
fn url_rules(cfg: &Config, path: Part<'_>) -> Phase {
    if path.allowed {
        return Ok(());
    }
    // 8. URL sequences (404.5), raw and decoded.
    if path.contains_any(cfg.deny_url_sequences.iter().map(String::as_str)) {
        return Err(URL_SEQUENCE);
    }
    // 9. Hidden segments (404.8), segment-exact.
    if !cfg.hidden_segments.is_empty() && has_hidden_segment(cfg, path.decoded) {
        return Err(HIDDEN_SEGMENT);
    }
    // 10. File extensions (404.7); no extension is `.`.
    match cfg.extension_index.get(extension(path.decoded)) {
        Some(false) => Err(FILE_EXTENSION),
        None if !cfg.file_extensions_allow_unlisted => Err(FILE_EXTENSION),
        Some(true) | None => Ok(()),
    }
}

/// 11.–12. The query string's sequences, then the filtering rules, which read the
/// path, the query string and headers.
fn query_rules<B>(cfg: &Config, req: &Request<B>, path: Part<'_>, query: &[u8]) -> Phase {
    let allowed = cfg
        .always_allowed_query_strings
        .iter()
        .any(|q| q.as_bytes() == query);
    let mut buf;
    let mut heap = Vec::new();
    let decoded = if cfg.unescape_query_string && query.contains(&b'%') {
        buf = [0u8; STACK_DECODE];
        decode(query, &mut buf, &mut heap)
    } else {
        query
    };
    let query = Part {
        raw: query,
        decoded,
        allowed,
    };

    // 11. Query-string sequences (404.18), raw and decoded.
    if !query.allowed
        && query.contains_any(cfg.deny_query_string_sequences.iter().map(String::as_str))
    {
        return Err(QUERY_SEQUENCE);
    }
    filtering_rules(cfg, req.headers(), path, query)
}

/// 12. Filtering rules (404.19).
fn filtering_rules(cfg: &Config, headers: &HeaderMap, path: Part<'_>, query: Part<'_>) -> Phase {
    if cfg.rules.is_empty() {
        return Ok(());
    }
    let ext = extension(path.decoded);
    for rule in &cfg.rules {
        if !rule.applies_to.is_empty()
            && !rule
                .applies_to
                .iter()
                .any(|e| e.as_bytes().eq_ignore_ascii_case(ext))
        {
            continue;
        }
        let hit = |part: Part<'_>| part.contains_any(rule.deny_strings.iter().map(String::as_str));
        if rule.scan_url && !path.allowed && hit(path) {
            return Err(FILTERING_RULE);
        }
        if rule.scan_query_string && !query.allowed && hit(query) {
            return Err(FILTERING_RULE);
        }
        for h in &rule.scan_headers {
            if headers.get_all(h).iter().any(|v| {
                rule.deny_strings
                    .iter()
                    .any(|s| contains_ci(v.as_bytes(), s.as_bytes()))
            }) {
                return Err(FILTERING_RULE);
            }
        }
    }
    Ok(())
}

/// Whether `s` holds a `%HH` escape.
fn has_escape(s: &[u8]) -> bool {
    s.windows(3)
        .any(|w| w[0] == b'%' && hex(w[1]).is_some() && hex(w[2]).is_some())
}

/// Percent-decodes `raw` once: borrowed when there is nothing to decode, on the
/// stack when it fits, on the heap otherwise. Invalid escapes stay as they are.
fn decode<'a>(raw: &'a [u8], buf: &'a mut [u8; STACK_DECODE], heap: &'a mut Vec<u8>) -> &'a [u8] {
    if !raw.contains(&b'%') {
        return raw;
    }
    let out: &mut [u8] = if raw.len() <= STACK_DECODE {
        &mut buf[..]
    } else {
        heap.resize(raw.len(), 0);
        &mut heap[..]
    };
    // Decoding never lengthens: the output fits in `raw.len()` bytes.
    let mut n = 0;
    for b in percent_encoding::percent_decode(raw) {
        out[n] = b;
        n += 1;
    }
    &out[..n]
}

/// Whether `s` holds a `%`, and whether it holds a `+`, in one pass that compiles to
/// vector instructions.
fn has_percent_and_plus(s: &[u8]) -> (bool, bool) {
    let (mut percent, mut plus) = (false, false);
    for &b in s {
        percent |= b == b'%';
        plus |= b == b'+';
    }
    (percent, plus)
}

/// Whether a segment of `path` is a hidden segment (whole segment, ASCII case
/// ignored). The separators are found eight bytes at a time, and most segments are
/// ruled out by their length alone.
fn has_hidden_segment(cfg: &Config, path: &[u8]) -> bool {
    let hidden = |seg: &[u8]| {
        cfg.hidden_lengths.may_have(seg.len())
            && cfg
                .hidden_segments
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(seg))
    };
    let mut start = 0;
    let mut i = 0;
    while let Some(word) = path.get(i..i + 8) {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let mut seps = zero_bytes(word ^ SLASHES) | zero_bytes(word ^ BACKSLASHES);
        while seps != 0 {
            let at = i + (seps.trailing_zeros() / 8) as usize;
            if hidden(&path[start..at]) {
                return true;
            }
            start = at + 1;
            seps &= seps - 1;
        }
        i += 8;
    }
    for (at, &b) in path.iter().enumerate().skip(i) {
        if b == b'/' || b == b'\\' {
            if hidden(&path[start..at]) {
                return true;
            }
            start = at + 1;
        }
    }
    hidden(&path[start..])
}

const SLASHES: u64 = u64::from_ne_bytes([b'/'; 8]);
const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);

/// The top bit of each byte of `word` that is zero, and no other bit (exact: no
/// borrow runs from one byte into the next).
fn zero_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((word & LOW7) + LOW7) | word | LOW7)
}

/// The path's segments, split on `/` and `\` (IIS normalises the latter).
fn segments(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|b| *b == b'/' || *b == b'\\')
}

/// The file extension of the last segment, dot included; `.` when there is none.
/// One backward scan: the last dot, unless a segment separator comes first.
fn extension(path: &[u8]) -> &[u8] {
    for (i, &b) in path.iter().enumerate().rev() {
        match b {
            b'.' => return &path[i..],
            b'/' | b'\\' => break,
            _ => {}
        }
    }
    b"."
}

/// ASCII case-insensitive substring search.
fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay.len() >= needle.len()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once() {
        let mut buf = [0; STACK_DECODE];
        let mut heap = Vec::new();
        assert_eq!(decode(b"/a%20b", &mut buf, &mut heap), b"/a b");
        let mut buf = [0; STACK_DECODE];
        assert_eq!(decode(b"/a%2520b", &mut buf, &mut heap), b"/a%20b");
        let mut buf = [0; STACK_DECODE];
        assert_eq!(decode(b"/a%zz%4", &mut buf, &mut heap), b"/a%zz%4");
        let mut buf = [0; STACK_DECODE];
        assert_eq!(decode(b"%41", &mut buf, &mut heap), b"A");
        let long = "%41".repeat(600);
        let mut buf = [0; STACK_DECODE];
        assert_eq!(
            decode(long.as_bytes(), &mut buf, &mut heap),
            "A".repeat(600).as_bytes()
        );
    }

    #[test]
    fn extensions() {
        assert_eq!(extension(b"/a/b.CS"), b".CS");
        assert_eq!(extension(b"/a.d/b"), b".");
        assert_eq!(extension(b"/"), b".");
        assert_eq!(extension(b"/x."), b".");
        assert_eq!(extension(b"/.htaccess"), b".htaccess");
        assert_eq!(extension(b"/a.b/c.tar.gz"), b".gz");
        assert_eq!(extension(b"\\a.b\\c"), b".");
        assert_eq!(extension(b"a.b"), b".b");
        assert_eq!(extension(b""), b".");
    }

    /// The word-at-a-time segment scan against a plain split, with separators and
    /// hidden names at every offset around the eight-byte words.
    #[test]
    fn hidden_segments_at_every_offset() {
        let cfg = super::super::RequestFilteringLayer::iis_defaults();
        let cfg = cfg.config();
        let reference = |path: &[u8]| {
            segments(path).any(|seg| {
                cfg.hidden_segments
                    .iter()
                    .any(|h| h.as_bytes().eq_ignore_ascii_case(seg))
            })
        };
        for pad in 0..20 {
            for name in [
                "bin",
                "BIN",
                "bins",
                "App_Data",
                "app_data",
                "web.config",
                "x",
            ] {
                for sep in ["/", "\\"] {
                    let filler = "a".repeat(pad);
                    for path in [
                        format!("{sep}{filler}{sep}{name}"),
                        format!("{sep}{filler}{sep}{name}{sep}z"),
                        format!("{filler}{name}{sep}"),
                        format!("{name}{sep}{filler}"),
                        format!("{sep}{sep}{filler}{sep}{sep}{name}{sep}{sep}"),
                    ] {
                        assert_eq!(
                            has_hidden_segment(cfg, path.as_bytes()),
                            reference(path.as_bytes()),
                            "{path:?}"
                        );
                    }
                }
            }
        }
        assert_eq!(
            zero_bytes(u64::from_le_bytes(*b"a\0b\0\0c\x01\0")),
            0x8000_0080_8000_8000
        );
    }

    #[test]
    fn search() {
        assert!(contains_ci(b"/a/../b", b".."));
        assert!(contains_ci(b"SELECT", b"select"));
        assert!(!contains_ci(b"ab", b"abc"));
    }
}
