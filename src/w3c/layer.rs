//! [`W3cLogLayer`] and its builder.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::fields::{
    check_custom_name, duplicate_field, invalid_custom_name, CustomField, CustomSource, FieldSet,
};
use super::pending::{Shared, WallClock};
use super::record::{LineFormat, LogKind};
use super::rollover::{Clock, Period, SystemClock, DEFAULT_TRUNCATE_SIZE, MIN_TRUNCATE_SIZE};
use super::service::W3cLog;
use super::writer::{self, FileOptions, QueueFull, Sink, SinkKind, W3cLogGuard, W3cLogHandle};
use crate::ConfigError;

/// The largest [`queue_capacity`](W3cLogBuilder::queue_capacity): about a million
/// finished requests waiting for the writer (a few tens of MB of slots).
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// Writes one W3C extended log line per request, as IIS does. Put it outermost.
///
/// Build it with [`W3cLogLayer::builder`]; see the [module docs](super) for an
/// example and for what each column holds.
#[derive(Debug, Clone)]
#[must_use]
pub struct W3cLogLayer {
    shared: Arc<Shared>,
}

impl W3cLogLayer {
    /// A builder with IIS's defaults: the 15 default fields, site 1, daily files in
    /// `./logs/W3SVC1/`, a 1 s flush interval.
    pub fn builder() -> W3cLogBuilder {
        W3cLogBuilder::default()
    }

    /// A handle to flush the log and read its counters.
    #[must_use]
    pub fn handle(&self) -> W3cLogHandle {
        self.shared.queue.handle()
    }
}

impl<S> Layer<S> for W3cLogLayer {
    type Service = W3cLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        W3cLog::new(inner, self.shared.clone())
    }
}

enum FieldSpec {
    Set(FieldSet),
    Names(Vec<String>),
}

/// Configures a [`W3cLogLayer`]. Nothing is checked until [`build`](Self::build).
#[must_use]
pub struct W3cLogBuilder {
    sink: Option<Sink>,
    site_id: u32,
    period: Period,
    local_time: bool,
    truncate_size: u64,
    retain: Option<usize>,
    fields: FieldSpec,
    custom: Vec<CustomField>,
    clock: Arc<dyn Clock>,
    /// [`clock`](W3cLogBuilder::clock) was called: lines read that clock, not the
    /// system's.
    custom_clock: bool,
    flush_interval: Duration,
    queue_capacity: usize,
    on_full: QueueFull,
    queue_wait: Duration,
    also_tracing: bool,
    computer_name: Option<String>,
    shutdown_timeout: Duration,
}

impl Default for W3cLogBuilder {
    fn default() -> Self {
        W3cLogBuilder {
            sink: None,
            site_id: 1,
            period: Period::Daily,
            local_time: false,
            truncate_size: DEFAULT_TRUNCATE_SIZE,
            retain: None,
            fields: FieldSpec::Set(FieldSet::iis_defaults()),
            custom: Vec::new(),
            clock: Arc::new(SystemClock),
            custom_clock: false,
            flush_interval: Duration::from_secs(1),
            queue_capacity: 1024,
            on_full: QueueFull::Wait,
            queue_wait: Duration::from_secs(5),
            also_tracing: false,
            computer_name: None,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

impl fmt::Debug for W3cLogBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("W3cLogBuilder")
            .field("sink", &self.sink)
            .field("site_id", &self.site_id)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl W3cLogBuilder {
    /// Files go to `<dir>/W3SVC<site id>/` (IIS's `logFile@directory`). A
    /// destination is required: this or [`sink`](Self::sink); there is no default
    /// directory, so that no log lands somewhere nobody looks.
    pub fn directory(mut self, dir: impl Into<PathBuf>) -> Self {
        self.sink = Some(Sink::directory(dir));
        self
    }

    /// Where the lines go: files ([`directory`](Self::directory)), any writer, memory
    /// or `tracing`.
    pub fn sink(mut self, sink: Sink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Also emits a `tracing` event per line (like IIS's `logTargetW3C="File,ETW"`).
    pub fn also_tracing(mut self, enable: bool) -> Self {
        self.also_tracing = enable;
        self
    }

    /// The site id: the `W3SVC<id>` folder and the `s-sitename` value (default 1).
    pub fn site_id(mut self, id: u32) -> Self {
        self.site_id = id;
        self
    }

    /// When a new file starts (default [`Period::Daily`]).
    pub fn period(mut self, period: Period) -> Self {
        self.period = period;
        self
    }

    /// Rolls over at local midnight or hour instead of UTC (IIS's
    /// `localTimeRollover`). The `date` and `time` columns stay UTC. Feature
    /// `local-time`.
    #[cfg(feature = "local-time")]
    #[cfg_attr(docsrs, doc(cfg(feature = "local-time")))]
    pub fn local_time_rollover(mut self, enable: bool) -> Self {
        self.local_time = enable;
        self
    }

    /// The size limit of [`Period::MaxSize`] files in bytes (IIS's `truncateSize`,
    /// default 20 MiB). Values below 1 MiB are raised to 1 MiB, as IIS does.
    pub fn truncate_size(mut self, bytes: u64) -> Self {
        self.truncate_size = bytes;
        self
    }

    /// Keeps only the newest `files` log files of this site, period and field kind,
    /// deleting older ones when a new file starts. Off by default.
    ///
    /// The deleting is done by a thread of its own (`w3c-log-retain`), so lines never
    /// wait while the system frees a large file; it is finished by the time the
    /// [`W3cLogGuard`]'s drop returns.
    pub fn retain_files(mut self, files: usize) -> Self {
        self.retain = Some(files);
        self
    }

    /// The standard fields by name (W3C names such as `cs-uri-stem`, or IIS flag
    /// names such as `UriStem`), in any order: they are logged in IIS's canonical
    /// order. An unknown name fails [`build`](Self::build).
    pub fn fields<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.fields = FieldSpec::Names(names.into_iter().map(Into::into).collect());
        self
    }

    /// The standard fields as a typed set.
    pub fn field_set(mut self, set: FieldSet) -> Self {
        self.fields = FieldSpec::Set(set);
        self
    }

    /// Appends a custom field after the standard ones (files gain `_x` in their
    /// name, as with IIS 8.5).
    pub fn custom_field(mut self, field: CustomField) -> Self {
        self.custom.push(field);
        self
    }

    /// The wall clock for `date`, `time`, `#Date` and rollover (tests pass a
    /// [`ManualClock`](super::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self.custom_clock = true;
        self
    }

    /// How often buffered lines are written out at the latest (default 1 s).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// How many finished requests may wait for the writer (default 1024, at most
    /// [`MAX_QUEUE_CAPACITY`]).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// How long requests wait for room in a full queue (with [`QueueFull::Wait`],
    /// default 5 s) before the writer is taken for stuck: then requests go ahead
    /// and their lines are dropped (counted, reported once through `tracing`)
    /// until it takes lines again.
    pub fn queue_wait(mut self, limit: Duration) -> Self {
        self.queue_wait = limit;
        self
    }

    /// What happens when the queue is full (default [`QueueFull::Wait`]).
    pub fn on_queue_full(mut self, policy: QueueFull) -> Self {
        self.on_full = policy;
        self
    }

    /// The `s-computername` value (default: the host name, `-` if unknown).
    pub fn computer_name(mut self, name: impl Into<String>) -> Self {
        self.computer_name = Some(name.into());
        self
    }

    /// How long dropping the [`W3cLogGuard`] waits for the last lines (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Checks the configuration and starts the writer thread. No file is created
    /// before the first request.
    ///
    /// Keep the returned guard alive as long as the server runs: dropping it writes
    /// out what is buffered and stops the writer.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the bad value: an unknown field name, a bad or
    /// duplicate custom field name, no fields, a zero capacity, interval or
    /// retention count, a capacity above [`MAX_QUEUE_CAPACITY`], no destination
    /// (neither [`directory`](Self::directory) nor [`sink`](Self::sink)), or a
    /// failure to start the thread.
    #[must_use = "the layer logs nothing unless it is applied, and the guard must live as long as the server"]
    pub fn build(self) -> Result<(W3cLogLayer, W3cLogGuard), ConfigError> {
        let fields = match self.fields {
            FieldSpec::Set(set) => set,
            FieldSpec::Names(names) => FieldSet::parse(&names)?,
        };
        check_custom_fields(&self.custom)?;
        if fields.is_empty() && self.custom.is_empty() {
            return Err(ConfigError::new(
                "logExtFileFlags",
                "",
                "the W3C log has no fields",
            ));
        }
        check_writer_settings(self.queue_capacity, self.flush_interval, self.retain)?;
        let Some(destination) = self.sink else {
            return Err(ConfigError::new(
                "logFile@directory",
                "",
                "the W3C log has no destination: call directory(..) or sink(..)",
            ));
        };
        let site_name = format!("W3SVC{}", self.site_id);
        let format = Arc::new(LineFormat::new(
            LogKind::W3c,
            fields,
            self.custom.into(),
            site_name.clone(),
            self.computer_name.unwrap_or_else(host_name),
        ));
        let (sink, site_dir) = match destination.0 {
            SinkKind::Files(dir) => {
                let site_dir = dir.join(&site_name);
                (SinkKind::Files(site_dir.clone()), site_dir)
            }
            other => (other, PathBuf::new()),
        };
        let (queue, guard) = writer::spawn(writer::WriterConfig {
            sink,
            files: FileOptions {
                site_dir,
                period: self.period,
                local_time: self.local_time,
                truncate_size: self.truncate_size.max(MIN_TRUNCATE_SIZE),
                retain: self.retain,
            },
            also_tracing: self.also_tracing,
            format: format.clone(),
            clock: self.clock.clone(),
            flush_interval: self.flush_interval,
            queue_capacity: self.queue_capacity,
            policy: self.on_full,
            shutdown_timeout: self.shutdown_timeout,
            queue_wait: self.queue_wait,
        })
        .map_err(|e| {
            ConfigError::new(
                "W3C log writer thread",
                "tower-iis-w3c",
                "could not start the W3C log writer thread",
            )
            .with_io(e)
        })?;
        let layer = W3cLogLayer {
            shared: Arc::new(Shared {
                format,
                clock: if self.custom_clock {
                    WallClock::Custom(self.clock)
                } else {
                    WallClock::System
                },
                queue,
                warned_no_client: std::sync::atomic::AtomicBool::new(false),
                _wire: crate::wire::Listener::new(),
            }),
        };
        Ok((layer, guard))
    }
}

/// Custom field names: valid, unique, and an app value's key not empty.
fn check_custom_fields(custom: &[CustomField]) -> Result<(), ConfigError> {
    let mut seen: Vec<String> = Vec::new();
    for c in custom {
        check_custom_name(c.name())?;
        let lower = c.name().to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(duplicate_field(c.name()));
        }
        seen.push(lower);
        if let CustomSource::AppValue(key) = c.source() {
            if key.is_empty() {
                return Err(invalid_custom_name(c.name()));
            }
        }
    }
    Ok(())
}

/// The writer's queue capacity, flush interval and retention count.
fn check_writer_settings(
    queue_capacity: usize,
    flush_interval: Duration,
    retain: Option<usize>,
) -> Result<(), ConfigError> {
    if queue_capacity == 0 {
        return Err(ConfigError::new(
            "queue_capacity",
            "0",
            "the W3C log queue capacity must be at least 1",
        ));
    }
    if queue_capacity > MAX_QUEUE_CAPACITY {
        return Err(ConfigError::new(
            "queue_capacity",
            queue_capacity.to_string(),
            format!("the W3C log queue capacity is above the limit of {MAX_QUEUE_CAPACITY}"),
        ));
    }
    if flush_interval.is_zero() {
        return Err(ConfigError::new(
            "flush_interval",
            "0s",
            "the W3C log flush interval must not be zero",
        ));
    }
    if retain == Some(0) {
        return Err(ConfigError::new(
            "retain_files",
            "0",
            "the W3C log must keep at least 1 file",
        ));
    }
    Ok(())
}

/// This machine's host name (`gethostname(2)`, `GetComputerNameExW` on Windows);
/// `-` if unknown.
pub(crate) fn host_name() -> String {
    gethostname::gethostname()
        .into_string()
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "-".to_owned())
}
