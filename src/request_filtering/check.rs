//! The checks, in IIS's order as this crate runs them. Nothing here allocates for a
//! URL or query of up to [`STACK_DECODE`] bytes.

use crate::percent::hex;
use http::{HeaderMap, Method, Request, Uri};
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

/// What the rules read of a request: all but the body, of which only the least
/// length it says it has.
struct Head<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body_lower: u64,
}

/// Runs every rule; `None` when the request passes.
///
/// Only this shell depends on the body's type: the checks are compiled once, in
/// this crate, where their helpers inline.
pub(crate) fn check<B: Body>(cfg: &Config, req: &Request<B>) -> Option<Denial> {
    check_head(
        cfg,
        &Head {
            method: req.method(),
            uri: req.uri(),
            headers: req.headers(),
            body_lower: req.body().size_hint().lower(),
        },
    )
}

/// [`check`] on what the rules read.
fn check_head(cfg: &Config, req: &Head<'_>) -> Option<Denial> {
    let path = req.uri.path().as_bytes();
    let query = req.uri.query().unwrap_or("").as_bytes();
    if let Err(denial) = verb(cfg, req).and_then(|()| sizes(cfg, req, path, query)) {
        return Some(denial);
    }
    // One pass over the path as sent.
    let raw = scan(cfg, path);
    if raw.percent || !cfg.plain {
        return path_and_query_rules(cfg, req, path, query, raw).err();
    }
    // Without a `%` the path is its own decoding, and with a plain configuration
    // (IIS's defaults) only these rules read it, in this order: the same as
    // `url_encoding` and `url_rules` with nothing exempt, no sequences and no
    // segment limit, and nothing reading the query string.
    if !cfg.allow_double_escaping && raw.plus {
        return Some(DOUBLE_ESCAPED);
    }
    if !cfg.allow_high_bit_characters && raw.high_bit {
        return Some(HIGH_BIT);
    }
    if raw.hidden {
        return Some(HIDDEN_SEGMENT);
    }
    match cfg.extension_index.get(path, raw.ext) {
        Some(false) => Some(FILE_EXTENSION),
        None if !cfg.file_extensions_allow_unlisted => Some(FILE_EXTENSION),
        Some(true) | None => None,
    }
}

/// 5.–13. The rules that read the path and the query string, in general: the path
/// decoded when it holds a `%` (`raw`: what [`scan`] found in it as sent), the
/// exemptions, sequences, the segment limit and the query-string rules.
#[inline(never)]
fn path_and_query_rules(
    cfg: &Config,
    req: &Head<'_>,
    path: &[u8],
    query: &[u8],
    raw: PathScan,
) -> Phase {
    // The buffer is only zeroed for a path that has something to decode.
    let mut buf;
    let mut heap = Vec::new();
    let (decoded, dec) = if raw.percent {
        buf = [0u8; STACK_DECODE];
        let decoded = decode(path, &mut buf, &mut heap);
        (decoded, scan_decoded(cfg, decoded))
    } else {
        (path, raw)
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
    url_encoding(cfg, path, raw, dec)?;
    url_rules(cfg, path, dec)?;
    query_rules(cfg, req, path, query)
}

/// 1. Verbs (404.6).
#[inline(always)]
fn verb(cfg: &Config, req: &Head<'_>) -> Phase {
    if cfg.verbs.is_empty() && cfg.verbs_allow_unlisted {
        return Ok(());
    }
    verb_rows(cfg, req)
}

/// [`verb`] with rows to look at.
#[inline(never)]
fn verb_rows(cfg: &Config, req: &Head<'_>) -> Phase {
    let method = req.method;
    match cfg.verbs.iter().find(|(m, _)| m == method) {
        Some((_, false)) => Err(VERB),
        None if !cfg.verbs_allow_unlisted => Err(VERB),
        Some((_, true)) | None => Ok(()),
    }
}

/// 2.–4. Request limits: the content length, the URL and query lengths, the headers.
#[inline(always)]
fn sizes(cfg: &Config, req: &Head<'_>, path: &[u8], query: &[u8]) -> Phase {
    // 2. Declared content length (413.1 / 404.13), and a body that says it is longer.
    if http_util::content_length(req.headers).is_some_and(|n| n > cfg.max_allowed_content_length)
        || req.body_lower > cfg.max_allowed_content_length
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
    if cfg.header_limits.is_empty() {
        return Ok(());
    }
    header_limits(cfg, req)
}

/// 4. Header limits, when there are some.
#[inline(never)]
fn header_limits(cfg: &Config, req: &Head<'_>) -> Phase {
    for (name, limit) in &cfg.header_limits {
        let mut size = 0u64;
        for (i, v) in req.headers.get_all(name).iter().enumerate() {
            size += v.len() as u64 + if i > 0 { 2 } else { 0 };
        }
        if size > u64::from(*limit) {
            return Err(header_too_long(cfg.limit_codes));
        }
    }
    Ok(())
}

/// 5.–7. How the path is written: double escaping, high-bit characters and the
/// segment count. `raw` and `dec`: what [`scan`] found in the path as sent and in
/// the path decoded once (the same when the path holds no `%`).
#[inline(always)]
fn url_encoding(cfg: &Config, path: Part<'_>, raw: PathScan, dec: PathScan) -> Phase {
    if !path.allowed {
        // 5. Double escaping (404.11): decoding again would change the path, or a `+`.
        // Without an escape in the path none can be left after decoding it.
        if !cfg.allow_double_escaping
            && (raw.plus || raw.percent && (dec.plus || dec.percent && has_escape(path.decoded)))
        {
            return Err(DOUBLE_ESCAPED);
        }
        // 6. High-bit characters (404.12).
        if !cfg.allow_high_bit_characters && (raw.high_bit || dec.high_bit) {
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
/// `dec`: what [`scan`] found in the decoded path.
#[inline(always)]
fn url_rules(cfg: &Config, path: Part<'_>, dec: PathScan) -> Phase {
    if path.allowed {
        return Ok(());
    }
    // 8. URL sequences (404.5), raw and decoded.
    if !cfg.deny_url_sequences.is_empty()
        && path.contains_any(cfg.deny_url_sequences.iter().map(String::as_str))
    {
        return Err(URL_SEQUENCE);
    }
    // 9. Hidden segments (404.8), segment-exact.
    if dec.hidden {
        return Err(HIDDEN_SEGMENT);
    }
    // 10. File extensions (404.7); no extension is `.`.
    match cfg.extension_index.get(path.decoded, dec.ext) {
        Some(false) => Err(FILE_EXTENSION),
        None if !cfg.file_extensions_allow_unlisted => Err(FILE_EXTENSION),
        Some(true) | None => Ok(()),
    }
}

/// 11.–12. The query string's sequences, then the filtering rules, which read the
/// path, the query string and headers.
#[inline(always)]
fn query_rules(cfg: &Config, req: &Head<'_>, path: Part<'_>, query: &[u8]) -> Phase {
    // Without either (IIS's defaults) the query string need not even be decoded.
    if cfg.deny_query_string_sequences.is_empty() && cfg.rules.is_empty() {
        return Ok(());
    }
    query_and_custom_rules(cfg, req, path, query)
}

/// [`query_rules`] when there are some.
#[inline(never)]
fn query_and_custom_rules(cfg: &Config, req: &Head<'_>, path: Part<'_>, query: &[u8]) -> Phase {
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
    filtering_rules(cfg, req.headers, path, query)
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

/// What one pass over a path finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PathScan {
    /// A `%` somewhere.
    percent: bool,
    /// A `+` somewhere.
    plus: bool,
    /// A byte above 0x7F somewhere.
    high_bit: bool,
    /// A segment (split on `/` and `\`) that is one of the configured hidden
    /// segments, ASCII case ignored.
    hidden: bool,
    /// The length of the last segment's extension (from its last dot to the end of
    /// the path); 0 when it has no dot.
    ext: usize,
}

/// One pass over `path`, eight bytes at a time: its `%`, `+` and high-bit bytes and
/// its segments, each checked against the hidden segments (most are ruled out by
/// their length and first letter alone, see [`HiddenFilter`](super::config::HiddenFilter));
/// then its last word for the extension.
///
/// The bytes past the last whole word are read as one word ending at the path's
/// end, overlapping the previous one (or, for a path shorter than a word, padded
/// with zero bytes, which match nothing); only its separators need masking, since
/// seeing a `%`, `+` or high bit twice changes nothing.
#[inline(always)]
fn scan(cfg: &Config, path: &[u8]) -> PathScan {
    let len = path.len();
    let mut st = ScanState {
        special: 0,
        any: 0,
        hidden: false,
        start: 0,
    };
    let mut words = path.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        st.see(cfg, path, load(word), base, !0);
        base += 8;
    }
    let tail = words.remainder().len();
    if tail > 0 {
        match len.checked_sub(8).and_then(|b| path.get(b..)) {
            // The last eight bytes; the first `8 - tail` were seen already.
            Some(last) => st.see(cfg, path, load(last), len - 8, !0 << (8 * (8 - tail))),
            None => st.see(cfg, path, load_short(path), 0, !0),
        }
    }
    let hidden = st.hidden || is_hidden(cfg, path.get(st.start..).unwrap_or_default());
    let (percent, plus) = if st.special == 0 {
        (false, false)
    } else {
        (path.contains(&b'%'), path.contains(&b'+'))
    };
    PathScan {
        percent,
        plus,
        high_bit: st.any & HIGH_BITS != 0,
        hidden,
        ext: extension_len(path, st.start),
    }
}

/// What [`scan`] has found so far.
struct ScanState {
    /// The `%` and `+` bytes seen.
    special: u64,
    /// Every word seen, OR-ed (for the high bit).
    any: u64,
    /// Whether a hidden segment was seen.
    hidden: bool,
    /// Where the current segment starts.
    start: usize,
}

impl ScanState {
    /// Sees `word`, whose first byte is `path[base]`; `keep` masks out the
    /// separators of bytes seen already.
    #[inline(always)]
    fn see(&mut self, cfg: &Config, path: &[u8], word: u64, base: usize, keep: u64) {
        self.special |= zero_bytes2(word, PERCENTS, PLUSES);
        self.any |= word;
        let mut seps = zero_bytes2(word, SLASHES, BACKSLASHES) & keep;
        while seps != 0 {
            let end = base + (seps.trailing_zeros() / 8) as usize;
            if !self.hidden && cfg.hidden_filter.has_length(end.wrapping_sub(self.start)) {
                self.hidden = is_hidden(cfg, path.get(self.start..end).unwrap_or_default());
            }
            self.start = end + 1;
            seps &= seps - 1;
        }
    }
}

/// The length of the extension of `path`'s last segment, which starts at `start`
/// (from its last dot to the end); 0 when it has no dot. The last eight bytes are
/// looked at at once; only a longer last segment without a dot in them is read on,
/// byte by byte.
#[inline(always)]
fn extension_len(path: &[u8], start: usize) -> usize {
    let len = path.len();
    let (word, base) = match len.checked_sub(8).and_then(|b| path.get(b..)) {
        Some(w) => (load(w), len - 8),
        None => (load_short(path), 0),
    };
    // The dots of the last segment in that word.
    let skip = start.saturating_sub(base);
    let dots = if skip >= 8 {
        0
    } else {
        zero_bytes(word ^ DOTS) & !0 << (8 * skip)
    };
    if dots != 0 {
        // The last dot is byte `7 - leading_zeros / 8` of the word.
        let at = base + 7 - (dots.leading_zeros() / 8) as usize;
        return len - at;
    }
    path.get(start..base)
        .and_then(|head| head.iter().rposition(|b| *b == b'.'))
        .map_or(0, |i| len - (start + i))
}

/// [`zero_bytes`] of `word ^ a` and of `word ^ b` together: the bytes of `word` that
/// are `a` or `b` (bytes below 0x80).
#[inline]
fn zero_bytes2(word: u64, a: u64, b: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // Per byte: the low seven bits plus 0x7f reach the top bit unless they are zero;
    // a byte of `a` and `b` has no top bit, so `word`'s own top bit rules it out.
    let low = word & LOW7;
    !((((low ^ a) + LOW7) & ((low ^ b) + LOW7)) | word | LOW7)
}

/// A path shorter than a word, padded with zero bytes.
#[inline]
fn load_short(path: &[u8]) -> u64 {
    path.iter()
        .rev()
        .fold(0u64, |w, &b| (w << 8) | u64::from(b))
}

/// [`scan`] of a decoded path, out of line (only paths with a `%` need it).
#[inline(never)]
fn scan_decoded(cfg: &Config, path: &[u8]) -> PathScan {
    scan(cfg, path)
}

/// Eight bytes, the first in the low byte (0 for a slice of another length).
#[inline]
fn load(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().unwrap_or_default())
}

/// Whether `seg` is a hidden segment (ASCII case ignored).
#[inline(always)]
fn is_hidden(cfg: &Config, seg: &[u8]) -> bool {
    cfg.hidden_filter.may_match(seg) && is_hidden_slow(cfg, seg)
}

/// [`is_hidden`] after the filter, by comparison.
#[inline(never)]
fn is_hidden_slow(cfg: &Config, seg: &[u8]) -> bool {
    cfg.hidden_segments
        .iter()
        .any(|h| h.as_bytes().eq_ignore_ascii_case(seg))
}

const SLASHES: u64 = u64::from_ne_bytes([b'/'; 8]);
const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
const PERCENTS: u64 = u64::from_ne_bytes([b'%'; 8]);
const PLUSES: u64 = u64::from_ne_bytes([b'+'; 8]);
const DOTS: u64 = u64::from_ne_bytes([b'.'; 8]);
const HIGH_BITS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The top bit of each byte of `word` that is zero, and no other bit (exact: no
/// borrow runs from one byte into the next).
#[inline]
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

    /// What [`scan`] should find, read plainly.
    fn plain_scan(cfg: &Config, path: &[u8]) -> PathScan {
        PathScan {
            percent: path.contains(&b'%'),
            plus: path.contains(&b'+'),
            high_bit: path.iter().any(|b| *b >= 0x80),
            hidden: segments(path).any(|seg| {
                cfg.hidden_segments
                    .iter()
                    .any(|h| h.as_bytes().eq_ignore_ascii_case(seg))
            }),
            ext: segments(path)
                .last()
                .and_then(|last| Some(last.len() - last.iter().rposition(|b| *b == b'.')?))
                .unwrap_or(0),
        }
    }

    /// The word-at-a-time scan against a plain reading, with separators and hidden
    /// names at every offset around the eight-byte words, at the start, in the
    /// middle and at the end, in both cases.
    #[test]
    fn hidden_segments_at_every_offset() {
        let layer = super::super::RequestFilteringLayer::iis_defaults();
        let cfg = layer.config();
        let mut hits = 0;
        for pad in 0..20 {
            for name in [
                "bin",
                "BIN",
                "Bin",
                "bins",
                "bi",
                "App_Data",
                "app_data",
                "APP_DATA",
                "App_Date",
                "app_code",
                "App_GlobalResources",
                "app_globalresources",
                "App_GlobalResource",
                "web.config",
                "WEB.CONFIG",
                "web.configs",
                "x",
                "",
            ] {
                for sep in ["/", "\\"] {
                    let filler = "a".repeat(pad);
                    for path in [
                        name.to_owned(),
                        format!("{sep}{name}"),
                        format!("{sep}{filler}{sep}{name}"),
                        format!("{sep}{filler}{sep}{name}{sep}z"),
                        format!("{sep}{name}{sep}{filler}"),
                        format!("{filler}{name}{sep}"),
                        format!("{name}{sep}{filler}"),
                        format!("{sep}{sep}{filler}{sep}{sep}{name}{sep}{sep}"),
                        format!("{filler}.{name}{sep}{name}.{filler}"),
                    ] {
                        let want = plain_scan(cfg, path.as_bytes());
                        assert_eq!(scan(cfg, path.as_bytes()), want, "{path:?}");
                        hits += usize::from(want.hidden);
                    }
                }
            }
        }
        assert!(hits > 1000, "the cases hold hidden segments ({hits})");
        assert_eq!(
            zero_bytes(u64::from_le_bytes(*b"a\0b\0\0c\x01\0")),
            0x8000_0080_8000_8000
        );
    }

    /// Hidden segments of 64 bytes and more share the filter's rows with short ones:
    /// the comparison still decides, both ways.
    #[test]
    fn long_hidden_segments() {
        let long = format!("S{}", "x".repeat(69));
        let layer = super::super::RequestFilteringLayer::builder()
            .hidden_segment(long.clone())
            .hidden_segment("s".repeat(64))
            .build()
            .unwrap();
        let cfg = layer.config();
        let short = format!("s{}", "x".repeat(5));
        for path in [
            format!("/{long}"),
            format!("/a/{}/b", long.to_ascii_lowercase()),
            format!("/{short}"),
            format!("/{}", "S".repeat(64)),
            format!("/{}", "s".repeat(128)),
            format!("/{}x", long),
            "/s".to_owned(),
        ] {
            assert_eq!(
                scan(cfg, path.as_bytes()),
                plain_scan(cfg, path.as_bytes()),
                "{path}"
            );
        }
        assert!(scan(cfg, format!("/{long}").as_bytes()).hidden);
        assert!(!scan(cfg, format!("/{short}").as_bytes()).hidden);
    }

    /// Every byte value, at every position of paths of 0 to 40 bytes (one, two,
    /// five whole words and the tails between), with and without separators and
    /// hidden names next to it.
    #[test]
    fn scan_sees_every_byte_at_every_offset() {
        let layer = super::super::RequestFilteringLayer::iis_defaults();
        let cfg = layer.config();
        for len in 1..=40usize {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut path = vec![b'a'; len];
                    path[at] = b;
                    assert_eq!(scan(cfg, &path), plain_scan(cfg, &path), "{path:?}");
                    // A hidden name ending just before the byte, and one starting
                    // just after it.
                    let mut path = b"/bin".to_vec();
                    path.extend(std::iter::repeat_n(b'x', at));
                    path.push(b);
                    path.extend_from_slice(b"App_Data/");
                    assert_eq!(scan(cfg, &path), plain_scan(cfg, &path), "{path:?}");
                    let mut path = vec![b'/'; at];
                    path.push(b);
                    path.extend_from_slice(b"bin");
                    assert_eq!(scan(cfg, &path), plain_scan(cfg, &path), "{path:?}");
                }
            }
        }
        assert_eq!(scan(cfg, b""), plain_scan(cfg, b""));
    }

    /// The fast checks against the plain reading of the rules (the reference
    /// module), request by request, under several configurations: every ASCII and
    /// some high bytes in a segment, escaped and not, limits at their boundaries,
    /// hidden segments and extensions in any case, dots in folder names.
    #[test]
    fn matches_the_reference() {
        use super::super::{FilteringRule, RequestFilteringLayer};
        let layers = [
            RequestFilteringLayer::iis_defaults(),
            RequestFilteringLayer::builder()
                .allow_double_escaping(true)
                .allow_high_bit_characters(false)
                .max_url_segments(Some(3))
                .max_url(40)
                .max_query_string(12)
                .build()
                .unwrap(),
            RequestFilteringLayer::builder()
                .file_extensions_allow_unlisted(false)
                .allow_file_extension(".aspx")
                .allow_file_extension(".")
                .allow_file_extension(".CS")
                .allow_file_extension(".sdmDocument")
                .deny_file_extension(".averylongone")
                .hidden_segment("secret.d")
                .remove_hidden_segment("bin")
                .deny_url_sequence("..")
                .deny_query_string_sequence("<script")
                .always_allowed_url("/bin/ok.cs")
                .always_allowed_query_string("a=%3Cscript")
                .filtering_rule(
                    FilteringRule::new("sql")
                        .scan_url(true)
                        .scan_query_string(true)
                        .applies_to(".aspx")
                        .deny_string("union "),
                )
                .build()
                .unwrap(),
            RequestFilteringLayer::builder()
                .clear_hidden_segments()
                .clear_file_extensions()
                .unescape_query_string(false)
                .deny_query_string_sequence("%3c")
                .build()
                .unwrap(),
            // Plain (the short path serves it) but not the defaults.
            RequestFilteringLayer::builder()
                .allow_double_escaping(true)
                .allow_high_bit_characters(false)
                .file_extensions_allow_unlisted(false)
                .allow_file_extension(".aspx")
                .allow_file_extension(".")
                .hidden_segment("a.d")
                .build()
                .unwrap(),
        ];
        // Both ways through `check_head` are taken.
        let plain: Vec<bool> = layers.iter().map(|l| l.config().plain).collect();
        assert_eq!(plain, [true, false, false, false, true]);
        let mut paths: Vec<String> = vec![
            "/".into(),
            "/shop/products/item.aspx".into(),
            "/a.b/c".into(),
            "/a.d/b.cs".into(),
            "/dir.config/".into(),
            "/x.".into(),
            "/.htaccess".into(),
            "/a/b.tar.gz".into(),
            "/App_Data.x/y".into(),
            "/y/App_Data".into(),
            "/BIN/x.aspx".into(),
            "\\bin\\x".into(),
            "/bin/ok.cs".into(),
            "/BIN/OK.CS".into(),
            "/%62in/x".into(),
            "/%2562in/x".into(),
            "/a%2Fbin/x".into(),
            "/a%5cweb.config".into(),
            "/a+b".into(),
            "/a%2Bb".into(),
            "/a%252Bb".into(),
            "/a%zz".into(),
            "/a%".into(),
            "/%C3%A9t%C3%A9".into(),
            "/secret.d/x".into(),
            "/x/SECRET.D".into(),
            "/file.SdmDocument".into(),
            "/file.averylongone".into(),
            "/file.AVERYLONGONE".into(),
            "/file.averylongonf".into(),
            "/file.Config".into(),
            "/file.c".into(),
            "/file.cs.".into(),
            "/file.csx".into(),
            "/a/../b".into(),
            "/a/%2e%2e/b".into(),
            "/union select.aspx".into(),
            "/union%20select.aspx".into(),
            "/a/b/c/d".into(),
            "/a//b/c/".into(),
            "/".repeat(40),
            "/".repeat(41),
            format!("/{}", "a".repeat(39)),
            format!("/{}", "a".repeat(40)),
            format!("/{}", "%41".repeat(400)),
            format!("/{}.cs", "%41".repeat(400)),
        ];
        for b in 0x20..=0x7eu8 {
            let c = char::from(b);
            paths.push(format!("/dir/a{c}b/x.aspx"));
            paths.push(format!("/dir/x{c}"));
            paths.push(format!("/dir/x.{c}"));
            paths.push(format!("/{c}bin/x"));
            paths.push(format!("/a/%{b:02X}/b.cs"));
            paths.push(format!("/a/%25{b:02X}/b"));
        }
        let queries = [
            "",
            "?id=42&colour=blue",
            "?a=%3Cscript",
            "?a=%3cscript",
            "?a=<script",
            "?union%20x",
            "?123456789012",
            "?1234567890123",
        ];
        let mut checked = 0;
        for layer in &layers {
            let cfg = layer.config();
            for path in &paths {
                for query in queries {
                    let Ok(uri) = http::Uri::try_from(format!("{path}{query}")) else {
                        continue;
                    };
                    let req = Request::get(uri).body(String::new()).unwrap();
                    assert_eq!(
                        check(cfg, &req),
                        super::super::reference::check(cfg, &req),
                        "{path}{query} with {cfg:?}"
                    );
                    checked += 1;
                }
            }
            // High bytes go in as they are: `Uri` refuses them, so the path part is
            // checked on its own.
            for b in 0x80..=0xffu8 {
                for path in [
                    vec![b'/', b],
                    vec![b'/', b'a', b, b'/', b'x'],
                    vec![b'/'; 9],
                ] {
                    let raw = scan(cfg, &path);
                    assert_eq!(raw, plain_scan(cfg, &path));
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    /// The packed, lowercased keys of the extension table, for every byte at every
    /// place.
    #[test]
    fn packs_and_lowercases_every_byte() {
        use super::super::config::{lowercase, pack};
        for b in 0..=255u8 {
            for at in 0..8 {
                let word = u64::from(b) << (8 * at) | 0x4141_4141_4141_4141 & !(0xff << (8 * at));
                let want = u64::from_le_bytes(word.to_le_bytes().map(|x| x.to_ascii_lowercase()));
                assert_eq!(lowercase(word), want, "{b:#x} at {at}");
            }
            for len in 1..=7 {
                let mut ext = vec![b'.'; len];
                ext[len - 1] = b;
                let mut folded = ext.clone();
                folded.make_ascii_lowercase();
                assert_eq!(pack(&ext), pack(&folded));
                let mut key = (len as u64) << 56;
                for (i, x) in folded.iter().enumerate() {
                    key |= u64::from(*x) << (8 * i);
                }
                assert_eq!(pack(&ext), Some(key));
            }
        }
        assert_eq!(pack(b".abcdefg"), None);
    }

    /// The hashed extension table against a plain search of the rows, for the
    /// defaults in any case, near misses, long extensions and every one-byte one.
    #[test]
    fn extension_table_matches_the_rows() {
        use super::super::RequestFilteringLayer;
        let layers = [
            RequestFilteringLayer::iis_defaults(),
            RequestFilteringLayer::builder()
                .allow_file_extension(".cs")
                .allow_file_extension(".")
                .allow_file_extension(".aspx")
                .deny_file_extension(".averylongone")
                .build()
                .unwrap(),
            RequestFilteringLayer::builder()
                .clear_file_extensions()
                .build()
                .unwrap(),
        ];
        for layer in &layers {
            let cfg = layer.config();
            let plain = |ext: &[u8]| {
                cfg.file_extensions
                    .iter()
                    .find(|(e, _)| e.as_bytes().eq_ignore_ascii_case(ext))
                    .map(|(_, a)| *a)
            };
            let mut exts: Vec<Vec<u8>> = Vec::new();
            for (e, _) in &cfg.file_extensions {
                exts.push(e.as_bytes().to_vec());
                exts.push(e.to_ascii_uppercase().into_bytes());
                exts.push(e.as_bytes()[..e.len() - 1].to_vec());
                exts.push(format!("{e}x").into_bytes());
            }
            for b in 0..=255u8 {
                exts.push(vec![b'.', b]);
                exts.push(vec![b'.', b'c', b]);
            }
            for e in [
                ".",
                ".aspx",
                ".ASPX",
                ".html",
                ".averylongone",
                ".AveryLongOne",
                ".sdmdocument",
            ] {
                exts.push(e.as_bytes().to_vec());
            }
            for ext in exts.iter().filter(|e| !e.is_empty()) {
                assert_eq!(
                    cfg.extension_index.get(ext, ext.len()),
                    plain(ext),
                    "{ext:?}"
                );
                // The same extension at the end of paths of every length around a
                // word: read eight bytes at a time, or byte by byte.
                for pad in 0..10 {
                    let mut path = vec![b'/'; pad];
                    path.extend_from_slice(ext);
                    assert_eq!(
                        cfg.extension_index.get(&path, ext.len()),
                        plain(ext),
                        "{path:?}"
                    );
                }
            }
            // No extension is `.`.
            assert_eq!(cfg.extension_index.get(b"/a/b", 0), plain(b"."));
            assert_eq!(cfg.extension_index.get(b"", 0), plain(b"."));
        }
    }

    #[test]
    fn search() {
        assert!(contains_ci(b"/a/../b", b".."));
        assert!(contains_ci(b"SELECT", b"select"));
        assert!(!contains_ci(b"ab", b"abc"));
    }
}
