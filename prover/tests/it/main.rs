//! Integration tests of lanes-prover: the state commitment, and real batch proofs
//! with tampering.

mod batch;
mod commitment;
mod util;
