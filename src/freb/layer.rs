//! [`FailedRequestTracingLayer`] and its builder.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use tower_layer::Layer;

use super::collector::Budget;
use super::rules::{Rule, Rules};
use super::service::FailedRequestTracing;
use super::writer::{self, Queue, TraceGuard, WriterOptions};
use crate::ConfigError;

/// IIS's default `maxLogFiles`.
pub const DEFAULT_MAX_LOG_FILES: usize = 50;
/// The default budget of application events buffered per request.
pub const DEFAULT_MAX_EVENTS: usize = 1000;
/// The default budget of bytes (the text of event values) buffered per request.
pub const DEFAULT_MAX_BYTES: usize = 256 * 1024;
/// The default number of traces waiting for the writer before new ones are dropped.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// What every service built from one layer shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) rules: Rules,
    pub(crate) site_id: u32,
    pub(crate) app_pool_id: String,
    pub(crate) budget: Budget,
    pub(crate) queue: Queue,
    pub(crate) warned_no_collector: AtomicBool,
    /// The number of the next trace file.
    pub(crate) next_number: AtomicU64,
    /// `<directory>/W3SVC<siteId>`, absolute.
    pub(crate) site_dir: PathBuf,
}

/// Writes a trace of every request that matches a rule: IIS's Failed Request
/// Tracing. See the [module docs](super).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct FailedRequestTracingLayer {
    pub(crate) shared: Option<Arc<Shared>>,
}

impl FailedRequestTracingLayer {
    /// A layer that traces nothing and costs nothing: requests pass straight through.
    pub fn disabled() -> Self {
        Self { shared: None }
    }

    /// A builder: rules, folder, limits.
    pub fn builder() -> FailedRequestTracingBuilder {
        FailedRequestTracingBuilder {
            directory: PathBuf::from("FailedReqLogFiles"),
            site_id: 1,
            app_pool_id: "DefaultAppPool".to_owned(),
            computer_name: None,
            max_log_files: DEFAULT_MAX_LOG_FILES,
            max_events: DEFAULT_MAX_EVENTS,
            max_bytes: DEFAULT_MAX_BYTES,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            rules: Vec::new(),
        }
    }

    /// Whether any rule is configured.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.shared.is_some()
    }
}

impl<S> Layer<S> for FailedRequestTracingLayer {
    type Service = FailedRequestTracing<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FailedRequestTracing {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// Builds a [`FailedRequestTracingLayer`]: `<traceFailedRequests>` rules and
/// `<traceFailedRequestsLogging>` settings.
#[derive(Debug, Clone)]
#[must_use]
pub struct FailedRequestTracingBuilder {
    directory: PathBuf,
    site_id: u32,
    app_pool_id: String,
    computer_name: Option<String>,
    max_log_files: usize,
    max_events: usize,
    max_bytes: usize,
    queue_capacity: usize,
    rules: Vec<Rule>,
}

impl FailedRequestTracingBuilder {
    /// `traceFailedRequestsLogging@directory`: files go to `<dir>/W3SVC<siteId>/`
    /// (default `FailedReqLogFiles`, relative to the working directory).
    pub fn directory(mut self, dir: impl Into<PathBuf>) -> Self {
        self.directory = dir.into();
        self
    }

    /// The site id (default 1): `siteId` and the `W3SVC<id>` folder.
    pub fn site_id(mut self, id: u32) -> Self {
        self.site_id = id;
        self
    }

    /// `appPoolId` in every trace (default `DefaultAppPool`).
    pub fn app_pool_id(mut self, id: impl Into<String>) -> Self {
        self.app_pool_id = id.into();
        self
    }

    /// `<Computer>` in every event (default: this machine's host name).
    pub fn computer_name(mut self, name: impl Into<String>) -> Self {
        self.computer_name = Some(name.into());
        self
    }

    /// `traceFailedRequestsLogging@maxLogFiles` (IIS's default 50): the oldest
    /// files are deleted beyond it.
    pub fn max_log_files(mut self, n: usize) -> Self {
        self.max_log_files = n;
        self
    }

    /// The most application events buffered per request (default 1000); later
    /// ones are cut and counted in the trace.
    pub fn max_events(mut self, n: usize) -> Self {
        self.max_events = n;
        self
    }

    /// The most bytes of event values buffered per request (default 256 KiB).
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n;
        self
    }

    /// How many traces may wait for the writer (default 1024); beyond it traces are
    /// dropped and counted, never waited for.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }

    /// Adds a rule. The first rule whose path covers a request decides for it.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Whether any rule has been added.
    #[must_use]
    pub fn has_rules(&self) -> bool {
        !self.rules.is_empty()
    }

    /// Adds rules.
    pub fn rules(mut self, rules: impl IntoIterator<Item = Rule>) -> Self {
        self.rules.extend(rules);
        self
    }

    /// Checks the settings, creates the folder, writes `freb.xsl` beside the
    /// traces and starts the writer thread. Keep the guard: dropping it writes the
    /// traces still queued.
    ///
    /// # Errors
    ///
    /// No rule (use [`FailedRequestTracingLayer::disabled`] for a layer that traces
    /// nothing); a zero `maxLogFiles`, budget or queue capacity; a rule with a bad
    /// value; a folder that cannot be created or written.
    pub fn build(self) -> Result<(FailedRequestTracingLayer, TraceGuard), ConfigError> {
        let positive = |setting: &'static str, n: usize| {
            if n == 0 {
                Err(ConfigError::new(setting, "0", "must be at least 1"))
            } else {
                Ok(())
            }
        };
        positive("maxLogFiles", self.max_log_files)?;
        positive("maxEvents", self.max_events)?;
        positive("maxBytes", self.max_bytes)?;
        positive("queueCapacity", self.queue_capacity)?;
        for r in &self.rules {
            r.validate()?;
        }
        if self.rules.is_empty() {
            return Err(ConfigError::new(
                "traceFailedRequests",
                "",
                "has no rule (add one, or use FailedRequestTracingLayer::disabled())",
            ));
        }
        let directory = std::path::absolute(&self.directory).unwrap_or(self.directory);
        let site_dir = directory.join(format!("W3SVC{}", self.site_id));
        let opts = WriterOptions {
            site_dir: site_dir.clone(),
            site_id: self.site_id,
            app_pool_id: self.app_pool_id.clone(),
            computer: self.computer_name.unwrap_or_else(crate::w3c::host_name),
            max_log_files: self.max_log_files,
            queue_capacity: self.queue_capacity,
        };
        let (queue, guard, next) = writer::start(opts).map_err(|e| {
            ConfigError::new(
                "directory",
                site_dir.display().to_string(),
                "cannot be created or written",
            )
            .with_io(e)
        })?;
        let shared = Shared {
            rules: self.rules.into(),
            site_id: self.site_id,
            app_pool_id: self.app_pool_id,
            budget: Budget {
                max_events: self.max_events,
                max_bytes: self.max_bytes,
            },
            queue,
            warned_no_collector: AtomicBool::new(false),
            next_number: AtomicU64::new(next),
            site_dir,
        };
        Ok((
            FailedRequestTracingLayer {
                shared: Some(Arc::new(shared)),
            },
            guard,
        ))
    }
}
