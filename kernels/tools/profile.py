"""Profiles ERC-20 transfers (contracts/artifacts/LanesToken.json) through the host build:
per-transaction operation counts (from a LANES_STATS build) and host time per transaction.
The counts feed the roofline estimate in kernels/PERFORMANCE.md.

    .venv/bin/python kernels/tools/profile.py [N]
"""
import ctypes as C, json, os, sys, time
from eth_hash.auto import keccak
import statetest as st

ROOT = os.path.dirname(st.KERNELS)


class Stats(C.Structure):
    _fields_ = [(n, C.c_uint64) for n in ("ops", "keccak_blocks", "analyzed_bytes", "pre_probes", "pre_lookups", "mem_bytes", "frames", "u256_divs")]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    art = json.load(open(os.path.join(ROOT, "contracts", "artifacts", "LanesToken.json")))
    code = bytes.fromhex(art["deployedBytecode"].removeprefix("0x"))
    token = bytes.fromhex("70" * 20)
    senders = [keccak(b"sender%d" % i)[12:] for i in range(n)]
    rcpts = [keccak(b"rcpt%d" % i)[12:] for i in range(n)]
    slot = lambda a: int.from_bytes(keccak(bytes(12) + a + (3).to_bytes(32, "big")), "big")
    pre = {token: {"nonce": 1, "balance": 0, "code": code, "storage": {2: 10**30}}}
    for s in senders:
        pre[s] = {"nonce": 0, "balance": 10**20, "code": b"", "storage": {}}
        pre[token]["storage"][slot(s)] = 10**24
    absent = set(rcpts)
    absent_slots = {(token, slot(r)) for r in rcpts}
    env = {"currentNumber": "0x10", "currentTimestamp": "0x1000", "currentGasLimit": "0x1c9c380",
           "currentCoinbase": "0x" + "c0" * 20, "currentBaseFee": "0x7", "currentExcessBlobGas": "0x0", "currentRandom": "0x0"}
    txs = [{"type": 2, "caller": s, "to": token, "nonce": 0, "gas_limit": 100000,
            "data": bytes.fromhex("a9059cbb") + bytes(12) + r + (5).to_bytes(32, "big"), "value": 0,
            "gas_price": 10, "prio": 1, "access_list": [], "blob_hashes": [], "max_blob": 0}
           for s, r in zip(senders, rcpts)]
    buf, w = st.build_wave(env, pre, absent, absent_slots, txs, {})
    w.out_stride = 64 << 10  # plenty for a transfer; keeps the output buffer small
    buf.put(0, w)
    if os.environ.get("LANES_DUMP_WAVE"):  # for kernels/tools/run_wave.cpp (instruction counts)
        open(os.environ["LANES_DUMP_WAVE"], "wb").write(bytes(buf.b))
    stats_lib = C.CDLL(st.build_lib(stats=True))
    out = st.run_wave(buf, w, stats_lib)
    statuses = {}
    out_bytes = 0
    for i in range(n):
        o, recs, raw = st.parse_out(out, w, i)
        statuses[o.status] = statuses.get(o.status, 0) + 1
        out_bytes += o.used_bytes
        if i == 0:
            gas = o.gas_used
            reads, aw, sw = o.reads.count, o.account_writes.count, o.storage_writes.count
    s = Stats()
    stats_lib.lanes_host_stats(C.byref(s), 1)
    print("statuses", statuses, "gas_used", gas, "reads", reads, "account writes", aw, "storage writes", sw)
    for name, _ in Stats._fields_:
        print("%-15s %10.1f per tx" % (name, getattr(s, name) / n))
    print("wave bytes per tx %.0f, output bytes per tx %.0f" % (len(buf.b) / n, out_bytes / n))
    # Host CPU time (no counters; process time, so other load on the machine does not count),
    # ctypes call included.
    wb = (C.c_uint8 * len(buf.b)).from_buffer(buf.b)
    outb = (C.c_uint8 * (w.out_stride * n))()
    scratch = (C.c_uint8 * w.scratch_stride)()
    best = None
    for _ in range(int(os.environ.get("LANES_PROFILE_REPS", "3"))):
        t = time.process_time()
        for i in range(n):
            st.LIB.lanes_host_execute_tx(wb, C.c_uint32(i), outb, C.c_void_p(C.addressof(scratch) - i * w.scratch_stride))
        dt = (time.process_time() - t) / n
        best = dt if best is None else min(best, dt)
    print("host time per tx %.2f us (%.0f tx/s, one core)" % (best * 1e6, 1 / best))



if __name__ == "__main__":
    main()
