//! The W3C log reader on what real IIS log files hold: torn last lines, files with no
//! header block, Windows-1252 bytes, malformed lines, extra trailing values, a file
//! still being written, and logs far larger than memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tower_iis::w3c::reader::{self, Follow, Item, ReadError, Reader, SkipReason, Skipped};

/// Counts live heap bytes and their high-water mark, to show the reader streams.
struct Live;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

const FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

fn items(text: &[u8]) -> (Vec<reader::Entry>, Vec<Skipped>) {
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for item in Reader::new(text) {
        match item.unwrap() {
            Item::Entry(e) => entries.push(e),
            Item::Skipped(s) => skipped.push(s),
            _ => {}
        }
    }
    (entries, skipped)
}

#[test]
fn torn_last_line_is_skipped_and_reported() {
    let text = format!(
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n\
         #Date: 2024-05-01 10:00:00\r\n#Fields: {FIELDS}\r\n\
         2024-05-01 10:00:00 10.0.0.1 GET /a.html - 80 - 10.0.0.9 curl/8.0 - 200 0 0 3\r\n\
         2024-05-01 10:00:01 10.0.0.1 GET /b.html - 80 - 10.0.0.9 curl/8.0 - 404 0 2 1\r\n\
         2024-05-01 10:00:02 10.0.0.1 GET /c.ht"
    );
    let (entries, skipped) = items(text.as_bytes());
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].get("cs-uri-stem"), Some("/b.html"));
    assert_eq!(
        skipped,
        [Skipped {
            line: 7,
            reason: SkipReason::Torn
        }]
    );
    assert_eq!(
        skipped[0].to_string(),
        "line 7 skipped: the last line has no line end"
    );

    // A torn line that happens to have every column is still torn: IIS ends every
    // line it writes with CRLF.
    let whole_but_torn = format!(
        "#Fields: {FIELDS}\r\n2024-05-01 10:00:00 10.0.0.1 GET /a - 80 - 10.0.0.9 x - 200 0 0 3"
    );
    let (entries, skipped) = items(whole_but_torn.as_bytes());
    assert!(entries.is_empty());
    assert_eq!(skipped[0].reason, SkipReason::Torn);
}

#[test]
fn malformed_lines_are_reported_and_reading_goes_on() {
    let text = "2024-05-01 10:00:00 orphan\r\n\
                #Fields: date time cs-uri-stem sc-status\r\n\
                2024-05-01 10:00:00 /a 200\r\n\
                2024-05-01 10:00:01 /b\r\n\
                garbage\r\n\
                2024-05-01 10:00:02 /c 301 trailing-1 trailing-2\r\n\
                2024-05-01 10:00:03 /d 404\r\n";
    let (entries, skipped) = items(text.as_bytes());
    let stems: Vec<_> = entries
        .iter()
        .map(|e| e.get("cs-uri-stem").unwrap())
        .collect();
    assert_eq!(stems, ["/a", "/c", "/d"]);
    assert_eq!(
        skipped,
        [
            Skipped {
                line: 1,
                reason: SkipReason::NoFields
            },
            Skipped {
                line: 4,
                reason: SkipReason::ColumnCount {
                    expected: 4,
                    found: 3
                }
            },
            Skipped {
                line: 5,
                reason: SkipReason::ColumnCount {
                    expected: 4,
                    found: 1
                }
            },
        ]
    );
    // Extra trailing values are kept, apart from the named ones.
    assert_eq!(
        entries[1].values().collect::<Vec<_>>(),
        ["2024-05-01", "10:00:02", "/c", "301"]
    );
    assert_eq!(
        entries[1].extra().collect::<Vec<_>>(),
        ["trailing-1", "trailing-2"]
    );
    assert_eq!(entries[1].status(), Some(301));
    assert_eq!(entries[2].extra().len(), 0);
    assert_eq!(entries[2].line(), 7);

    // The strict reader refuses the same file at its first bad line.
    let err = reader::parse(text).unwrap_err();
    assert!(matches!(err, ReadError::NoFields { line: 1 }), "{err}");
}

/// The shape of Filebeat's `test-x-forward-for-extended.log`: no header block, IIS's
/// 15 default fields and a trailing X-Forwarded-For value, cookies with `;+`.
#[test]
fn headerless_file_with_caller_fields() {
    let text = "2018-08-28 18:24:25 10.0.0.4 GET /fr/ - 80 - 10.0.0.2 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36 https://example.com/search?q=a+b 200 0 0 7 190.104.11.22\r\n\
                2018-08-28 18:24:26 10.0.0.4 POST /api/cart id=3&colour=dark+blue 443 DOMAIN\\jane+doe 10.0.0.2 - - 302 0 0 12 190.104.11.22\r\n";
    let mut reader = Reader::with_fields(text.as_bytes(), FIELDS.split(' '));
    let Some(Ok(Item::Entry(first))) = reader.next() else {
        panic!("an entry")
    };
    let Some(Ok(Item::Entry(second))) = reader.next() else {
        panic!("an entry")
    };
    assert!(reader.next().is_none());
    assert_eq!(first.fields().len(), 15);
    assert_eq!(first.get("c-ip"), Some("10.0.0.2"));
    assert_eq!(first.time_taken(), Some(7));
    assert_eq!(first.extra().collect::<Vec<_>>(), ["190.104.11.22"]);
    assert_eq!(
        first.user_agent().as_deref(),
        Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36")
    );
    assert_eq!(
        first.referer().as_deref(),
        Some("https://example.com/search?q=a b")
    );
    assert_eq!(first.query(), None);
    assert_eq!(second.username().as_deref(), Some("DOMAIN\\jane doe"));
    assert_eq!(second.query().as_deref(), Some("id=3&colour=dark blue"));
    assert_eq!(
        second.get("cs-uri-query"),
        Some("id=3&colour=dark+blue"),
        "raw value kept"
    );
    assert_eq!(second.referer(), None);

    // A #Fields directive later in the file takes over from the given fields.
    let text = "2018-08-28 18:24:25 /a\n#Fields: date time sc-status\n2018-08-28 18:24:26 500\n";
    let all: Vec<_> = Reader::with_fields(text.as_bytes(), ["date", "time", "cs-uri-stem"])
        .map(Result::unwrap)
        .collect();
    assert!(matches!(&all[0], Item::Entry(e) if e.get("cs-uri-stem") == Some("/a")));
    assert!(matches!(&all[1], Item::Header(h) if h.fields.len() == 3 && h.line == 2));
    assert!(
        matches!(&all[2], Item::Entry(e) if e.status() == Some(500) && e.get("cs-uri-stem").is_none())
    );
}

/// A log written with `logInUTF8="false"` on a Western-European Windows: Windows-1252.
#[test]
fn windows_1252_bytes_are_read_not_rejected() {
    let mut text = format!("#Fields: {FIELDS}\r\n").into_bytes();
    text.extend_from_slice(
        b"2024-05-01 10:00:00 10.0.0.1 GET /caf\xe9/men\xfc.html - 80 - 10.0.0.9 Agent\x99 - 200 0 0 3\r\n",
    );
    text.extend_from_slice(
        "2024-05-01 10:00:01 10.0.0.1 GET /café - 80 - 10.0.0.9 x - 200 0 0 3\r\n".as_bytes(),
    );
    let (entries, skipped) = items(&text);
    assert!(skipped.is_empty());
    assert_eq!(entries[0].get("cs-uri-stem"), Some("/café/menü.html"));
    assert_eq!(entries[0].get("cs(User-Agent)"), Some("Agent™"));
    // A UTF-8 line next to it stays UTF-8.
    assert_eq!(entries[1].get("cs-uri-stem"), Some("/café"));
    // The strict reader reads it the same way.
    let log = reader::read(&text[..]).unwrap();
    assert_eq!(log.entries[0].get("cs-uri-stem"), Some("/café/menü.html"));
}

#[test]
fn read_file_and_open_name_the_file() {
    let dir = std::env::temp_dir().join(format!("tower-iis-reader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("u_ex990101.log");
    let err = reader::read_file(&missing).unwrap_err();
    assert!(
        err.to_string().starts_with(&missing.display().to_string()),
        "{err}"
    );
    assert!(
        matches!(&err, ReadError::File { path, source } if path == &missing && matches!(**source, ReadError::Io(_)))
    );
    let err = reader::open(&missing).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("u_ex990101.log"), "{err}");

    let bad = dir.join("u_ex990102.log");
    std::fs::write(&bad, "#Fields: date time\r\n2024-01-01\r\n").unwrap();
    let err = reader::read_file(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: line 2 has 1 values, #Fields names 2", bad.display())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file IIS is still writing: what is complete is read; a torn line waits for its end.
#[test]
fn follow_a_growing_file() {
    let dir = std::env::temp_dir().join(format!("tower-iis-follow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("u_ex240501.log");
    let mut file = std::fs::File::create(&path).unwrap();
    write!(file, "#Fields: date time cs-uri-stem sc-status\r\n2024-05-01 10:00:00 /a 200\r\n2024-05-01 10:00:01 /b").unwrap();
    file.flush().unwrap();

    let mut follow = Follow::open(&path)
        .unwrap()
        .poll_interval(Duration::from_millis(10));
    assert!(matches!(follow.try_next().unwrap(), Some(Item::Header(_))));
    let Some(Item::Entry(a)) = follow.try_next().unwrap() else {
        panic!()
    };
    assert_eq!(a.get("cs-uri-stem"), Some("/a"));
    assert_eq!(
        follow.try_next().unwrap(),
        None,
        "the torn line is held, not reported"
    );

    write!(file, "/x.html 404\r\n").unwrap();
    file.flush().unwrap();
    let Some(Item::Entry(b)) = follow.try_next().unwrap() else {
        panic!()
    };
    assert_eq!(b.get("cs-uri-stem"), Some("/b/x.html"));
    assert_eq!(b.line(), 3);

    // The blocking iterator waits for the next line written from another thread.
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        write!(file, "2024-05-01 10:00:02 /c 500\r\n").unwrap();
        file.flush().unwrap();
    });
    let Some(Ok(Item::Entry(c))) = follow.next() else {
        panic!()
    };
    assert_eq!(c.status(), Some(500));
    writer.join().unwrap();

    // Truncated (or replaced by a shorter file): read again from the top.
    std::fs::write(&path, "#Fields: sc-status\r\n201\r\n").unwrap();
    assert!(matches!(follow.try_next().unwrap(), Some(Item::Header(h)) if h.line == 1));
    let Some(Item::Entry(d)) = follow.try_next().unwrap() else {
        panic!()
    };
    assert_eq!(d.status(), Some(201));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A log generated on the fly, `lines` entries with a header block every 10 000.
struct Generated {
    lines: u64,
    next: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Generated {
    fn new(lines: u64) -> Self {
        Generated {
            lines,
            next: 0,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            if self.next == self.lines {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            let n = self.next;
            if n.is_multiple_of(10_000) {
                write!(
                    self.buf,
                    "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2024-05-01 10:00:00\r\n#Fields: {FIELDS}\r\n"
                )?;
            }
            write!(
                self.buf,
                "2024-05-01 10:{:02}:{:02} 10.0.0.1 GET /shop/products/item{}.aspx id={}&colour=blue 443 - 203.0.113.{} Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/124.0 https://www.example.com/shop/ {} 0 0 {}\r\n",
                n / 60 % 60,
                n % 60,
                n % 977,
                n,
                n % 250,
                [200, 200, 304, 404][(n % 4) as usize],
                n % 1000
            )?;
            self.next += 1;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn count<R: io::BufRead>(reader: Reader<R>) -> (u64, u64, u64) {
    let (mut entries, mut headers, mut not_found) = (0, 0, 0);
    for item in reader {
        match item.unwrap() {
            Item::Entry(e) => {
                entries += 1;
                not_found += u64::from(e.status() == Some(404));
            }
            Item::Header(_) => headers += 1,
            Item::Skipped(s) => panic!("{s}"),
            _ => {}
        }
    }
    (entries, headers, not_found)
}

/// A bounded run (about 6 MB) of the streaming reader: the heap stays flat.
#[test]
fn generated_log_in_constant_memory() {
    const LINES: u64 = 30_000;
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let (entries, headers, not_found) =
        count(Reader::new(io::BufReader::new(Generated::new(LINES))));
    assert_eq!((entries, headers, not_found), (LINES, 3, LINES / 4));
    let grown = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    // The BufReader's 8 KiB, one line and one entry; other tests running alongside
    // allocate too, so the bound leaves room for them but not for the 6 MB read.
    assert!(grown < 1 << 20, "heap grew by {grown} bytes");
}

/// The 1 GB figure for BENCHMARKS.md: writes a generated log of about 1 GB to a
/// temporary file, streams it through the reader and prints the time and the
/// process's peak resident memory. Run with
/// `cargo test --release --all-features --test reader -- --ignored --nocapture`.
#[test]
#[ignore = "writes and reads 1 GB (about a minute in release)"]
fn one_gigabyte_log() {
    let dir = std::env::temp_dir().join(format!("tower-iis-1g-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("u_ex240501.log");
    let lines = 5_000_000;
    {
        let mut out = io::BufWriter::new(std::fs::File::create(&path).unwrap());
        io::copy(&mut Generated::new(lines), &mut out).unwrap();
        out.flush().unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    let rss_before = peak_rss_kib();
    let report = |what: &str, took: Duration, entries: u64| {
        println!(
            "{what}: {:.2} GB, {entries} entries in {:.2} s ({:.0} MB/s, {:.2} M lines/s); peak RSS {} KiB (before: {rss_before} KiB); heap high-water {} KiB",
            size as f64 / 1e9,
            took.as_secs_f64(),
            size as f64 / 1e6 / took.as_secs_f64(),
            entries as f64 / 1e6 / took.as_secs_f64(),
            peak_rss_kib(),
            PEAK.load(Ordering::Relaxed) / 1024,
        );
    };
    // The reader alone: the same lines generated in memory, no disk.
    let start = Instant::now();
    let (entries, _, _) = count(Reader::new(io::BufReader::new(Generated::new(lines))));
    report("generated in memory", start.elapsed(), entries);
    let start = Instant::now();
    let (entries, _, _) = count(reader::open(&path).unwrap());
    assert_eq!(entries, lines);
    report("from the file", start.elapsed(), entries);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
