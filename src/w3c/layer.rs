//! [`W3cLogLayer`] and its builder.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::fields::{check_custom_name, CustomField, CustomSource, FieldSet};
use super::record::{LineFormat, LogKind};
use super::rollover::{Clock, Period, SystemClock, DEFAULT_TRUNCATE_SIZE, MIN_TRUNCATE_SIZE};
use super::service::W3cLog;
use super::writer::{
    self, FileOptions, Queue, QueueFull, Sink, SinkKind, W3cLogGuard, W3cLogHandle,
};

/// A configuration value the layer cannot be built with. The message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field name that is not one of the 22 standard W3C fields.
    UnknownField(String),
    /// A custom field named like a standard field or like another custom field.
    DuplicateField(String),
    /// A custom field name that is empty, starts with `#`, or holds white space or
    /// control characters.
    InvalidCustomFieldName(String),
    /// No standard and no custom field.
    NoFields,
    /// A queue capacity of zero.
    ZeroQueueCapacity,
    /// A queue capacity above [`MAX_QUEUE_CAPACITY`] (the queue's slots are
    /// allocated up front).
    QueueCapacityTooLarge(usize),
    /// A flush interval of zero.
    ZeroFlushInterval,
    /// Keeping zero files.
    ZeroRetention,
    /// The writer thread could not be started (the OS error).
    Spawn(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownField(name) => {
                write!(f, "unknown W3C log field `{name}` (not one of the 22 standard fields)")
            }
            ConfigError::DuplicateField(name) => write!(f, "W3C log field `{name}` is given twice"),
            ConfigError::InvalidCustomFieldName(name) => write!(
                f,
                "invalid custom W3C log field name `{name}` (must be non-empty, not start with `#`, and hold no spaces or control characters)"
            ),
            ConfigError::NoFields => f.write_str("the W3C log has no fields"),
            ConfigError::ZeroQueueCapacity => f.write_str("the W3C log queue capacity must be at least 1"),
            ConfigError::QueueCapacityTooLarge(n) => write!(
                f,
                "the W3C log queue capacity {n} is above the limit of {MAX_QUEUE_CAPACITY}"
            ),
            ConfigError::ZeroFlushInterval => f.write_str("the W3C log flush interval must not be zero"),
            ConfigError::ZeroRetention => f.write_str("the W3C log must keep at least 1 file"),
            ConfigError::Spawn(e) => write!(f, "could not start the W3C log writer thread: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The largest [`queue_capacity`](W3cLogBuilder::queue_capacity): about a million
/// finished requests waiting for the writer (a few tens of MB of slots).
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// What every [`W3cLog`] service built from one layer shares.
pub(crate) struct Shared {
    pub(crate) format: Arc<LineFormat>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) queue: Queue,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("fields", &self.format.fields_line())
            .finish_non_exhaustive()
    }
}

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
    sink: Sink,
    site_id: u32,
    period: Period,
    local_time: bool,
    truncate_size: u64,
    retain: Option<usize>,
    fields: FieldSpec,
    custom: Vec<CustomField>,
    clock: Arc<dyn Clock>,
    flush_interval: Duration,
    queue_capacity: usize,
    on_full: QueueFull,
    also_tracing: bool,
    computer_name: Option<String>,
    shutdown_timeout: Duration,
}

impl Default for W3cLogBuilder {
    fn default() -> Self {
        W3cLogBuilder {
            sink: Sink::directory("logs"),
            site_id: 1,
            period: Period::Daily,
            local_time: false,
            truncate_size: DEFAULT_TRUNCATE_SIZE,
            retain: None,
            fields: FieldSpec::Set(FieldSet::iis_defaults()),
            custom: Vec::new(),
            clock: Arc::new(SystemClock),
            flush_interval: Duration::from_secs(1),
            queue_capacity: 1024,
            on_full: QueueFull::Wait,
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
    /// Files go to `<dir>/W3SVC<site id>/` (the default `dir` is `logs`).
    pub fn directory(mut self, dir: impl Into<PathBuf>) -> Self {
        self.sink = Sink::directory(dir);
        self
    }

    /// Where the lines go: files (the default), any writer, memory or `tracing`.
    pub fn sink(mut self, sink: Sink) -> Self {
        self.sink = sink;
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
    /// `localTimeRollover`). The `date` and `time` columns stay UTC.
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
    /// retention count, a capacity above [`MAX_QUEUE_CAPACITY`], or a failure to
    /// start the thread.
    pub fn build(self) -> Result<(W3cLogLayer, W3cLogGuard), ConfigError> {
        let fields = match self.fields {
            FieldSpec::Set(set) => set,
            FieldSpec::Names(names) => FieldSet::parse(&names)?,
        };
        let mut seen: Vec<String> = Vec::new();
        for c in &self.custom {
            check_custom_name(c.name())?;
            let lower = c.name().to_ascii_lowercase();
            if seen.contains(&lower) {
                return Err(ConfigError::DuplicateField(c.name().to_owned()));
            }
            seen.push(lower);
            if let CustomSource::AppValue(key) = c.source() {
                if key.is_empty() {
                    return Err(ConfigError::InvalidCustomFieldName(c.name().to_owned()));
                }
            }
        }
        if fields.is_empty() && self.custom.is_empty() {
            return Err(ConfigError::NoFields);
        }
        if self.queue_capacity == 0 {
            return Err(ConfigError::ZeroQueueCapacity);
        }
        if self.queue_capacity > MAX_QUEUE_CAPACITY {
            return Err(ConfigError::QueueCapacityTooLarge(self.queue_capacity));
        }
        if self.flush_interval.is_zero() {
            return Err(ConfigError::ZeroFlushInterval);
        }
        if self.retain == Some(0) {
            return Err(ConfigError::ZeroRetention);
        }
        let site_name = format!("W3SVC{}", self.site_id);
        let format = Arc::new(LineFormat {
            kind: LogKind::W3c,
            fields,
            custom: self.custom.into(),
            computer_name: self.computer_name.unwrap_or_else(host_name),
            site_name: site_name.clone(),
        });
        let (sink, site_dir) = match self.sink.0 {
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
        })
        .map_err(|e| ConfigError::Spawn(e.to_string()))?;
        let layer = W3cLogLayer {
            shared: Arc::new(Shared {
                format,
                clock: self.clock,
                queue,
            }),
        };
        Ok((layer, guard))
    }
}

/// This machine's host name, from the kernel or the environment; `-` if unknown.
fn host_name() -> String {
    let from_file = |p: &str| std::fs::read_to_string(p).ok();
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "-".to_owned())
}
