//! A counting global allocator, for the allocation tests (`tests/alloc/`) and the
//! per-request benchmark (`benches/per_request.rs`). A binary takes it with
//! `#[path = ".../tests/common/counting_alloc.rs"] mod counting_alloc;`, and then
//! every allocation of that process is counted.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct Counting;

static ALL: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THIS_THREAD: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    ALL.fetch_add(1, Ordering::Relaxed);
    // `try_with`: the thread-local may already be gone while a thread exits.
    let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is passed on unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations so far on every thread (the log writer's included).
pub fn all_allocations() -> usize {
    ALL.load(Ordering::Relaxed)
}

/// Held by every test that counts [`all_allocations`], so that no other such test
/// allocates while it measures (a poisoned lock is taken over: the panic was
/// reported by its own test).
pub fn measuring_alone() -> MutexGuard<'static, ()> {
    static ALONE: Mutex<()> = Mutex::new(());
    ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Allocations so far on the calling thread.
pub fn thread_allocations() -> usize {
    THIS_THREAD.with(Cell::get)
}

/// Polls a future that is ready without waiting (the test services never wait).
pub fn now<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the service was expected to answer at once"),
    }
}
