//! The device build compiles to PTX. NVRTC comes from the project's set-up (`.venv`, PyPI
//! `nvidia-cuda-nvrtc-cu12`), so a missing NVRTC fails this test rather than skipping it:
//! device-only compile errors must fail CI.

use lanes_cuda_evm::nvrtc::{ENTRY_KERNEL, compile_ptx, load_nvrtc};

#[test]
fn device_build_compiles_to_ptx_for_h100() {
    let from = load_nvrtc().unwrap_or_else(|e| panic!("{e}"));
    let ptx = compile_ptx("compute_90").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        ptx.contains(".target sm_90"),
        "PTX is not for sm_90 (NVRTC from {from})"
    );
    let entry = format!(".entry {ENTRY_KERNEL}(");
    assert!(
        ptx.contains(&entry),
        "PTX has no `{entry}` (NVRTC from {from}); entries: {:?}",
        ptx.lines()
            .filter(|l| l.contains(".entry"))
            .collect::<Vec<_>>()
    );
}
