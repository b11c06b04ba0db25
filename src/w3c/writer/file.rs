//! Log files: IIS's names per period or size, opening with a header block,
//! rollover and retention.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use super::sink::{whole_lines, write_counted};
use super::{Counters, LineFormat};
use crate::w3c::rollover::{
    is_own_name, parse_size_name, period_name, size_name, Civil, Naming, Period, Zone,
};

/// File options taken from the builder.
#[derive(Debug, Clone)]
pub(crate) struct FileOptions {
    pub(crate) site_dir: PathBuf,
    pub(crate) period: Period,
    pub(crate) local_time: bool,
    pub(crate) truncate_size: u64,
    pub(crate) retain: Option<usize>,
}

/// Cuts a last line that has no line end (a write that stopped part-way: a full
/// disk, a crash), so what is appended next starts on a line of its own. Returns
/// the bytes cut.
fn cut_torn_tail(file: &mut File) -> io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let meta = file.metadata()?;
    let len = meta.len();
    if len == 0 || !meta.is_file() {
        return Ok(0);
    }
    let mut block = [0u8; 4096];
    let mut end = len;
    loop {
        let start = end.saturating_sub(block.len() as u64);
        let chunk = &mut block[..usize::try_from(end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if end == len && chunk.last() == Some(&b'\n') {
            return Ok(0);
        }
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            file.set_len(keep)?;
            return Ok(len - keep);
        }
        if start == 0 {
            file.set_len(0)?;
            return Ok(len);
        }
        end = start;
    }
}

/// Refuses a file that is not a log of ours: not a regular file, a file with
/// other names (hard links), or one that does not start with a header block.
fn check_ours(file: &mut File, path: &Path) -> io::Result<()> {
    use std::io::Read;
    let meta = file.metadata()?;
    let refuse = |why: &str| {
        Err(io::Error::other(format!(
            "{} {why}; the W3C log writes only to files of its own",
            path.display()
        )))
    };
    if !meta.is_file() {
        return refuse("is not a regular file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            return refuse("has other hard links");
        }
    }
    if meta.len() > 0 {
        let mut start = [0u8; 10];
        let n = file.read(&mut start)?;
        if !b"#Software:".starts_with(&start[..n]) || n == 0 {
            return refuse("does not start with a W3C header block");
        }
    }
    Ok(())
}

/// Cuts a header block that lost its end (a `#Software`, `#Version` or `#Date` line
/// at the end of the file with no `#Fields` after it): a fresh block follows, and
/// a block without its `#Fields` only confuses readers. Returns the bytes cut.
fn cut_dangling_header(file: &mut File) -> io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    // A header block is a few hundred bytes; 4 KiB holds any cut one.
    let start = len.saturating_sub(4096);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(start))?;
    file.take(len - start).read_to_end(&mut tail)?;
    let mut keep = tail.len();
    while keep > 0 {
        let line_start = tail[..keep - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        if line_start == 0 && start > 0 {
            break;
        }
        let line = &tail[line_start..keep];
        if line.first() != Some(&b'#') || line.starts_with(b"#Fields:") {
            break;
        }
        keep = line_start;
    }
    let cut = (tail.len() - keep) as u64;
    if cut > 0 {
        file.set_len(len - cut)?;
    }
    Ok(cut)
}

/// The file side of the writer: which file, its size, the open handle.
pub(super) struct FileOutput {
    opts: FileOptions,
    custom: Naming,
    zone: Zone,
    /// The key (time-based) or number (size-based) of the current file.
    key: Option<u64>,
    /// The name the next line goes to, decided by `select`.
    next: Option<(u64, String)>,
    name: Option<String>,
    pub(super) file: Option<File>,
    #[cfg(unix)]
    ino: Option<(u64, u64)>,
    /// Bytes in the file plus bytes buffered for it.
    pub(super) size: u64,
    header_len: u64,
    retained_once: bool,
    /// The thread that deletes old files, started at the first deletion.
    janitor: Option<Box<Janitor>>,
    /// The current file's name, as the deleting thread reads it.
    current: Option<Arc<Mutex<String>>>,
    /// The latest line time seen (time-based periods).
    latest: i64,
    /// The second whose lines are known to belong to the current file.
    checked: i64,
}

impl FileOutput {
    pub(super) fn new(opts: FileOptions, custom: Naming) -> Self {
        let zone = if opts.local_time {
            Zone::local()
        } else {
            Zone::Utc
        };
        FileOutput {
            opts,
            custom,
            zone,
            key: None,
            next: None,
            name: None,
            file: None,
            #[cfg(unix)]
            ino: None,
            size: 0,
            header_len: 0,
            retained_once: false,
            janitor: None,
            current: None,
            latest: i64::MIN,
            checked: i64::MIN,
        }
    }

    pub(super) fn path(&self) -> Option<PathBuf> {
        self.name.as_ref().map(|n| self.opts.site_dir.join(n))
    }

    /// Decides the file for a line at `unix` of `len` bytes. Returns true when it is
    /// not the current file (then call `switch` after writing out the buffer).
    #[inline]
    pub(super) fn select(&mut self, unix: i64, len: u64, fmt: &LineFormat) -> bool {
        if self.header_len == 0 {
            self.header_len = fmt.header_block("0000-00-00 00:00:00").len() as u64;
        }
        if self.opts.period == Period::MaxSize {
            let limit = self.opts.truncate_size;
            let n = match self.key {
                None => {
                    let (n, existing) = self.latest_size_file();
                    if existing > 0 && existing + self.header_len + len > limit {
                        n + 1
                    } else {
                        n
                    }
                }
                Some(n) => {
                    // Roll only a file that holds lines already.
                    if self.size > self.header_len && self.size + len > limit {
                        n + 1
                    } else {
                        return false;
                    }
                }
            };
            let name = size_name(n, self.custom);
            self.size = self.existing_len(&name) + self.header_len;
            self.next = Some((n, name));
            return true;
        }
        // Lines finish slightly out of order; never go back to an earlier file.
        let unix = unix.max(self.latest);
        self.latest = unix;
        // Most lines fall in the second of the line before: no calendar work.
        if self.key.is_some() && unix == self.checked {
            return false;
        }
        let local = unix + self.zone.offset_secs(unix);
        let c = Civil::from_unix(local);
        let month = u64::from(c.year.max(0).unsigned_abs()) * 100 + u64::from(c.month);
        let key = match self.opts.period {
            Period::Hourly => (month * 100 + u64::from(c.day)) * 100 + u64::from(c.hour),
            Period::Daily => month * 100 + u64::from(c.day),
            Period::Weekly => month * 100 + u64::from(c.week_of_month()),
            _ => month,
        };
        if self.key == Some(key) {
            self.checked = unix;
            return false;
        }
        let name = period_name(self.opts.period, &c, self.custom).unwrap_or_default();
        self.size = self.existing_len(&name) + self.header_len;
        self.next = Some((key, name));
        true
    }

    fn existing_len(&self, name: &str) -> u64 {
        fs::metadata(self.opts.site_dir.join(name)).map_or(0, |m| m.len())
    }

    pub(super) fn switch(&mut self) {
        if let Some((key, name)) = self.next.take() {
            self.key = Some(key);
            self.name = Some(name);
            self.file = None;
            self.retain();
        }
    }

    /// The highest `u_extendN.log` and its size, or `(1, 0)`.
    fn latest_size_file(&self) -> (u64, u64) {
        let mut best: Option<(u64, u64)> = None;
        if let Ok(dir) = fs::read_dir(&self.opts.site_dir) {
            for entry in dir.flatten() {
                let name = entry.file_name();
                if let Some(n) = name.to_str().and_then(|s| parse_size_name(s, self.custom)) {
                    if best.is_none_or(|(b, _)| n > b) {
                        let len = entry.metadata().map_or(0, |m| m.len());
                        best = Some((n, len));
                    }
                }
            }
        }
        best.unwrap_or((1, 0))
    }

    /// Deletes the oldest of our files beyond the retention count (the current file
    /// counts as one), on the janitor's thread.
    fn retain(&mut self) {
        let Some(keep) = self.opts.retain else { return };
        self.retained_once = true;
        // A pass that runs late must still spare the file written now, not the one
        // that was current when it was asked for.
        let current = self.current.get_or_insert_with(Default::default);
        *current.lock().unwrap_or_else(PoisonError::into_inner) =
            self.name.clone().unwrap_or_default();
        let job = Prune {
            site_dir: self.opts.site_dir.clone(),
            period: self.opts.period,
            naming: self.custom,
            keep,
            current: current.clone(),
        };
        if self.janitor.is_none() {
            self.janitor = Janitor::start().map(Box::new);
        }
        match &self.janitor {
            Some(janitor) => janitor.send(job),
            // No thread to be had: deleted here.
            None => job.run(),
        }
    }

    fn still_ours(&self, path: &Path) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            match fs::symlink_metadata(path) {
                Ok(m) => self.ino == Some((m.dev(), m.ino())),
                Err(_) => false,
            }
        }
        #[cfg(not(unix))]
        {
            path.exists()
        }
    }

    /// Opens (or creates) a log file: never through a symbolic link, and only a
    /// regular file; anything else is refused before a byte of it is touched.
    fn open(&mut self, path: &Path) -> io::Result<File> {
        fs::create_dir_all(&self.opts.site_dir)?;
        let mut opts = OpenOptions::new();
        opts.read(true).create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // O_NONBLOCK: opening a FIFO must not wait for a reader (it is refused
            // just below); it changes nothing for a regular file.
            opts.mode(0o640)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
        }
        let mut file = opts.open(path).map_err(|e| {
            #[cfg(unix)]
            if e.raw_os_error() == Some(libc::ELOOP) {
                return io::Error::other(format!(
                    "{} is a symbolic link; the W3C log does not follow links",
                    path.display()
                ));
            }
            e
        })?;
        check_ours(&mut file, path)?;
        let cut = cut_torn_tail(&mut file)? + cut_dangling_header(&mut file)?;
        if cut > 0 {
            tracing::warn!(target: "tower_iis::w3c", file = %path.display(), bytes = cut, "cut an unfinished last line from the W3C log file");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = file.metadata()?;
            self.ino = Some((m.dev(), m.ino()));
        }
        Ok(file)
    }

    /// Writes the buffer to the current file, opening it (with a header block)
    /// when needed. After a failure the file is closed; the lines written whole
    /// are dropped from the buffer, the rest is kept for the next try, and the
    /// line cut part-way is cut from the file when it is opened again.
    pub(super) fn write(
        &mut self,
        buf: &mut Vec<u8>,
        header: impl FnOnce() -> String,
        counters: &Counters,
    ) -> io::Result<()> {
        let Some(path) = self.path() else {
            return Ok(());
        };
        if buf.is_empty() && self.file.is_none() {
            return Ok(());
        }
        if self.file.is_some() && !self.still_ours(&path) {
            tracing::warn!(target: "tower_iis::w3c", file = %path.display(), "the W3C log file was removed or moved; reopening it");
            self.file = None;
        }
        if self.file.is_none() {
            let mut file = self.open(&path)?;
            counters.files.fetch_add(1, Ordering::Relaxed);
            write_counted(&mut file, header().as_bytes()).1?;
            self.file = Some(file);
            if !self.retained_once {
                self.retain();
            }
        }
        let file = self.file.as_mut().expect("opened above");
        let (n, r) = write_counted(file, buf);
        let r = r.and_then(|()| file.flush());
        if r.is_err() {
            buf.drain(..whole_lines(buf, n));
            self.file = None;
        }
        r
    }
}

/// Deleting old files, one retention pass: what [`FileOutput::retain`] hands over.
#[derive(Debug)]
struct Prune {
    site_dir: PathBuf,
    period: Period,
    naming: Naming,
    keep: usize,
    /// The file being written when the pass runs: never deleted.
    current: Arc<Mutex<String>>,
}

impl Prune {
    /// Deletes the oldest of our files beyond `keep`, the current one counted.
    fn run(self) {
        let Ok(dir) = fs::read_dir(&self.site_dir) else {
            return;
        };
        let current = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut others: Vec<(u64, String)> = dir
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| *n != current && is_own_name(self.period, n, self.naming))
            .map(|n| (parse_size_name(&n, self.naming).unwrap_or(0), n))
            .collect();
        others.sort();
        let excess = others.len().saturating_sub(self.keep.saturating_sub(1));
        for (_, name) in others.into_iter().take(excess) {
            let path = self.site_dir.join(&name);
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(target: "tower_iis::w3c", error = %e, file = %path.display(), "could not delete an old W3C log file");
            }
        }
    }
}

/// A thread of its own for deleting old files. Unlinking a file frees its page
/// cache, and with large files that is a noticeable part of a busy writer's time
/// (about 7 % with 64 MiB files, BENCHMARKS.md). Lines never wait for it.
/// Dropped with the writer, it finishes what it was given first.
#[derive(Debug)]
struct Janitor {
    jobs: Option<std::sync::mpsc::Sender<Prune>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Janitor {
    /// The thread, or `None` when the system has none to give.
    fn start() -> Option<Self> {
        let (jobs, rx) = std::sync::mpsc::channel::<Prune>();
        let thread = std::thread::Builder::new()
            .name("w3c-log-retain".into())
            .spawn(move || rx.into_iter().for_each(Prune::run))
            .map_err(|e| tracing::warn!(target: "tower_iis::w3c", error = %e, "no thread for deleting old W3C log files: the writer deletes them"))
            .ok()?;
        Some(Janitor {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    fn send(&self, job: Prune) {
        if let Some(jobs) = &self.jobs {
            // The thread only ends when the channel closes, in `drop`.
            if let Err(std::sync::mpsc::SendError(job)) = jobs.send(job) {
                job.run();
            }
        }
    }
}

impl Drop for Janitor {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pass that runs after newer files were started keeps the newest ones:
    /// it reads the current file when it runs, not when it was asked for.
    #[test]
    fn a_late_pass_spares_the_newest_files() {
        let dir = std::env::temp_dir().join(format!("tower-iis-prune-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for hour in 0..5 {
            fs::write(dir.join(format!("u_ex240101{hour:02}.log")), "#\r\n").unwrap();
        }
        fs::write(dir.join("notes.txt"), "not a log").unwrap();
        let current = Arc::new(Mutex::new("u_ex24010102.log".to_owned()));
        let pass = |current: &Arc<Mutex<String>>| Prune {
            site_dir: dir.clone(),
            period: Period::Hourly,
            naming: Naming::W3c { custom: false },
            keep: 2,
            current: current.clone(),
        };
        let asked_at_two = pass(&current);
        // Hours 03 and 04 start before the pass asked for at 02 runs.
        *current.lock().unwrap() = "u_ex24010104.log".to_owned();
        asked_at_two.run();
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["notes.txt", "u_ex24010103.log", "u_ex24010104.log"]);
        let _ = fs::remove_dir_all(&dir);
    }
}
