//! Batch-proof benchmark: builds a random state and a batch of `--updates` diff
//! entries with `--data-bytes` of batch data, proves and verifies it, and prints the
//! figures (one JSON object with `--json`).
//!
//! ```text
//! cargo run --release -p lanes-prover --example prover_bench -- \
//!     --updates 1000 --data-bytes 100000 [--security fast|balanced|compact] \
//!     [--state-keys 20000] [--json] [--witness-only] [--proof-out F | --proof-in F]
//! ```

use std::time::Instant;

use alloy_primitives::{Address, B256, U256};
use lanes_prover::{
    BatchProof, BatchWitness, DiffEntry, ProverConfig, Security, StateCommitment, StateKey,
    StateValue, prove, verify,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct Args {
    updates: usize,
    data_bytes: usize,
    state_keys: usize,
    security: Security,
    json: bool,
    witness_only: bool,
    proof_out: Option<String>,
    proof_in: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        updates: 1000,
        data_bytes: 100_000,
        state_keys: 20_000,
        security: Security::default(),
        json: false,
        witness_only: false,
        proof_out: None,
        proof_in: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--updates" => a.updates = value()?.parse().map_err(|e| format!("{e}"))?,
            "--data-bytes" => a.data_bytes = value()?.parse().map_err(|e| format!("{e}"))?,
            "--state-keys" => a.state_keys = value()?.parse().map_err(|e| format!("{e}"))?,
            "--security" => {
                let v = value()?;
                a.security = Security::from_name(&v).ok_or(format!("unknown setting {v}"))?;
            }
            "--json" => a.json = true,
            "--witness-only" => a.witness_only = true,
            "--proof-out" => a.proof_out = Some(value()?),
            "--proof-in" => a.proof_in = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
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

fn peak_mem_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// User + system CPU seconds of this process so far (from `/proc/self/stat`, in
/// clock ticks of 1/100 s): the work done, independent of how busy the machine is.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("prover_bench: {e}");
            std::process::exit(2);
        }
    };
    if std::env::var_os("PROVER_TRACE").is_some() {
        // Per-phase timings of Plonky3's spans on stderr.
        tracing_subscriber::fmt()
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .init();
    }
    let mut rng = StdRng::seed_from_u64(42);
    let keys: Vec<StateKey> = (0..args.state_keys).map(|_| key(&mut rng)).collect();
    let entries: Vec<(StateKey, StateValue)> =
        keys.iter().map(|k| (*k, value(&mut rng, k))).collect();
    let t = Instant::now();
    let mut state = StateCommitment::from_entries(entries).unwrap();
    let state_build_s = t.elapsed().as_secs_f64();

    // Half updates of existing keys, half inserts of new ones.
    let mut seen = std::collections::HashSet::new();
    let mut diff = Vec::with_capacity(args.updates);
    while diff.len() < args.updates {
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
    let data: Vec<u8> = (0..args.data_bytes).map(|_| rng.random()).collect();

    let t = Instant::now();
    let witness = BatchWitness::build(1, &mut state, data.clone(), diff.clone()).unwrap();
    let witness_s = t.elapsed().as_secs_f64();
    if args.witness_only {
        // The node-side cost alone: building the commitment, applying the diff, and a
        // snapshot round trip.
        let t = Instant::now();
        let snapshot = state.to_bytes();
        let restored = StateCommitment::from_bytes(&snapshot).unwrap();
        let restore_s = t.elapsed().as_secs_f64();
        assert_eq!(restored.root(), state.root());
        let out = serde_json::json!({
            "snapshot_round_trip_s": restore_s,
            "updates": args.updates,
            "state_keys": args.state_keys,
            "state_build_s": state_build_s,
            "state_build_s": state_build_s,
        "witness_s": witness_s,
            "snapshot_bytes": snapshot.len(),
            "peak_mem_bytes": peak_mem_bytes(),
        });
        println!("{out}");
        return;
    }
    let config = ProverConfig {
        security: args.security,
        ..ProverConfig::default()
    };
    let t = Instant::now();
    let cpu0 = cpu_seconds();
    let bytes = match &args.proof_in {
        // Verify a proof made elsewhere (e.g. by another build) for the same arguments.
        Some(path) => std::fs::read(path).unwrap(),
        None => prove(&witness, &config).unwrap().to_bytes(),
    };
    let prove_s = t.elapsed().as_secs_f64();
    let prove_cpu_s = cpu_seconds() - cpu0;
    if let Some(path) = &args.proof_out {
        std::fs::write(path, &bytes).unwrap();
    }
    let pi = witness.public_inputs();
    let t = Instant::now();
    let decoded = BatchProof::from_bytes(&bytes).unwrap();
    let verified = verify(&decoded, &pi, &data, &diff).is_ok();
    let verify_s = t.elapsed().as_secs_f64();

    let out = serde_json::json!({
        "updates": args.updates,
        "data_bytes": args.data_bytes,
        "backend": config.backend.name(),
        "security": args.security.name(),
        "security_bits": args.security.conjectured_bits(),
        "state_keys": args.state_keys,
        "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "state_build_s": state_build_s,
        "witness_s": witness_s,
        "prove_s": prove_s,
        "prove_cpu_s": prove_cpu_s,
        "verify_s": verify_s,
        "peak_mem_bytes": peak_mem_bytes(),
        "proof_bytes": bytes.len(),
        "verified": verified,
    });
    if args.json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out).unwrap());
    }
    if !verified {
        std::process::exit(1);
    }
}
