//! A response body that arrives in timed chunks, for the servers of the tests.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;

/// A body of `chunks` chunks of `size` bytes, `every` apart (none when zero); it
/// panics before chunk `panic_at` when that is set.
pub struct ChunkBody {
    chunks: u32,
    size: usize,
    every: Duration,
    panic_at: Option<u32>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl ChunkBody {
    pub fn new(chunks: u32, size: usize, every: Duration) -> Self {
        Self {
            chunks,
            size,
            every,
            panic_at: None,
            sleep: None,
        }
    }

    pub fn panicking_at(mut self, chunk: u32) -> Self {
        self.panic_at = Some(chunk);
        self
    }
}

impl http_body::Body for ChunkBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.chunks == 0 {
            return Poll::Ready(None);
        }
        if !self.every.is_zero() {
            let every = self.every;
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
            std::task::ready!(sleep.as_mut().poll(cx));
            self.sleep = None;
        }
        if self.panic_at == Some(self.chunks) {
            panic!("the body panicked part-way");
        }
        self.chunks -= 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; self.size])))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks == 0
    }
}
