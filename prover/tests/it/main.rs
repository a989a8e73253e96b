//! Integration tests of lanes-prover: the state commitment, and real batch proofs
//! with tampering, and the kernel backends.

mod batch;
mod commitment;
mod gpu;
mod util;
