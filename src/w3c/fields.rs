//! The W3C fields IIS knows, their canonical order, custom fields, and how a value is
//! made safe for a log line.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use http::HeaderName;

use crate::ConfigError;

macro_rules! fields {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $flag:literal; )*) => {
        /// One of the 22 standard W3C fields IIS can log.
        ///
        /// The variants are declared in IIS's canonical order (the order of the
        /// columns in a log line), which is also their [`Ord`] order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Field {
            $( $(#[$doc])* $variant, )*
        }

        impl Field {
            /// Every standard field, in IIS's canonical order.
            pub const ALL: [Field; 22] = [$(Field::$variant,)*];

            /// The name written in the `#Fields` directive, e.g. `cs(User-Agent)`.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $(Field::$variant => $name,)* }
            }

            /// The name of IIS's `logExtFileFlags` flag for the field, e.g. `UserAgent`.
            #[must_use]
            pub const fn flag_name(self) -> &'static str {
                match self { $(Field::$variant => $flag,)* }
            }
        }
    };
}

fields! {
    /// `date`: the UTC date the line was written, `YYYY-MM-DD`.
    Date = "date", "Date";
    /// `time`: the UTC time the line was written, `HH:MM:SS`.
    Time = "time", "Time";
    /// `s-sitename`: the site, `W3SVC<id>`.
    SiteName = "s-sitename", "SiteName";
    /// `s-computername`: the server's host name.
    ComputerName = "s-computername", "ComputerName";
    /// `s-ip`: the server address the client connected to.
    ServerIp = "s-ip", "ServerIP";
    /// `cs-method`: the request method.
    Method = "cs-method", "Method";
    /// `cs-uri-stem`: the request path.
    UriStem = "cs-uri-stem", "UriStem";
    /// `cs-uri-query`: the query string without the `?`.
    UriQuery = "cs-uri-query", "UriQuery";
    /// `s-port`: the server port the client connected to.
    ServerPort = "s-port", "ServerPort";
    /// `cs-username`: the authenticated user, `-` when anonymous.
    UserName = "cs-username", "UserName";
    /// `c-ip`: the client address.
    ClientIp = "c-ip", "ClientIP";
    /// `cs-version`: the protocol version, e.g. `HTTP/1.1`.
    ProtocolVersion = "cs-version", "ProtocolVersion";
    /// `cs(User-Agent)`: the `User-Agent` request header.
    UserAgent = "cs(User-Agent)", "UserAgent";
    /// `cs(Cookie)`: the `Cookie` request header.
    Cookie = "cs(Cookie)", "Cookie";
    /// `cs(Referer)`: the `Referer` request header.
    Referer = "cs(Referer)", "Referer";
    /// `cs-host`: the `Host` header (or the authority of an HTTP/2 request).
    Host = "cs-host", "Host";
    /// `sc-status`: the HTTP status code.
    HttpStatus = "sc-status", "HttpStatus";
    /// `sc-substatus`: the IIS substatus, `0` when there is none.
    HttpSubStatus = "sc-substatus", "HttpSubStatus";
    /// `sc-win32-status`: the Win32 status, `0` on success, `64` when the client went away.
    Win32Status = "sc-win32-status", "Win32Status";
    /// `sc-bytes`: bytes sent (response head and body).
    BytesSent = "sc-bytes", "BytesSent";
    /// `cs-bytes`: bytes received (request head and body).
    BytesRecv = "cs-bytes", "BytesRecv";
    /// `time-taken`: milliseconds from the request's arrival to the last byte sent.
    TimeTaken = "time-taken", "TimeTaken";
}

impl Field {
    /// The 15 fields IIS logs by default, in its order.
    pub const DEFAULT: [Field; 15] = [
        Field::Date,
        Field::Time,
        Field::ServerIp,
        Field::Method,
        Field::UriStem,
        Field::UriQuery,
        Field::ServerPort,
        Field::UserName,
        Field::ClientIp,
        Field::UserAgent,
        Field::Referer,
        Field::HttpStatus,
        Field::HttpSubStatus,
        Field::Win32Status,
        Field::TimeTaken,
    ];

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a W3C name (`cs-uri-stem`, `cs(User-Agent)`) or an IIS flag name
/// (`UriStem`, `UserAgent`), ignoring ASCII case.
impl FromStr for Field {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s) || f.flag_name().eq_ignore_ascii_case(s))
            .ok_or_else(|| unknown_field(s))
    }
}

/// A set of standard fields. Whatever order they were added in, they iterate (and are
/// logged) in IIS's canonical order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FieldSet(u32);

impl FieldSet {
    /// No field.
    #[must_use]
    pub const fn empty() -> Self {
        Self(0)
    }

    /// IIS's default 15 fields.
    #[must_use]
    pub fn iis_defaults() -> Self {
        Field::DEFAULT.into_iter().collect()
    }

    /// All 22 standard fields.
    #[must_use]
    pub fn all() -> Self {
        Field::ALL.into_iter().collect()
    }

    /// Adds a field.
    #[must_use]
    pub const fn with(self, field: Field) -> Self {
        Self(self.0 | field.bit())
    }

    /// Whether the set holds the field.
    #[must_use]
    pub const fn contains(self, field: Field) -> bool {
        self.0 & field.bit() != 0
    }

    /// The number of fields in the set.
    #[must_use]
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fields in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        // The bits are in canonical order: the lowest set bit is the next field.
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let next = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Field::ALL.get(next).copied()
        })
    }

    /// Parses field names (W3C or IIS flag names, in any order).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first name that is not a standard field.
    pub fn parse<I>(names: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut set = Self::empty();
        for name in names {
            set = set.with(name.as_ref().trim().parse()?);
        }
        Ok(set)
    }
}

impl FromIterator<Field> for FieldSet {
    fn from_iter<T: IntoIterator<Item = Field>>(iter: T) -> Self {
        iter.into_iter().fold(Self::empty(), Self::with)
    }
}

impl fmt::Debug for FieldSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(Field::name)).finish()
    }
}

/// The longest value IIS writes for a custom field (its `maxCustomFieldLength`
/// default); longer values are cut at a character boundary.
pub const MAX_CUSTOM_FIELD_LENGTH: usize = 4096;

/// The longest value written for a standard field (method, URI stem and query,
/// user name, `Host`, `User-Agent`, `Cookie`, `Referer`): the same 4 096 bytes as a
/// custom field's, cut at a character boundary. The request head is capped before
/// it gets here (by http.sys, 16 KB per header), but a log line must stay bounded
/// whatever sits in front of the layer.
pub const MAX_FIELD_LENGTH: usize = 4096;

/// The longest log line (IIS's `maxLogLineLength` default): custom values are cut
/// so that the line fits.
pub const MAX_LINE_LENGTH: usize = 65_536;

/// Where a custom field takes its value from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CustomSource {
    /// A request header (IIS's `RequestHeader` source type).
    RequestHeader(HeaderName),
    /// A response header (IIS's `ResponseHeader` source type).
    ResponseHeader(HeaderName),
    /// A value the application put in a [`LogValues`](super::LogValues) response
    /// extension under this key (the counterpart of IIS's `ServerVariable` source).
    AppValue(Cow<'static, str>),
}

/// A custom field (IIS 8.5 `customFields`): a column appended after the standard
/// fields under its configured name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    pub(crate) name: Cow<'static, str>,
    pub(crate) source: CustomSource,
}

impl CustomField {
    /// A column `name` holding the request header `header`.
    ///
    /// An invalid header name is reported when the layer is built.
    #[must_use]
    pub fn request_header(name: impl Into<Cow<'static, str>>, header: HeaderName) -> Self {
        Self {
            name: name.into(),
            source: CustomSource::RequestHeader(header),
        }
    }

    /// A column `name` holding the response header `header`.
    #[must_use]
    pub fn response_header(name: impl Into<Cow<'static, str>>, header: HeaderName) -> Self {
        Self {
            name: name.into(),
            source: CustomSource::ResponseHeader(header),
        }
    }

    /// A column `name` holding the value the application set under `key` in the
    /// response's [`LogValues`](super::LogValues) extension.
    #[must_use]
    pub fn app_value(
        name: impl Into<Cow<'static, str>>,
        key: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            name: name.into(),
            source: CustomSource::AppValue(key.into()),
        }
    }

    /// The name written in `#Fields`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the value comes from.
    #[must_use]
    pub fn source(&self) -> &CustomSource {
        &self.source
    }
}

/// A field name that is not one of the 22 standard W3C fields.
pub(crate) fn unknown_field(name: &str) -> ConfigError {
    ConfigError::new(
        "logExtFileFlags",
        name,
        "unknown W3C log field (not one of the 22 standard fields)",
    )
}

/// A custom field named like a standard field or like another custom field.
pub(crate) fn duplicate_field(name: &str) -> ConfigError {
    ConfigError::new(
        "customFields/add@logFieldName",
        name,
        "W3C log field is given twice",
    )
}

/// A custom field name that is empty, starts with `#`, or holds white space or
/// control characters (or a custom field reading an empty key).
pub(crate) fn invalid_custom_name(name: &str) -> ConfigError {
    ConfigError::new(
        "customFields/add@logFieldName",
        name,
        "invalid custom W3C log field name (must be non-empty, not start with `#`, and hold no spaces or control characters)",
    )
}

/// Checks a custom field name: non-empty, printable, no space, not a standard name.
pub(crate) fn check_custom_name(name: &str) -> Result<(), ConfigError> {
    let bad = name.is_empty()
        || name.starts_with('#')
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\u{feff}');
    if bad {
        return Err(invalid_custom_name(name));
    }
    if Field::ALL
        .iter()
        .any(|f| f.name().eq_ignore_ascii_case(name))
    {
        return Err(duplicate_field(name));
    }
    Ok(())
}

/// Appends `value` to `out` as one log token.
///
/// An empty value becomes `-`. Every character that could split or break the line
/// (ASCII space and controls, DEL, Unicode white space and controls, a byte-order
/// mark) and every byte that is not valid UTF-8 becomes `+`, and so does a `#` at
/// the start of the value (so no value can be taken for a directive). Nothing is
/// quoted. So the token never holds a space, tab, CR or LF, and the file stays
/// valid UTF-8.
pub fn push_value(out: &mut Vec<u8>, value: &[u8]) {
    push_value_limited(out, value, usize::MAX);
}

/// [`push_value`] keeping at most `max` bytes of the (sanitised) value.
pub(crate) fn push_value_limited(out: &mut Vec<u8>, value: &[u8], max: usize) {
    push_value_and::<false>(out, value, max);
}

/// A standard field's column: [`push_value`] cut at [`MAX_FIELD_LENGTH`], and the
/// space that follows it in the line.
pub(crate) fn push_token(out: &mut Vec<u8>, value: &[u8]) {
    push_value_and::<true>(out, value, MAX_FIELD_LENGTH);
}

/// The value as one token, cut at `max` bytes, and a space after it if `SPACE`.
#[inline]
fn push_value_and<const SPACE: bool>(out: &mut Vec<u8>, value: &[u8], max: usize) {
    if value.is_empty() {
        out.extend_from_slice(if SPACE { b"- " } else { b"-" });
        return;
    }
    // The value is copied, then made single-token in place a block at a time:
    // ASCII space and control bytes (the only ASCII white space and control
    // characters) and DEL become `+`. A value with a non-ASCII byte (rare) is
    // finished by character from its first one.
    let head = &value[..value.len().min(max)];
    let at = out.len();
    out.reserve(head.len() + usize::from(SPACE));
    out.extend_from_slice(head);
    let ascii = sanitize_ascii(&mut out[at..]);
    if let Some(b) = out.get_mut(at) {
        if *b == b'#' {
            *b = b'+';
        }
    }
    if !ascii {
        push_non_ascii(out, value, max, at);
    }
    if SPACE {
        out.push(b' ');
    }
}

/// The rest of a value from its first non-ASCII byte (a character boundary), by
/// character, after its ASCII start (already made single-token at `out[start..]`).
#[cold]
#[inline(never)]
fn push_non_ascii(out: &mut Vec<u8>, value: &[u8], max: usize, start: usize) {
    let ascii = value
        .iter()
        .position(|b| !b.is_ascii())
        .unwrap_or(value.len());
    out.truncate(start + ascii);
    'outer: for chunk in value[ascii..].utf8_chunks() {
        for c in chunk.valid().chars() {
            let len = c.len_utf8();
            if out.len() - start + len > max {
                break 'outer;
            }
            if c.is_whitespace() || c.is_control() || c == '\u{feff}' {
                out.push(b'+');
            } else {
                let mut tmp = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
        for _ in chunk.invalid() {
            if out.len() - start >= max {
                break 'outer;
            }
            out.push(b'+');
        }
    }
}

/// The width of a block cleaned at once: one SSE2 register on x86-64.
const BLOCK: usize = 16;

/// Replaces every ASCII space, control byte and DEL with `+` in place, leaving
/// other bytes as they are; returns whether every byte is ASCII.
#[inline(always)]
fn sanitize_ascii(bytes: &mut [u8]) -> bool {
    let len = bytes.len();
    if len < BLOCK {
        return sanitize_short(bytes);
    }
    // The high bits of every byte seen, looked at once at the end.
    let mut seen = [0; BLOCK];
    let mut chunks = bytes.chunks_exact_mut(BLOCK);
    for chunk in &mut chunks {
        if let Ok(block) = <&mut [u8; BLOCK]>::try_from(chunk) {
            clean_block(block, &mut seen);
        }
    }
    if !chunks.into_remainder().is_empty() {
        // The last bytes as one block that overlaps bytes already done (cleaned
        // again to the same result).
        if let Ok(last) = <&mut [u8; BLOCK]>::try_from(&mut bytes[len - BLOCK..]) {
            clean_block(last, &mut seen);
        }
    }
    seen.iter().fold(0, |all, b| all | b) < 0x80
}

/// Cleans one block (space, controls and DEL become `+`; other bytes stay) and
/// adds its bytes to `seen`.
///
/// Written so that the compiler makes it a handful of vector instructions (two
/// compares, a select, an `or`) with no branch per byte.
#[inline(always)]
fn clean_block(block: &mut [u8; BLOCK], seen: &mut [u8; BLOCK]) {
    for (b, s) in block.iter_mut().zip(seen.iter_mut()) {
        let x = *b;
        *s |= x;
        *b = if (x < 0x21) | (x == 0x7f) { b'+' } else { x };
    }
}

/// [`sanitize_ascii`] for a value shorter than a block: a word of eight bytes and
/// the last eight as one overlapping word, or byte by byte below eight.
#[inline]
fn sanitize_short(bytes: &mut [u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const PLUS: u64 = u64::from_ne_bytes([b'+'; 8]);
    const DEL: u64 = u64::from_ne_bytes([0x7f; 8]);
    // Returns the word's high bits.
    let clean = |word: &mut [u8]| -> u64 {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        let x = u64::from_ne_bytes(w);
        // With every byte's high bit cleared and then set, the byte-wise
        // subtractions cannot borrow across bytes: a byte's high bit survives
        // `- 0x21` exactly when its low seven bits are at least 0x21, and `- 1`
        // after `^ DEL` exactly when they are not DEL. Bytes that had their high
        // bit set (not ASCII) are left alone.
        let low = x & !HIGH;
        let bad = (!((low | HIGH) - ONES * 0x21) | !(((low ^ DEL) | HIGH) - ONES)) & HIGH & !x;
        if bad != 0 {
            let mask = (bad >> 7) * 0xff;
            word.copy_from_slice(&((x & !mask) | (PLUS & mask)).to_ne_bytes());
        }
        x & HIGH
    };
    let len = bytes.len();
    if len >= 8 {
        let high = clean(&mut bytes[..8]) | clean(&mut bytes[len - 8..]);
        return high == 0;
    }
    let mut seen = 0;
    for b in bytes {
        seen |= *b;
        if b.wrapping_sub(0x21) >= 0x7f - 0x21 && b.is_ascii() {
            *b = b'+';
        }
    }
    seen < 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(v: &[u8]) -> String {
        let mut out = Vec::new();
        push_value(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn canonical_order_whatever_the_input_order() {
        let set =
            FieldSet::parse(["time-taken", "sc-status", "date", "cs(User-Agent)", "time"]).unwrap();
        let names: Vec<_> = set.iter().map(Field::name).collect();
        assert_eq!(
            names,
            ["date", "time", "cs(User-Agent)", "sc-status", "time-taken"]
        );
        let all: Vec<_> = FieldSet::all().iter().map(Field::name).collect();
        assert_eq!(
            all.join(" "),
            "date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port \
             cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status \
             sc-substatus sc-win32-status sc-bytes cs-bytes time-taken"
        );
        let default: Vec<_> = FieldSet::iis_defaults().iter().map(Field::name).collect();
        assert_eq!(default, Field::DEFAULT.map(Field::name));
    }

    #[test]
    fn flag_names_and_case() {
        assert_eq!("UserAgent".parse::<Field>().unwrap(), Field::UserAgent);
        assert_eq!("CS(user-agent)".parse::<Field>().unwrap(), Field::UserAgent);
        assert_eq!("BytesRecv".parse::<Field>().unwrap(), Field::BytesRecv);
    }

    #[test]
    fn unknown_field_is_named() {
        let err = FieldSet::parse(["date", "cs-referer"]).unwrap_err();
        assert_eq!(err, unknown_field("cs-referer"));
        assert_eq!(err.setting(), "logExtFileFlags");
        assert_eq!(err.value(), "cs-referer");
        assert!(err.to_string().contains("\"cs-referer\""), "{err}");
    }

    #[test]
    fn values_become_single_tokens() {
        assert_eq!(token(b""), "-");
        assert_eq!(
            token(b"Mozilla/5.0 (X11; Linux)"),
            "Mozilla/5.0+(X11;+Linux)"
        );
        assert_eq!(token(b"a\tb\r\nc\0d\x7fe"), "a+b++c+d+e");
        assert_eq!(token(b"caf\xc3\xa9"), "caf\u{e9}");
        assert_eq!(token(b"bad\xff\xfeend"), "bad++end");
        assert_eq!(token("nb\u{a0}sp\u{2028}x\u{85}".as_bytes()), "nb+sp+x+");
        assert_eq!(token(b"\"quoted\""), "\"quoted\"");
    }

    #[test]
    fn custom_values_are_cut() {
        let mut out = Vec::new();
        push_value_limited(&mut out, "ab\u{e9}cd".as_bytes(), 3);
        assert_eq!(out, b"ab");
        out.clear();
        push_value_limited(&mut out, b"abcdef", 4);
        assert_eq!(out, b"abcd");
    }

    /// Character by character, as values were sanitised before the ASCII fast path.
    fn by_char(value: &[u8], max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        if value.is_empty() {
            out.push(b'-');
            return out;
        }
        'outer: for chunk in value.utf8_chunks() {
            for c in chunk.valid().chars() {
                if out.len() + c.len_utf8() > max {
                    break 'outer;
                }
                if c.is_whitespace() || c.is_control() || c == '\u{feff}' {
                    out.push(b'+');
                } else {
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
            }
            for _ in chunk.invalid() {
                if out.len() >= max {
                    break 'outer;
                }
                out.push(b'+');
            }
        }
        out
    }

    #[test]
    fn ascii_fast_path_matches_the_character_rules() {
        let mut values: Vec<Vec<u8>> = (0u8..=0x7f).map(|b| vec![b'a', b, b'z']).collect();
        values.extend(
            [
                &b"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"[..],
                b"a\x0b\x0c\x1c\x1d\x1e\x1fb",
                "caf\u{e9} au lait".as_bytes(),
                "\u{feff}bom".as_bytes(),
                "ab\u{a0}\u{3000}cd\u{1f600}e".as_bytes(),
                b"ascii then \xff\xfe bad \xc3",
                b"\x80",
                b"0123456789abcdef\x7f0123456789 abcdef\t0123456789abcdefghijklmn",
            ]
            .map(<[u8]>::to_vec),
        );
        // Every ASCII byte, and a non-ASCII character, at every place of a value
        // long enough to be checked a word at a time.
        let base = b"abcdefghijklmnopqrstu".to_vec();
        for at in 0..base.len() {
            for b in (0u8..=0x7f).filter(|&b| at > 0 || b != b'#') {
                let mut v = base.clone();
                v[at] = b;
                values.push(v);
            }
            let mut v = base.clone();
            v.splice(at..=at, "\u{e9}".bytes());
            values.push(v);
        }
        for value in &values {
            for max in (0..24).chain([usize::MAX]) {
                let mut out = Vec::new();
                push_value_limited(&mut out, value, max);
                assert_eq!(out, by_char(value, max), "{value:?} max {max}");
            }
        }
    }

    #[test]
    fn block_path_matches_the_character_rules_for_every_byte_everywhere() {
        // Values longer than two blocks and not a multiple of one: every byte value
        // at every position (the blocks, the overlapping last block), cut at the
        // block edges and nowhere.
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        let cuts = [0, 1, 15, 16, 17, 23, 24, 31, 32, 33, 39, 40, usize::MAX];
        for at in 0..base.len() {
            for b in 0..=255u8 {
                let mut v = base.clone();
                v[at] = b;
                for max in cuts {
                    let mut out = b"x".to_vec();
                    push_value_limited(&mut out, &v, max);
                    let mut expected = b"x".to_vec();
                    expected.extend(by_char(&v, max));
                    // No value starts with `#`.
                    if expected.get(1) == Some(&b'#') {
                        expected[1] = b'+';
                    }
                    assert_eq!(out, expected, "byte {b:#04x} at {at}, max {max}");
                }
            }
        }
    }

    #[test]
    fn block_path_matches_the_character_rules_for_characters_and_lengths() {
        // Every length around the block and word sizes, clean, all spaces, all
        // DEL; and multi-byte characters (white space, a byte-order mark, an emoji,
        // a cut or broken sequence) at every position of values up to 50 bytes.
        let mut values = Vec::new();
        for len in 0..=70 {
            values.push(vec![b'q'; len]);
            values.push(vec![b' '; len]);
            values.push(vec![0x7f; len]);
        }
        for c in ["\u{e9}", "\u{a0}", "\u{2028}", "\u{feff}", "\u{1f600}"] {
            for len in [15, 16, 17, 31, 32, 33, 50] {
                for at in 0..len {
                    let mut v = vec![b'z'; len];
                    v.splice(at..at, c.bytes());
                    values.push(v.clone());
                    // The character cut short, and a byte that starts nothing.
                    v.truncate(at + c.len() - 1);
                    values.push(v.clone());
                    v[at] = 0xc0;
                    values.push(v);
                }
            }
        }
        for v in &values {
            for max in [v.len().saturating_sub(1), v.len(), 16, 17, usize::MAX] {
                let mut out = Vec::new();
                push_value_limited(&mut out, v, max);
                assert_eq!(out, by_char(v, max), "{v:?} max {max}");
            }
            // A standard field's column: the same token, cut at the field limit,
            // and its space.
            let mut out = Vec::new();
            push_token(&mut out, v);
            let mut expected = by_char(v, MAX_FIELD_LENGTH);
            expected.push(b' ');
            assert_eq!(out, expected, "{v:?}");
        }
    }

    #[test]
    fn values_are_cut_at_the_field_limit_on_a_character_boundary() {
        let mut v = vec![b' '; MAX_FIELD_LENGTH + 100];
        let mut out = Vec::new();
        push_token(&mut out, &v);
        assert_eq!(out.len(), MAX_FIELD_LENGTH + 1);
        assert!(out[..MAX_FIELD_LENGTH].iter().all(|&b| b == b'+'));
        // A two-byte character straddling the limit is left out whole.
        v.splice(MAX_FIELD_LENGTH - 1..MAX_FIELD_LENGTH + 1, "\u{e9}".bytes());
        out.clear();
        push_token(&mut out, &v);
        assert_eq!(out.len(), MAX_FIELD_LENGTH);
        assert_eq!(
            out,
            by_char(&v, MAX_FIELD_LENGTH)
                .into_iter()
                .chain([b' '])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn custom_names_are_checked() {
        assert!(check_custom_name("X-Forwarded-For").is_ok());
        assert_eq!(
            check_custom_name("has space"),
            Err(invalid_custom_name("has space"))
        );
        assert_eq!(
            check_custom_name("sc-status"),
            Err(duplicate_field("sc-status"))
        );
        assert!(check_custom_name("").is_err());
    }
}
