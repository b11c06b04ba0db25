//! Allocation counts, with a counting global allocator: a binary of their own, so
//! that no unrelated test allocates while they measure.

#[path = "../common/counting_alloc.rs"]
mod counting_alloc;

mod http_errors_alloc;
mod request_filtering_alloc;
mod static_files_alloc;
mod w3c_alloc;
