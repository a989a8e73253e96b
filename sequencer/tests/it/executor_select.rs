//! `--executor gpu|auto` on a machine without a usable GPU (every machine we test on): `gpu`
//! refuses to start and names what is missing; `auto` starts on `cpu-parallel` and logs why.
//! Both run the real `lanes` binary and read its log.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

fn lanes(executor: &str, datadir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lanes"));
    cmd.args(["node", "--dev", "--http.port", "0", "--executor", executor])
        .arg("--datadir")
        .arg(datadir)
        .env("RUST_LOG", "info")
        .env_remove("LANES_EXECUTOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn executor_gpu_without_a_device_fails_at_start() {
    if lanes_cuda_evm::device::probe().is_ok() {
        // A machine with a GPU: `gpu` is expected to start there; nothing to check here.
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = lanes("gpu", dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "gpu started without a GPU: {stderr}"
    );
    assert!(
        stderr.contains("--executor gpu cannot start the GPU executor"),
        "{stderr}"
    );
    assert!(
        stderr.contains("CUDA") && stderr.contains("--executor auto"),
        "the error must name the missing driver/device and suggest auto: {stderr}"
    );
}

#[test]
fn executor_auto_without_a_device_falls_back_to_cpu_parallel() {
    if lanes_cuda_evm::device::probe().is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = lanes("auto", dir.path()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let mut fell_back = false;
    let mut ready = false;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        fell_back |= line.contains("no usable GPU, falling back to cpu-parallel");
        ready |= line.contains("executor ready") && line.contains("cpu-parallel");
        log.push(line);
        if ready {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = log.join("\n");
    assert!(fell_back, "no fallback message in the log:\n{log}");
    assert!(ready, "the node did not start on cpu-parallel:\n{log}");
    assert!(log.contains("CUDA"), "the log must say why:\n{log}");
}
