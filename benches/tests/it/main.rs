//! Integration tests of `lanes-benches` (one binary, modules per area).

mod loadgen;
