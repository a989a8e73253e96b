//! Batch-proof benchmark: a thin command line over [`lanes_prover::bench`], which builds a
//! random state and a batch of `--updates` diff entries with `--data-bytes` of batch data,
//! proves and verifies it, and prints the figures (one JSON object with `--json`).
//!
//! ```text
//! cargo run --release -p lanes-prover --example prover_bench -- \
//!     --updates 1000 --data-bytes 100000 [--security fast|balanced|compact] \
//!     [--backend cpu|gpu-host|cuda] [--state-keys 20000] [--seed 42] [--json] \
//!     [--witness-only] [--proof-out F | --proof-in F]
//! ```

use lanes_prover::Backend;
use lanes_prover::Security;
use lanes_prover::bench::{self, BenchOptions};

struct Args {
    opts: BenchOptions,
    json: bool,
    witness_only: bool,
    proof_out: Option<String>,
    proof_in: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        opts: BenchOptions::default(),
        json: false,
        witness_only: false,
        proof_out: None,
        proof_in: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let o = &mut a.opts;
        match flag.as_str() {
            "--updates" => o.updates = value()?.parse().map_err(|e| format!("{e}"))?,
            "--data-bytes" => o.data_bytes = value()?.parse().map_err(|e| format!("{e}"))?,
            "--state-keys" => o.state_keys = value()?.parse().map_err(|e| format!("{e}"))?,
            "--seed" => o.seed = value()?.parse().map_err(|e| format!("{e}"))?,
            "--security" => {
                let v = value()?;
                o.security = Security::from_name(&v).ok_or(format!("unknown setting {v}"))?;
            }
            "--backend" => {
                let v = value()?;
                o.backend = Backend::from_name(&v).ok_or(format!("unknown backend {v}"))?;
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

fn print(json: bool, value: &impl serde::Serialize) {
    let text = if json {
        serde_json::to_string(value)
    } else {
        serde_json::to_string_pretty(value)
    };
    println!("{}", text.expect("a report serializes"));
}

fn main() {
    let args = parse().unwrap_or_else(|e| {
        eprintln!("prover_bench: {e}");
        std::process::exit(2);
    });
    if std::env::var_os("PROVER_TRACE").is_some() {
        // Per-phase timings of Plonky3's spans on stderr.
        tracing_subscriber::fmt()
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .init();
    }
    if args.witness_only {
        match bench::witness_only(&args.opts) {
            Ok(report) => print(args.json, &report),
            Err(e) => {
                eprintln!("prover_bench: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let proof_in = args
        .proof_in
        .as_ref()
        .map(|path| std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}")));
    match bench::run_with_proof(&args.opts, proof_in.as_deref()) {
        Ok((report, bytes)) => {
            if let Some(path) = &args.proof_out {
                std::fs::write(path, &bytes).unwrap_or_else(|e| panic!("writing {path}: {e}"));
            }
            print(args.json, &report);
        }
        Err(e) => {
            eprintln!("prover_bench: {e}");
            std::process::exit(1);
        }
    }
}
