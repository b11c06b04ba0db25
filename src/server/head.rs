//! Reading and checking one HTTP/1 request head the way http.sys does, before hyper
//! sees a byte of it.

use super::limits::Limits;
use super::reason::Reason;

/// How the request's body is framed, as the head declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// After this head the connection carries something else: an `Upgrade`
    /// (WebSocket) or a `CONNECT` tunnel. Passed through unchecked.
    Tunnel,
}

/// A head that passed every check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    pub(crate) framing: Framing,
    /// `Expect: 100-continue`: the client waits before sending the body.
    pub(crate) expect_continue: bool,
}

/// What the HTTPERR log says of a refused request: as much as was parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) version: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) uri: Option<String>,
    pub(crate) head_request: bool,
}

/// A refused head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) reason: Reason,
    pub(crate) seen: Seen,
}

fn refuse(reason: Reason, seen: &Seen) -> Refused {
    Refused {
        reason,
        seen: seen.clone(),
    }
}

/// The longest method http.sys logs (and we accept).
const MAX_METHOD: usize = 255;

/// Where the head ends (the index after its blank line), if it is complete.
/// `from` is where the previous search stopped.
pub(crate) fn find_end(buf: &[u8], from: usize) -> Option<usize> {
    // Skip the empty lines a client may send before a request line.
    let mut i = from.saturating_sub(3);
    while let Some(off) = memchr::memchr(b'\n', buf.get(i..)?) {
        let nl = i + off;
        // `\n\n` or `\n\r\n` ends the head, when a request line came before it.
        let next = buf.get(nl + 1).copied();
        let end = match next {
            Some(b'\n') => Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => Some(nl + 3),
            _ => None,
        };
        if let Some(end) = end {
            if buf[..nl].iter().any(|&b| b != b'\r' && b != b'\n') {
                return Some(end);
            }
        }
        i = nl + 1;
    }
    None
}

/// Checks an incomplete head against the size limits: `Some` when it is already
/// too long to be accepted. The line still arriving counts against
/// `MaxFieldLength`, the lines before it against `MaxRequestBytes`, so a head held
/// in memory never passes the sum of the two.
pub(crate) fn check_partial(buf: &[u8], limits: &Limits) -> Option<Refused> {
    let line_start = buf.iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1);
    let current = buf.len() - line_start;
    if line_start > 0 && current > limits.max_field_length + 1 {
        return Some(refuse(Reason::FieldLength, &seen_of_line(buf)));
    }
    if line_start > limits.max_request_bytes
        || (line_start == 0 && current > limits.max_request_bytes)
    {
        return Some(refuse(Reason::RequestLength, &seen_of_line(buf)));
    }
    None
}

/// What the request line says, for the log, without judging it.
fn seen_of_line(buf: &[u8]) -> Seen {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = &buf[start..];
    let end = line.iter().position(|&b| b == b'\n');
    let Some(end) = end else {
        // No whole request line: only the method, if it is complete.
        let mut seen = Seen::default();
        if let Some(sp) = line.iter().position(|&b| b == b' ') {
            seen.method = Some(lossy(&line[..sp.min(MAX_METHOD)]));
        }
        return seen;
    };
    let line = line[..end].strip_suffix(b"\r").unwrap_or(&line[..end]);
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let uri = parts.next();
    let version = parts.next();
    Seen {
        method: (!method.is_empty()).then(|| lossy(&method[..method.len().min(MAX_METHOD)])),
        uri: uri.map(lossy),
        version: version.and_then(version_text),
        head_request: method == b"HEAD",
    }
}

/// `cs-version`: `HTTP/x.y` as sent, `HTTP/?.?` for a number of 10 or more,
/// nothing for what is not a version.
fn version_text(v: &[u8]) -> Option<String> {
    let rest = v.strip_prefix(b"HTTP/")?;
    let dot = rest.iter().position(|&b| b == b'.')?;
    let (major, minor) = (&rest[..dot], &rest[dot + 1..]);
    let digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    if !digits(major) || !digits(minor) {
        return None;
    }
    if major.len() > 1 || minor.len() > 1 {
        return Some("HTTP/?.?".to_owned());
    }
    Some(lossy(v))
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A table of the bytes in `extra` and the ASCII letters and digits.
const fn byte_table(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// RFC 9110's `tchar`.
static TCHAR: [bool; 256] = byte_table(b"!#$%&'*+-.^_`|~");
/// The bytes of a plain origin-form target, checked without a URI parser.
static SIMPLE_TARGET: [bool; 256] = byte_table(b"/-._~%!$&'()*+,;=:@?");

/// The bytes of a `Host` value that is a plain name or address, with a port.
static HOST: [bool; 256] = byte_table(b".-:");

fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// Checks a complete head (`head` ends with its blank line).
///
/// A head that passes one `httparse` pass and the checks that follow it is
/// accepted at once ([`quick`]); anything else goes through every check in
/// http.sys's order ([`full`]), which names the reason. Both accept exactly the
/// same heads, with the same framing.
pub(crate) fn check(head: &[u8], limits: &Limits, over_limit: bool) -> Result<Accepted, Refused> {
    if !over_limit {
        if let Some((_, accepted)) = quick(head, limits).filter(|&(n, _)| n == head.len()) {
            return Ok(accepted);
        }
    }
    full(head, limits, over_limit)
}

/// The success path, on bytes that begin with a head (and may go on past it):
/// `Some` with the head's length when it is complete and certainly accepted,
/// `None` when it is not complete or may be refused (then [`find_end`] and
/// [`full`] decide, and say why). The length is where [`find_end`] puts the end.
///
/// One pass over the head, without `httparse` (hyper parses it anyway): the
/// request line is a method of token bytes, one space, a target [`check_target`]
/// accepts (no space or control byte), one space and `HTTP/1.1` or `HTTP/1.0`;
/// each header line is a token, a colon and a value of visible ASCII and spaces
/// (found by [`first_special`]), up to a line end (LF, or CR LF). Anything else
/// (a tab, a byte above `0x7e`, an empty line before the request line, a stray
/// CR, a folded line) is left to [`full`]: such a head may still be accepted,
/// but not here. What is accepted here `httparse` parses completely, and every
/// check of [`full`] passes: the same verdict and framing.
pub(crate) fn quick(buf: &[u8], limits: &Limits) -> Option<(usize, Accepted)> {
    // The method: token bytes up to one space.
    let sp = buf.iter().position(|&b| !is_tchar(b))?;
    if sp == 0 || sp > MAX_METHOD || buf[sp] != b' ' {
        return None;
    }
    let method = &buf[..sp];
    // The line ends at its first byte that is not visible ASCII or a space.
    let stop = sp + 1 + first_special(&buf[sp + 1..])?;
    let line = &buf[..stop];
    // The version, and before it one space and the target.
    let (rest, version) = line.split_at_checked(line.len().checked_sub(9)?)?;
    let http11 = match version {
        b" HTTP/1.1" => true,
        b" HTTP/1.0" => false,
        _ => return None,
    };
    let target = rest.get(sp + 1..)?;
    let connect = method == b"CONNECT";
    check_target(target, connect, limits).ok()?;
    let mut known = Known::default();
    let mut at = after_line_end(buf, stop)?;
    let mut count = 0usize;
    let end = loop {
        // A line end here ends the head.
        if let Some(end) = after_line_end(buf, at) {
            break end;
        }
        let line_start = at;
        let colon = name_end(buf, at)?;
        if colon == at || buf[colon] != b':' {
            return None;
        }
        let value_start = colon + 1;
        let stop = value_start + first_special(&buf[value_start..])?;
        let next = after_line_end(buf, stop)?;
        // The line with its CR, without its LF, within MaxFieldLength.
        count += 1;
        if next - 1 - line_start > limits.max_field_length + 1 || count > QUICK_MAX_HEADERS {
            return None;
        }
        known
            .see(&buf[line_start..colon], &buf[value_start..stop])
            .ok()?;
        at = next;
    };
    if end > limits.max_request_bytes {
        return None;
    }
    let accepted = known.finish(http11, connect).ok()?;
    Some((end, accepted))
}

/// Where the next line starts, when `buf[at..]` begins with a line end (LF, or
/// CR LF).
#[inline(always)]
fn after_line_end(buf: &[u8], at: usize) -> Option<usize> {
    match *buf.get(at)? {
        b'\n' => Some(at + 1),
        b'\r' if *buf.get(at + 1)? == b'\n' => Some(at + 2),
        _ => None,
    }
}

/// The index of the first byte from `at` on that is not a token byte (where a
/// header name ends). Eight bytes at a time while they are letters and `-`
/// ([`not_name_bits`]), as nearly every name is; one at a time by the token
/// table from the first other byte on.
#[inline(always)]
fn name_end(buf: &[u8], mut at: usize) -> Option<usize> {
    while let Some(word) = buf.get(at..at + 8) {
        let bits = not_name_bits(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        if bits != 0 {
            at += (bits.trailing_zeros() / 8) as usize;
            break;
        }
        at += 8;
    }
    buf[at..].iter().position(|&b| !is_tchar(b)).map(|i| at + i)
}

/// The high bit of each byte of `x` (little-endian) that is not an ASCII letter
/// or `-`, and no other bit.
fn not_name_bits(x: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Letters in lower case; each byte's low seven bits plus 0x1f reach the high
    // bit from `a` on, plus 0x05 from the byte after `z` on. Bytes above 0x7f
    // keep their high bit and are no letters.
    let lower = x | (0x20 * ONES);
    let low = lower & !HIGH;
    let letter = (low + 0x1f * ONES) & !(low + 0x05 * ONES) & !lower;
    // `-`: the bytes where `x ^ 0x2d...` is zero.
    let dash = x ^ (0x2d * ONES);
    let dash = !(((dash & !HIGH) + !HIGH) | dash);
    !(letter | dash) & HIGH
}

/// The most header lines [`quick`] takes (as many as [`full`] parses without
/// asking for more room).
const QUICK_MAX_HEADERS: usize = 64;

/// Whether `b` is visible ASCII or a space (what [`first_special`] passes over).
fn is_plain(b: u8) -> bool {
    b.wrapping_sub(b' ') < 0x5f
}

/// The index of the first byte of `s` that is not visible ASCII or a space: a
/// control byte (CR, LF, tab, NUL ...), DEL or any byte above `0x7e`.
///
/// Sixteen bytes at a time: the test of a block has no branch, which the
/// compiler turns into a few vector instructions; the block that holds one is
/// searched eight bytes at a time ([`special_bits`]). The last bytes are looked
/// at in the block of sixteen that ends with them (those before it are plain).
fn first_special(s: &[u8]) -> Option<usize> {
    let any = |block: &[u8]| block.iter().fold(false, |any, &b| any | !is_plain(b));
    let mut blocks = s.chunks_exact(16);
    let mut at = 0;
    for block in &mut blocks {
        if any(block) {
            return Some(at + in_block(block));
        }
        at += 16;
    }
    if blocks.remainder().is_empty() {
        None
    } else if let Some(at) = s.len().checked_sub(16) {
        let block = &s[at..];
        any(block).then(|| at + in_block(block))
    } else {
        s.iter().position(|&b| !is_plain(b))
    }
}

/// Where the first byte that is not plain is in a block of sixteen that holds
/// one.
fn in_block(block: &[u8]) -> usize {
    let word = |w: &[u8]| u64::from_le_bytes(w.try_into().unwrap_or_default());
    let low = special_bits(word(&block[..8]));
    if low != 0 {
        return (low.trailing_zeros() / 8) as usize;
    }
    8 + (special_bits(word(&block[8..16])).trailing_zeros() / 8) as usize
}

/// The high bit of each byte of `x` (little-endian) that is not visible ASCII
/// or a space, and no other bit.
fn special_bits(x: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Per byte, without carries between bytes: its low seven bits plus 0x60
    // reach the high bit when they are at least 0x20, plus 1 when they are 0x7f;
    // the byte's own high bit is set above 0x7f.
    let low = x & !HIGH;
    (x | !(low + 0x60 * ONES) | (low + ONES)) & HIGH
}

/// Every check of a complete head, in http.sys's order: the reason of the first
/// that fails.
fn full(head: &[u8], limits: &Limits, over_limit: bool) -> Result<Accepted, Refused> {
    // What the log says of a refused head is worked out only when it is refused.
    let no = |reason| Refused {
        reason,
        seen: seen_of_line(head),
    };
    if head.contains(&0) {
        return Err(no(Reason::BadRequest));
    }
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let line_end = head[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(head.len(), |i| start + i);
    // Every line ends with LF, CR only right before it; header lines fit
    // MaxFieldLength and are not folded.
    for (i, l) in head[start..].split(|&b| b == b'\n').enumerate() {
        let text = l.strip_suffix(b"\r").unwrap_or(l);
        if text.contains(&b'\r') {
            return Err(no(Reason::InvalidCrLf));
        }
        if i > 0 {
            if l.len() > limits.max_field_length + 1 {
                return Err(no(Reason::FieldLength));
            }
            if matches!(l.first(), Some(b' ' | b'\t')) {
                // A folded line (obs-fold).
                return Err(no(Reason::Header));
            }
        }
    }
    let line = &head[start..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(no(Reason::BadRequest));
    };
    // The version first: http.sys judges the protocol before the rest.
    let http11 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        _ if version_text(version).is_some() => return Err(no(Reason::VersionNotSupported)),
        _ => return Err(no(Reason::BadRequest)),
    };
    if method.is_empty() || method.len() > MAX_METHOD || !method.iter().all(|&b| is_tchar(b)) {
        return Err(no(Reason::Verb));
    }
    let connect = method == b"CONNECT";
    check_target(target, connect, limits).map_err(no)?;
    if head.len() > limits.max_request_bytes {
        return Err(no(Reason::RequestLength));
    }
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut more;
    let mut req = httparse::Request::new(&mut storage);
    let parsed = match req.parse(head) {
        Err(httparse::Error::TooManyHeaders) => {
            more = vec![httparse::EMPTY_HEADER; limits.max_headers];
            req = httparse::Request::new(&mut more);
            req.parse(head)
        }
        other => other,
    };
    match parsed {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(no(Reason::BadRequest)),
        Err(httparse::Error::TooManyHeaders) => return Err(no(Reason::RequestLength)),
        Err(httparse::Error::HeaderName | httparse::Error::HeaderValue) => {
            return Err(no(Reason::Header))
        }
        Err(httparse::Error::NewLine) => return Err(no(Reason::InvalidCrLf)),
        Err(httparse::Error::Token) => return Err(no(Reason::Url)),
        Err(_) => return Err(no(Reason::BadRequest)),
    }

    let accepted = headers(req.headers, http11, connect).map_err(no)?;
    if over_limit {
        return Err(no(Reason::ConnLimit));
    }
    Ok(accepted)
}

/// The headers http.sys reads: `Host`, `Content-Length`, `Transfer-Encoding`,
/// `Upgrade` with `Connection`, `Expect`; and the body's framing they give.
fn headers(
    headers: &[httparse::Header<'_>],
    http11: bool,
    connect: bool,
) -> Result<Accepted, Reason> {
    let mut known = Known::default();
    for h in headers {
        known.see(h.name.as_bytes(), h.value)?;
    }
    known.finish(http11, connect)
}

/// What the headers http.sys reads said so far, one header at a time.
#[derive(Debug, Default)]
struct Known {
    hosts: usize,
    length: Option<u64>,
    chunked: bool,
    transfer_encoding: bool,
    upgrade: bool,
    connection_upgrade: bool,
    expect_continue: bool,
}

impl Known {
    /// One header line (`value` as it follows the colon).
    #[inline(always)]
    fn see(&mut self, name: &[u8], value: &[u8]) -> Result<(), Reason> {
        // By length and first letter first: most headers are none of these.
        let known: &[u8] = match name.len() {
            4 => b"host",
            6 => b"expect",
            7 => b"upgrade",
            10 => b"connection",
            14 => b"content-length",
            17 => b"transfer-encoding",
            _ => return Ok(()),
        };
        if name[0] | 0x20 != known[0] || !name.eq_ignore_ascii_case(known) {
            return Ok(());
        }
        self.read(known, value)
    }

    /// A header http.sys reads, named by its lowercase `name`.
    #[inline(never)]
    fn read(&mut self, name: &[u8], value: &[u8]) -> Result<(), Reason> {
        let known = name;
        let value = trim(value);
        match known.len() {
            4 => {
                self.hosts += 1;
                // A name and at most one colon (a port) is an authority: the
                // parser is needed only for the rest.
                let authority = value.is_empty()
                    || (all_in(value, &HOST) && value.iter().filter(|&&b| b == b':').count() <= 1);
                if !authority && http::uri::Authority::try_from(value).is_err() {
                    return Err(Reason::Hostname);
                }
            }
            14 => {
                let n = std::str::from_utf8(value)
                    .ok()
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or(Reason::BadRequest)?;
                if self.length.is_some_and(|l| l != n) {
                    return Err(Reason::Header);
                }
                self.length = Some(n);
            }
            17 => {
                self.transfer_encoding = true;
                // Only `chunked`, last (and once), is implemented.
                for coding in value.split(|&b| b == b',').map(trim) {
                    if self.chunked || !coding.eq_ignore_ascii_case(b"chunked") {
                        return Err(Reason::NotImplemented);
                    }
                    self.chunked = true;
                }
            }
            7 => self.upgrade = true,
            10 => {
                self.connection_upgrade |= value
                    .split(|&b| b == b',')
                    .any(|t| trim(t).eq_ignore_ascii_case(b"upgrade"));
            }
            _ => self.expect_continue = value.eq_ignore_ascii_case(b"100-continue"),
        }
        Ok(())
    }

    /// The verdict on the headers as a whole, and the framing.
    fn finish(self, http11: bool, connect: bool) -> Result<Accepted, Reason> {
        if (http11 && self.hosts != 1) || self.hosts > 1 {
            return Err(Reason::Hostname);
        }
        if self.transfer_encoding && (self.length.is_some() || !http11) {
            return Err(Reason::Header);
        }
        if self.transfer_encoding && !self.chunked {
            return Err(Reason::NotImplemented);
        }
        let framing = if connect || (self.upgrade && self.connection_upgrade) {
            Framing::Tunnel
        } else if self.chunked {
            Framing::Chunked
        } else {
            match self.length {
                Some(0) | None => Framing::None,
                Some(n) => Framing::Length(n),
            }
        };
        Ok(Accepted {
            framing,
            expect_continue: self.expect_continue,
        })
    }
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &v[start..end]
}

/// A target of visible ASCII alone (`Ok(false)`: it is not), within the segment
/// limits: each byte is a character, each `%XX` one. `target` begins with `/`.
///
/// Every byte is looked up in a table first. A target no longer than the
/// limits cannot break them (a path has no more segments than bytes, and no
/// segment longer than the path), which is the usual case; otherwise the path
/// (up to the first `?`) is walked for its segments and escapes.
fn simple_target(target: &[u8], limits: &Limits) -> Result<bool, Reason> {
    if !all_in(target, &SIMPLE_TARGET) {
        return Ok(false);
    }
    let max = limits.url_segment_max_length;
    if target.len() <= limits.url_segment_max_count && target.len() <= max + 1 {
        return Ok(true);
    }
    let mut count = 0usize;
    let mut too_long = false;
    // The current segment: its bytes, and the `%` among them.
    let mut len = 0usize;
    let mut escapes = 0usize;
    let query = memchr::memchr(b'?', target).unwrap_or(target.len());
    for &b in &target[1..query] {
        if b == b'/' {
            count += 1;
            too_long |= len.saturating_sub(2 * escapes) > max;
            len = 0;
            escapes = 0;
        } else {
            len += 1;
            escapes += usize::from(b == b'%');
        }
    }
    count += 1;
    too_long |= len.saturating_sub(2 * escapes) > max;
    if too_long || count > limits.url_segment_max_count {
        return Err(Reason::Url);
    }
    Ok(true)
}

/// Whether `table` holds every byte of `s`. Eight lookups at a time, without a
/// branch between them.
fn all_in(s: &[u8], table: &[bool; 256]) -> bool {
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        if !chunk.iter().fold(true, |ok, &b| ok & table[usize::from(b)]) {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| table[usize::from(b)])
}

/// The request target: a path (or `*`, an absolute URL, or for `CONNECT` an
/// authority) that hyper can read, within the segment limits.
fn check_target(target: &[u8], connect: bool, limits: &Limits) -> Result<(), Reason> {
    // A plain origin-form target (the usual case) is checked in one pass.
    if target.first() == Some(&b'/') && !connect && simple_target(target, limits)? {
        return Ok(());
    }
    parsed_target(target, connect, limits)
}

/// [`check_target`] for any target, by the parser hyper uses.
fn parsed_target(target: &[u8], connect: bool, limits: &Limits) -> Result<(), Reason> {
    // Control bytes and spaces never; bytes above 0x7f only as UTF-8 (http.sys
    // reads a raw UTF-8 URL as its escaped spelling).
    if target.is_empty()
        || target.iter().any(|&b| b <= b' ' || b == 0x7f)
        || (!target.is_ascii() && std::str::from_utf8(target).is_err())
    {
        return Err(Reason::Url);
    }
    if connect {
        return http::uri::Authority::try_from(target)
            .map(drop)
            .map_err(|_| Reason::Url);
    }
    // Anything else by the parser hyper uses, so that nothing we pass is refused
    // by hyper.
    let parsed = http::Uri::try_from(target).map_err(|_| Reason::Url)?;
    if target != b"*" && parsed.path().is_empty() {
        return Err(Reason::Url);
    }
    let path = parsed.path();
    let mut count = 0usize;
    for segment in path.split('/').skip(1) {
        count += 1;
        // Characters after percent-decoding: each `%XX` is one, and so is each
        // raw UTF-8 sequence.
        let escapes = segment.bytes().filter(|&b| b == b'%').count();
        let chars = segment.chars().count().saturating_sub(2 * escapes);
        if chars > limits.url_segment_max_length {
            return Err(Reason::Url);
        }
    }
    if count > limits.url_segment_max_count {
        return Err(Reason::Url);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    fn reason(head: &[u8]) -> Result<Framing, Reason> {
        check(head, &limits(), false)
            .map(|a| a.framing)
            .map_err(|r| r.reason)
    }

    #[test]
    fn ends() {
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nx", 0), Some(27));
        assert_eq!(find_end(b"GET / HTTP/1.1\nHost: a\n\n", 0), Some(24));
        assert_eq!(find_end(b"\r\n\r\nGET / HTTP/1.1\r\n", 0), None);
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nHost: a\r\n", 0), None);
    }

    #[test]
    fn verdicts() {
        let ok = b"GET /a/b?c=d HTTP/1.1\r\nHost: localhost\r\n\r\n";
        assert_eq!(reason(ok), Ok(Framing::None));
        assert_eq!(
            reason(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            reason(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(reason(b"GET / HTTP/1.1\r\n\r\n"), Err(Reason::Hostname));
        assert_eq!(reason(b"GET / HTTP/1.0\r\n\r\n"), Ok(Framing::None));
        assert_eq!(
            reason(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n"),
            Err(Reason::Header)
        );
        assert_eq!(
            reason(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
            Err(Reason::VersionNotSupported)
        );
        assert_eq!(
            reason(b"GET / FOO\r\nHost: a\r\n\r\n"),
            Err(Reason::BadRequest)
        );
        assert_eq!(reason(b"GET /\r\nHost: a\r\n\r\n"), Err(Reason::BadRequest));
        let seg = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(300));
        assert_eq!(reason(seg.as_bytes()), Err(Reason::Url));
        let verb = format!("{} / HTTP/1.1\r\nHost: a\r\n\r\n", "A".repeat(300));
        assert_eq!(reason(verb.as_bytes()), Err(Reason::Verb));
        assert_eq!(
            reason(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
            Err(Reason::NotImplemented)
        );
        assert_eq!(
            reason(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(Reason::Header)
        );
        assert_eq!(
            reason(b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
            Err(Reason::InvalidCrLf)
        );
        assert_eq!(
            reason(b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n"),
            Err(Reason::Url)
        );
        assert_eq!(
            reason("GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n".as_bytes()),
            Ok(Framing::None)
        );
    }

    /// The success path accepts only what every check accepts, with the same
    /// framing: valid heads and every one-byte change of them (each of the 256
    /// byte values in place of each byte; a set of bytes inserted before each;
    /// each byte removed), under IIS's limits and under tight ones.
    #[test]
    fn quick_agrees_with_full() {
        let heads: [&[u8]; 8] = [
            b"GET /shop/products/item.aspx?id=42&colour=blue HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n",
            b"POST /a%20b/c HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            b"PUT /x HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n",
            b"\r\nGET / HTTP/1.0\r\n\r\n",
            b"GET /chat HTTP/1.1\r\nHost: [::1]:80\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n",
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            b"get /a/b/c/d?e HTTP/1.0\r\nhost:a\r\ncontent-length:  0 \r\nX-A-Rather-Long-Header-Name: 0123456789abcdef0123456789\r\n\r\n",
            b"OPTIONS * HTTP/1.1\r\nHOST: a:1\r\nEXPECT: 100-continue\r\nTRANSFER-ENCODING: chunked\r\n\r\n",
        ];
        let tight = Limits {
            max_field_length: 20,
            url_segment_max_length: 3,
            url_segment_max_count: 2,
            max_request_bytes: 300,
            ..limits()
        };
        let bytes = [
            0u8, b'\r', b'\n', b' ', b'\t', b':', b'/', b'?', b'%', b'#', b'a', b'1', 0x7f, 0x80,
            0xff, b'{', b',',
        ];
        let mut checked = 0;
        for limits in [limits(), tight] {
            for head in heads {
                let mut variants = vec![head.to_vec()];
                for i in 0..head.len() {
                    for b in 0..=255 {
                        let mut v = head.to_vec();
                        v[i] = b;
                        variants.push(v);
                    }
                    for &b in &bytes {
                        let mut v = head.to_vec();
                        v.insert(i, b);
                        variants.push(v);
                    }
                    let mut v = head.to_vec();
                    v.remove(i);
                    variants.push(v);
                }
                for v in variants {
                    let Some(end) = find_end(&v, 0) else { continue };
                    let v = &v[..end];
                    let full = full(v, &limits, false).map(|a| (a.framing, a.expect_continue));
                    // With the next request's bytes after it, as a socket read has it.
                    let mut more = v.to_vec();
                    more.extend_from_slice(b"GET / HTTP/1.1\r\n");
                    if let Some((n, a)) = quick(&more, &limits) {
                        assert_eq!(n, end, "{:?}", String::from_utf8_lossy(v));
                        checked += 1;
                        assert_eq!(
                            full,
                            Ok((a.framing, a.expect_continue)),
                            "{:?}",
                            String::from_utf8_lossy(v)
                        );
                    }
                    assert_eq!(
                        check(v, &limits, false).map(|a| (a.framing, a.expect_continue)),
                        full
                    );
                }
            }
        }
        assert!(checked > 5000, "{checked}");
    }

    /// The success path takes the heads it is for, and never a head cut short.
    #[test]
    fn quick_takes_whole_heads_only() {
        let head = b"GET /shop/products/item.aspx?id=42&colour=blue HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.9\r\nReferer: https://www.example.com/shop/products/\r\n\r\n";
        let (n, a) = quick(head, &limits()).expect("taken");
        assert_eq!(
            (n, a.framing, a.expect_continue),
            (head.len(), Framing::None, false)
        );
        for cut in 0..head.len() {
            assert!(quick(&head[..cut], &limits()).is_none(), "{cut}");
        }
    }

    /// The limits, exactly at and one past each boundary: the success path says
    /// what every check says, and takes the heads within the limits.
    #[test]
    fn quick_at_the_limits() {
        let tight = Limits {
            max_field_length: 40,
            max_request_bytes: 400,
            url_segment_max_length: 8,
            url_segment_max_count: 4,
            max_headers: 100,
            ..limits()
        };
        let verdicts = |head: &[u8]| {
            let full = full(head, &tight, false).map(|a| a.framing);
            let quick = quick(head, &tight).map(|(n, a)| (n, a.framing));
            if let Some((n, framing)) = quick {
                assert_eq!((n, Ok(framing)), (head.len(), full.clone()));
            }
            (full.is_ok(), quick.is_some())
        };
        // A header line of 41 and 42 bytes with its CR and without its LF (the
        // limit plus one, for the CR), ending in CR LF and in LF alone.
        for (len, ok) in [(40, true), (41, true), (42, false)] {
            for end in ["\r\n", "\n"] {
                let value = "v".repeat(len - 3 - (end.len() - 1));
                let head = format!("GET / HTTP/1.1{end}Host: a{end}X: {value}{end}{end}");
                assert_eq!(verdicts(head.as_bytes()), (ok, ok), "{len}");
            }
        }
        // A head of 400 and 401 bytes.
        for (len, ok) in [(399, true), (400, true), (401, false)] {
            let rest = len - "GET / HTTP/1.1\r\nHost: a\r\n\r\n".len();
            let filler = "X-Filler: 0123456789\r\n";
            let lines = (rest - 5) / filler.len();
            let last = "v".repeat(rest - lines * filler.len() - 5);
            let head = format!(
                "GET / HTTP/1.1\r\nHost: a\r\n{}X: {last}\r\n\r\n",
                filler.repeat(lines)
            );
            assert_eq!(head.len(), len);
            assert_eq!(verdicts(head.as_bytes()), (ok, ok), "{len}");
        }
        // Segments of 8 and 9 characters, and 4 and 5 segments, with escapes.
        for (target, ok) in [
            ("/abcdefgh", true),
            ("/abcdefghi", false),
            ("/%41bcdefgh", true),
            ("/a/b/c/d", true),
            ("/a/b/c/d/e", false),
            ("/a/b/c/d?/e/f/g", true),
            ("/a/b/c/d/?x", false),
        ] {
            let head = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(verdicts(head.as_bytes()).0, ok, "{target}");
            assert!(verdicts(head.as_bytes()).1 <= ok, "{target}");
        }
        // 64 header lines are taken; 65 are left to every check.
        for (count, taken) in [(64, true), (65, false)] {
            let lines = (0..count - 1)
                .map(|i| format!("X-{i}: v\r\n"))
                .collect::<String>();
            let head = format!("GET / HTTP/1.1\r\nHost: a\r\n{lines}\r\n");
            let big = Limits {
                max_request_bytes: 16 * 1024,
                ..tight
            };
            assert!(full(head.as_bytes(), &big, false).is_ok());
            assert_eq!(quick(head.as_bytes(), &big).is_some(), taken, "{count}");
        }
        // A method of 255 and 256 bytes.
        for (len, ok) in [(255, true), (256, false)] {
            let head = format!("{} / HTTP/1.1\r\nHost: a\r\n\r\n", "M".repeat(len));
            let big = Limits {
                max_request_bytes: 16 * 1024,
                ..tight
            };
            assert_eq!(full(head.as_bytes(), &big, false).is_ok(), ok, "{len}");
            assert_eq!(quick(head.as_bytes(), &big).is_some(), ok, "{len}");
        }
    }

    /// The end of a header name, for every byte value at every position of
    /// names of every length up to 24: as the token table finds it.
    #[test]
    fn name_end_finds_every_byte() {
        let naive =
            |s: &[u8], at: usize| s[at..].iter().position(|&b| !is_tchar(b)).map(|i| at + i);
        for len in 0..24 {
            let name: Vec<u8> = (0..len).map(|i| b"Xy-Zw"[i % 5]).collect();
            for at in 0..=len.min(3) {
                let mut s = name.clone();
                s.extend_from_slice(b": v\r\n");
                assert_eq!(name_end(&s, at), Some(len), "{len}");
                assert_eq!(name_end(&name, at), None, "{len}");
                for place in at..len {
                    for b in 0..=255u8 {
                        let mut v = s.clone();
                        v[place] = b;
                        assert_eq!(name_end(&v, at), naive(&v, at), "{len} {place} {b}");
                    }
                }
            }
        }
    }

    /// The first byte that is not visible ASCII or a space, at every position of
    /// buffers of every length up to 40, for every byte value (and a second one
    /// after it): as a plain search finds it. The eight-byte tests on every byte
    /// value at every place of a word.
    #[test]
    fn first_special_finds_every_byte() {
        let naive = |s: &[u8]| s.iter().position(|&b| !(b' '..=b'~').contains(&b));
        for len in 0..40 {
            let plain: Vec<u8> = (0..len).map(|i| b' ' + (i * 7 % 95) as u8).collect();
            assert_eq!(first_special(&plain), None);
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = plain.clone();
                    s[at] = b;
                    if at + 3 < len {
                        s[at + 3] = b'\n';
                    }
                    assert_eq!(first_special(&s), naive(&s), "{len} {at} {b}");
                }
            }
        }
        for place in 0..8 {
            for b in 0..=255u8 {
                let mut word = *b"Ab-cDe-F";
                word[place] = b;
                let bits = not_name_bits(u64::from_le_bytes(word));
                let want = if b.is_ascii_alphabetic() || b == b'-' {
                    0
                } else {
                    0x80 << (8 * place)
                };
                assert_eq!(bits, want, "{place} {b}");
                let mut word = *b"abcdefgh";
                word[place] = b;
                let bits = special_bits(u64::from_le_bytes(word));
                let want = if (b' '..=b'~').contains(&b) {
                    0
                } else {
                    0x80 << (8 * place)
                };
                assert_eq!(bits, want, "{place} {b}");
            }
        }
    }

    #[test]
    fn simple_target_agrees_with_the_parser() {
        let tight = Limits {
            url_segment_max_length: 3,
            url_segment_max_count: 3,
            ..limits()
        };
        let targets: [&[u8]; 12] = [
            b"/",
            b"/abc/def/ghi",
            b"/abcd",
            b"/a/b/c/d",
            b"/a/b/c?x/y/z/w/abcdef",
            b"/%41%42%43/x",
            b"/%41%42%43%44",
            b"/ab%/x",
            b"//",
            b"/a//b/",
            b"/abc?",
            b"/abcd?q=1",
        ];
        let mut compared = 0;
        for limits in [limits(), tight] {
            for target in targets {
                let simple = simple_target(target, &limits);
                if simple != Ok(false) {
                    compared += 1;
                    assert_eq!(
                        simple.map(drop),
                        parsed_target(target, false, &limits),
                        "{:?}",
                        String::from_utf8_lossy(target)
                    );
                }
            }
        }
        assert_eq!(compared, 24);
        // A byte the table does not know goes to the parser, even after a long
        // segment.
        assert_eq!(simple_target(b"/abcdef/{", &tight), Ok(false));
    }

    #[test]
    fn seen_for_the_log() {
        let r = check(b"GET /x?y HTTP/12.0\r\n\r\n", &limits(), false).unwrap_err();
        assert_eq!(r.seen.version.as_deref(), Some("HTTP/?.?"));
        assert_eq!(r.seen.uri.as_deref(), Some("/x?y"));
        assert_eq!(r.seen.method.as_deref(), Some("GET"));
    }
}
