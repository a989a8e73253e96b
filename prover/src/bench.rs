//! The batch-proof benchmark behind `lanes bench prover` and `examples/prover_bench.rs`:
//! builds a random state of [`BenchOptions::state_keys`] keys, a diff of
//! [`BenchOptions::updates`] entries (half updates of existing keys, half inserts) and
//! [`BenchOptions::data_bytes`] of random batch data, proves the batch on
//! [`BenchOptions::backend`] and verifies the proof (on the CPU, as a follower would).
//! A report only comes back for a proof that verifies; a proof that does not is an error, so
//! a broken prover cannot report a fast number.

use std::time::Instant;

use alloy_primitives::{Address, B256, U256};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::{
    Backend, BatchProof, BatchWitness, DiffEntry, ProverConfig, Security, StateCommitment,
    StateKey, StateValue, prove, verify,
};

/// What to benchmark.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Diff entries in the batch.
    pub updates: usize,
    /// Bytes of batch data (keccak-hashed in the proof).
    pub data_bytes: usize,
    /// Keys in the state before the batch.
    pub state_keys: usize,
    /// FRI setting.
    pub security: Security,
    /// Where the DFT and Merkle hashing run.
    pub backend: Backend,
    /// Seed of the random state, diff and data.
    pub seed: u64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            updates: 1000,
            data_bytes: 100_000,
            state_keys: 20_000,
            security: Security::default(),
            backend: Backend::default(),
            seed: 42,
        }
    }
}

/// The figures of one run.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Diff entries in the batch.
    pub updates: usize,
    /// Bytes of batch data.
    pub data_bytes: usize,
    /// [`Backend::name`] of the prover's backend.
    pub backend: String,
    /// [`Security::name`].
    pub security: String,
    /// [`Security::conjectured_bits`].
    pub security_bits: usize,
    /// Keys in the state before the batch.
    pub state_keys: usize,
    /// Threads available to the process.
    pub threads: usize,
    /// Seconds to build the state commitment of `state_keys` keys.
    pub state_build_s: f64,
    /// Seconds of the node-side `BatchWitness::build`.
    pub witness_s: f64,
    /// Wall seconds of `prove`.
    pub prove_s: f64,
    /// Process CPU seconds (user + system) while proving: the work, independent of contention.
    pub prove_cpu_s: f64,
    /// Wall seconds of decoding and verifying the proof.
    pub verify_s: f64,
    /// Peak resident memory of the process (VmHWM), bytes.
    pub peak_mem_bytes: u64,
    /// Serialized proof size.
    pub proof_bytes: usize,
    /// Whether the proof verified (always true in a report `run` returns).
    pub verified: bool,
    /// Device calls done by the host build after a device failure (`cuda` only).
    pub cuda_fallbacks: u64,
}

/// The node-side costs alone (no proof).
#[derive(Clone, Debug, Serialize)]
pub struct WitnessReport {
    /// Diff entries in the batch.
    pub updates: usize,
    /// Keys in the state before the batch.
    pub state_keys: usize,
    /// Seconds to build the state commitment.
    pub state_build_s: f64,
    /// Seconds of `BatchWitness::build`.
    pub witness_s: f64,
    /// Size of the commitment's snapshot.
    pub snapshot_bytes: usize,
    /// Seconds of `to_bytes` + `from_bytes` of the snapshot.
    pub snapshot_round_trip_s: f64,
    /// Peak resident memory (VmHWM), bytes.
    pub peak_mem_bytes: u64,
}

/// A generated batch: the state after it, its witness, data and diff.
pub struct Workload {
    /// The commitment, advanced past the batch by `BatchWitness::build`.
    pub state: StateCommitment,
    /// The prover's input.
    pub witness: BatchWitness,
    /// The batch data.
    pub data: Vec<u8>,
    /// The diff.
    pub diff: Vec<DiffEntry>,
    /// Seconds to build the state.
    pub state_build_s: f64,
    /// Seconds of `BatchWitness::build`.
    pub witness_s: f64,
}

fn key(rng: &mut StdRng) -> StateKey {
    let addr = Address::from(rng.random::<[u8; 20]>());
    if rng.random_bool(0.3) {
        StateKey::Account(addr)
    } else {
        StateKey::Storage(addr, B256::from(rng.random::<[u8; 32]>()))
    }
}

fn value(rng: &mut StdRng, key: &StateKey) -> StateValue {
    match key {
        StateKey::Account(_) => StateValue::Account {
            balance: U256::from(rng.random::<u128>()),
            nonce: rng.random_range(0..1000),
            code_hash: B256::from(rng.random::<[u8; 32]>()),
        },
        StateKey::Storage(..) => StateValue::Storage(U256::from(rng.random::<u64>() | 1)),
    }
}

/// Peak resident memory of this process (VmHWM), 0 where `/proc` has none.
pub fn peak_mem_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// User + system CPU seconds of this process so far (from `/proc/self/stat`, in clock ticks
/// of 1/100 s): the work done, independent of how busy the machine is.
pub fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .map_or(0.0, |t| t)
}

impl Workload {
    /// Generates the state, diff and data of `opts` and builds the witness.
    pub fn build(opts: &BenchOptions) -> Result<Self, String> {
        let mut rng = StdRng::seed_from_u64(opts.seed);
        let keys: Vec<StateKey> = (0..opts.state_keys).map(|_| key(&mut rng)).collect();
        let entries: Vec<(StateKey, StateValue)> =
            keys.iter().map(|k| (*k, value(&mut rng, k))).collect();
        let t = Instant::now();
        let mut state = StateCommitment::from_entries(entries).map_err(|e| e.to_string())?;
        let state_build_s = t.elapsed().as_secs_f64();

        let mut seen = std::collections::HashSet::new();
        let mut diff = Vec::with_capacity(opts.updates);
        while diff.len() < opts.updates {
            let k = if !keys.is_empty() && diff.len() % 2 == 0 {
                keys[rng.random_range(0..keys.len())]
            } else {
                key(&mut rng)
            };
            if seen.insert(k) {
                let old = state.get(&k).copied();
                diff.push(DiffEntry {
                    key: k,
                    old,
                    new: Some(value(&mut rng, &k)),
                });
            }
        }
        let data: Vec<u8> = (0..opts.data_bytes).map(|_| rng.random()).collect();

        let t = Instant::now();
        let witness = BatchWitness::build(1, &mut state, data.clone(), diff.clone())
            .map_err(|e| e.to_string())?;
        let witness_s = t.elapsed().as_secs_f64();
        Ok(Self {
            state,
            witness,
            data,
            diff,
            state_build_s,
            witness_s,
        })
    }
}

/// Proves and verifies the batch of `opts`.
pub fn run(opts: &BenchOptions) -> Result<BenchReport, String> {
    run_with_proof(opts, None).map(|(report, _)| report)
}

/// [`run`], returning the proof's bytes too; with `proof_in`, verifies those bytes instead
/// of proving (a proof made by another build for the same options).
pub fn run_with_proof(
    opts: &BenchOptions,
    proof_in: Option<&[u8]>,
) -> Result<(BenchReport, Vec<u8>), String> {
    let work = Workload::build(opts)?;
    let config = ProverConfig {
        security: opts.security,
        backend: opts.backend,
    };
    let (fallbacks_before, _) = crate::cuda::fallbacks();
    let t = Instant::now();
    let cpu0 = cpu_seconds();
    let bytes = match proof_in {
        Some(bytes) => bytes.to_vec(),
        None => prove(&work.witness, &config)
            .map_err(|e| e.to_string())?
            .to_bytes(),
    };
    let prove_s = t.elapsed().as_secs_f64();
    let prove_cpu_s = cpu_seconds() - cpu0;
    let (fallbacks_after, _) = crate::cuda::fallbacks();

    let pi = work.witness.public_inputs();
    let t = Instant::now();
    let verified = BatchProof::from_bytes(&bytes)
        .and_then(|proof| verify(&proof, &pi, &work.data, &work.diff))
        .map_err(|e| format!("the proof does not verify: {e}"))
        .is_ok();
    let verify_s = t.elapsed().as_secs_f64();
    if !verified {
        return Err(format!(
            "the {} backend's proof of {} updates / {} data bytes does not verify",
            opts.backend.name(),
            opts.updates,
            opts.data_bytes
        ));
    }
    let report = BenchReport {
        updates: opts.updates,
        data_bytes: opts.data_bytes,
        backend: opts.backend.name().into(),
        security: opts.security.name().into(),
        security_bits: opts.security.conjectured_bits(),
        state_keys: opts.state_keys,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        state_build_s: work.state_build_s,
        witness_s: work.witness_s,
        prove_s,
        prove_cpu_s,
        verify_s,
        peak_mem_bytes: peak_mem_bytes(),
        proof_bytes: bytes.len(),
        verified,
        cuda_fallbacks: fallbacks_after - fallbacks_before,
    };
    Ok((report, bytes))
}

/// The node-side costs of `opts`' batch: state build, witness, snapshot round trip.
pub fn witness_only(opts: &BenchOptions) -> Result<WitnessReport, String> {
    let work = Workload::build(opts)?;
    let t = Instant::now();
    let snapshot = work.state.to_bytes();
    let restored = StateCommitment::from_bytes(&snapshot).map_err(|e| e.to_string())?;
    let snapshot_round_trip_s = t.elapsed().as_secs_f64();
    if restored.root() != work.state.root() {
        return Err("the snapshot does not restore the same root".into());
    }
    Ok(WitnessReport {
        updates: opts.updates,
        state_keys: opts.state_keys,
        state_build_s: work.state_build_s,
        witness_s: work.witness_s,
        snapshot_bytes: snapshot.len(),
        snapshot_round_trip_s,
        peak_mem_bytes: peak_mem_bytes(),
    })
}
