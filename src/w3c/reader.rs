//! A reader for W3C extended logs as IIS writes them.
//!
//! It accepts what real IIS files contain: header blocks repeated anywhere (after a
//! restart, an idle reopen, or a change of fields), a `#Fields` directive that changes
//! in the middle of a file, CRLF or LF line ends, and directives it does not know
//! (`#Remark`, `#Start-Date`). Each entry is read against the `#Fields` directive in
//! force and must have exactly that many values (space- or tab-separated).
//!
//! ```
//! use tower_iis::w3c::reader;
//!
//! let log = reader::parse(
//!     "#Software: Microsoft Internet Information Services 10.0\r\n\
//!      #Version: 1.0\r\n\
//!      #Date: 2024-01-01 00:00:00\r\n\
//!      #Fields: date time cs-uri-stem sc-status sc-substatus time-taken\r\n\
//!      2024-01-01 00:00:00 /a 404 3 15\r\n\
//!      #Fields: date time sc-status\n\
//!      2024-01-01 00:00:01 200\n",
//! )
//! .unwrap();
//! assert_eq!(log.entries.len(), 2);
//! assert_eq!(log.entries[0].get("cs-uri-stem"), Some("/a"));
//! assert_eq!(log.entries[0].substatus(), Some(3));
//! assert_eq!(log.entries[1].status(), Some(200));
//! assert_eq!(log.entries[1].get("cs-uri-stem"), None); // not a field any more
//! assert_eq!(log.blocks.len(), 2);
//! ```

use std::fmt;
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;

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

/// One log entry, read against the `#Fields` directive in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    fields: Arc<[String]>,
    values: Vec<String>,
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
        self.values.get(i).map(String::as_str)
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

    /// The field names this entry was read with.
    #[must_use]
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// The values, in field order.
    #[must_use]
    pub fn values(&self) -> &[String] {
        &self.values
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

/// Why a log could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// Reading failed.
    Io(io::Error),
    /// A line is not valid UTF-8.
    InvalidUtf8 {
        /// 1-based line number.
        line: usize,
    },
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
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "reading the W3C log failed: {e}"),
            ReadError::InvalidUtf8 { line } => write!(f, "line {line} is not valid UTF-8"),
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
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Reads a log from any buffered reader.
///
/// # Errors
///
/// The first [`ReadError`] met.
pub fn read(mut input: impl BufRead) -> Result<Log, ReadError> {
    let mut parser = Parser::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).map_err(ReadError::Io)? == 0 {
            break;
        }
        parser.line(&buf)?;
    }
    Ok(parser.log)
}

/// Reads a log from a string.
///
/// # Errors
///
/// The first [`ReadError`] met.
pub fn parse(text: &str) -> Result<Log, ReadError> {
    read(text.as_bytes())
}

/// Reads a log file.
///
/// # Errors
///
/// The first [`ReadError`] met, or the error opening the file.
pub fn read_file(path: impl AsRef<Path>) -> Result<Log, ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    read(io::BufReader::new(file))
}

#[derive(Default)]
struct Parser {
    log: Log,
    line: usize,
    pending: HeaderBlock,
    fields: Option<Arc<[String]>>,
}

impl Parser {
    fn line(&mut self, raw: &[u8]) -> Result<(), ReadError> {
        self.line += 1;
        let line = self.line;
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = std::str::from_utf8(raw).map_err(|_| ReadError::InvalidUtf8 { line })?;
        if text.trim().is_empty() {
            return Ok(());
        }
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
                    self.log.blocks.push(block);
                    self.fields = Some(fields);
                }
                _ => {}
            }
            return Ok(());
        }
        let fields = self.fields.clone().ok_or(ReadError::NoFields { line })?;
        let values: Vec<String> = text
            .split([' ', '\t'])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if values.len() != fields.len() {
            return Err(ReadError::ColumnCount {
                line,
                expected: fields.len(),
                found: values.len(),
            });
        }
        self.log.entries.push(Entry {
            fields,
            values,
            line,
        });
        Ok(())
    }
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
}
