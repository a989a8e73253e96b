//! The statetest runner over ethereum/tests with revm (`--executor cpu`): the runner itself
//! must pass what revm passes, so that a failure under the GPU host build is the kernel's.

use std::path::PathBuf;

use lanes_conflict::SequentialExecutor;
use lanes_cuda_evm::statetest;

/// `$LANES_ETHEREUM_TESTS`, or the first `shared/ethereum-tests` above this crate (the
/// checkout may be a worktree nested deeper than the main one).
pub(crate) fn general_state_tests() -> PathBuf {
    let root = match std::env::var_os("LANES_ETHEREUM_TESTS") {
        Some(dir) => PathBuf::from(dir),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("shared/ethereum-tests"))
            .find(|dir| dir.is_dir())
            .unwrap_or_else(|| PathBuf::from("../shared/ethereum-tests")),
    };
    root.join("GeneralStateTests")
}

#[test]
fn runner_passes_with_revm() {
    let root = general_state_tests();
    assert!(
        root.is_dir(),
        "GeneralStateTests not found at {} (set LANES_ETHEREUM_TESTS)",
        root.display()
    );
    let dirs: Vec<PathBuf> = ["stExample", "stSStoreTest", "stLogTests", "Cancun"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    let report = statetest::run(&dirs, &SequentialExecutor).unwrap();
    for failure in &report.failed {
        println!("FAIL {}: {}", failure.id, failure.message);
    }
    println!("cpu: {}", report.summary());
    assert!(report.failed.is_empty(), "{}", report.summary());
    assert!(report.passed > 500, "{}", report.summary());
}

#[test]
fn runner_detects_a_wrong_root() {
    // The runner must be able to fail: a test whose expected root was altered.
    let root = general_state_tests();
    let file = root.join("stExample/add11.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut tests: serde_json::Value = serde_json::from_str(&text).unwrap();
    for test in tests.as_object_mut().unwrap().values_mut() {
        for entry in test["post"]["Cancun"].as_array_mut().unwrap() {
            entry["hash"] = serde_json::Value::String(format!("0x{}", "11".repeat(32)));
        }
    }
    let dir = std::env::temp_dir().join(format!("lanes-statetest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let altered = dir.join("add11.json");
    std::fs::write(&altered, serde_json::to_string(&tests).unwrap()).unwrap();
    let report = statetest::run(&[altered], &SequentialExecutor).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(report.passed, 0, "{}", report.summary());
    assert!(!report.failed.is_empty(), "{}", report.summary());
    assert!(report.failed[0].message.contains("state root got"));
}

/// The host build of the kernels over every GeneralStateTests file: every case revm passes,
/// except the runner's explicit skip list (`statetest::SKIP`), must pass. Transactions the
/// kernel cannot finish run on revm in their place and are counted, not hidden: the count is
/// printed.
#[test]
fn host_build_passes_general_state_tests() {
    let root = general_state_tests();
    assert!(
        root.is_dir(),
        "GeneralStateTests not found at {} (set LANES_ETHEREUM_TESTS)",
        root.display()
    );
    let host = lanes_cuda_evm::GpuHostExecutor::new();
    let report = statetest::run(&[root], &host).unwrap();
    for failure in &report.failed {
        println!("FAIL {}: {}", failure.id, failure.message);
    }
    let stats = host.stats();
    println!("gpu-host: {}", report.summary());
    println!(
        "gpu-host: {} committed from the kernel, {} ran on the CPU instead: {:?}",
        stats.committed,
        stats.unsupported_total(),
        stats.unsupported
    );
    assert!(report.failed.is_empty(), "{}", report.summary());
    assert!(report.passed > 20_000, "{}", report.summary());
    // Most transactions must come from the kernel, not from the CPU fallback. Precompiles
    // not yet in the kernels run on the CPU by design (counted above); every other reason
    // must stay rare. The floor on kernel commits only rises.
    let precompiles = stats
        .unsupported
        .get("precompile not in this build")
        .copied()
        .unwrap_or(0);
    assert!(stats.committed >= 16_000, "{stats:?}");
    assert!(
        (stats.unsupported_total() - precompiles) * 100 <= stats.committed,
        "{stats:?}"
    );
}
