//! Integration tests of the node: a real node (MDBX, pool, builder, JSON-RPC) on a free
//! loopback port per test, driven over HTTP JSON-RPC.

mod bench_cli;
mod executor_select;
mod harness;
mod node;
mod schema;
mod settlement;
