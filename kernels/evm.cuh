// The Cancun EVM interpreter and the transaction entry point `lanes_execute_tx`, for both builds.
//
// Gas, checks and their order follow revm 43 (SpecId::CANCUN). Call frames are an explicit stack
// in the per-tx scratch slot (no recursion): CALL/CREATE push a frame and the loop continues in
// the child; when a frame ends its result is applied to its parent.
#pragma once
#include "evm_state.cuh"
#include "precompiles/all.cuh"

#define FK_CALL 0u
#define FK_CALLCODE 1u
#define FK_DELEGATECALL 2u
#define FK_STATICCALL 3u
#define FK_CREATE 4u
#define FK_CREATE2 5u

// Frame results.
#define FR_NONE 0u
#define FR_STOP 1u    // STOP, or end of code
#define FR_RETURN 2u  // RETURN
#define FR_REVERT 3u  // REVERT
#define FR_HALT 4u    // exceptional halt (reason in halt)
#define FR_SELFDESTRUCT 5u

#define EVM_STACK_LIMIT 1024u
#define EVM_DEPTH_LIMIT 1024u
#define EVM_MAX_CODE_SIZE 24576u
#define EVM_MAX_INITCODE_SIZE 49152u

struct EvmFrame {
  uint32_t kind;
  uint32_t is_static;
  uint8_t address[20];  // the executing account (storage, ADDRESS)
  uint8_t caller[20];
  uint8_t code_address[20];
  uint32_t _pad0;
  U256 value;  // CALLVALUE
  const uint8_t* code;
  const uint8_t* input;
  uint32_t code_len;
  uint32_t input_len;
  uint32_t pc;
  uint32_t sp;
  U256* stack;
  uint8_t* mem;
  uint64_t mem_size;  // bytes, a multiple of 32
  uint8_t* jd;        // jumpdest bitmap
  uint8_t* rd;        // return data of the last call
  uint64_t rd_len;
  uint64_t gas_limit;
  uint64_t gas;  // remaining
  int64_t refund;
  uint32_t journal_cp;
  uint32_t logs_cp;
  uint64_t ret_off;  // where the pending call's output goes in this frame's memory
  uint64_t ret_len;
  uint64_t aux_end;  // aux region offset after this frame's bitmap
  uint64_t perm_cp;  // unused
};

// ---------------------------------------------------------------------------------------------
// Gas helpers.

LANES_HD static inline uint64_t evm_mem_cost(uint64_t words) { return 3 * words + (words * words) / 512; }

// Charge gas; false (frame halts out of gas) when not enough.
LANES_HD static inline bool evm_charge(EvmFrame* f, uint64_t g) {
  if (f->gas < g) return false;
  f->gas -= g;
  return true;
}

// The region bases for a new frame on top of `parent` (or the empty region for the first frame).
LANES_HD static inline uint64_t evm_words(uint64_t len) { return (len + 31) / 32; }

// Expand memory to cover [off, off+len); false on out of gas. Sets *unsup if scratch is full.
LANES_HD static inline bool evm_mem_expand(EvmCtx* c, EvmFrame* f, uint64_t off, uint64_t len) {
  if (len == 0) return true;
  uint64_t end = off + len;
  if (end < off || end > 0xffffffffULL) return false;  // the gas for it could never be paid
  if (end <= f->mem_size) return true;
  uint64_t new_words = evm_words(end);
  uint64_t cost = evm_mem_cost(new_words) - evm_mem_cost(f->mem_size / 32);
  if (!evm_charge(f, cost)) return false;
  uint64_t new_size = new_words * 32;
  uint64_t used = (uint64_t)(f->mem - c->mem_region.base);
  if (used + new_size > c->mem_region.cap) {
    evm_unsup(c, LANES_UNSUP_SCRATCH_FULL);
    return false;
  }
  evm_memset(f->mem + f->mem_size, 0, new_size - f->mem_size);
  LANES_STAT(mem_bytes += new_size - f->mem_size);
  f->mem_size = new_size;
  return true;
}

// Copy `len` bytes from src (src_len available, zero-padded beyond) at `src_off` to dst.
LANES_HD static inline void evm_copy_padded(uint8_t* dst, const uint8_t* src, uint64_t src_len, const U256& src_off, uint64_t len) {
  uint64_t off = u256_fits64(src_off) ? src_off.w[0] : 0xffffffffffffffffULL;
  for (uint64_t i = 0; i < len; i++) {
    uint64_t p = off + i;
    dst[i] = (p >= off && p < src_len) ? src[p] : 0;
  }
}

LANES_HD static inline void evm_addr_from_u256(const U256& v, uint8_t out[20]) {
  uint8_t b[32];
  u256_to_be(v, b);
  for (int i = 0; i < 20; i++) out[i] = b[12 + i];
}
LANES_HD static inline U256 evm_u256_from_addr(const uint8_t a[20]) { return u256_from_be_n(a, 20); }

// Jumpdest bitmap of code.
LANES_HD static inline void evm_analyze(const uint8_t* code, uint32_t len, uint8_t* jd) {
  uint32_t nb = (len + 8) / 8;
  LANES_STAT(analyzed_bytes += len);
  LANES_STAT(frames++);
  evm_memset(jd, 0, nb);
  for (uint32_t i = 0; i < len; i++) {
    uint8_t op = code[i];
    if (op == 0x5b)
      jd[i / 8] |= (uint8_t)(1u << (i % 8));
    else if (op >= 0x60 && op <= 0x7f)
      i += op - 0x5f;
  }
}

// ---------------------------------------------------------------------------------------------
// Frames.

// Set up frame `f` (depth index d) regions after its parent. False when scratch is full.
LANES_HD static inline bool evm_frame_regions(EvmCtx* c, uint32_t d) {
  EvmFrame* f = &c->frames[d];
  if (d == 0) {
    f->stack = (U256*)c->stack_region.base;
    f->mem = c->mem_region.base;
    f->rd = c->rd_region.base;
    f->aux_end = 0;
  } else {
    EvmFrame* p = &c->frames[d - 1];
    f->stack = p->stack + p->sp;
    f->mem = p->mem + p->mem_size;
    f->rd = p->rd + ((p->rd_len + 7) & ~7ULL);
    f->aux_end = p->aux_end;
  }
  f->sp = 0;
  f->mem_size = 0;
  f->rd_len = 0;
  uint64_t nb = ((uint64_t)f->code_len + 8) / 8;
  nb = (nb + 7) & ~7ULL;
  if (f->aux_end + nb > c->aux_region.cap) {
    evm_unsup(c, LANES_UNSUP_SCRATCH_FULL);
    return false;
  }
  f->jd = c->aux_region.base + f->aux_end;
  f->aux_end += nb;
  evm_analyze(f->code, f->code_len, f->jd);
  f->pc = 0;
  f->refund = 0;
  f->journal_cp = c->journal_len;
  f->logs_cp = c->logs_len;
  return true;
}

// Transfer value between loaded accounts (journaled). False if `from` lacks the funds.
LANES_HD static inline bool evm_transfer(EvmCtx* c, EvmAccount* from, EvmAccount* to, const U256& v) {
  if (u256_lt(from->s.balance, v)) return false;
  if (!evm_acc_save(c, from)) return false;
  from->s.balance = u256_sub(from->s.balance, v);
  from->s.flags |= OV_TOUCHED;
  if (!evm_acc_save(c, to)) return false;
  to->s.balance = u256_add(to->s.balance, v);
  to->s.flags |= OV_TOUCHED | OV_EXISTS;
  return true;
}

LANES_HD static inline void evm_touch(EvmCtx* c, EvmAccount* a) {
  if (a->s.flags & OV_TOUCHED) return;
  if (!evm_acc_save(c, a)) return;
  a->s.flags |= OV_TOUCHED;
}

// CREATE address: keccak(rlp([sender, nonce]))[12:].
LANES_HD static inline void evm_create_address(const uint8_t* sender, uint64_t nonce, uint8_t out[20]) {
  uint8_t buf[40];
  uint32_t n = 0;
  uint8_t nb[8];
  uint32_t nlen = 0;
  for (int i = 7; i >= 0; i--) {
    uint8_t b = (uint8_t)(nonce >> (8 * i));
    if (nlen == 0 && b == 0) continue;
    nb[nlen++] = b;
  }
  uint32_t payload = 21 + ((nonce == 0 || (nlen == 1 && nb[0] < 0x80)) ? 1 : 1 + nlen);
  buf[n++] = (uint8_t)(0xc0 + payload);
  buf[n++] = 0x94;
  for (int i = 0; i < 20; i++) buf[n++] = sender[i];
  if (nonce == 0)
    buf[n++] = 0x80;
  else if (nlen == 1 && nb[0] < 0x80)
    buf[n++] = nb[0];
  else {
    buf[n++] = (uint8_t)(0x80 + nlen);
    for (uint32_t i = 0; i < nlen; i++) buf[n++] = nb[i];
  }
  uint8_t h[32];
  lanes_keccak256(buf, n, h);
  for (int i = 0; i < 20; i++) out[i] = h[12 + i];
}

LANES_HD static inline void evm_create2_address(const uint8_t* sender, const U256& salt, const uint8_t* code, uint64_t len, uint8_t out[20]) {
  uint8_t buf[85];
  buf[0] = 0xff;
  for (int i = 0; i < 20; i++) buf[1 + i] = sender[i];
  u256_to_be(salt, buf + 21);
  lanes_keccak256(code, len, buf + 53);
  uint8_t h[32];
  lanes_keccak256(buf, 85, h);
  for (int i = 0; i < 20; i++) out[i] = h[12 + i];
}

// What the interpreter loop does next after setting up a call/create.
#define NEXT_CONTINUE 0u  // keep running the (possibly new) top frame
#define NEXT_ABORT 1u

// The result of a frame that ended, to apply to its parent.
struct EvmResult {
  uint32_t kind;  // FR_*
  uint32_t halt;  // LANES_HALT_* for FR_HALT
  uint64_t gas;   // remaining gas (returned to the parent unless halted)
  int64_t refund;
  const uint8_t* out;
  uint64_t out_len;
  uint8_t created[20];
};

// Push a call frame at depth d (frames[d] prefilled: kind, addresses, value, input, gas_limit,
// is_static). Handles depth, transfer, precompile and empty code; returns true when a new frame
// runs, else fills *res with the immediate result.
LANES_HD static inline bool evm_enter_call(EvmCtx* c, uint32_t d, EvmResult* res, bool transfer) {
  EvmFrame* f = &c->frames[d];
  res->kind = FR_STOP;
  res->halt = 0;
  res->gas = f->gas_limit;
  res->refund = 0;
  res->out = 0;
  res->out_len = 0;
  if (d > EVM_DEPTH_LIMIT) {
    res->kind = FR_REVERT;  // CallTooDeep: gas returned, push 0
    return false;
  }
  uint32_t cp = c->journal_len;
  EvmAccount* to = evm_acc(c, f->address);
  if (!to) return false;
  if (transfer) {
    EvmAccount* from = evm_acc(c, f->caller);
    if (!from) return false;
    to = evm_acc(c, f->address);
    if (u256_lt(from->s.balance, f->value)) {
      evm_revert_to(c, cp);
      res->kind = FR_REVERT;  // OutOfFunds
      return false;
    }
    if (u256_is_zero(f->value)) {
      evm_touch(c, to);
    } else if (!evm_transfer(c, from, to, f->value)) {
      return false;
    }
  }
  if (c->abort) return false;
  if (evm_is_precompile(f->code_address)) {
    uint32_t id = f->code_address[19];
    EvmFrame* p = d > 0 ? &c->frames[d - 1] : 0;
    uint8_t* outbuf = p ? p->rd : c->rd_region.base;
    uint64_t used = (uint64_t)(outbuf - c->rd_region.base);
    uint64_t cap = c->rd_region.cap - used;
    uint32_t need = f->input_len > 1024 ? f->input_len : 1024;
    if (cap < need) {
      evm_unsup(c, LANES_UNSUP_SCRATCH_FULL);
      return false;
    }
    uint32_t out_len = 0;
    uint64_t gas_used = 0;
    int st = lanes_precompile_run(id, f->input, f->input_len, f->gas_limit, outbuf, (uint32_t)(cap > 0xffffffffULL ? 0xffffffffULL : cap), &out_len, &gas_used);
    if (st == LANES_PC_UNSUPPORTED) {
      evm_unsup(c, LANES_UNSUP_PRECOMPILE);
      return false;
    }
    if (st == LANES_PC_OK) {
      res->kind = FR_RETURN;
      res->gas = f->gas_limit - gas_used;
      res->out = outbuf;
      res->out_len = out_len;
    } else {
      evm_revert_to(c, cp);
      res->kind = FR_HALT;
      res->halt = st == LANES_PC_OUT_OF_GAS ? LANES_HALT_OUT_OF_GAS : LANES_HALT_PRECOMPILE_ERROR;
      res->gas = 0;
    }
    return false;
  }
  EvmAccount* ca = evm_acc(c, f->code_address);
  if (!ca) return false;
  const uint8_t* code;
  uint32_t code_len;
  if (!evm_acc_code(c, ca, &code, &code_len)) return false;
  if (code_len == 0) return false;  // success, nothing to run
  f->code = code;
  f->code_len = code_len;
  f->gas = f->gas_limit;
  if (!evm_frame_regions(c, d)) return false;
  f->journal_cp = cp;
  c->depth = d + 1;
  return true;
}

// Push a create frame at depth d (frames[d] prefilled: kind, caller, value, input = initcode,
// gas_limit; address computed here from the salt in `salt`). Returns true when the initcode runs.
LANES_HD static inline bool evm_enter_create(EvmCtx* c, uint32_t d, EvmResult* res, const U256& salt) {
  EvmFrame* f = &c->frames[d];
  res->kind = FR_REVERT;
  res->halt = 0;
  res->gas = f->gas_limit;
  res->refund = 0;
  res->out = 0;
  res->out_len = 0;
  for (int i = 0; i < 20; i++) res->created[i] = 0;
  if (d > EVM_DEPTH_LIMIT) return false;
  EvmAccount* caller = evm_acc(c, f->caller);
  if (!caller) return false;
  if (u256_lt(caller->s.balance, f->value)) return false;
  if (caller->s.nonce == 0xffffffffffffffffULL) {
    // revm returns an ok result without an address: the gas comes back and 0 is pushed, the
    // same as a revert without output.
    return false;
  }
  uint64_t old_nonce = caller->s.nonce;
  if (!evm_acc_save(c, caller)) return false;
  caller->s.nonce = old_nonce + 1;
  uint8_t addr[20];
  if (f->kind == FK_CREATE2)
    evm_create2_address(f->caller, salt, f->input, f->input_len, addr);
  else
    evm_create_address(f->caller, old_nonce, addr);
  for (int i = 0; i < 20; i++) {
    f->address[i] = addr[i];
    f->code_address[i] = addr[i];
    res->created[i] = addr[i];
  }
  evm_warm(c, addr);
  EvmAccount* a = evm_acc(c, addr);
  if (!a) return false;
  caller = evm_acc(c, f->caller);
  if (a->s.nonce != 0 || !evm_is_keccak_empty(a->s.code_hash)) {
    res->kind = FR_HALT;
    res->halt = LANES_HALT_CREATE_COLLISION;
    res->gas = 0;
    return false;
  }
  uint32_t cp = c->journal_len;
  if (!evm_acc_save(c, a)) return false;
  a->s.flags |= OV_CREATED | OV_EXISTS | OV_TOUCHED;
  a->s.nonce = 1;
  // Storage of a created account starts empty: slots already in the overlay are reset.
  for (uint32_t i = 0; i < c->slots_count; i++) {
    EvmSlot* s = &c->slots[i];
    if ((s->flags & SL_USED) && evm_addr_eq(s->addr, addr) && (s->flags & SL_LOADED) && !u256_is_zero(s->present)) {
      if (!evm_journal_push(c, J_SLOT, i)) return false;
      c->journal[c->journal_len - 1].old = s->present;
      s->present = u256_zero();
    }
  }
  if (!evm_transfer(c, caller, a, f->value)) return false;
  if (c->abort) return false;
  f->code = f->input;
  f->code_len = f->input_len;
  f->input = 0;
  f->input_len = 0;
  f->gas = f->gas_limit;
  f->is_static = 0;
  if (!evm_frame_regions(c, d)) return false;
  f->journal_cp = cp;
  c->depth = d + 1;
  return true;
}

// The top frame ended with `r` (out points into its memory). Handles code deposit for creates
// and pops the frame; the caller then applies *r to the parent (or the tx).
LANES_HD static inline void evm_leave(EvmCtx* c, EvmResult* r) {
  EvmFrame* f = &c->frames[c->depth - 1];
  bool is_create = f->kind == FK_CREATE || f->kind == FK_CREATE2;
  if (is_create) {
    for (int i = 0; i < 20; i++) r->created[i] = f->address[i];
    if (r->kind == FR_STOP || r->kind == FR_RETURN || r->kind == FR_SELFDESTRUCT) {
      uint64_t len = r->out_len;
      if (len > 0 && r->out[0] == 0xef) {
        r->kind = FR_HALT;
        r->halt = LANES_HALT_CREATE_CONTRACT_STARTING_WITH_EF;
      } else if (len > EVM_MAX_CODE_SIZE) {
        r->kind = FR_HALT;
        r->halt = LANES_HALT_CREATE_CONTRACT_SIZE_LIMIT;
      } else if (r->gas < len * 200) {
        r->kind = FR_HALT;
        r->halt = LANES_HALT_OUT_OF_GAS;
      } else {
        r->gas -= len * 200;
        uint8_t* code = evm_bump(&c->perm_region, len ? len : 1);
        if (!code) {
          evm_unsup(c, LANES_UNSUP_SCRATCH_FULL);
          return;
        }
        evm_memcpy(code, r->out, len);
        EvmAccount* a = evm_acc(c, f->address);
        if (!a || !evm_acc_save(c, a)) return;
        a->s.code = code;
        a->s.code_len = (uint32_t)len;
        a->s.flags |= OV_CODE_NEW;
        lanes_keccak256(code, len, a->s.code_hash);
        // A successful create leaves its parent no return data (evm_apply); a transaction's
        // output is the deployed code, as revm reports it.
        r->kind = FR_RETURN;
        r->out = code;
      }
    }
  }
  if (r->kind == FR_HALT) {
    r->gas = 0;
    r->refund = 0;
  }
  if (r->kind == FR_REVERT || r->kind == FR_HALT) {
    evm_revert_to(c, f->journal_cp);
    c->logs_len = f->logs_cp;
  }
  c->depth--;
}

// Apply a finished child's result (frame kind `kind`) to the now-top frame p.
LANES_HD static inline void evm_apply(EvmCtx* c, EvmFrame* p, uint32_t kind, EvmResult* r) {
  bool ok = r->kind == FR_STOP || r->kind == FR_RETURN || r->kind == FR_SELFDESTRUCT;
  bool is_create = kind == FK_CREATE || kind == FK_CREATE2;
  // Return data: the output of a call (success or revert) or of a reverted create.
  uint64_t rd_len = 0;
  if (r->kind == FR_REVERT || (!is_create && ok)) rd_len = r->out_len;
  uint64_t used = (uint64_t)(p->rd - c->rd_region.base);
  if (used + rd_len > c->rd_region.cap) {
    evm_unsup(c, LANES_UNSUP_SCRATCH_FULL);
    return;
  }
  if (rd_len) evm_memmove(p->rd, r->out, rd_len);
  p->rd_len = rd_len;
  if (r->kind != FR_HALT) p->gas += r->gas;
  if (ok) p->refund += r->refund;
  U256 v = u256_zero();
  if (is_create) {
    if (ok) v = evm_u256_from_addr(r->created);
  } else {
    uint64_t n = p->ret_len < rd_len ? p->ret_len : rd_len;
    if (n) evm_memcpy(p->mem + p->ret_off, p->rd, n);
    if (ok) v = u256_from64(1);
  }
  p->stack[p->sp++] = v;
}

// Blob gas per blob (EIP-4844).
#define EVM_GAS_PER_BLOB 131072ULL

// Runs frames until the first frame (depth base+1 -> base) ends; fills *fin.
LANES_HD static inline void evm_run(EvmCtx* c, EvmResult* fin) {
  const LanesWave* w = c->wave;
  const LanesBlockEnv* env = &w->block;
  U256* stack_end = (U256*)(c->stack_region.base + c->stack_region.cap);
  while (true) {
    if (c->abort) return;
    EvmFrame* f = &c->frames[c->depth - 1];
    EvmResult r;
    r.kind = FR_NONE;
    r.halt = 0;
    r.out = 0;
    r.out_len = 0;
    r.refund = 0;
    U256* s = f->stack;
    const uint8_t* code = f->code;
    uint32_t code_len = f->code_len;
    // pc, gas and sp live in locals (registers on the device) while the frame runs; SAVE writes
    // them back before anything that reads the frame, LOAD reads them after.
    uint32_t pc = f->pc;
    uint64_t gas = f->gas;
    uint32_t sp = f->sp;

#define HALT(reason)      \
  do {                    \
    r.kind = FR_HALT;     \
    r.halt = (reason);    \
    goto frame_end;       \
  } while (0)
#define OOG HALT(LANES_HALT_OUT_OF_GAS)
#define GAS(g)        \
  do {                \
    if (gas < (g)) OOG; \
    gas -= (g);       \
  } while (0)
#define NEED(n) \
  if (sp < (n)) HALT(LANES_HALT_STACK_UNDERFLOW)
#define ROOM(n)                                                  \
  if (sp + (n) > EVM_STACK_LIMIT) HALT(LANES_HALT_STACK_OVERFLOW); \
  if (s + sp + (n) > stack_end) {                             \
    evm_unsup(c, LANES_UNSUP_SCRATCH_FULL);                      \
    return;                                                      \
  }
#define TOP (s[sp - 1])
#define AT(i) (s[sp - 1 - (i)])
#define PUSHV(v) (s[sp++] = (v))
#define CHECK_ABORT \
  if (c->abort) return;
#define SAVE \
  f->pc = pc;  \
  f->gas = gas; \
  f->sp = sp
#define LOAD \
  pc = f->pc;  \
  gas = f->gas; \
  sp = f->sp
#define MEMX(off, len)                     \
  {                                        \
    f->gas = gas;                          \
    bool mem_ok = evm_mem_expand(c, f, (off), (len)); \
    gas = f->gas;                          \
    if (!mem_ok) {                         \
      CHECK_ABORT;                         \
      OOG;                                 \
    }                                      \
  }
// Converts a U256 memory offset/length pair to u64, halting out of gas when too large.
#define MEMARGS(o256, l256, o, l)                                   \
  uint64_t o = 0, l = 0;                                            \
  if (!u256_fits64(l256) || l256.w[0] > 0xffffffffULL) OOG;         \
  l = l256.w[0];                                                    \
  if (l) {                                                          \
    if (!u256_fits64(o256) || o256.w[0] > 0xffffffffULL) OOG;       \
    o = o256.w[0];                                                  \
  }

    while (true) {
      uint8_t op = pc < code_len ? code[pc] : 0;
      pc++;
      LANES_STAT(ops++);
      switch (op) {
        case 0x00:
          r.kind = FR_STOP;
          goto frame_end;
        case 0x01: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_add(a, TOP); break; }
        case 0x02: { GAS(5); NEED(2); U256 a = AT(0); sp--; TOP = u256_mul(a, TOP); break; }
        case 0x03: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_sub(a, TOP); break; }
        case 0x04: { GAS(5); NEED(2); U256 a = AT(0); sp--; TOP = u256_div(a, TOP); break; }
        case 0x05: { GAS(5); NEED(2); U256 a = AT(0); sp--; TOP = u256_sdiv(a, TOP); break; }
        case 0x06: { GAS(5); NEED(2); U256 a = AT(0); sp--; TOP = u256_mod(a, TOP); break; }
        case 0x07: { GAS(5); NEED(2); U256 a = AT(0); sp--; TOP = u256_smod(a, TOP); break; }
        case 0x08: { GAS(8); NEED(3); U256 a = AT(0), b = AT(1); sp -= 2; TOP = u256_addmod(a, b, TOP); break; }
        case 0x09: { GAS(8); NEED(3); U256 a = AT(0), b = AT(1); sp -= 2; TOP = u256_mulmod(a, b, TOP); break; }
        case 0x0a: {
          GAS(10);
          NEED(2);
          U256 e = AT(1);
          uint64_t bytes = (uint64_t)(u256_bits(e) + 7) / 8;
          GAS(50 * bytes);
          U256 a = AT(0);
          sp--;
          TOP = u256_exp(a, e);
          break;
        }
        case 0x0b: { GAS(5); NEED(2); U256 a = AT(0); sp--; TOP = u256_signextend(a, TOP); break; }
        case 0x10: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_from64(u256_lt(a, TOP)); break; }
        case 0x11: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_from64(u256_gt(a, TOP)); break; }
        case 0x12: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_from64(u256_slt(a, TOP)); break; }
        case 0x13: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_from64(u256_sgt(a, TOP)); break; }
        case 0x14: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_from64(u256_eq(a, TOP)); break; }
        case 0x15: { GAS(3); NEED(1); TOP = u256_from64(u256_is_zero(TOP)); break; }
        case 0x16: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_and(a, TOP); break; }
        case 0x17: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_or(a, TOP); break; }
        case 0x18: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_xor(a, TOP); break; }
        case 0x19: { GAS(3); NEED(1); TOP = u256_not(TOP); break; }
        case 0x1a: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_byte(a, TOP); break; }
        case 0x1b: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_shl(TOP, a); break; }
        case 0x1c: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_shr(TOP, a); break; }
        case 0x1d: { GAS(3); NEED(2); U256 a = AT(0); sp--; TOP = u256_sar(TOP, a); break; }
        case 0x20: {
          GAS(30);
          NEED(2);
          MEMARGS(AT(0), AT(1), o, l);
          GAS(6 * evm_words(l));
          MEMX(o, l);
          uint8_t h[32];
          LANES_STAT(keccak_blocks += l / LANES_KECCAK_RATE + 1);
          lanes_keccak256(f->mem + o, l, h);
          sp--;
          TOP = u256_from_be(h);
          break;
        }
        case 0x30: { GAS(2); ROOM(1); PUSHV(evm_u256_from_addr(f->address)); break; }
        case 0x31: case 0x3b: case 0x3f: {  // BALANCE, EXTCODESIZE, EXTCODEHASH
          GAS(100);
          NEED(1);
          uint8_t a[20];
          evm_addr_from_u256(TOP, a);
          if (evm_is_cold(c, a)) {
            CHECK_ABORT;
            GAS(2500);
            evm_warm(c, a);
          }
          EvmAccount* acc = evm_acc(c, a);
          CHECK_ABORT;
          if (op == 0x31) {
            TOP = acc->s.balance;
          } else if (op == 0x3b) {
            const uint8_t* cd;
            uint32_t cl;
            if (!evm_acc_code(c, acc, &cd, &cl)) return;
            TOP = u256_from64(cl);
          } else {
            TOP = evm_acc_is_empty(acc) || !(acc->s.flags & OV_EXISTS) ? u256_zero() : u256_from_be(acc->s.code_hash);
          }
          break;
        }
        case 0x32: { GAS(2); ROOM(1); PUSHV(evm_u256_from_addr(c->origin)); break; }
        case 0x33: { GAS(2); ROOM(1); PUSHV(evm_u256_from_addr(f->caller)); break; }
        case 0x34: { GAS(2); ROOM(1); PUSHV(f->value); break; }
        case 0x35: {
          GAS(3);
          NEED(1);
          uint8_t b[32];
          evm_copy_padded(b, f->input, f->input_len, TOP, 32);
          TOP = u256_from_be(b);
          break;
        }
        case 0x36: { GAS(2); ROOM(1); PUSHV(u256_from64(f->input_len)); break; }
        case 0x37: case 0x39: case 0x3e: {  // CALLDATACOPY, CODECOPY, RETURNDATACOPY
          GAS(3);
          NEED(3);
          U256 mo = AT(0), so = AT(1), ln = AT(2);
          sp -= 3;
          if (!u256_fits64(ln) || ln.w[0] > 0xffffffffULL) OOG;
          uint64_t l = ln.w[0];
          if (op == 0x3e) {
            uint64_t soff = u256_fits64(so) ? so.w[0] : 0xffffffffffffffffULL;
            uint64_t end = soff + l;
            if (end < soff || end > f->rd_len) HALT(LANES_HALT_OUT_OF_OFFSET);
          }
          GAS(3 * evm_words(l));
          MEMARGS(mo, ln, o, l2);
          (void)l2;
          MEMX(o, l);
          if (op == 0x37)
            evm_copy_padded(f->mem + o, f->input, f->input_len, so, l);
          else if (op == 0x39)
            evm_copy_padded(f->mem + o, code, code_len, so, l);
          else
            evm_copy_padded(f->mem + o, f->rd, f->rd_len, so, l);
          break;
        }
        case 0x38: { GAS(2); ROOM(1); PUSHV(u256_from64(code_len)); break; }
        case 0x3a: { GAS(2); ROOM(1); PUSHV(c->gas_price); break; }
        case 0x3c: {  // EXTCODECOPY
          GAS(100);
          NEED(4);
          uint8_t a[20];
          evm_addr_from_u256(AT(0), a);
          U256 mo = AT(1), so = AT(2), ln = AT(3);
          sp -= 4;
          MEMARGS(mo, ln, o, l);
          GAS(3 * evm_words(l));
          if (evm_is_cold(c, a)) {
            CHECK_ABORT;
            GAS(2500);
            evm_warm(c, a);
          }
          MEMX(o, l);
          EvmAccount* acc = evm_acc(c, a);
          CHECK_ABORT;
          const uint8_t* cd;
          uint32_t cl;
          if (!evm_acc_code(c, acc, &cd, &cl)) return;
          if (l) evm_copy_padded(f->mem + o, cd, cl, so, l);
          break;
        }
        case 0x3d: { GAS(2); ROOM(1); PUSHV(u256_from64(f->rd_len)); break; }
        case 0x40: {
          GAS(20);
          NEED(1);
          U256 n = TOP;
          U256 res = u256_zero();
          if (u256_fits64(n) && n.w[0] < env->number && env->number - n.w[0] <= 256) {
            const LanesBlockHashEntry* t = (const LanesBlockHashEntry*)(c->wave_bytes + w->blockhash_offset);
            const LanesBlockHashEntry* e = &t[n.w[0] % LANES_BLOCKHASH_ENTRIES];
            if (!(e->flags & LANES_ENTRY_USED) || e->number != n.w[0]) {
              evm_missing(c, LANES_KEY_BLOCKHASH, 0, n);
              return;
            }
            if (c->blockhash_reads_len < c->blockhash_reads_cap) c->blockhash_reads[c->blockhash_reads_len++] = n.w[0];
            else {
              evm_unsup(c, LANES_UNSUP_SCRATCH_FULL);
              return;
            }
            res = u256_from_be(e->hash);
          }
          TOP = res;
          break;
        }
        case 0x41: { GAS(2); ROOM(1); PUSHV(evm_u256_from_addr(env->coinbase)); break; }
        case 0x42: { GAS(2); ROOM(1); PUSHV(u256_from64(env->timestamp)); break; }
        case 0x43: { GAS(2); ROOM(1); PUSHV(u256_from64(env->number)); break; }
        case 0x44: { GAS(2); ROOM(1); PUSHV(u256_from_be(env->prevrandao)); break; }
        case 0x45: { GAS(2); ROOM(1); PUSHV(u256_from64(env->gas_limit)); break; }
        case 0x46: { GAS(2); ROOM(1); PUSHV(u256_from64(env->chain_id)); break; }
        case 0x47: {
          GAS(5);
          ROOM(1);
          EvmAccount* acc = evm_acc(c, f->address);
          CHECK_ABORT;
          PUSHV(acc->s.balance);
          break;
        }
        case 0x48: { GAS(2); ROOM(1); PUSHV(evm_u256_from_abi(env->base_fee)); break; }
        case 0x49: {
          GAS(3);
          NEED(1);
          U256 i = TOP;
          if (u256_fits64(i) && i.w[0] < c->tx->blob_hashes_count)
            TOP = u256_from_be(c->wave_bytes + c->tx->blob_hashes_offset + 32 * i.w[0]);
          else
            TOP = u256_zero();
          break;
        }
        case 0x4a: { GAS(2); ROOM(1); PUSHV(evm_u256_from_abi(env->blob_base_fee)); break; }
        case 0x50: { GAS(2); NEED(1); sp--; break; }
        case 0x51: {
          GAS(3);
          NEED(1);
          MEMARGS(TOP, u256_from64(32), o, l);
          MEMX(o, l);
          TOP = u256_from_be(f->mem + o);
          break;
        }
        case 0x52: case 0x53: {
          GAS(3);
          NEED(2);
          uint64_t len = op == 0x52 ? 32 : 1;
          MEMARGS(AT(0), u256_from64(len), o, l);
          MEMX(o, l);
          U256 v = AT(1);
          sp -= 2;
          if (op == 0x52)
            u256_to_be(v, f->mem + o);
          else
            f->mem[o] = (uint8_t)v.w[0];
          break;
        }
        case 0x54: {  // SLOAD
          GAS(100);
          NEED(1);
          U256 key = TOP;
          EvmAccount* acc = evm_acc(c, f->address);
          CHECK_ABORT;
          int si = evm_slot_idx(c, f->address, key);
          CHECK_ABORT;
          if (!(c->slots[si].flags & SL_WARM)) {
            GAS(2000);
            c->slots[si].flags |= SL_WARM;
            if (!evm_journal_push(c, J_SLOT_WARM, (uint32_t)si)) return;
          }
          EvmSlot* sl = evm_slot(c, acc, key);
          CHECK_ABORT;
          TOP = sl->present;
          break;
        }
        case 0x55: {  // SSTORE
          if (f->is_static) HALT(LANES_HALT_STATE_CHANGE_DURING_STATIC);
          NEED(2);
          if (gas <= 2300) OOG;
          U256 key = AT(0), nv = AT(1);
          sp -= 2;
          EvmAccount* acc = evm_acc(c, f->address);
          CHECK_ABORT;
          int si = evm_slot_idx(c, f->address, key);
          CHECK_ABORT;
          uint64_t cost = 0;
          bool cold = !(c->slots[si].flags & SL_WARM);
          EvmSlot* sl = evm_slot(c, acc, key);
          CHECK_ABORT;
          if (cold) cost += 2100;
          U256 orig = sl->original, cur = sl->present;
          if (u256_eq(cur, nv))
            cost += 100;
          else if (u256_eq(orig, cur))
            cost += u256_is_zero(orig) ? 20000 : 2900;
          else
            cost += 100;
          GAS(cost);
          if (cold) {
            sl->flags |= SL_WARM;
            if (!evm_journal_push(c, J_SLOT_WARM, (uint32_t)si)) return;
          }
          if (!u256_eq(cur, nv)) {
            if (u256_eq(orig, cur)) {
              if (!u256_is_zero(orig) && u256_is_zero(nv)) f->refund += 4800;
            } else {
              if (!u256_is_zero(orig)) {
                if (u256_is_zero(cur))
                  f->refund -= 4800;
                else if (u256_is_zero(nv))
                  f->refund += 4800;
              }
              if (u256_eq(orig, nv)) f->refund += u256_is_zero(orig) ? 19900 : 2800;
            }
            if (!evm_journal_push(c, J_SLOT, (uint32_t)si)) return;
            c->journal[c->journal_len - 1].old = cur;
            sl->present = nv;
          }
          break;
        }
        case 0x56: {
          GAS(8);
          NEED(1);
          U256 d = TOP;
          sp--;
          if (!u256_fits64(d) || d.w[0] >= code_len || !((f->jd[d.w[0] / 8] >> (d.w[0] % 8)) & 1)) HALT(LANES_HALT_INVALID_JUMP);
          pc = (uint32_t)d.w[0];
          break;
        }
        case 0x57: {
          GAS(10);
          NEED(2);
          U256 d = AT(0), cond = AT(1);
          sp -= 2;
          if (!u256_is_zero(cond)) {
            if (!u256_fits64(d) || d.w[0] >= code_len || !((f->jd[d.w[0] / 8] >> (d.w[0] % 8)) & 1)) HALT(LANES_HALT_INVALID_JUMP);
            pc = (uint32_t)d.w[0];
          }
          break;
        }
        case 0x58: { GAS(2); ROOM(1); PUSHV(u256_from64(pc - 1)); break; }
        case 0x59: { GAS(2); ROOM(1); PUSHV(u256_from64(f->mem_size)); break; }
        case 0x5a: { GAS(2); ROOM(1); PUSHV(u256_from64(gas)); break; }
        case 0x5b: { GAS(1); break; }
        case 0x5c: {  // TLOAD
          GAS(100);
          NEED(1);
          int ti = evm_tslot_idx(c, f->address, TOP, false);
          TOP = ti >= 0 ? c->tslots[ti].value : u256_zero();
          break;
        }
        case 0x5d: {  // TSTORE
          if (f->is_static) HALT(LANES_HALT_STATE_CHANGE_DURING_STATIC);
          GAS(100);
          NEED(2);
          U256 key = AT(0), v = AT(1);
          sp -= 2;
          int ti = evm_tslot_idx(c, f->address, key, true);
          CHECK_ABORT;
          if (!evm_journal_push(c, J_TSLOT, (uint32_t)ti)) return;
          c->journal[c->journal_len - 1].old = c->tslots[ti].value;
          c->tslots[ti].value = v;
          break;
        }
        case 0x5e: {  // MCOPY
          GAS(3);
          NEED(3);
          U256 dst = AT(0), src = AT(1), ln = AT(2);
          sp -= 3;
          if (!u256_fits64(ln) || ln.w[0] > 0xffffffffULL) OOG;
          uint64_t l = ln.w[0];
          GAS(3 * evm_words(l));
          if (l) {
            if (!u256_fits64(dst) || dst.w[0] > 0xffffffffULL || !u256_fits64(src) || src.w[0] > 0xffffffffULL) OOG;
            uint64_t mx = dst.w[0] > src.w[0] ? dst.w[0] : src.w[0];
            MEMX(mx, l);
            evm_memmove(f->mem + dst.w[0], f->mem + src.w[0], l);
          }
          break;
        }
        case 0x5f: { GAS(2); ROOM(1); PUSHV(u256_zero()); break; }
        case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa4: {
          uint32_t n = op - 0xa0;
          if (f->is_static) HALT(LANES_HALT_STATE_CHANGE_DURING_STATIC);
          GAS(375 + 375 * n);
          NEED(2 + n);
          MEMARGS(AT(0), AT(1), o, l);
          GAS(8 * l);
          MEMX(o, l);
          if (c->logs_len >= c->logs_cap) {
            evm_unsup(c, LANES_UNSUP_SCRATCH_FULL);
            return;
          }
          uint8_t* data = evm_bump(&c->perm_region, l ? l : 1);
          if (!data) {
            evm_unsup(c, LANES_UNSUP_SCRATCH_FULL);
            return;
          }
          evm_memcpy(data, f->mem + o, l);
          EvmLog* lg = &c->logs[c->logs_len++];
          for (int i = 0; i < 20; i++) lg->addr[i] = f->address[i];
          lg->topics_count = n;
          for (uint32_t t = 0; t < n; t++) u256_to_be(AT(2 + t), lg->topics[t]);
          lg->data = data;
          lg->data_len = (uint32_t)l;
          sp -= 2 + n;
          break;
        }
        case 0xf0: case 0xf5: {  // CREATE, CREATE2
          if (f->is_static) HALT(LANES_HALT_STATE_CHANGE_DURING_STATIC);
          NEED(3);
          U256 value = AT(0), off = AT(1), ln = AT(2);
          if (!u256_fits64(ln) || ln.w[0] > 0xffffffffULL) OOG;
          uint64_t l = ln.w[0], o = 0;
          if (l) {
            if (l > EVM_MAX_INITCODE_SIZE) HALT(LANES_HALT_CREATE_INITCODE_SIZE_LIMIT);
            GAS(2 * evm_words(l));
            if (!u256_fits64(off) || off.w[0] > 0xffffffffULL) OOG;
            o = off.w[0];
            MEMX(o, l);
          }
          U256 salt = u256_zero();
          if (op == 0xf5) {
            NEED(4);
            salt = AT(3);
            GAS(32000 + 6 * evm_words(l));
          } else {
            GAS(32000);
          }
          sp -= op == 0xf5 ? 4 : 3;
          uint64_t gl = gas - gas / 64;
          GAS(gl);
          f->rd_len = 0;
          f->ret_off = 0;
          f->ret_len = 0;
          uint32_t d = c->depth;
          EvmFrame* nf = &c->frames[d];  // frames has EVM_DEPTH_LIMIT + 2 entries
          nf->kind = op == 0xf5 ? FK_CREATE2 : FK_CREATE;
          nf->is_static = 0;
          for (int i = 0; i < 20; i++) nf->caller[i] = f->address[i];
          nf->value = value;
          nf->input = f->mem + o;
          nf->input_len = (uint32_t)l;
          nf->gas_limit = gl;
          EvmResult cr;
          bool is_new;
          if (d >= EVM_DEPTH_LIMIT + 1) {
            is_new = false;
            cr.kind = FR_REVERT;
            cr.gas = gl;
            cr.out_len = 0;
            cr.refund = 0;
          } else {
            SAVE;
            is_new = evm_enter_create(c, d, &cr, salt);
          }
          CHECK_ABORT;
          if (is_new) {
            goto frame_suspend;
          }
          SAVE;
          evm_apply(c, f, nf->kind, &cr);
          LOAD;
          CHECK_ABORT;
          break;
        }
        case 0xf1: case 0xf2: case 0xf4: case 0xfa: {  // CALL, CALLCODE, DELEGATECALL, STATICCALL
          GAS(100);
          bool has_value = op == 0xf1 || op == 0xf2;
          NEED(has_value ? 7u : 6u);
          U256 gas_req = AT(0);
          uint8_t to[20];
          evm_addr_from_u256(AT(1), to);
          U256 value = has_value ? AT(2) : u256_zero();
          uint32_t k = has_value ? 3 : 2;
          U256 io = AT(k), il = AT(k + 1), oo = AT(k + 2), ol = AT(k + 3);
          sp -= k + 4;
          bool transfers = !u256_is_zero(value);
          if (op == 0xf1 && f->is_static && transfers) HALT(LANES_HALT_STATE_CHANGE_DURING_STATIC);
          MEMARGS(io, il, in_off, in_len);
          MEMX(in_off, in_len);
          MEMARGS(oo, ol, out_off, out_len);
          MEMX(out_off, out_len);
          if (transfers) GAS(9000);
          bool cold = evm_is_cold(c, to);
          CHECK_ABORT;
          if (cold) {
            GAS(2500);
            evm_warm(c, to);
          }
          EvmAccount* ta = evm_acc(c, to);
          CHECK_ABORT;
          if (op == 0xf1 && transfers && (evm_acc_is_empty(ta) || !(ta->s.flags & OV_EXISTS))) GAS(25000);
          uint64_t avail = gas - gas / 64;
          uint64_t gl = u256_fits64(gas_req) && gas_req.w[0] < avail ? gas_req.w[0] : avail;
          GAS(gl);
          if (transfers) gl += 2300;
          f->ret_off = out_off;
          f->ret_len = out_len;
          uint32_t d = c->depth;
          EvmResult cr;
          bool is_new = false;
          if (d > EVM_DEPTH_LIMIT) {
            cr.kind = FR_REVERT;
            cr.gas = gl;
            cr.out_len = 0;
            cr.refund = 0;
          } else {
            EvmFrame* nf = &c->frames[d];
            nf->kind = op == 0xf1 ? FK_CALL : op == 0xf2 ? FK_CALLCODE : op == 0xf4 ? FK_DELEGATECALL : FK_STATICCALL;
            nf->is_static = f->is_static || op == 0xfa;
            for (int i = 0; i < 20; i++) {
              nf->code_address[i] = to[i];
              if (op == 0xf1 || op == 0xfa) {
                nf->address[i] = to[i];
                nf->caller[i] = f->address[i];
              } else if (op == 0xf2) {
                nf->address[i] = f->address[i];
                nf->caller[i] = f->address[i];
              } else {
                nf->address[i] = f->address[i];
                nf->caller[i] = f->caller[i];
              }
            }
            nf->value = op == 0xf4 ? f->value : value;
            nf->input = f->mem + in_off;
            nf->input_len = (uint32_t)in_len;
            nf->gas_limit = gl;
            SAVE;
            is_new = evm_enter_call(c, d, &cr, op != 0xf4);
          }
          CHECK_ABORT;
          if (is_new) {
            goto frame_suspend;
          }
          SAVE;
          evm_apply(c, f, FK_CALL, &cr);
          LOAD;
          CHECK_ABORT;
          break;
        }
        case 0xf3: case 0xfd: {  // RETURN, REVERT
          NEED(2);
          MEMARGS(AT(0), AT(1), o, l);
          MEMX(o, l);
          sp -= 2;
          r.kind = op == 0xf3 ? FR_RETURN : FR_REVERT;
          r.out = f->mem + o;
          r.out_len = l;
          goto frame_end;
        }
        case 0xfe:
          HALT(LANES_HALT_INVALID_FE);
        case 0xff: {  // SELFDESTRUCT
          if (f->is_static) HALT(LANES_HALT_STATE_CHANGE_DURING_STATIC);
          GAS(5000);
          NEED(1);
          uint8_t to[20];
          evm_addr_from_u256(TOP, to);
          sp--;
          bool cold = evm_is_cold(c, to);
          CHECK_ABORT;
          if (cold) {
            GAS(2600);
            evm_warm(c, to);
          }
          EvmAccount* self = evm_acc(c, f->address);
          CHECK_ABORT;
          EvmAccount* ta = evm_acc(c, to);
          CHECK_ABORT;
          self = evm_acc(c, f->address);
          U256 bal = self->s.balance;
          bool had_value = !u256_is_zero(bal);
          if (had_value && (evm_acc_is_empty(ta) || !(ta->s.flags & OV_EXISTS))) GAS(25000);
          bool same = evm_addr_eq(to, f->address);
          if (!same) {
            if (!evm_acc_save(c, ta)) return;
            ta->s.balance = u256_add(ta->s.balance, bal);
            ta->s.flags |= OV_TOUCHED | OV_EXISTS;
          }
          if (self->s.flags & OV_CREATED) {
            if (!evm_acc_save(c, self)) return;
            self->s.flags |= OV_DESTROYED;
            self->s.balance = u256_zero();
          } else if (!same) {
            if (!evm_acc_save(c, self)) return;
            self->s.balance = u256_zero();
          }
          r.kind = FR_SELFDESTRUCT;
          goto frame_end;
        }
        default: {
          if (op >= 0x60 && op <= 0x7f) {
            GAS(3);
            ROOM(1);
            uint32_t n = op - 0x5f;
            uint8_t b[32];
            for (uint32_t i = 0; i < n; i++) {
              uint32_t p = pc + i;
              b[i] = p < code_len ? code[p] : 0;
            }
            PUSHV(u256_from_be_n(b, n));
            pc += n;
          } else if (op >= 0x80 && op <= 0x8f) {
            GAS(3);
            uint32_t n = op - 0x7f;
            NEED(n);
            ROOM(1);
            U256 v = AT(n - 1);
            PUSHV(v);
          } else if (op >= 0x90 && op <= 0x9f) {
            GAS(3);
            uint32_t n = op - 0x8f;
            NEED(n + 1);
            U256 t = TOP;
            TOP = AT(n);
            AT(n) = t;
          } else {
            HALT(LANES_HALT_OPCODE_NOT_FOUND);
          }
          break;
        }
      }
    }
  frame_suspend:
    continue;
  frame_end : {
    if (c->abort) return;
    r.gas = gas;
    r.refund = f->refund;
    uint32_t kind = f->kind;
    evm_leave(c, &r);
    if (c->abort) return;
    if (c->depth == 0) {
      *fin = r;
      return;
    }
    evm_apply(c, &c->frames[c->depth - 1], kind, &r);
  }
  }
#undef HALT
#undef OOG
#undef GAS
#undef NEED
#undef ROOM
#undef TOP
#undef AT
#undef PUSHV
#undef CHECK_ABORT
#undef MEMX
#undef MEMARGS
#undef SAVE
#undef LOAD
}

// ---------------------------------------------------------------------------------------------
// The transaction.

#define EVM_FRAMES (EVM_DEPTH_LIMIT + 2)

struct EvmOut {
  uint8_t* slot;
  uint64_t cap;
  uint64_t top;
  bool full;
};

LANES_HD static inline uint32_t evm_out_alloc(EvmOut* o, uint64_t n) {
  uint64_t a = (n + 7) & ~7ULL;
  if (o->full || a > o->cap - o->top || o->top + a > 0xffffffffULL) {
    o->full = true;
    return 0;
  }
  uint32_t off = (uint32_t)o->top;
  o->top += a;
  return off;
}

LANES_HD static inline void evm_set_invalid(LanesTxOutput* o, uint32_t reason) {
  o->status = LANES_STATUS_INVALID_TX;
  o->reason = reason;
}

// U256 product of a u64 and a U256; sets *overflow past 128 bits (revm computes fees in u128).
LANES_HD static inline U256 evm_mul_u128(uint64_t a, const U256& b, bool* overflow) {
  uint64_t p[8];
  u256_mul_full(u256_from64(a), b, p);
  U256 r = {{p[0], p[1], p[2], p[3]}};
  if (p[2] | p[3] | p[4] | p[5] | p[6] | p[7]) *overflow = true;
  return r;
}

// Sets up the scratch slot; false when it is too small.
LANES_HD static inline bool evm_setup(EvmCtx* c, uint8_t* scratch, uint64_t cap) {
  EvmBump b;
  b.base = scratch;
  b.cap = cap;
  b.top = 0;
  // Table sizes for an 8 MiB slot (about half of it), halved for each halving of the slot.
  uint32_t shift = cap >= (8u << 20) ? 0 : cap >= (4u << 20) ? 1 : cap >= (2u << 20) ? 2 : 3;
  c->accs_cap = 4096u >> shift;
  c->slots_cap = 8192u >> shift;
  c->tslots_cap = 1024u >> shift;
  c->journal_cap = 16384u >> shift;
  c->logs_cap = 1024u >> shift;
  c->blockhash_reads_cap = 256;
  c->frames = (EvmFrame*)evm_bump(&b, sizeof(EvmFrame) * EVM_FRAMES);
  c->accs = (EvmAccount*)evm_bump(&b, sizeof(EvmAccount) * c->accs_cap);
  c->slots = (EvmSlot*)evm_bump(&b, sizeof(EvmSlot) * c->slots_cap);
  c->tslots = (EvmTSlot*)evm_bump(&b, sizeof(EvmTSlot) * c->tslots_cap);
  c->accs_idx = (uint32_t*)evm_bump(&b, 4 * 2 * (uint64_t)c->accs_cap);
  c->slots_idx = (uint32_t*)evm_bump(&b, 4 * 2 * (uint64_t)c->slots_cap);
  c->tslots_idx = (uint32_t*)evm_bump(&b, 4 * 2 * (uint64_t)c->tslots_cap);
  c->journal = (EvmJournal*)evm_bump(&b, sizeof(EvmJournal) * c->journal_cap);
  c->logs = (EvmLog*)evm_bump(&b, sizeof(EvmLog) * c->logs_cap);
  c->blockhash_reads = (uint64_t*)evm_bump(&b, 8 * c->blockhash_reads_cap);
  if (!c->frames || !c->accs || !c->slots || !c->tslots || !c->journal || !c->logs || !c->blockhash_reads ||
      !c->accs_idx || !c->slots_idx || !c->tslots_idx)
    return false;
  // Small index tables to start with; they double as entries arrive (evm_grow_*).
  c->accs_idx_cap = 32;
  c->slots_idx_cap = 64;
  c->tslots_idx_cap = 16;
  for (uint32_t i = 0; i < c->accs_idx_cap; i++) c->accs_idx[i] = 0;
  for (uint32_t i = 0; i < c->slots_idx_cap; i++) c->slots_idx[i] = 0;
  for (uint32_t i = 0; i < c->tslots_idx_cap; i++) c->tslots_idx[i] = 0;
  uint64_t rest = (b.cap - b.top) & ~63ULL;
  if (rest < (1u << 18)) return false;
  uint64_t unit = rest / 16;
  unit &= ~63ULL;
  EvmBump* regions[5] = {&c->stack_region, &c->mem_region, &c->aux_region, &c->rd_region, &c->perm_region};
  uint64_t shares[5] = {2, 6, 1, 3, 4};
  for (int i = 0; i < 5; i++) {
    regions[i]->cap = unit * shares[i];
    regions[i]->base = evm_bump(&b, regions[i]->cap);
    regions[i]->top = 0;
  }
  c->accs_count = c->slots_count = c->tslots_count = 0;
  c->journal_len = c->logs_len = c->blockhash_reads_len = 0;
  c->depth = 0;
  c->abort = EVM_ABORT_NONE;
  c->abort_reason = 0;
  return true;
}

// Validation, fee charging and execution of one transaction. Fills the header fields of *o
// except for the spans; leaves the outcome in c and *fin.
LANES_HD static inline void evm_tx(EvmCtx* c, LanesTxOutput* o, EvmResult* fin, uint64_t* gas_limit_out) {
  const LanesTxInput* tx = c->tx;
  const LanesBlockEnv* env = &c->wave->block;
  const uint8_t* wb = c->wave_bytes;
  bool is_create = (tx->flags & LANES_TXF_CREATE) != 0;
  U256 base_fee = evm_u256_from_abi(env->base_fee);
  U256 gas_price = evm_u256_from_abi(tx->gas_price);
  U256 prio = (tx->flags & LANES_TXF_HAS_PRIORITY_FEE) ? evm_u256_from_abi(tx->gas_priority_fee) : u256_zero();
  fin->kind = FR_NONE;

  // validate_tx_env
  if (tx->flags & LANES_TXF_HAS_CHAIN_ID) {
    if (tx->chain_id != env->chain_id) return evm_set_invalid(o, LANES_INVALID_INVALID_CHAIN_ID);
  } else if (tx->tx_type != LANES_TX_LEGACY) {
    return evm_set_invalid(o, LANES_INVALID_INVALID_CHAIN_ID);
  }
  if (tx->tx_type == LANES_TX_LEGACY || tx->tx_type == LANES_TX_EIP2930) {
    if (u256_lt(gas_price, base_fee)) return evm_set_invalid(o, LANES_INVALID_GAS_PRICE_LESS_THAN_BASEFEE);
  } else if (tx->tx_type == LANES_TX_EIP1559 || tx->tx_type == LANES_TX_EIP4844) {
    if (u256_gt(prio, gas_price)) return evm_set_invalid(o, LANES_INVALID_PRIORITY_FEE_GREATER_THAN_MAX_FEE);
    uint64_t cy;
    U256 sum = u256_add_c(base_fee, prio, &cy);
    U256 eff = (cy || u256_lt(gas_price, sum)) ? gas_price : sum;
    if (u256_lt(eff, base_fee)) return evm_set_invalid(o, LANES_INVALID_GAS_PRICE_LESS_THAN_BASEFEE);
    if (tx->tx_type == LANES_TX_EIP4844) {
      if (is_create) return evm_set_invalid(o, LANES_INVALID_BLOB_CREATE_TRANSACTION);
      if (u256_gt(evm_u256_from_abi(env->blob_base_fee), evm_u256_from_abi(tx->max_fee_per_blob_gas)))
        return evm_set_invalid(o, LANES_INVALID_BLOB_GAS_PRICE_GREATER_THAN_MAX);
      if (tx->blob_hashes_count == 0) return evm_set_invalid(o, LANES_INVALID_EMPTY_BLOBS);
      for (uint32_t i = 0; i < tx->blob_hashes_count; i++)
        if (wb[tx->blob_hashes_offset + 32 * i] != 0x01) return evm_set_invalid(o, LANES_INVALID_BLOB_VERSION_NOT_SUPPORTED);
      if (tx->blob_hashes_count > 6) return evm_set_invalid(o, LANES_INVALID_TOO_MANY_BLOBS);
    }
  } else {
    return evm_set_invalid(o, LANES_INVALID_TX_TYPE_NOT_SUPPORTED);
  }
  if (tx->gas_limit > env->gas_limit) return evm_set_invalid(o, LANES_INVALID_CALLER_GAS_LIMIT_MORE_THAN_BLOCK);
  if (is_create && tx->data_len > EVM_MAX_INITCODE_SIZE) return evm_set_invalid(o, LANES_INVALID_CREATE_INITCODE_SIZE_LIMIT);
  if (tx->nonce == 0xffffffffffffffffULL) return evm_set_invalid(o, LANES_INVALID_NONCE_OVERFLOW);

  // Intrinsic gas.
  const uint8_t* data = wb + tx->data_offset;
  uint64_t intrinsic = 21000;
  for (uint32_t i = 0; i < tx->data_len; i++) intrinsic += data[i] ? 16 : 4;
  if (is_create) intrinsic += 32000 + 2 * evm_words(tx->data_len);
  const LanesAccessListEntry* al = (const LanesAccessListEntry*)(wb + tx->access_list_offset);
  if (tx->tx_type != LANES_TX_LEGACY)
    for (uint32_t i = 0; i < tx->access_list_count; i++) intrinsic += 2400 + 1900 * (uint64_t)al[i].keys_count;
  if (intrinsic > tx->gas_limit) return evm_set_invalid(o, LANES_INVALID_CALL_GAS_COST_MORE_THAN_GAS_LIMIT);

  // validate_against_state_and_deduct_caller
  EvmAccount* caller = evm_acc(c, tx->caller);
  if (!caller) return;
  if (!evm_is_keccak_empty(caller->s.code_hash)) return evm_set_invalid(o, LANES_INVALID_REJECT_CALLER_WITH_CODE);
  if (tx->nonce > caller->s.nonce) return evm_set_invalid(o, LANES_INVALID_NONCE_TOO_HIGH);
  if (tx->nonce < caller->s.nonce) return evm_set_invalid(o, LANES_INVALID_NONCE_TOO_LOW);
  U256 value = evm_u256_from_abi(tx->value);
  bool ovf = false;
  U256 max_spend = evm_mul_u128(tx->gas_limit, gas_price, &ovf);
  uint64_t cy = 0;
  max_spend = u256_add_c(max_spend, value, &cy);
  if (cy) ovf = true;
  uint64_t blob_gas = EVM_GAS_PER_BLOB * tx->blob_hashes_count;
  if (tx->tx_type == LANES_TX_EIP4844) {
    U256 df = evm_mul_u128(blob_gas, evm_u256_from_abi(tx->max_fee_per_blob_gas), &ovf);
    max_spend = u256_add_c(max_spend, df, &cy);
    if (cy) ovf = true;
  }
  if (ovf) return evm_set_invalid(o, LANES_INVALID_OVERFLOW_PAYMENT);
  if (u256_gt(max_spend, caller->s.balance)) return evm_set_invalid(o, LANES_INVALID_LACK_OF_FUND_FOR_MAX_FEE);
  // Effective gas price.
  U256 eff = gas_price;
  if ((tx->tx_type == LANES_TX_EIP1559 || tx->tx_type == LANES_TX_EIP4844) && (tx->flags & LANES_TXF_HAS_PRIORITY_FEE)) {
    U256 sum = u256_add_c(base_fee, prio, &cy);
    if (!cy && u256_lt(sum, gas_price)) eff = sum;
  }
  c->gas_price = eff;
  bool dummy = false;
  U256 gas_cost = evm_mul_u128(tx->gas_limit, eff, &dummy);
  if (tx->tx_type == LANES_TX_EIP4844) gas_cost = u256_add(gas_cost, evm_mul_u128(blob_gas, evm_u256_from_abi(env->blob_base_fee), &dummy));
  caller->s.balance = u256_lt(caller->s.balance, gas_cost) ? u256_zero() : u256_sub(caller->s.balance, gas_cost);
  if (!is_create) caller->s.nonce++;
  caller->s.flags |= OV_TOUCHED | OV_WARM;

  // load_accounts: access list warming (precompiles and coinbase are always warm).
  if (tx->tx_type != LANES_TX_LEGACY) {
    for (uint32_t i = 0; i < tx->access_list_count; i++) {
      int ai = evm_acc_slot(c, al[i].address);
      if (ai < 0) return;
      c->accs[ai].s.flags |= OV_WARM;
      for (uint32_t k = 0; k < al[i].keys_count; k++) {
        U256 key = u256_from_be(wb + al[i].keys_offset + 32 * (uint64_t)k);
        int si = evm_slot_idx(c, al[i].address, key);
        if (si < 0) return;
        c->slots[si].flags |= SL_WARM;
      }
    }
  }
  for (int i = 0; i < 20; i++) c->origin[i] = tx->caller[i];
  if (!is_create) {
    int ti = evm_acc_slot(c, tx->to);
    if (ti < 0) return;
    c->accs[ti].s.flags |= OV_WARM;
  }
  c->journal_len = 0;  // pre-execution changes are never reverted

  uint64_t gl = tx->gas_limit - intrinsic;
  *gas_limit_out = tx->gas_limit;
  EvmFrame* f = &c->frames[0];
  for (int i = 0; i < 20; i++) {
    f->caller[i] = tx->caller[i];
    f->address[i] = is_create ? 0 : tx->to[i];
    f->code_address[i] = f->address[i];
  }
  f->value = value;
  f->input = data;
  f->input_len = tx->data_len;
  f->gas_limit = gl;
  f->is_static = 0;
  EvmResult r;
  bool run;
  if (is_create) {
    f->kind = FK_CREATE;
    run = evm_enter_create(c, 0, &r, u256_zero());
  } else {
    f->kind = FK_CALL;
    run = evm_enter_call(c, 0, &r, true);
  }
  if (c->abort) return;
  if (run) {
    evm_run(c, &r);
    if (c->abort) return;
  }
  *fin = r;
}

// Writes the outcome of evm_tx into the output slot.
LANES_HD static inline void evm_finish(EvmCtx* c, LanesTxOutput* o, EvmOut* out, EvmResult* r, uint64_t gas_limit) {
  const LanesTxInput* tx = c->tx;
  if (c->abort == EVM_ABORT_MISSING) {
    o->status = LANES_STATUS_MISSING_KEY;
    o->missing = c->missing;
    return;
  }
  if (c->abort == EVM_ABORT_UNSUP) {
    o->status = LANES_STATUS_UNSUPPORTED;
    o->reason = c->abort_reason;
    return;
  }
  if (o->status == LANES_STATUS_INVALID_TX) return;
  bool ok = r->kind == FR_STOP || r->kind == FR_RETURN || r->kind == FR_SELFDESTRUCT;
  uint64_t remaining = r->kind == FR_HALT ? 0 : r->gas;
  uint64_t spent = gas_limit - remaining;
  int64_t rf = ok ? r->refund : 0;
  uint64_t refund = rf > 0 ? (uint64_t)rf : 0;
  if (refund > spent / 5) refund = spent / 5;
  uint64_t used = spent - refund;
  o->gas_used = used;
  o->gas_refunded = refund;
  o->status = ok ? LANES_STATUS_SUCCESS : r->kind == FR_REVERT ? LANES_STATUS_REVERT : LANES_STATUS_HALT;
  o->reason = r->kind == FR_HALT ? r->halt : 0;
  // Reimburse the caller; the coinbase's share is reported, not paid.
  bool d = false;
  EvmAccount* caller = evm_acc(c, tx->caller);
  if (!caller) return;
  caller->s.balance = u256_add(caller->s.balance, evm_mul_u128(remaining + refund, c->gas_price, &d));
  U256 base_fee = evm_u256_from_abi(c->wave->block.base_fee);
  U256 tip = u256_lt(c->gas_price, base_fee) ? u256_zero() : u256_sub(c->gas_price, base_fee);
  evm_u256_to_abi(evm_mul_u128(used, tip, &d), &o->coinbase_fee);
  if (ok && (tx->flags & LANES_TXF_CREATE))
    for (int i = 0; i < 20; i++) o->created_address[i] = r->created[i];

  // Return data.
  uint64_t rl = (r->kind == FR_RETURN || r->kind == FR_REVERT) ? r->out_len : 0;
  uint32_t off = evm_out_alloc(out, rl);
  if (out->full) goto full;
  evm_memcpy(out->slot + off, r->out, rl);
  o->return_data.offset = off;
  o->return_data.count = (uint32_t)rl;

  // Logs.
  if (ok && c->logs_len) {
    uint32_t lo = evm_out_alloc(out, sizeof(LanesLog) * (uint64_t)c->logs_len);
    if (out->full) goto full;
    o->logs.offset = lo;
    o->logs.count = c->logs_len;
    for (uint32_t i = 0; i < c->logs_len; i++) {
      EvmLog* l = &c->logs[i];
      uint32_t doff = evm_out_alloc(out, l->data_len);
      if (out->full) goto full;
      evm_memcpy(out->slot + doff, l->data, l->data_len);
      LanesLog* ol = (LanesLog*)(out->slot + lo) + i;
      for (int k = 0; k < 20; k++) ol->address[k] = l->addr[k];
      ol->topics_count = l->topics_count;
      for (uint32_t t = 0; t < 4; t++)
        for (int k = 0; k < 32; k++) ol->topics[t][k] = t < l->topics_count ? l->topics[t][k] : 0;
      ol->data.offset = doff;
      ol->data.count = l->data_len;
    }
  }

  {
    // Read set.
    uint32_t nreads = c->blockhash_reads_len;
    for (uint32_t i = 0; i < c->accs_count; i++) {
      uint32_t fl = c->accs[i].s.flags;
      if ((fl & OV_USED) && (fl & OV_LOADED)) nreads += (fl & OV_CODE_READ) ? 2 : 1;
    }
    for (uint32_t i = 0; i < c->slots_count; i++)
      if ((c->slots[i].flags & SL_USED) && (c->slots[i].flags & SL_FROM_PRE)) nreads++;
    uint32_t ro = evm_out_alloc(out, sizeof(LanesKey) * (uint64_t)nreads);
    if (out->full) goto full;
    LanesKey* keys = (LanesKey*)(out->slot + ro);
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->accs_count; i++) {
      EvmAccount* a = &c->accs[i];
      uint32_t fl = a->s.flags;
      if (!((fl & OV_USED) && (fl & OV_LOADED))) continue;
      for (int q = 0; q < 2; q++) {
        if (q == 1 && !(fl & OV_CODE_READ)) break;
        LanesKey* k = &keys[n++];
        k->kind = q == 0 ? LANES_KEY_ACCOUNT : LANES_KEY_CODE;
        for (int b = 0; b < 20; b++) k->address[b] = a->addr[b];
        for (int b = 0; b < 4; b++) k->slot.limbs[b] = 0;
      }
    }
    for (uint32_t i = 0; i < c->slots_count; i++) {
      EvmSlot* s = &c->slots[i];
      if (!((s->flags & SL_USED) && (s->flags & SL_FROM_PRE))) continue;
      LanesKey* k = &keys[n++];
      k->kind = LANES_KEY_STORAGE;
      for (int b = 0; b < 20; b++) k->address[b] = s->addr[b];
      evm_u256_to_abi(s->key, &k->slot);
    }
    for (uint32_t i = 0; i < c->blockhash_reads_len; i++) {
      LanesKey* k = &keys[n++];
      k->kind = LANES_KEY_BLOCKHASH;
      for (int b = 0; b < 20; b++) k->address[b] = 0;
      k->slot.limbs[0] = c->blockhash_reads[i];
      k->slot.limbs[1] = k->slot.limbs[2] = k->slot.limbs[3] = 0;
    }
    o->reads.offset = ro;
    o->reads.count = n;

    // Account writes.
    uint32_t nw = 0;
    for (int pass = 0; pass < 2; pass++) {
      uint32_t wo = 0;
      if (pass == 1) {
        wo = evm_out_alloc(out, sizeof(LanesAccountWrite) * (uint64_t)nw);
        if (out->full) goto full;
        o->account_writes.offset = wo;
        o->account_writes.count = nw;
        nw = 0;
      }
      for (uint32_t i = 0; i < c->accs_count; i++) {
        EvmAccount* a = &c->accs[i];
        uint32_t fl = a->s.flags;
        if (!((fl & OV_USED) && (fl & OV_LOADED))) continue;
        // Like revm's state: every account the transaction touched (EIP-161) is reported, even
        // unchanged (flags 0), and a touched account left empty is deleted whether or not it
        // existed before. An untouched account is reported only if it changed.
        uint32_t wf = 0;
        bool emit = false;
        if (fl & OV_DESTROYED) {
          wf = LANES_AW_DESTROYED;
          emit = true;
        } else if ((fl & OV_TOUCHED) && evm_acc_is_empty(a)) {
          wf = LANES_AW_DELETED;
          emit = true;
        } else if (fl & OV_EXISTS) {
          const LanesAccount* p = (const LanesAccount*)(c->wave_bytes + c->wave->accounts_offset) + a->pre_index;
          if (fl & OV_CREATED) wf |= LANES_AW_CREATED;
          if (fl & OV_CODE_NEW) wf |= LANES_AW_CODE;
          emit = wf != 0 || (fl & OV_TOUCHED) || !(fl & OV_PRE_EXISTS) || p->nonce != a->s.nonce ||
                 !u256_eq(evm_u256_from_abi(p->balance), a->s.balance);
        }
        if (!emit) continue;
        if (pass == 1) {
          LanesAccountWrite* aw = (LanesAccountWrite*)(out->slot + o->account_writes.offset) + nw;
          for (int b = 0; b < 20; b++) aw->address[b] = a->addr[b];
          aw->flags = wf;
          aw->nonce = a->s.nonce;
          evm_u256_to_abi(a->s.balance, &aw->balance);
          for (int b = 0; b < 32; b++) aw->code_hash[b] = a->s.code_hash[b];
          aw->code.offset = 0;
          aw->code.count = 0;
          if (wf & LANES_AW_CODE) {
            uint32_t co = evm_out_alloc(out, a->s.code_len);
            if (out->full) goto full;
            evm_memcpy(out->slot + co, a->s.code, a->s.code_len);
            aw->code.offset = co;
            aw->code.count = a->s.code_len;
          }
        }
        nw++;
      }
    }

    // Storage writes.
    uint32_t ns = 0;
    for (int pass = 0; pass < 2; pass++) {
      if (pass == 1) {
        uint32_t so = evm_out_alloc(out, sizeof(LanesStorageWrite) * (uint64_t)ns);
        if (out->full) goto full;
        o->storage_writes.offset = so;
        o->storage_writes.count = ns;
        ns = 0;
      }
      for (uint32_t i = 0; i < c->slots_count; i++) {
        EvmSlot* s = &c->slots[i];
        if (!((s->flags & SL_USED) && (s->flags & SL_LOADED))) continue;
        if (u256_eq(s->present, s->original)) continue;
        int ai = evm_acc_slot(c, s->addr);
        if (ai < 0) goto full;
        if (c->accs[ai].s.flags & OV_DESTROYED) continue;
        if (pass == 1) {
          LanesStorageWrite* sw = (LanesStorageWrite*)(out->slot + o->storage_writes.offset) + ns;
          for (int b = 0; b < 20; b++) sw->address[b] = s->addr[b];
          sw->_pad0 = 0;
          evm_u256_to_abi(s->key, &sw->slot);
          evm_u256_to_abi(s->present, &sw->value);
        }
        ns++;
      }
    }
  }
  o->used_bytes = out->top;
  return;
full:
  o->status = LANES_STATUS_UNSUPPORTED;
  o->reason = LANES_UNSUP_OUTPUT_FULL;
  o->return_data.count = o->logs.count = o->reads.count = 0;
  o->account_writes.count = o->storage_writes.count = 0;
}

// Runs transaction `tx_index` of the wave (see lanes_abi.h for the buffers).
LANES_HD static inline void lanes_execute_tx(const LanesWave* wave, uint32_t tx_index, uint8_t* out, uint8_t* scratch) {
  uint8_t* slot = out + (uint64_t)tx_index * wave->out_stride;
  LanesTxOutput* o = (LanesTxOutput*)slot;
  evm_memset(slot, 0, sizeof(LanesTxOutput));
  o->used_bytes = sizeof(LanesTxOutput);
  if (wave->magic != LANES_ABI_MAGIC || wave->version != LANES_ABI_VERSION || tx_index >= wave->tx_count ||
      wave->out_stride < sizeof(LanesTxOutput) + 64) {
    o->status = LANES_STATUS_UNSUPPORTED;
    o->reason = LANES_UNSUP_BAD_WAVE;
    return;
  }
  uint8_t* sc = scratch + (uint64_t)tx_index * wave->scratch_stride;
  EvmCtx* c = (EvmCtx*)sc;
  uint64_t hdr = (sizeof(EvmCtx) + 63) & ~63ULL;
  if (wave->scratch_stride < hdr || !evm_setup(c, sc + hdr, wave->scratch_stride - hdr)) {
    o->status = LANES_STATUS_UNSUPPORTED;
    o->reason = LANES_UNSUP_SCRATCH_FULL;
    return;
  }
  c->wave = wave;
  c->wave_bytes = (const uint8_t*)wave;
  c->tx = (const LanesTxInput*)((const uint8_t*)wave + wave->txs_offset) + tx_index;
  EvmResult r;
  r.kind = FR_NONE;
  uint64_t gas_limit = 0;
  evm_tx(c, o, &r, &gas_limit);
  EvmOut eo;
  eo.slot = slot;
  eo.cap = wave->out_stride;
  eo.top = (sizeof(LanesTxOutput) + 7) & ~7ULL;
  eo.full = false;
  evm_finish(c, o, &eo, &r, gas_limit);
  if (o->status != LANES_STATUS_SUCCESS && o->status != LANES_STATUS_REVERT && o->status != LANES_STATUS_HALT)
    o->used_bytes = sizeof(LanesTxOutput);
}
