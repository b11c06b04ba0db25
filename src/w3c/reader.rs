//! A reader for W3C extended logs as IIS writes them.
//!
//! It accepts what real IIS files contain: header blocks repeated anywhere (after a
//! restart, an idle reopen, or a change of fields), a `#Fields` directive that changes
//! in the middle of a file, CRLF or LF line ends, and directives it does not know
//! (`#Remark`, `#Start-Date`). Each entry is read against the `#Fields` directive in
//! force; values are separated by spaces or tabs.
//!
//! Two ways to read:
//!
//! - [`Reader`] streams: an iterator over any [`BufRead`] that yields header blocks,
//!   entries and the lines it skipped, one at a time, in constant memory. It is
//!   lenient like the tools that read IIS logs: a line it cannot read is reported
//!   ([`Skipped`], with its line number and reason) and reading goes on. A last line
//!   without a line end (a file IIS is still writing) is reported as
//!   [`SkipReason::Torn`]; in [follow mode](Reader::follow) it is kept until the rest
//!   arrives (see also [`Follow`] for a live file). A file with no header block can
//!   be read with a field list the caller gives ([`Reader::with_fields`]). Values
//!   beyond the fields named are kept ([`Entry::extra`]).
//! - [`read`], [`parse`] and [`read_file`] are strict and load a whole [`Log`]: the
//!   first line that does not fit is an error. They are meant for checking a writer's
//!   output, where every line must be right.
//!
//! Both read a line that is not valid UTF-8 (a log written with `logInUTF8="false"`
//! in a Windows code page) as Windows-1252.
//!
//! ```
//! use tower_iis::w3c::reader::{self, Item, Reader, SkipReason};
//!
//! let text = "#Software: Microsoft Internet Information Services 10.0\r\n\
//!             #Version: 1.0\r\n\
//!             #Date: 2024-01-01 00:00:00\r\n\
//!             #Fields: date time cs-uri-stem sc-status sc-substatus time-taken\r\n\
//!             2024-01-01 00:00:00 /a 404 3 15\r\n\
//!             2024-01-01 00:00:01 /b\r\n\
//!             #Fields: date time sc-status\r\n\
//!             2024-01-01 00:00:02 200\r\n\
//!             2024-01-01 00:00:03 2";
//!
//! // Streaming and lenient: the short line and the torn last line are reported.
//! let mut entries = Vec::new();
//! let mut skipped = Vec::new();
//! for item in Reader::new(text.as_bytes()) {
//!     match item? {
//!         Item::Entry(e) => entries.push(e),
//!         Item::Skipped(s) => skipped.push((s.line, s.reason)),
//!         _ => {} // header blocks
//!     }
//! }
//! assert_eq!(entries.len(), 2);
//! assert_eq!(entries[0].get("cs-uri-stem"), Some("/a"));
//! assert_eq!(entries[0].substatus(), Some(3));
//! assert_eq!(entries[1].status(), Some(200));
//! assert_eq!(entries[1].get("cs-uri-stem"), None); // not a field any more
//! assert_eq!(skipped[0].0, 6);
//! assert_eq!(skipped[1], (9, SkipReason::Torn));
//!
//! // Strict: the short line is an error.
//! let err = reader::parse(text).unwrap_err();
//! assert_eq!(err.to_string(), "line 6 has 3 values, #Fields names 6");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A directive block: the directives seen up to and including a `#Fields` line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderBlock {
    /// The `#Software` value, if the block had one.
    pub software: Option<String>,
    /// The `#Version` value, if the block had one.
    pub version: Option<String>,
    /// The `#Date` value, if the block had one.
    pub date: Option<String>,
    /// The field names of the `#Fields` directive.
    pub fields: Arc<[String]>,
    /// The 1-based line number of the `#Fields` directive.
    pub line: usize,
}

/// One log entry, read against the `#Fields` directive in force (or the fields the
/// caller gave for a file without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    fields: Arc<[String]>,
    text: String,
    spans: Vec<Range<usize>>,
    line: usize,
}

impl Entry {
    /// The raw value of a field (`-` included), `None` if the field is not logged.
    /// Names compare ignoring ASCII case.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self
            .fields
            .iter()
            .position(|f| f.eq_ignore_ascii_case(name))?;
        self.spans
            .get(i)
            .filter(|_| i < self.fields.len())
            .map(|r| &self.text[r.clone()])
    }

    /// The value of a field, `None` if it is not logged or is `-`.
    #[must_use]
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| *v != "-")
    }

    /// The value of a field as an unsigned integer, `None` if absent, `-` or not a
    /// whole number.
    #[must_use]
    pub fn int(&self, name: &str) -> Option<u64> {
        let v = self.value(name)?;
        if v.bytes().all(|b| b.is_ascii_digit()) {
            v.parse().ok()
        } else {
            None
        }
    }

    /// `sc-status`.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.int("sc-status").and_then(|v| u16::try_from(v).ok())
    }

    /// `sc-substatus`.
    #[must_use]
    pub fn substatus(&self) -> Option<u16> {
        self.int("sc-substatus").and_then(|v| u16::try_from(v).ok())
    }

    /// `sc-win32-status`.
    #[must_use]
    pub fn win32_status(&self) -> Option<u32> {
        self.int("sc-win32-status")
            .and_then(|v| u32::try_from(v).ok())
    }

    /// `time-taken` in milliseconds.
    #[must_use]
    pub fn time_taken(&self) -> Option<u64> {
        self.int("time-taken")
    }

    /// `cs(User-Agent)` with IIS's `+` turned back into spaces ([`decode_plus`]).
    #[must_use]
    pub fn user_agent(&self) -> Option<Cow<'_, str>> {
        self.value("cs(User-Agent)").map(decode_plus)
    }

    /// `cs(Referer)` with IIS's `+` turned back into spaces ([`decode_plus`]).
    #[must_use]
    pub fn referer(&self) -> Option<Cow<'_, str>> {
        self.value("cs(Referer)").map(decode_plus)
    }

    /// `cs-username` with IIS's `+` turned back into spaces ([`decode_plus`]).
    #[must_use]
    pub fn username(&self) -> Option<Cow<'_, str>> {
        self.value("cs-username").map(decode_plus)
    }

    /// `cs-uri-query`, decoded as a form would be ([`decode_query`]).
    #[must_use]
    pub fn query(&self) -> Option<Cow<'_, str>> {
        self.value("cs-uri-query").map(decode_query)
    }

    /// The field names this entry was read with.
    #[must_use]
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// The values of the named fields, in field order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator + '_ {
        let n = self.fields.len().min(self.spans.len());
        self.spans[..n].iter().map(|r| &self.text[r.clone()])
    }

    /// Values beyond the fields named (for example a trailing `X-Forwarded-For`
    /// that a proxy setup appends to every line). Empty for a line that fits.
    pub fn extra(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator + '_ {
        let n = self.fields.len().min(self.spans.len());
        self.spans[n..].iter().map(|r| &self.text[r.clone()])
    }

    /// The whole line as read (without its line end; decoded from Windows-1252 when it
    /// was not UTF-8).
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line number in the input.
    #[must_use]
    pub fn line(&self) -> usize {
        self.line
    }
}

/// A whole log: its header blocks and its entries, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Log {
    /// Every header block (each ends at a `#Fields` directive).
    pub blocks: Vec<HeaderBlock>,
    /// Every entry.
    pub entries: Vec<Entry>,
}

/// What [`Reader`] yields, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item {
    /// A header block ended (at its `#Fields` directive); later entries use its fields.
    Header(HeaderBlock),
    /// An entry.
    Entry(Entry),
    /// A line that could not be read as an entry, skipped.
    Skipped(Skipped),
}

/// A line the [`Reader`] skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line number.
    pub line: usize,
    /// Why the line was skipped.
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} skipped: {}", self.line, self.reason)
    }
}

/// Why a line was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The last line has no line end: the file is still being written, or was cut.
    Torn,
    /// An entry came before any `#Fields` directive and no fields were given.
    NoFields,
    /// The entry has fewer values than the fields named.
    ColumnCount {
        /// Fields named.
        expected: usize,
        /// Values found.
        found: usize,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Torn => f.write_str("the last line has no line end"),
            SkipReason::NoFields => f.write_str("an entry before any #Fields directive"),
            SkipReason::ColumnCount { expected, found } => {
                write!(f, "{found} values, #Fields names {expected}")
            }
        }
    }
}

/// Why a log could not be read by the strict functions ([`read`], [`parse`],
/// [`read_file`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// Reading failed.
    Io(io::Error),
    /// An entry came before any `#Fields` directive.
    NoFields {
        /// 1-based line number.
        line: usize,
    },
    /// An entry has a different number of values than `#Fields` names.
    ColumnCount {
        /// 1-based line number.
        line: usize,
        /// Fields named by `#Fields`.
        expected: usize,
        /// Values found.
        found: usize,
    },
    /// Reading a file failed; the file's path and the error.
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong in it.
        source: Box<ReadError>,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "reading the W3C log failed: {e}"),
            ReadError::NoFields { line } => {
                write!(f, "line {line} is an entry before any #Fields directive")
            }
            ReadError::ColumnCount {
                line,
                expected,
                found,
            } => write!(
                f,
                "line {line} has {found} values, #Fields names {expected}"
            ),
            ReadError::File { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::File { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads a whole log from any buffered reader, strictly: every entry must have
/// exactly as many values as `#Fields` names. A last line without a line end is
/// read like any other.
///
/// # Errors
///
/// The first [`ReadError`] met.
pub fn read(input: impl BufRead) -> Result<Log, ReadError> {
    let mut reader = Reader::new(input);
    reader.strict = true;
    let mut log = Log::default();
    for item in reader {
        match item.map_err(ReadError::Io)? {
            Item::Header(block) => log.blocks.push(block),
            Item::Entry(entry) => log.entries.push(entry),
            Item::Skipped(Skipped { line, reason }) => {
                return Err(match reason {
                    SkipReason::ColumnCount { expected, found } => ReadError::ColumnCount {
                        line,
                        expected,
                        found,
                    },
                    SkipReason::NoFields | SkipReason::Torn => ReadError::NoFields { line },
                })
            }
        }
    }
    Ok(log)
}

/// Reads a whole log from a string, strictly (see [`read`]).
///
/// # Errors
///
/// The first [`ReadError`] met.
pub fn parse(text: &str) -> Result<Log, ReadError> {
    read(text.as_bytes())
}

/// Reads a whole log file, strictly (see [`read`]).
///
/// # Errors
///
/// [`ReadError::File`], naming the file, around the first error met (opening the
/// file included).
pub fn read_file(path: impl AsRef<Path>) -> Result<Log, ReadError> {
    let path = path.as_ref();
    let in_file = |e| ReadError::File {
        path: path.to_owned(),
        source: Box::new(e),
    };
    let file = File::open(path).map_err(|e| in_file(ReadError::Io(e)))?;
    read(BufReader::new(file)).map_err(in_file)
}

/// Opens a log file for streaming with a lenient [`Reader`].
///
/// # Errors
///
/// The error opening the file; its message names the file.
pub fn open(path: impl AsRef<Path>) -> io::Result<Reader<BufReader<File>>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| name_file(path, e))?;
    Ok(Reader::new(BufReader::new(file)))
}

fn name_file(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A lenient, streaming W3C log reader: an iterator over the lines of a
/// [`BufRead`], yielding [`Item`]s.
///
/// It holds one line at a time, so a log of any size is read in constant memory.
/// Only an I/O error is returned as `Err`; after one, the iterator may be called
/// again (the next call reads on).
///
/// ```
/// use tower_iis::w3c::reader::{Item, Reader};
///
/// // Filebeat's shape of a proxy log: no header, an X-Forwarded-For value appended.
/// let fields = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username \
///               c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";
/// let line = "2018-08-28 18:24:25 10.0.0.4 GET / - 80 - 10.0.0.2 \
///             Mozilla/5.0+(Windows) - 200 0 0 7 190.104.11.22\r\n";
/// let mut reader = Reader::with_fields(line.as_bytes(), fields.split(' '));
/// let Some(Ok(Item::Entry(entry))) = reader.next() else { panic!() };
/// assert_eq!(entry.user_agent().as_deref(), Some("Mozilla/5.0 (Windows)"));
/// assert_eq!(entry.extra().collect::<Vec<_>>(), ["190.104.11.22"]);
/// assert!(reader.next().is_none());
/// ```
#[derive(Debug)]
pub struct Reader<R> {
    input: R,
    buf: Vec<u8>,
    line: usize,
    offset: u64,
    pending: HeaderBlock,
    fields: Option<Arc<[String]>>,
    follow: bool,
    strict: bool,
}

impl<R: BufRead> Reader<R> {
    /// A reader that takes its fields from the `#Fields` directives of the input.
    pub fn new(input: R) -> Self {
        Reader {
            input,
            buf: Vec::with_capacity(512),
            line: 0,
            offset: 0,
            pending: HeaderBlock::default(),
            fields: None,
            follow: false,
            strict: false,
        }
    }

    /// A reader for a file without a header block: entries before any `#Fields`
    /// directive are read against `fields` (a `#Fields` directive met later takes
    /// over, as usual).
    pub fn with_fields<I>(input: R, fields: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let mut reader = Self::new(input);
        reader.fields = Some(fields.into_iter().map(Into::into).collect());
        reader
    }

    /// Follow mode: at the end of the input, a last line without a line end is kept
    /// (not reported as torn) and the iterator returns `None`; calling
    /// [`next`](Iterator::next) again later reads what was appended since,
    /// completing that line. [`Follow`] does this for a file.
    #[must_use]
    pub fn follow(mut self, on: bool) -> Self {
        self.follow = on;
        self
    }

    /// Bytes consumed so far (a kept partial line included).
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The number of the last line read.
    #[must_use]
    pub fn line(&self) -> usize {
        self.line
    }

    /// The reader underneath.
    pub fn get_ref(&self) -> &R {
        &self.input
    }

    /// Turns one complete line (without its line end) into an item, if it is one.
    fn item(&mut self, complete: bool) -> Option<Item> {
        self.line += 1;
        let line = self.line;
        let mut raw = &self.buf[..];
        raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        if !complete && !self.strict {
            return Some(Item::Skipped(Skipped {
                line,
                reason: SkipReason::Torn,
            }));
        }
        let text = decode_line(raw);
        if let Some(directive) = text.strip_prefix('#') {
            let (name, value) = directive.split_once(':').unwrap_or((directive, ""));
            let value = value.trim();
            match name.trim() {
                "Software" => self.pending.software = Some(value.to_owned()),
                "Version" => self.pending.version = Some(value.to_owned()),
                "Date" => self.pending.date = Some(value.to_owned()),
                "Fields" => {
                    let fields: Arc<[String]> = value
                        .split([' ', '\t'])
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect();
                    let mut block = std::mem::take(&mut self.pending);
                    block.fields = fields.clone();
                    block.line = line;
                    self.fields = Some(fields);
                    return Some(Item::Header(block));
                }
                _ => {}
            }
            return None;
        }
        let skipped = |reason| Some(Item::Skipped(Skipped { line, reason }));
        let Some(fields) = self.fields.clone() else {
            return skipped(SkipReason::NoFields);
        };
        let mut spans = Vec::with_capacity(fields.len());
        let mut start = None;
        for (i, b) in text.bytes().enumerate() {
            match (b == b' ' || b == b'\t', start) {
                (true, Some(s)) => {
                    spans.push(s..i);
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        if let Some(s) = start {
            spans.push(s..text.len());
        }
        let (expected, found) = (fields.len(), spans.len());
        if found < expected || (self.strict && found != expected) {
            return skipped(SkipReason::ColumnCount { expected, found });
        }
        Some(Item::Entry(Entry {
            fields,
            text: text.into_owned(),
            spans,
            line,
        }))
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(n) => self.offset += n as u64,
                Err(e) => return Some(Err(e)),
            }
            if self.buf.last() == Some(&b'\n') {
                let item = self.item(true);
                self.buf.clear();
                match item {
                    Some(item) => return Some(Ok(item)),
                    None => continue,
                }
            }
            // The end of the input for now.
            if self.buf.is_empty() || self.follow {
                return None;
            }
            let item = self.item(false);
            self.buf.clear();
            if let Some(item) = item {
                return Some(Ok(item));
            }
        }
    }
}

/// Follows a log file that is still being written, like `tail -f`: a blocking
/// iterator that never ends, waiting a poll interval whenever it has read everything.
///
/// A torn last line is held until its line end arrives. When the file shrinks below
/// what was read (it was truncated or replaced), reading starts again at its top.
/// Waiting blocks the calling thread: run it on a thread of its own (or in
/// `spawn_blocking`), never on an async runtime's worker. [`try_next`](Follow::try_next)
/// reads without waiting.
///
/// ```no_run
/// use tower_iis::w3c::reader::{Follow, Item};
///
/// for item in Follow::open("logs/W3SVC1/u_ex240101.log")? {
///     if let Item::Entry(e) = item? {
///         println!("{} {:?}", e.get("cs-uri-stem").unwrap_or("-"), e.status());
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Follow {
    path: PathBuf,
    reader: Reader<BufReader<File>>,
    interval: Duration,
}

impl Follow {
    /// Follows `path` from its start, polling every 250 ms at its end.
    ///
    /// # Errors
    ///
    /// The error opening the file; its message names the file.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_owned();
        let reader = open(&path)?.follow(true);
        Ok(Follow {
            path,
            reader,
            interval: Duration::from_millis(250),
        })
    }

    /// How long to wait at the end of the file before looking again.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The next item if one can be read now, `None` at the current end of the file.
    ///
    /// # Errors
    ///
    /// An I/O error reading or reopening the file; its message names the file.
    pub fn try_next(&mut self) -> io::Result<Option<Item>> {
        if let Some(item) = self.reader.next() {
            return item.map(Some).map_err(|e| name_file(&self.path, e));
        }
        let len = std::fs::metadata(&self.path)
            .map_err(|e| name_file(&self.path, e))?
            .len();
        if len < self.reader.offset() {
            let mut file = File::open(&self.path).map_err(|e| name_file(&self.path, e))?;
            file.seek(SeekFrom::Start(0))?;
            self.reader = Reader::new(BufReader::new(file)).follow(true);
            return self.reader.next().transpose();
        }
        Ok(None)
    }
}

impl Iterator for Follow {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.try_next() {
                Ok(Some(item)) => return Some(Ok(item)),
                Ok(None) => std::thread::sleep(self.interval),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// A line as text: UTF-8 if it is, else Windows-1252 (what IIS writes with
/// `logInUTF8="false"` on a Western-European system).
fn decode_line(raw: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(raw.iter().map(|&b| windows_1252(b)).collect()),
    }
}

/// One Windows-1252 byte as a character (the WHATWG mapping: the five unassigned
/// bytes map to the C1 control of the same value).
fn windows_1252(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => char::from_u32(u32::from(HIGH[usize::from(b - 0x80)])).unwrap_or('\u{FFFD}'),
        _ => char::from(b),
    }
}

/// Undoes what IIS does to a header value or user name in a log line: every `+`
/// becomes a space. (IIS writes a space as `+` and leaves a literal `+` as it is,
/// so a `+` the client sent reads back as a space too.)
///
/// ```
/// use tower_iis::w3c::reader::decode_plus;
/// assert_eq!(decode_plus("Mozilla/5.0+(X11;+Linux)"), "Mozilla/5.0 (X11; Linux)");
/// assert_eq!(decode_plus("curl/8.0"), "curl/8.0");
/// ```
#[must_use]
pub fn decode_plus(value: &str) -> Cow<'_, str> {
    if value.contains('+') {
        Cow::Owned(value.replace('+', " "))
    } else {
        Cow::Borrowed(value)
    }
}

/// Decodes a raw `cs-uri-query` as a form is decoded (and as Filebeat decodes
/// `url.query`): `+` is a space and `%XX` a byte; the bytes are read as UTF-8
/// (a byte sequence that is not is replaced by U+FFFD). A `%` not followed by two
/// hex digits stays as it is.
///
/// ```
/// use tower_iis::w3c::reader::decode_query;
/// assert_eq!(decode_query("q=caf%C3%A9+au+lait&x=%zz"), "q=café au lait&x=%zz");
/// ```
#[must_use]
pub fn decode_query(value: &str) -> Cow<'_, str> {
    if !value.contains(['+', '%']) {
        return Cow::Borrowed(value);
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (
                    bytes.get(i + 1).copied().and_then(crate::percent::hex),
                    bytes.get(i + 2).copied().and_then(crate::percent::hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_blocks_and_changing_fields() {
        let text = "#Software: Microsoft Internet Information Services 10.0\r\n\
                    #Version: 1.0\r\n\
                    #Date: 2018-01-01 08:09:10\r\n\
                    #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n\
                    2018-01-01 08:09:10 127.0.0.1 GET / q=100 80 - 85.181.35.98 Mozilla/5.0+(Windows) - 200 0 0 123\r\n\
                    #Software: Microsoft Internet Information Services 10.0\n\
                    #Version: 1.0\n\
                    #Date: 2018-01-01 09:00:00\n\
                    #Fields: date time s-sitename sc-status sc-bytes\n\
                    \n\
                    2018-01-01 09:00:00 W3SVC1 404 1024\n\
                    #Remark: ignored\n\
                    2018-01-01 09:00:01\tW3SVC1\t500\t7\n";
        let log = parse(text).unwrap();
        assert_eq!(log.blocks.len(), 2);
        assert_eq!(log.blocks[1].date.as_deref(), Some("2018-01-01 09:00:00"));
        assert_eq!(log.entries.len(), 3);
        let e = &log.entries[0];
        assert_eq!(e.get("cs(user-agent)"), Some("Mozilla/5.0+(Windows)"));
        assert_eq!(e.get("cs-username"), Some("-"));
        assert_eq!(e.value("cs-username"), None);
        assert_eq!(e.time_taken(), Some(123));
        assert_eq!(e.win32_status(), Some(0));
        assert_eq!(log.entries[1].int("sc-bytes"), Some(1024));
        assert_eq!(log.entries[2].status(), Some(500));
        assert_eq!(log.entries[2].line(), 13);
    }

    #[test]
    fn wrong_column_count_and_missing_fields() {
        let err = parse("#Fields: date time\n2024-01-01 00:00:00 extra\n").unwrap_err();
        assert!(matches!(
            err,
            ReadError::ColumnCount {
                line: 2,
                expected: 2,
                found: 3
            }
        ));
        let err = parse("2024-01-01 00:00:00\n").unwrap_err();
        assert!(matches!(err, ReadError::NoFields { line: 1 }));
        assert_eq!(
            parse("#Fields: time-taken\n12.5\n").unwrap().entries[0].time_taken(),
            None
        );
    }

    #[test]
    fn strict_reads_an_unterminated_last_line_like_any_other() {
        let log = parse("#Fields: date sc-status\r\n2024-01-01 200\r").unwrap();
        assert_eq!(log.entries[0].status(), Some(200));
    }

    #[test]
    fn windows_1252_table() {
        assert_eq!(
            decode_line(b"caf\xe9 \x80 \x93x\x94 \x81"),
            "café € “x” \u{81}"
        );
        assert_eq!(decode_line("café".as_bytes()), "café");
    }

    #[test]
    fn query_decoding_edges() {
        assert_eq!(decode_query("a=%4"), "a=%4");
        assert_eq!(decode_query("a=%"), "a=%");
        assert_eq!(decode_query("%41%42"), "AB");
        assert_eq!(decode_query("%ff"), "\u{FFFD}");
    }
}
