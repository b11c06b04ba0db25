//! The rules of `<traceFailedRequests>`: which requests are traced, which events kept.

use std::fmt;

use crate::ConfigError;
use std::sync::Arc;
use std::time::Duration;

/// The level of a trace event, as FREB numbers them (1 most severe).
///
/// `tracing`'s levels map to them as `ERROR` → `Error`, `WARN` → `Warning`,
/// `INFO` → `Information`, `DEBUG` and `TRACE` → `Verbose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verbosity {
    /// `CriticalError`, level 1.
    CriticalError = 1,
    /// `Error`, level 2.
    Error = 2,
    /// `Warning`, level 3.
    Warning = 3,
    /// `Information`, level 4.
    Information = 4,
    /// `Verbose`, level 5.
    Verbose = 5,
}

impl Verbosity {
    /// The FREB level number (`<Level>` of an event).
    #[must_use]
    pub fn level(self) -> u8 {
        self as u8
    }

    /// The name IIS gives the level.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::CriticalError => "CriticalError",
            Self::Error => "Error",
            Self::Warning => "Warning",
            Self::Information => "Information",
            Self::Verbose => "Verbose",
        }
    }

    /// The level of a `tracing` event.
    #[must_use]
    pub fn from_tracing(level: tracing::Level) -> Self {
        match level {
            tracing::Level::ERROR => Self::Error,
            tracing::Level::WARN => Self::Warning,
            tracing::Level::INFO => Self::Information,
            _ => Self::Verbose,
        }
    }

    /// Parses an IIS verbosity name (case-insensitive); `General` is taken as
    /// `Verbose`, as IIS records every event at it.
    ///
    /// # Errors
    ///
    /// An unknown name.
    pub fn parse(setting: &'static str, value: &str) -> Result<Self, ConfigError> {
        let v = value.trim();
        let all = [
            Self::CriticalError,
            Self::Error,
            Self::Warning,
            Self::Information,
            Self::Verbose,
        ];
        if v.eq_ignore_ascii_case("General") {
            return Ok(Self::Verbose);
        }
        all.into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(v))
            .ok_or_else(|| {
                ConfigError::new(
                    setting,
                    value,
                    "not one of General, CriticalError, Error, Warning, Information, Verbose",
                )
            })
    }
}

/// One item of a `statusCodes` list: a code, a `status.substatus`, or a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatusItem {
    low: (u16, Option<u16>),
    high: (u16, Option<u16>),
}

impl StatusItem {
    fn matches(&self, status: u16, sub: u16) -> bool {
        let above = match self.low {
            (s, None) => status >= s,
            (s, Some(ss)) => (status, sub) >= (s, ss),
        };
        let below = match self.high {
            (s, None) => status <= s,
            (s, Some(ss)) => (status, sub) <= (s, ss),
        };
        above && below
    }
}

/// A `statusCodes` value: `404.3,500-599`, `401.1-401.5`, `400-999`.
///
/// A code without substatus matches every substatus of it; `404.3` matches only
/// that substatus.
///
/// ```
/// use tower_iis::freb::StatusCodes;
///
/// let codes: StatusCodes = "404.3,500-599".parse().unwrap();
/// assert!(codes.matches(404, 3));
/// assert!(!codes.matches(404, 0));
/// assert!(codes.matches(503, 2));
/// let err = "404.x".parse::<StatusCodes>().unwrap_err();
/// assert_eq!((err.setting(), err.value()), ("statusCodes", "404.x"));
/// assert!(err.to_string().starts_with("invalid statusCodes \"404.x\": "));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusCodes {
    items: Vec<StatusItem>,
    text: String,
}

impl StatusCodes {
    /// Whether `status.substatus` is in the list.
    #[must_use]
    pub fn matches(&self, status: u16, substatus: u16) -> bool {
        self.items.iter().any(|i| i.matches(status, substatus))
    }

    /// Whether the list is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl fmt::Display for StatusCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for StatusCodes {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let bad = |reason: &str| ConfigError::new("statusCodes", text, reason.to_owned());
        let one = |s: &str| -> Result<(u16, Option<u16>), ConfigError> {
            let s = s.trim();
            let (code, sub) = match s.split_once('.') {
                Some((c, sub)) => (c, Some(sub)),
                None => (s, None),
            };
            let code: u16 = code
                .parse()
                .ok()
                .filter(|c| (100..=999).contains(c))
                .ok_or_else(|| bad(&format!("`{s}` is not a status code from 100 to 999")))?;
            let sub = match sub {
                None => None,
                Some(x) => Some(
                    x.parse::<u16>()
                        .map_err(|_| bad(&format!("`{s}` has a substatus that is not a number")))?,
                ),
            };
            Ok((code, sub))
        };
        let mut items = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let item = match part.split_once('-') {
                Some((a, b)) => {
                    let (low, high) = (one(a)?, one(b)?);
                    if (low.0, low.1.unwrap_or(0)) > (high.0, high.1.unwrap_or(u16::MAX)) {
                        return Err(bad(&format!("the range `{part}` is empty")));
                    }
                    StatusItem { low, high }
                }
                None => {
                    let v = one(part)?;
                    StatusItem { low: v, high: v }
                }
            };
            items.push(item);
        }
        Ok(Self {
            items,
            text: text.trim().to_owned(),
        })
    }
}

/// Parses a `timeTaken` value: a .NET `TimeSpan`, `[d.]hh:mm:ss[.fffffff]`.
///
/// # Errors
///
/// A value that is not of that form.
pub fn parse_time_taken(value: &str) -> Result<Duration, ConfigError> {
    let bad = || ConfigError::new("timeTaken", value, "not a duration of the form hh:mm:ss");
    let v = value.trim();
    let mut parts = v.split(':');
    let (Some(h), Some(m), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let (days, hours) = match h.split_once('.') {
        Some((d, h)) => (d.parse::<u64>().map_err(|_| bad())?, h),
        None => (0, h),
    };
    let hours: u64 = hours.parse().map_err(|_| bad())?;
    let minutes: u64 = m.parse().map_err(|_| bad())?;
    let (secs, frac) = match s.split_once('.') {
        Some((s, f)) => (s, f),
        None => (s, ""),
    };
    let secs: u64 = secs.parse().map_err(|_| bad())?;
    if hours > 23 || minutes > 59 || secs > 59 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        let digits = &frac[..frac.len().min(9)];
        let n: u32 = digits.parse().map_err(|_| bad())?;
        n * 10u32.pow(9 - digits.len() as u32)
    };
    Ok(Duration::new(
        ((days * 24 + hours) * 60 + minutes) * 60 + secs,
        nanos,
    ))
}

/// A `<traceAreas><add provider areas verbosity/>` row: which events a trace keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceArea {
    /// The provider, e.g. `WWW Server`.
    pub provider: String,
    /// The areas, e.g. `Security`, `StaticFile`; empty means every area.
    pub areas: Vec<String>,
    /// The most verbose level kept.
    pub verbosity: Verbosity,
}

impl TraceArea {
    /// Every area of `provider` up to `verbosity`.
    #[must_use]
    pub fn new(provider: impl Into<String>, verbosity: Verbosity) -> Self {
        Self {
            provider: provider.into(),
            areas: Vec::new(),
            verbosity,
        }
    }

    /// Only these areas (a comma list such as `Security,StaticFile`).
    #[must_use]
    pub fn areas(mut self, areas: &str) -> Self {
        self.areas = areas
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        self
    }
}

/// IIS's own provider: every event of this crate belongs to it.
pub const WWW_SERVER: &str = "WWW Server";

/// One `<traceFailedRequests><add path>` rule: which requests it covers, when they
/// count as failed, and which events are written.
///
/// ```
/// use std::time::Duration;
/// use tower_iis::freb::{Rule, Verbosity};
///
/// let rule = Rule::new("*")
///     .status_codes("404.3,500-599").unwrap()
///     .time_taken(Duration::from_secs(30))
///     .verbosity(Verbosity::Error);
/// assert!(rule.covers("/report.xyz"));
/// assert!(Rule::new("*.aspx").covers("/shop/Cart.ASPX"));
/// assert!(!Rule::new("*.aspx").covers("/shop/cart.htm"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    path: String,
    status_codes: StatusCodes,
    time_taken: Option<Duration>,
    verbosity: Option<Verbosity>,
    trace_areas: Vec<TraceArea>,
}

impl Rule {
    /// A rule for the requests whose path matches `path`: `*` (every request), a
    /// wildcard on the file name (`*.aspx`, `report.*`), or a wildcard on the whole
    /// path when it holds a `/` (`/api/*`). Matching ignores case.
    ///
    /// Without failure definitions the rule traces nothing; without trace areas it
    /// keeps every event.
    #[must_use]
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            status_codes: StatusCodes::default(),
            time_taken: None,
            verbosity: None,
            trace_areas: Vec::new(),
        }
    }

    /// `failureDefinitions@statusCodes`.
    ///
    /// # Errors
    ///
    /// A code that is not a number from 100 to 999, a bad substatus, an empty range.
    pub fn status_codes(mut self, codes: &str) -> Result<Self, ConfigError> {
        self.status_codes = codes.parse()?;
        Ok(self)
    }

    /// `failureDefinitions@timeTaken`: a request slower than this is traced.
    #[must_use]
    pub fn time_taken(mut self, limit: Duration) -> Self {
        self.time_taken = Some(limit);
        self
    }

    /// `failureDefinitions@verbosity`: an event this severe (or more) traces the
    /// request.
    #[must_use]
    pub fn verbosity(mut self, level: Verbosity) -> Self {
        self.verbosity = Some(level);
        self
    }

    /// A `<traceAreas>` row.
    #[must_use]
    pub fn trace_area(mut self, area: TraceArea) -> Self {
        self.trace_areas.push(area);
        self
    }

    /// The `path` pattern.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the rule covers a request for `path` (the URL path).
    #[must_use]
    pub fn covers(&self, path: &str) -> bool {
        let p = self.path.trim();
        if p.is_empty() || p == "*" {
            return true;
        }
        let subject = if p.contains('/') {
            path
        } else {
            path.rsplit('/').next().unwrap_or(path)
        };
        wildcard(p.as_bytes(), subject.as_bytes())
    }

    pub(crate) fn failure(
        &self,
        status: u16,
        sub: u16,
        taken: Duration,
        worst: Option<Verbosity>,
    ) -> Option<FailureReason> {
        if self.status_codes.matches(status, sub) {
            return Some(FailureReason::StatusCode);
        }
        if self.time_taken.is_some_and(|t| taken > t) {
            return Some(FailureReason::TimeTaken);
        }
        match (self.verbosity, worst) {
            (Some(v), Some(w)) if w <= v => Some(FailureReason::Verbosity),
            _ => None,
        }
    }

    /// Whether an event of `provider`/`area` at `level` is written. Events of the
    /// application (no area) are kept up to the most verbose level any row names.
    pub(crate) fn keeps(&self, provider: &str, area: Option<&str>, level: Verbosity) -> bool {
        if self.trace_areas.is_empty() {
            return true;
        }
        if provider != WWW_SERVER && area.is_none() {
            return self.trace_areas.iter().any(|a| level <= a.verbosity);
        }
        self.trace_areas.iter().any(|a| {
            a.provider.eq_ignore_ascii_case(provider)
                && level <= a.verbosity
                && (a.areas.is_empty()
                    || area.is_none_or(|ar| a.areas.iter().any(|x| x.eq_ignore_ascii_case(ar))))
        })
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.path.contains(['<', '>', '"']) {
            return Err(ConfigError::new(
                "path",
                self.path.clone(),
                "holds characters a path cannot",
            ));
        }
        for a in &self.trace_areas {
            if a.provider.trim().is_empty() {
                return Err(ConfigError::new(
                    "provider",
                    a.provider.clone(),
                    "a trace area needs a provider name",
                ));
            }
        }
        Ok(())
    }
}

/// Why a request was traced: the root's `failureReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// `STATUS_CODE`: the status matched `statusCodes`.
    StatusCode,
    /// `TIME_TAKEN`: slower than `timeTaken`.
    TimeTaken,
    /// `VERBOSITY`: an event at least as severe as the rule's `verbosity`.
    Verbosity,
}

impl FailureReason {
    /// The value of `failureReason`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StatusCode => "STATUS_CODE",
            Self::TimeTaken => "TIME_TAKEN",
            Self::Verbosity => "VERBOSITY",
        }
    }
}

/// `*` matches any run of bytes; ASCII case is ignored.
fn wildcard(pattern: &[u8], subject: &[u8]) -> bool {
    let (mut p, mut s) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while s < subject.len() {
        if p < pattern.len() && pattern[p] != b'*' && pattern[p].eq_ignore_ascii_case(&subject[s]) {
            p += 1;
            s += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = s;
            p += 1;
        } else if let Some(st) = star {
            p = st + 1;
            mark += 1;
            s = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// The rules a layer applies, in order: the first rule whose path covers a request
/// decides for it.
pub(crate) type Rules = Arc<[Rule]>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        let c: StatusCodes = "404.3, 500-599,401.1-401.5".parse().unwrap();
        assert!(c.matches(404, 3) && !c.matches(404, 2));
        assert!(c.matches(500, 0) && c.matches(599, 99) && !c.matches(600, 0));
        assert!(c.matches(401, 1) && c.matches(401, 5) && !c.matches(401, 6) && !c.matches(401, 0));
        for bad in ["abc", "99", "404.", "500-400", "1000", "404.x-405"] {
            let e = bad.parse::<StatusCodes>().unwrap_err();
            assert_eq!((e.setting(), e.value()), ("statusCodes", bad));
        }
    }

    #[test]
    fn time_taken() {
        assert_eq!(
            parse_time_taken("00:00:30").unwrap(),
            Duration::from_secs(30)
        );
        assert_eq!(
            parse_time_taken("1.02:03:04.5").unwrap(),
            Duration::new(93_784, 500_000_000)
        );
        for bad in ["30", "00:60:00", "a:b:c", "00:00:01.x"] {
            assert_eq!(parse_time_taken(bad).unwrap_err().setting(), "timeTaken");
        }
    }

    #[test]
    fn paths() {
        assert!(Rule::new("*").covers("/a/b"));
        assert!(Rule::new("report.*").covers("/x/REPORT.xyz"));
        assert!(Rule::new("/api/*").covers("/api/v1/x"));
        assert!(!Rule::new("/api/*").covers("/web/api/x"));
        assert!(!Rule::new("*.aspx").covers("/a.aspx/b"));
    }

    #[test]
    fn verbosity_and_areas() {
        let r = Rule::new("*")
            .verbosity(Verbosity::Warning)
            .trace_area(TraceArea::new(WWW_SERVER, Verbosity::Information).areas("Security"));
        assert_eq!(
            r.failure(200, 0, Duration::ZERO, Some(Verbosity::Error)),
            Some(FailureReason::Verbosity)
        );
        assert_eq!(
            r.failure(200, 0, Duration::ZERO, Some(Verbosity::Information)),
            None
        );
        assert!(r.keeps(WWW_SERVER, Some("security"), Verbosity::Warning));
        assert!(!r.keeps(WWW_SERVER, Some("StaticFile"), Verbosity::Warning));
        assert!(!r.keeps(WWW_SERVER, Some("Security"), Verbosity::Verbose));
        assert!(r.keeps("my_app", None, Verbosity::Information));
        assert!(!r.keeps("my_app", None, Verbosity::Verbose));
        assert_eq!(
            Verbosity::parse("verbosity", "warning").unwrap(),
            Verbosity::Warning
        );
        assert!(Verbosity::parse("verbosity", "Loud").is_err());
    }
}
