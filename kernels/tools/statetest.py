"""Kernel developer's harness: runs GeneralStateTests (Cancun post-states) through the host build
of the interpreter via ctypes, without cargo, and checks state root and logs hash.

    .venv/bin/python kernels/tools/statetest.py ../shared/ethereum-tests/GeneralStateTests/stExample

Builds kernels/host/evm_host.cpp with g++ into a temporary shared library (or uses $LANES_LIB).
The project's runner is `lanes statetest --executor gpu-host` (cuda-evm/src/statetest.rs); this
one exists to iterate on the kernels quickly. It mirrors kernels/lanes_abi.h with ctypes
(the sizes are asserted), loads every pre-state account with its code, and answers
MISSING_KEY misses (absent accounts, zero slots) by rebuilding the wave and rerunning.
"""
import ctypes as C, json, sys, os, glob, subprocess, tempfile
import rlp
from eth_hash.auto import keccak
from mpt import trie_root

KERNELS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_lib(stats=False):
    out = os.path.join(tempfile.gettempdir(), "lanes_kernels_%d%s.so" % (os.getuid(), "_stats" if stats else ""))
    cmd = ["g++", "-std=c++17", "-O2", "-shared", "-fPIC", "-I", KERNELS, os.path.join(KERNELS, "host", "evm_host.cpp"), "-o", out]
    if stats:
        cmd.insert(1, "-DLANES_STATS")
    subprocess.run(cmd, check=True)
    return out


LIB = C.CDLL(os.environ.get("LANES_LIB") or build_lib())

class U256(C.Structure): _fields_ = [("limbs", C.c_uint64 * 4)]
class Span(C.Structure): _fields_ = [("offset", C.c_uint32), ("count", C.c_uint32)]
class BlockEnv(C.Structure): _fields_ = [("number", C.c_uint64), ("timestamp", C.c_uint64), ("gas_limit", C.c_uint64), ("chain_id", C.c_uint64), ("coinbase", C.c_uint8 * 20), ("_pad0", C.c_uint32), ("base_fee", U256), ("blob_base_fee", U256), ("prevrandao", C.c_uint8 * 32)]
class BlockHashEntry(C.Structure): _fields_ = [("number", C.c_uint64), ("flags", C.c_uint32), ("_pad0", C.c_uint32), ("hash", C.c_uint8 * 32)]
class Account(C.Structure): _fields_ = [("address", C.c_uint8 * 20), ("flags", C.c_uint32), ("nonce", C.c_uint64), ("balance", U256), ("code_hash", C.c_uint8 * 32), ("code_offset", C.c_uint64), ("code_len", C.c_uint32), ("_pad0", C.c_uint32)]
class Storage(C.Structure): _fields_ = [("address", C.c_uint8 * 20), ("flags", C.c_uint32), ("slot", U256), ("value", U256)]
class ALEntry(C.Structure): _fields_ = [("address", C.c_uint8 * 20), ("keys_count", C.c_uint32), ("keys_offset", C.c_uint64)]
class TxInput(C.Structure): _fields_ = [("tx_type", C.c_uint32), ("flags", C.c_uint32), ("caller", C.c_uint8 * 20), ("_pad0", C.c_uint32), ("to", C.c_uint8 * 20), ("_pad1", C.c_uint32), ("nonce", C.c_uint64), ("gas_limit", C.c_uint64), ("chain_id", C.c_uint64), ("data_offset", C.c_uint64), ("data_len", C.c_uint32), ("access_list_count", C.c_uint32), ("access_list_offset", C.c_uint64), ("blob_hashes_offset", C.c_uint64), ("blob_hashes_count", C.c_uint32), ("_pad2", C.c_uint32), ("value", U256), ("gas_price", U256), ("gas_priority_fee", U256), ("max_fee_per_blob_gas", U256)]
class Wave(C.Structure): _fields_ = [("magic", C.c_uint32), ("version", C.c_uint32), ("tx_count", C.c_uint32), ("flags", C.c_uint32), ("block", BlockEnv), ("accounts_offset", C.c_uint64), ("storage_offset", C.c_uint64), ("accounts_capacity", C.c_uint32), ("storage_capacity", C.c_uint32), ("code_offset", C.c_uint64), ("code_len", C.c_uint64), ("blockhash_offset", C.c_uint64), ("txs_offset", C.c_uint64), ("input_offset", C.c_uint64), ("input_len", C.c_uint64), ("wave_len", C.c_uint64), ("out_stride", C.c_uint64), ("scratch_stride", C.c_uint64)]
class Key(C.Structure): _fields_ = [("kind", C.c_uint32), ("address", C.c_uint8 * 20), ("slot", U256)]
class Log(C.Structure): _fields_ = [("address", C.c_uint8 * 20), ("topics_count", C.c_uint32), ("topics", (C.c_uint8 * 32) * 4), ("data", Span)]
class AccWrite(C.Structure): _fields_ = [("address", C.c_uint8 * 20), ("flags", C.c_uint32), ("nonce", C.c_uint64), ("balance", U256), ("code_hash", C.c_uint8 * 32), ("code", Span)]
class StWrite(C.Structure): _fields_ = [("address", C.c_uint8 * 20), ("_pad0", C.c_uint32), ("slot", U256), ("value", U256)]
class TxOutput(C.Structure): _fields_ = [("status", C.c_uint32), ("reason", C.c_uint32), ("gas_used", C.c_uint64), ("gas_refunded", C.c_uint64), ("used_bytes", C.c_uint64), ("coinbase_fee", U256), ("missing", Key), ("created_address", C.c_uint8 * 20), ("_pad0", C.c_uint32), ("return_data", Span), ("logs", Span), ("reads", Span), ("account_writes", Span), ("storage_writes", Span)]
assert C.sizeof(Wave) == 264 and C.sizeof(TxInput) == 248 and C.sizeof(TxOutput) == 184 and C.sizeof(Account) == 112

M64 = (1 << 64) - 1
def u256(v): return U256((v & M64, (v >> 64) & M64, (v >> 128) & M64, (v >> 192) & M64))
def fromu(u): return sum(u.limbs[i] << (64 * i) for i in range(4))
def fmix(x):
    x ^= x >> 33; x = (x * 0xff51afd7ed558ccd) & M64; x ^= x >> 33; x = (x * 0xc4ceb9fe1a85ec53) & M64; x ^= x >> 33; return x
def words(a): return [int.from_bytes(a[0:8], 'little'), int.from_bytes(a[8:16], 'little'), int.from_bytes(a[16:20], 'little')]
def hash_addr(a):
    h = 0
    for w in words(a): h = fmix(h ^ w)
    return h
def hash_slot(a, s):
    h = hash_addr(a)
    for i in range(4): h = fmix(h ^ ((s >> (64 * i)) & M64))
    return h
def hx(s): return int(s, 16)
def hb(s):
    s = s[2:] if s.startswith("0x") else s
    return bytes.fromhex(s)
def a20(b): return (C.c_uint8 * 20)(*b)
EMPTY = keccak(b"")

class Buf:
    def __init__(self): self.b = bytearray()
    def alloc(self, n):
        off = len(self.b); self.b += bytes((n + 7) // 8 * 8); return off
    def put(self, off, obj): self.b[off:off + C.sizeof(obj)] = bytes(obj)

def pow2(n):
    p = 16
    while p < n * 2 + 2: p *= 2
    return p

def build_wave(env, pre, absent, absent_slots, txs, blockhashes):
    buf = Buf()
    w = Wave()
    woff = buf.alloc(C.sizeof(Wave))
    w.magic = 0x4c414e45; w.version = 1; w.tx_count = len(txs)
    b = w.block
    b.number = hx(env["currentNumber"]); b.timestamp = hx(env["currentTimestamp"]); b.gas_limit = min(hx(env["currentGasLimit"]), M64)
    b.chain_id = 1; b.coinbase = a20(hb(env["currentCoinbase"])); b.base_fee = u256(hx(env.get("currentBaseFee", "0x0")))
    b.blob_base_fee = u256(blob_price(hx(env.get("currentExcessBlobGas", "0x0"))))
    b.prevrandao = (C.c_uint8 * 32)(*hx(env.get("currentRandom", env.get("currentDifficulty", "0x0"))).to_bytes(32, 'big'))
    # code arena
    w.code_offset = len(buf.b)
    codeoffs = {}
    for a, acc in pre.items():
        code = acc["code"]
        off = buf.alloc(max(len(code), 1)); buf.b[off:off + len(code)] = code; codeoffs[a] = off
    w.code_len = len(buf.b) - w.code_offset
    keys = list(pre.keys()) + [a for a in absent if a not in pre]
    cap = pow2(len(keys)); w.accounts_capacity = cap
    w.accounts_offset = buf.alloc(C.sizeof(Account) * cap)
    table = [None] * cap
    for a in keys:
        i = hash_addr(a) & (cap - 1)
        while table[i] is not None: i = (i + 1) & (cap - 1)
        e = Account(); e.address = a20(a)
        if a in pre:
            acc = pre[a]
            e.flags = 1 | 2 | 4; e.nonce = acc["nonce"]; e.balance = u256(acc["balance"])
            e.code_hash = (C.c_uint8 * 32)(*keccak(acc["code"])); e.code_offset = codeoffs[a]; e.code_len = len(acc["code"])
        else:
            e.flags = 1
        table[i] = e
    for i, e in enumerate(table):
        if e is not None: buf.put(w.accounts_offset + i * C.sizeof(Account), e)
    slots = [(a, k, v) for a, acc in pre.items() for k, v in acc["storage"].items()]
    slots += [(a, k, 0) for (a, k) in absent_slots if not (a in pre and k in pre[a]["storage"])]
    cap = pow2(len(slots)); w.storage_capacity = cap
    w.storage_offset = buf.alloc(C.sizeof(Storage) * cap)
    table = [None] * cap
    for a, k, v in slots:
        i = hash_slot(a, k) & (cap - 1)
        while table[i] is not None: i = (i + 1) & (cap - 1)
        e = Storage(); e.address = a20(a); e.flags = 1; e.slot = u256(k); e.value = u256(v); table[i] = e
    for i, e in enumerate(table):
        if e is not None: buf.put(w.storage_offset + i * C.sizeof(Storage), e)
    w.blockhash_offset = buf.alloc(C.sizeof(BlockHashEntry) * 256)
    for n, h in blockhashes.items():
        e = BlockHashEntry(); e.number = n; e.flags = 1; e.hash = (C.c_uint8 * 32)(*h)
        buf.put(w.blockhash_offset + (n % 256) * C.sizeof(BlockHashEntry), e)
    w.txs_offset = buf.alloc(C.sizeof(TxInput) * len(txs))
    w.input_offset = len(buf.b)
    for i, t in enumerate(txs):
        ti = TxInput()
        ti.tx_type = t["type"]; ti.flags = (1 if t["to"] is None else 0) | (2 if t["prio"] is not None else 0) | (4 if t["type"] != 0 else 0)
        ti.caller = a20(t["caller"]); ti.to = a20(t["to"] or bytes(20)); ti.nonce = t["nonce"]; ti.gas_limit = t["gas_limit"]; ti.chain_id = 1
        d = t["data"]; ti.data_offset = buf.alloc(max(len(d), 1)); buf.b[ti.data_offset:ti.data_offset + len(d)] = d; ti.data_len = len(d)
        al = t["access_list"]
        ti.access_list_count = len(al); ti.access_list_offset = buf.alloc(C.sizeof(ALEntry) * max(len(al), 1))
        for j, (addr, ks) in enumerate(al):
            e = ALEntry(); e.address = a20(addr); e.keys_count = len(ks); e.keys_offset = buf.alloc(32 * max(len(ks), 1))
            for q, k in enumerate(ks): buf.b[e.keys_offset + 32 * q:e.keys_offset + 32 * q + 32] = k.to_bytes(32, 'big')
            buf.put(ti.access_list_offset + j * C.sizeof(ALEntry), e)
        bh = t["blob_hashes"]; ti.blob_hashes_count = len(bh); ti.blob_hashes_offset = buf.alloc(32 * max(len(bh), 1))
        for j, h in enumerate(bh): buf.b[ti.blob_hashes_offset + 32 * j:ti.blob_hashes_offset + 32 * j + 32] = h
        ti.value = u256(t["value"]); ti.gas_price = u256(t["gas_price"]); ti.gas_priority_fee = u256(t["prio"] or 0); ti.max_fee_per_blob_gas = u256(t["max_blob"])
        buf.put(w.txs_offset + i * C.sizeof(TxInput), ti)
    w.input_len = len(buf.b) - w.input_offset
    w.wave_len = len(buf.b)
    w.out_stride = 1 << 20
    w.scratch_stride = 16 << 20
    buf.put(woff, w)
    return buf, w

def blob_price(excess):
    # fake_exponential(1, excess, 3338477)
    i, out, acc = 1, 0, 1 * 3338477
    while acc > 0:
        out += acc; acc = acc * excess // (3338477 * i); i += 1
    return out // 3338477

SCRATCH = None
def run_wave(buf, w, lib=None):
    global SCRATCH
    lib = lib or LIB
    n = w.tx_count
    wb = (C.c_uint8 * len(buf.b)).from_buffer(buf.b)
    out = (C.c_uint8 * (w.out_stride * n))()
    if SCRATCH is None: SCRATCH = (C.c_uint8 * w.scratch_stride)()
    for i in range(n):
        lib.lanes_host_execute_tx(wb, C.c_uint32(i), out, C.c_void_p(C.addressof(SCRATCH) - i * w.scratch_stride))
    return bytes(out)

def parse_out(out, w, i):
    base = i * w.out_stride
    o = TxOutput.from_buffer_copy(out, base)
    def recs(span, cls): return [cls.from_buffer_copy(out, base + span.offset + j * C.sizeof(cls)) for j in range(span.count)]
    def raw(span): return out[base + span.offset: base + span.offset + span.count]
    return o, recs, raw

def apply(pre, o, recs, raw, coinbase):
    st = {a: {"nonce": v["nonce"], "balance": v["balance"], "code": v["code"], "storage": dict(v["storage"])} for a, v in pre.items()}
    for aw in recs(o.account_writes, AccWrite):
        a = bytes(aw.address)
        if aw.flags & (2 | 4):
            st.pop(a, None); continue
        acc = st.get(a)
        if acc is None or aw.flags & 1:
            acc = {"nonce": 0, "balance": 0, "code": b"" if acc is None else acc["code"], "storage": {}}
        acc["nonce"] = aw.nonce; acc["balance"] = fromu(aw.balance)
        if aw.flags & 8: acc["code"] = bytes(raw(aw.code))
        st[a] = acc
    for sw in recs(o.storage_writes, StWrite):
        a = bytes(sw.address)
        if a not in st: st[a] = {"nonce": 0, "balance": 0, "code": b"", "storage": {}}
        k, v = fromu(sw.slot), fromu(sw.value)
        if v: st[a]["storage"][k] = v
        else: st[a]["storage"].pop(k, None)
    fee = fromu(o.coinbase_fee)
    cb = st.get(coinbase)
    if cb is None: cb = {"nonce": 0, "balance": 0, "code": b"", "storage": {}}
    cb["balance"] += fee
    if cb["nonce"] == 0 and cb["balance"] == 0 and cb["code"] == b"": st.pop(coinbase, None)
    else: st[coinbase] = cb
    return st

def state_root(st):
    kv = {}
    for a, acc in st.items():
        sr = trie_root({keccak(k.to_bytes(32, 'big')): rlp.encode(v) for k, v in acc["storage"].items() if v})
        kv[keccak(a)] = rlp.encode([acc["nonce"], acc["balance"], sr, keccak(acc["code"])])
    return trie_root(kv)

def logs_hash(logs):
    return keccak(rlp.encode(logs))

STATUS = ["SUCCESS", "REVERT", "HALT", "INVALID", "MISSING", "UNSUP"]

def run_file(path, results, verbose):
    data = json.load(open(path))
    for name, t in data.items():
        post = t.get("post", {}).get("Cancun")
        if not post: continue
        env = t["env"]
        pre = {}
        for a, v in t["pre"].items():
            pre[hb(a)] = {"nonce": hx(v["nonce"]), "balance": hx(v["balance"]), "code": hb(v["code"]), "storage": {hx(k): hx(x) for k, x in v["storage"].items() if hx(x)}}
        tx = t["transaction"]
        caller = hb(tx["sender"]) if "sender" in tx else None
        if caller is None:
            from eth_keys import keys as K
            caller = K.PrivateKey(hb(tx["secretKey"])).public_key.to_canonical_address()
        txs = []
        for p in post:
            ix = p["indexes"]
            al = []
            if "accessLists" in tx and tx["accessLists"] and tx["accessLists"][ix["data"]] is not None:
                al = [(hb(e["address"]), [hx(k) for k in e["storageKeys"]]) for e in tx["accessLists"][ix["data"]]]
            has_al = "accessLists" in tx
            if "maxFeePerGas" in tx:
                typ = 3 if "blobVersionedHashes" in tx else 2
                gp = hx(tx["maxFeePerGas"]); prio = hx(tx["maxPriorityFeePerGas"])
            else:
                typ = 1 if has_al else 0
                gp = hx(tx["gasPrice"]); prio = None
            to = hb(tx["to"]) if tx.get("to") else None
            txs.append({"type": typ, "caller": caller, "to": to, "nonce": hx(tx["nonce"]), "gas_limit": hx(tx["gasLimit"][ix["gas"]]),
                        "data": hb(tx["data"][ix["data"]]), "value": hx(tx["value"][ix["value"]]), "gas_price": gp, "prio": prio,
                        "access_list": al, "blob_hashes": [hb(h) for h in tx.get("blobVersionedHashes", [])],
                        "max_blob": hx(tx.get("maxFeePerBlobGas", "0x0"))})
        coinbase = hb(env["currentCoinbase"])
        absent, absent_slots = set(), set()
        num = hx(env["currentNumber"])
        bh = {n: keccak(str(n).encode()) for n in range(max(0, num - 256), num)}
        for it in range(3000):
            buf, w = build_wave(env, pre, absent, absent_slots, txs, bh)
            out = run_wave(buf, w)
            again = False
            for i in range(len(txs)):
                o, recs, raw = parse_out(out, w, i)
                if o.status == 4:
                    k = o.missing
                    if k.kind == 1: absent.add(bytes(k.address)); again = True
                    elif k.kind == 2: absent_slots.add((bytes(k.address), fromu(k.slot))); again = True
                    else: print("missing kind", k.kind)
            if not again: break
        for i, p in enumerate(post):
            o, recs, raw = parse_out(out, w, i)
            case = "%s:%s[%d]" % (os.path.basename(path), name, i)
            if o.status == 5:
                results["unsup"].append((case, o.reason)); continue
            if o.status == 4:
                results["fail"].append((case, "missing")); continue
            if o.status == 3:
                st = pre
                lg = []
            else:
                st = apply(pre, o, recs, raw, coinbase)
                lg = [[bytes(l.address), [bytes(l.topics[j]) for j in range(l.topics_count)], bytes(raw(l.data))] for l in recs(o.logs, Log)]
            root = state_root(st)
            ok_root = root.hex() == p["hash"][2:]
            ok_logs = logs_hash(lg).hex() == p["logs"][2:]
            exp_exc = "expectException" in p
            if exp_exc and o.status != 3: ok_root = False
            if ok_root and ok_logs:
                results["pass"].append(case)
            else:
                results["fail"].append((case, "%s reason=%d gas=%d root=%s logs=%s exc=%s" % (STATUS[o.status], o.reason, o.gas_used, ok_root, ok_logs, p.get("expectException"))))

if __name__ == "__main__":
    results = {"pass": [], "fail": [], "unsup": []}
    paths = []
    for a in sys.argv[1:]:
        if os.path.isdir(a): paths += sorted(glob.glob(a + "/**/*.json", recursive=True))
        else: paths.append(a)
    for p in paths:
        try:
            run_file(p, results, False)
        except Exception as e:
            results["fail"].append((p, "harness error: %r" % e))
    for c, why in results["fail"]: print("FAIL", c, why)
    for c, why in results["unsup"]: print("UNSUP", c, why)
    print("%d passed, %d failed, %d unsupported" % (len(results["pass"]), len(results["fail"]), len(results["unsup"])))
    from collections import Counter
    print("unsupported reasons:", Counter(r for _, r in results["unsup"]))
