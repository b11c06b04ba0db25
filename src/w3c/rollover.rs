//! Log file periods and names as IIS writes them, and the clock that drives them.
//!
//! | period | file name | a new file starts |
//! |---|---|---|
//! | [`Period::Hourly`] | `u_exYYMMDDHH.log` | on the hour |
//! | [`Period::Daily`] (default) | `u_exYYMMDD.log` | at midnight |
//! | [`Period::Weekly`] | `u_exYYMMWW.log` | on Sunday at midnight, and on the 1st of a month |
//! | [`Period::Monthly`] | `u_exYYMM.log` | at midnight on the 1st |
//! | [`Period::MaxSize`] | `u_extendN.log` | when the next line would pass the size limit |
//!
//! With custom fields the name gains `_x` before `.log` (`u_ex240101_x.log`), as IIS
//! 8.5 does. Boundaries are in UTC unless local-time rollover is chosen; the `date`
//! and `time` columns are UTC either way.
//!
//! **Local time.** With `W3cLogBuilder::local_time_rollover` (feature `local-time`)
//! the boundaries follow the system time zone (read once, when the layer is built,
//! through `jiff` with only its system-zone and zoneinfo features), so daylight-saving
//! changes move them as they move the wall clock. UTC civil dates are computed by hand.
//!
//! Lines are assigned to files by the time they were finished; a line that finishes
//! a moment before the previous one never sends the writer back to an older file.
//!
//! **Weeks.** `WW` counts weeks within the month: week `01` runs from the 1st to the
//! first Saturday, and every later week starts on a Sunday (the first day of the week
//! in IIS's default, US-English, calendar). A month so has weeks `01` to `05` or `06`,
//! and a week that straddles two months is split into two files.
//!
//! **Size.** `MaxSize` numbers files from `1` without padding (`u_extend1.log`,
//! `u_extend2.log`, …). When the process starts it appends to the highest-numbered
//! file that exists. A file passes the limit only by its header block, or by a single
//! line longer than the limit.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// IIS's default `truncateSize`: 20 MiB.
pub const DEFAULT_TRUNCATE_SIZE: u64 = 20 * 1024 * 1024;
/// IIS's smallest `truncateSize`: 1 MiB. Smaller values are raised to it.
pub const MIN_TRUNCATE_SIZE: u64 = 1024 * 1024;

/// When a new log file starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Period {
    /// One file per hour: `u_exYYMMDDHH.log`.
    Hourly,
    /// One file per day: `u_exYYMMDD.log` (IIS's default).
    #[default]
    Daily,
    /// One file per week of the month: `u_exYYMMWW.log` (see the module docs).
    Weekly,
    /// One file per month: `u_exYYMM.log`.
    Monthly,
    /// A new file when the current one reaches the size limit: `u_extendN.log`.
    MaxSize,
}

/// A source of wall-clock time for the `date`/`time` columns, the `#Date` directive
/// and the choice of file.
///
/// `time-taken` is always measured with the monotonic clock, never with this one.
/// Tests use [`ManualClock`] to cross hour, day, week and month boundaries.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to (share it with `Arc`).
#[derive(Debug)]
pub struct ManualClock {
    micros: AtomicU64,
}

impl ManualClock {
    /// A clock showing `unix_secs` seconds after the Unix epoch.
    #[must_use]
    pub fn new(unix_secs: u64) -> Self {
        Self {
            micros: AtomicU64::new(unix_secs * 1_000_000),
        }
    }

    /// A clock showing a UTC civil time; `None` when a value is out of range.
    #[must_use]
    pub fn at(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<Self> {
        let secs = unix_from_civil(year, month, day, hour, minute, second)?;
        Some(Self::new(u64::try_from(secs).ok()?))
    }

    /// Sets the time to `unix_secs` seconds after the Unix epoch.
    pub fn set(&self, unix_secs: u64) {
        self.micros.store(unix_secs * 1_000_000, Ordering::SeqCst);
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

/// Seconds since the Unix epoch (negative before it).
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A broken-down civil time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i32,
    pub(crate) month: u8,
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    /// 0 = Sunday.
    pub(crate) weekday: u8,
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i32, u8, u8) {
    // Howard Hinnant's algorithm (public domain), with eras of 400 years.
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as u8, d as u8)
}

fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn unix_from_civil(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    if civil_from_days(days) != (y, mo, d) {
        return None;
    }
    Some(days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s))
}

impl Civil {
    pub(crate) fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem % 3600 / 60) as u8,
            second: (rem % 60) as u8,
            // 1970-01-01 was a Thursday (4).
            weekday: (days + 4).rem_euclid(7) as u8,
        }
    }

    /// `YYYY-MM-DD HH:MM:SS`.
    pub(crate) fn write_datetime(&self, out: &mut [u8; 19]) {
        fn two(out: &mut [u8], v: u8) {
            out[0] = b'0' + v / 10;
            out[1] = b'0' + v % 10;
        }
        let y = self.year.clamp(0, 9999) as u16;
        two(&mut out[0..2], (y / 100) as u8);
        two(&mut out[2..4], (y % 100) as u8);
        out[4] = b'-';
        two(&mut out[5..7], self.month);
        out[7] = b'-';
        two(&mut out[8..10], self.day);
        out[10] = b' ';
        two(&mut out[11..13], self.hour);
        out[13] = b':';
        two(&mut out[14..16], self.minute);
        out[16] = b':';
        two(&mut out[17..19], self.second);
    }

    /// Week of the month: 1 for the 1st up to the first Saturday, then +1 each Sunday.
    pub(crate) fn week_of_month(&self) -> u8 {
        let first_weekday = (i32::from(self.weekday) - (i32::from(self.day) - 1)).rem_euclid(7);
        ((i32::from(self.day) - 1 + first_weekday) / 7 + 1) as u8
    }
}

/// Formats a civil date-time as `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn datetime_string(secs: i64) -> String {
    let mut buf = [0u8; 19];
    Civil::from_unix(secs).write_datetime(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// How to turn a UTC instant into the civil time that decides the file.
#[derive(Debug, Clone)]
pub(crate) enum Zone {
    Utc,
    #[cfg(feature = "local-time")]
    Local(jiff::tz::TimeZone),
}

impl Zone {
    /// The system zone (feature `local-time`; UTC without it, where the builder
    /// offers no local-time rollover).
    pub(crate) fn local() -> Self {
        #[cfg(feature = "local-time")]
        return Zone::Local(jiff::tz::TimeZone::system());
        #[cfg(not(feature = "local-time"))]
        Zone::Utc
    }

    /// Seconds to add to a UTC instant to get the civil time used for rollover.
    #[cfg_attr(not(feature = "local-time"), allow(unused_variables))]
    pub(crate) fn offset_secs(&self, unix: i64) -> i64 {
        match self {
            Zone::Utc => 0,
            #[cfg(feature = "local-time")]
            Zone::Local(tz) => match jiff::Timestamp::from_second(unix) {
                Ok(ts) => i64::from(tz.to_offset(ts).seconds()),
                Err(_) => 0,
            },
        }
    }
}

/// How a log's files are named: the W3C log's `u_ex…` names (with `_x` when it has
/// custom fields), or http.sys's `httperrN.log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Naming {
    W3c { custom: bool },
    HttpErr,
}

impl From<bool> for Naming {
    fn from(custom: bool) -> Self {
        Naming::W3c { custom }
    }
}

impl Naming {
    fn custom(self) -> bool {
        matches!(self, Naming::W3c { custom: true })
    }

    fn size_stem(self) -> &'static str {
        match self {
            Naming::W3c { .. } => "u_extend",
            Naming::HttpErr => "httperr",
        }
    }
}

/// The file name of a time-based period for a civil time (`None` for `MaxSize`).
pub(crate) fn period_name(period: Period, c: &Civil, naming: impl Into<Naming>) -> Option<String> {
    let custom = naming.into().custom();
    let yy = c.year.rem_euclid(100);
    let stem = match period {
        Period::Hourly => format!("u_ex{yy:02}{:02}{:02}{:02}", c.month, c.day, c.hour),
        Period::Daily => format!("u_ex{yy:02}{:02}{:02}", c.month, c.day),
        Period::Weekly => format!("u_ex{yy:02}{:02}{:02}", c.month, c.week_of_month()),
        Period::Monthly => format!("u_ex{yy:02}{:02}", c.month),
        Period::MaxSize => return None,
    };
    Some(with_suffix(stem, custom))
}

/// `u_extendN.log` (or `u_extendN_x.log`, or `httperrN.log`).
pub(crate) fn size_name(n: u64, naming: impl Into<Naming>) -> String {
    let naming = naming.into();
    with_suffix(format!("{}{n}", naming.size_stem()), naming.custom())
}

fn with_suffix(mut stem: String, custom: bool) -> String {
    if custom {
        stem.push_str("_x");
    }
    stem.push_str(".log");
    stem
}

/// The number `N` of a `u_extendN.log` name written with these options.
pub(crate) fn parse_size_name(name: &str, naming: impl Into<Naming>) -> Option<u64> {
    let naming = naming.into();
    let custom = naming.custom();
    let rest = name.strip_prefix(naming.size_stem())?;
    let rest = rest.strip_suffix(".log")?;
    let digits = if custom {
        rest.strip_suffix("_x")?
    } else {
        rest
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `name` is a file this period and field set would write (used by retention).
pub(crate) fn is_own_name(period: Period, name: &str, naming: impl Into<Naming>) -> bool {
    let naming = naming.into();
    if period == Period::MaxSize {
        return parse_size_name(name, naming).is_some();
    }
    let custom = naming.custom();
    let digits = match period {
        Period::Hourly => 8,
        Period::Daily | Period::Weekly => 6,
        Period::Monthly => 4,
        Period::MaxSize => unreachable!(),
    };
    let Some(rest) = name
        .strip_prefix("u_ex")
        .and_then(|r| r.strip_suffix(".log"))
    else {
        return false;
    };
    let rest = if custom {
        match rest.strip_suffix("_x") {
            Some(r) => r,
            None => return false,
        }
    } else {
        rest
    };
    rest.len() == digits && rest.bytes().all(|b| b.is_ascii_digit())
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Period::Hourly => "Hourly",
            Period::Daily => "Daily",
            Period::Weekly => "Weekly",
            Period::Monthly => "Monthly",
            Period::MaxSize => "MaxSize",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(y: i32, mo: u8, d: u8, h: u8) -> Civil {
        Civil::from_unix(unix_from_civil(y, mo, d, h, 0, 0).unwrap())
    }

    #[test]
    fn civil_dates_round_trip() {
        let c = Civil::from_unix(0);
        assert_eq!((c.year, c.month, c.day, c.weekday), (1970, 1, 1, 4));
        let c = Civil::from_unix(1_704_067_199); // 2023-12-31 23:59:59
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2023, 12, 31, 23, 59, 59)
        );
        assert_eq!(datetime_string(951_825_600), "2000-02-29 12:00:00");
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(unix_from_civil(2023, 2, 29, 0, 0, 0), None);
    }

    #[test]
    fn names_per_period() {
        let c = civil(2024, 3, 9, 7);
        assert_eq!(
            period_name(Period::Hourly, &c, false).unwrap(),
            "u_ex24030907.log"
        );
        assert_eq!(
            period_name(Period::Daily, &c, false).unwrap(),
            "u_ex240309.log"
        );
        assert_eq!(
            period_name(Period::Daily, &c, true).unwrap(),
            "u_ex240309_x.log"
        );
        assert_eq!(
            period_name(Period::Monthly, &c, false).unwrap(),
            "u_ex2403.log"
        );
        // March 2024 starts on a Friday: 1-2 week 1, 3-9 week 2.
        assert_eq!(
            period_name(Period::Weekly, &c, false).unwrap(),
            "u_ex240302.log"
        );
        assert_eq!(period_name(Period::MaxSize, &c, false), None);
        assert_eq!(size_name(3, false), "u_extend3.log");
        assert_eq!(size_name(12, true), "u_extend12_x.log");
    }

    #[test]
    fn weeks_of_month() {
        // 2024-03: Fri 1, Sat 2, Sun 3 ... Sun 31.
        let weeks: Vec<u8> = (1..=31)
            .map(|d| civil(2024, 3, d, 0).week_of_month())
            .collect();
        assert_eq!(&weeks[..3], &[1, 1, 2]);
        assert_eq!(weeks[8], 2); // Sat 9
        assert_eq!(weeks[9], 3); // Sun 10
        assert_eq!(weeks[30], 6); // Sun 31
                                  // 2023-10 starts on a Sunday.
        assert_eq!(civil(2023, 10, 1, 0).week_of_month(), 1);
        assert_eq!(civil(2023, 10, 7, 0).week_of_month(), 1);
        assert_eq!(civil(2023, 10, 8, 0).week_of_month(), 2);
    }

    #[test]
    fn own_names() {
        assert!(is_own_name(Period::Daily, "u_ex240309.log", false));
        assert!(!is_own_name(Period::Daily, "u_ex240309_x.log", false));
        assert!(is_own_name(Period::Daily, "u_ex240309_x.log", true));
        assert!(!is_own_name(Period::Daily, "u_ex24030907.log", false));
        assert!(is_own_name(Period::Hourly, "u_ex24030907.log", false));
        assert!(is_own_name(Period::MaxSize, "u_extend7.log", false));
        assert!(!is_own_name(Period::MaxSize, "u_extend.log", false));
        assert_eq!(parse_size_name("u_extend42_x.log", true), Some(42));
        assert_eq!(parse_size_name("u_extend42.log", true), None);
    }

    #[test]
    fn manual_clock() {
        let clock = ManualClock::at(2024, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            datetime_string(unix_secs(clock.now())),
            "2024-01-01 00:00:00"
        );
        clock.advance(Duration::from_secs(3601));
        assert_eq!(
            datetime_string(unix_secs(clock.now())),
            "2024-01-01 01:00:01"
        );
    }
}
