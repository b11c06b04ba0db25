//! Where the lines go ([`Sink`]), and writing to a sink byte-exactly.

use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where the lines go.
pub struct Sink(pub(crate) SinkKind);

pub(crate) enum SinkKind {
    Files(PathBuf),
    Writer(Box<dyn Write + Send>),
    Tracing,
}

impl Sink {
    /// IIS-style files in `<dir>/W3SVC<site id>/`, named and rolled over by the
    /// configured [`Period`](crate::w3c::Period).
    #[must_use]
    pub fn directory(dir: impl Into<PathBuf>) -> Self {
        Sink(SinkKind::Files(dir.into()))
    }

    /// Any writer: a header block first, then the lines. Nothing rolls over.
    #[must_use]
    pub fn writer(w: impl Write + Send + 'static) -> Self {
        Sink(SinkKind::Writer(Box::new(w)))
    }

    /// An in-memory buffer, for tests.
    #[must_use]
    pub fn memory(sink: &MemorySink) -> Self {
        Self::writer(sink.clone())
    }

    /// One `tracing` event per line (level `INFO`, target `tower_iis::w3c::access`),
    /// with the line as the message and the `#Fields` value in the field
    /// `w3c_fields`; like IIS sending its log to ETW.
    #[must_use]
    pub fn tracing() -> Self {
        Sink(SinkKind::Tracing)
    }
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            SinkKind::Files(dir) => f.debug_tuple("Sink::Directory").field(dir).finish(),
            SinkKind::Writer(_) => f.write_str("Sink::Writer(..)"),
            SinkKind::Tracing => f.write_str("Sink::Tracing"),
        }
    }
}

/// A shared in-memory log: what the writer wrote, header blocks included.
#[derive(Debug, Clone, Default)]
pub struct MemorySink(Arc<Mutex<Vec<u8>>>);

impl MemorySink {
    /// An empty buffer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far (flush first with [`W3cLogHandle::flush`](super::W3cLogHandle::flush)).
    #[must_use]
    pub fn contents(&self) -> String {
        let buf = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl Write for MemorySink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes as much of `data` as the sink takes. Returns the bytes it took and the
/// error that stopped it, so a failure part-way through is known to the byte.
#[inline]
pub(super) fn write_counted<W: Write + ?Sized>(w: &mut W, data: &[u8]) -> (usize, io::Result<()>) {
    let mut done = 0;
    while done < data.len() {
        match w.write(&data[done..]) {
            Ok(0) => return (done, Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}

/// The length of the whole lines among the first `done` bytes of `buf`.
#[inline]
pub(super) fn whole_lines(buf: &[u8], done: usize) -> usize {
    buf[..done]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}
