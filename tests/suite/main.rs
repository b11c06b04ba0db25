//! The integration tests that can share one process, one module per area.
//!
//! Tests that need a process of their own have their own binaries:
//! `tests/alloc/` (a counting global allocator), `tests/load.rs` (it checks the
//! process's open files and peak memory), `tests/log_faults.rs` and
//! `tests/w3c_tracing.rs` (each installs a global `tracing` subscriber),
//! `tests/reader.rs` (a global allocator that measures the reader's heap),
//! `tests/server.rs` (it opens a thousand connections and reads the process's
//! memory) and `tests/server_cli.rs` (it runs the `tower-iis` binary).

#[path = "../common/mod.rs"]
mod common;

mod authentication;
mod catalog;
mod compose;
mod examples;
mod fidelity;
mod folders;
mod full_stack;
mod fuzz;
mod hostile;
mod http_errors;
mod json_api;
mod log_hang;
mod props;
mod proxy;
mod remote_clients;
mod request_filtering_hyper;
mod rewrite;
mod server_faults;
mod static_files;
mod static_lookup;
mod static_race;
mod w3c_files;
mod w3c_server;
mod web_config;
mod who;
mod xhtml;
