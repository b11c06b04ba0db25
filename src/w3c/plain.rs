//! A log of plain text columns through the W3C log's background writer: the
//! HTTPERR log of `server` uses it (its own `#Software` line, `httperrN.log` names,
//! size-based rollover), so it is as lossless and as careful with the disk as the
//! access log.

use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::fields::{CustomField, Field, FieldSet};
use super::record::{CustomValue, LineFormat, LogKind};
use super::rollover::{unix_secs, Period, SystemClock};
use super::writer::{self, FileOptions, Queue, QueueFull, Sink, SinkKind, W3cLogGuard};

/// The request side of a plain-column log.
#[derive(Debug, Clone)]
pub(crate) struct PlainLog {
    queue: Queue,
    columns: usize,
}

/// Starts the writer of an HTTPERR-style log: `date time` then `columns`, files
/// `<dir>/<folder>/httperrN.log` of at most `truncate_size` bytes.
pub(crate) fn spawn_httperr(
    sink: Sink,
    folder: &str,
    columns: &[&'static str],
    truncate_size: u64,
) -> io::Result<(PlainLog, W3cLogGuard)> {
    let format = Arc::new(LineFormat::new(
        LogKind::HttpErr,
        FieldSet::empty().with(Field::Date).with(Field::Time),
        columns
            .iter()
            .map(|c| CustomField::app_value(*c, *c))
            .collect::<Vec<_>>()
            .into(),
        String::new(),
        String::new(),
    ));
    let (sink, dir) = match sink.0 {
        SinkKind::Files(dir) => {
            let dir = dir.join(folder);
            (SinkKind::Files(dir.clone()), dir)
        }
        other => (other, std::path::PathBuf::new()),
    };
    let (queue, guard) = writer::spawn(writer::WriterConfig {
        sink,
        files: FileOptions {
            site_dir: dir,
            period: Period::MaxSize,
            local_time: false,
            truncate_size,
            retain: None,
        },
        also_tracing: false,
        format,
        clock: Arc::new(SystemClock),
        flush_interval: Duration::from_secs(1),
        queue_capacity: 1024,
        policy: QueueFull::Wait,
        queue_wait: Duration::from_secs(5),
        shutdown_timeout: Duration::from_secs(5),
    })?;
    Ok((
        PlainLog {
            queue,
            columns: columns.len(),
        },
        guard,
    ))
}

impl PlainLog {
    /// Queues one line written at `at`: one value per column (`None` or empty
    /// becomes `-`; spaces and control bytes become `+`).
    pub(crate) fn send(&self, at: SystemTime, values: Vec<Option<String>>) {
        let mut rec = self.queue.record();
        rec.end_unix = unix_secs(at);
        rec.custom.clear();
        rec.custom.extend(
            values
                .into_iter()
                .chain(std::iter::repeat(None))
                .take(self.columns)
                .map(|v| v.map(CustomValue::Text)),
        );
        self.queue.send(rec);
    }

    /// A handle to flush the log and read its counters.
    pub(crate) fn handle(&self) -> super::W3cLogHandle {
        self.queue.handle()
    }
}
