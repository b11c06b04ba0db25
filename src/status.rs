//! The IIS vocabulary: an HTTP status plus a substatus, written `404.3`.
//!
//! IIS reports every error as `status.substatus`: `404.3` is a 404 because no MIME
//! map exists for the extension, `403.14` a 403 because directory listing is off.
//! [`IisStatus`] holds the pair, parses it from text and displays it the way IIS
//! prints it (the substatus always shown, `.0` included). Every code of the IIS
//! tables is a named constant on [`IisStatus`]; see the [catalog](crate::catalog).
//!
//! # Example
//!
//! Needs no feature and no other crate.
//!
//! ```
//! use tower_iis::IisStatus;
//!
//! let s: IisStatus = "404.3".parse()?;
//! assert_eq!(s, IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION);
//! assert_eq!(s.to_string(), "404.3");
//! assert_eq!(s.status(), http::StatusCode::NOT_FOUND);
//! assert_eq!(s.substatus(), 3);
//!
//! // A bare status means substatus 0, and displays as IIS does.
//! assert_eq!("404".parse::<IisStatus>()?.to_string(), "404.0");
//!
//! // Anything else is an error that names the input.
//! let err = "404.x".parse::<IisStatus>().unwrap_err();
//! assert!(err.to_string().contains("\"404.x\""));
//! # Ok::<(), tower_iis::ParseStatusError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use http::StatusCode;

/// The largest substatus IIS uses (the configuration schema allows 0 to 999).
pub const MAX_SUBSTATUS: u16 = 999;

/// An HTTP status code plus an IIS substatus, such as `404.3`.
///
/// See the [module docs](self) for an example.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IisStatus {
    status: u16,
    substatus: u16,
}

impl IisStatus {
    /// Builds a status from its two numbers.
    ///
    /// # Panics
    ///
    /// When `status` is not in `100..=999` or `substatus` is above 999. Use
    /// [`IisStatus::try_new`] for values that come from outside the program.
    #[must_use]
    pub const fn new(status: u16, substatus: u16) -> Self {
        match Self::try_new(status, substatus) {
            Some(s) => s,
            None => {
                panic!("IIS status out of range: status must be 100..=999 and substatus 0..=999")
            }
        }
    }

    /// Builds a status from its two numbers, or `None` when either is out of range
    /// (status `100..=999`, substatus `0..=999`).
    #[must_use]
    pub const fn try_new(status: u16, substatus: u16) -> Option<Self> {
        if status >= 100 && status <= 999 && substatus <= MAX_SUBSTATUS {
            Some(Self { status, substatus })
        } else {
            None
        }
    }

    /// The HTTP status code (`404` of `404.3`).
    #[must_use]
    pub fn status(self) -> StatusCode {
        // The range is checked on construction, so this cannot fail.
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The HTTP status code as a number.
    #[must_use]
    pub const fn code(self) -> u16 {
        self.status
    }

    /// The substatus (`3` of `404.3`); `0` when there is none.
    #[must_use]
    pub const fn substatus(self) -> u16 {
        self.substatus
    }

    /// The reason phrase IIS prints after the code: the standard one for the status
    /// (`Not Found` for 404), or `Unknown` for a code without one.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self.status {
            // IIS keeps the HTTP/1.1 name for 413.
            413 => "Request Entity Too Large",
            _ => self.status().canonical_reason().unwrap_or("Unknown"),
        }
    }

    /// Whether the status is 400 or above, the statuses IIS's custom-error module acts on.
    #[must_use]
    pub const fn is_error(self) -> bool {
        self.status >= 400
    }

    /// What the catalog knows about this code, if it is one of IIS's.
    #[must_use]
    pub fn info(self) -> Option<&'static crate::catalog::CodeInfo> {
        crate::catalog::lookup(self)
    }
}

impl From<StatusCode> for IisStatus {
    /// A plain HTTP status is the IIS status with substatus 0.
    fn from(status: StatusCode) -> Self {
        Self {
            status: status.as_u16(),
            substatus: 0,
        }
    }
}

impl fmt::Display for IisStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.status, self.substatus)
    }
}

impl fmt::Debug for IisStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IisStatus({self})")
    }
}

/// The error returned when a text is not an IIS status such as `404` or `404.3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseStatusError {
    input: String,
}

impl ParseStatusError {
    /// The text that could not be parsed.
    #[must_use]
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for ParseStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid IIS status {:?}: expected a status from 100 to 999 with an optional \
             substatus from 0 to 999, such as \"404\" or \"404.3\"",
            self.input
        )
    }
}

impl std::error::Error for ParseStatusError {}

fn parse_number(part: &str, max_digits: usize) -> Option<u16> {
    if part.is_empty() || part.len() > max_digits || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

impl FromStr for IisStatus {
    type Err = ParseStatusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseStatusError {
            input: s.to_owned(),
        };
        let (status, sub) = match s.split_once('.') {
            Some((status, sub)) => (status, Some(sub)),
            None => (s, None),
        };
        if status.len() != 3 {
            return Err(err());
        }
        let status = parse_number(status, 3).ok_or_else(err)?;
        let sub = match sub {
            Some(sub) => parse_number(sub, 3).ok_or_else(err)?,
            None => 0,
        };
        Self::try_new(status, sub).ok_or_else(err)
    }
}

impl TryFrom<&str> for IisStatus {
    type Error = ParseStatusError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// The value IIS writes to the `sc-win32-status` log column for an HRESULT.
///
/// A Win32 error wrapped as an HRESULT (`0x8007xxxx`) logs its low 16 bits
/// (`0x80070002` → `2`); any other HRESULT logs as its unsigned decimal value
/// (`0x8009030E` → `2148074254`); success (`0`) logs `0`.
///
/// ```
/// use tower_iis::win32_status_from_hresult;
///
/// assert_eq!(win32_status_from_hresult(0x8007_0002), 2);
/// assert_eq!(win32_status_from_hresult(0x8007_000d), 13);
/// assert_eq!(win32_status_from_hresult(0x8009_030e), 2_148_074_254);
/// assert_eq!(win32_status_from_hresult(0), 0);
/// ```
#[must_use]
pub const fn win32_status_from_hresult(hresult: u32) -> u32 {
    if hresult & 0xFFFF_0000 == 0x8007_0000 {
        hresult & 0xFFFF
    } else {
        hresult
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        assert_eq!(
            "404.3".parse::<IisStatus>().unwrap(),
            IisStatus::new(404, 3)
        );
        assert_eq!("404".parse::<IisStatus>().unwrap(), IisStatus::new(404, 0));
        assert_eq!(
            "500.100".parse::<IisStatus>().unwrap(),
            IisStatus::new(500, 100)
        );
        assert_eq!(IisStatus::new(404, 0).to_string(), "404.0");
        assert_eq!(IisStatus::new(403, 503).to_string(), "403.503");
    }

    #[test]
    fn rejects_bad_input_naming_it() {
        for bad in [
            "",
            ".",
            "404.",
            ".3",
            "40",
            "4040",
            "404.3.1",
            "404.1000",
            "099",
            "abc",
            "404.x",
            " 404",
            "404 ",
            "+404",
            "404.-1",
            "404.+3",
            "１０４",
        ] {
            let err = bad.parse::<IisStatus>().unwrap_err();
            assert_eq!(err.input(), bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn ranges() {
        assert!(IisStatus::try_new(99, 0).is_none());
        assert!(IisStatus::try_new(1000, 0).is_none());
        assert!(IisStatus::try_new(404, 1000).is_none());
        assert_eq!(IisStatus::new(404, 3).reason(), "Not Found");
        assert_eq!(IisStatus::new(413, 1).reason(), "Request Entity Too Large");
        assert_eq!(
            IisStatus::from(StatusCode::FORBIDDEN),
            IisStatus::new(403, 0)
        );
    }

    #[test]
    fn win32_rule() {
        assert_eq!(win32_status_from_hresult(0x8007_0005), 5);
        assert_eq!(win32_status_from_hresult(0x8007_0032), 50);
        assert_eq!(win32_status_from_hresult(0x800B_0109), 2_148_204_809);
        assert_eq!(win32_status_from_hresult(0x8009_0308), 2_148_074_248);
    }
}
