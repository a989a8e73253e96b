//! Integration tests of lanes-conflict: the parallel executor against the sequential one.

mod differential;
mod state_tests;
mod workloads;
mod world;
