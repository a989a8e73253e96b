//! `lanes bench --json`: the real binary on small blocks prints one JSON object per workload
//! with the fields the benchmark's readers rely on, and rejects bad arguments with a message.

use std::process::Command;

fn lanes_bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lanes"))
        .arg("bench")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn bench_json_has_one_object_per_workload() {
    let output = lanes_bench(&[
        "--workload",
        "raw,amm,mixed",
        "--hot-ratio",
        "0.1,0.6",
        "--txs",
        "200",
        "--threads",
        "2",
        "--runs",
        "1",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let objects: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let workloads: Vec<&str> = objects
        .iter()
        .map(|o| o["workload"].as_str().unwrap())
        .collect();
    assert_eq!(
        workloads,
        [
            "raw",
            "amm",
            "mixed (hot ratio 0.1)",
            "mixed (hot ratio 0.6)"
        ]
    );
    for o in &objects {
        assert_eq!(o["txs"], 200, "{o}");
        assert_eq!(o["threads"], 2, "{o}");
        assert_eq!(o["runs"], 1, "{o}");
        for field in ["sequential_gas_per_s", "parallel_gas_per_s", "speedup"] {
            let value = o[field].as_f64().unwrap_or_else(|| panic!("{field}: {o}"));
            assert!(value.is_finite() && value > 0.0, "{field}: {o}");
        }
        assert_eq!(o["parallel_stats"]["txs"], 200, "{o}");
        if std::thread::available_parallelism().map_or(1, usize::from) > 1 {
            let round_trips = o["core_round_trip_ns"].as_array().unwrap();
            assert_eq!(round_trips.len(), 2, "{o}");
            for ns in round_trips {
                let ns = ns.as_f64().unwrap();
                assert!(ns.is_finite() && ns > 0.0, "core_round_trip_ns: {o}");
            }
        }
    }
}

#[test]
fn bench_rejects_bad_arguments() {
    for (args, message) in [
        (&["--workload", "nft"][..], "unknown workload"),
        (
            &["--workload", "mixed", "--hot-ratio", "1.5"][..],
            "outside [0, 1]",
        ),
        (&["--runs", "0"][..], "--runs"),
    ] {
        let output = lanes_bench(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
