// The transaction-local state of the interpreter: the overlay over the wave's pre-state (accounts,
// storage, transient storage), the journal that undoes a reverted frame, logs, and the bump
// regions of the per-tx scratch slot. Both builds.
#pragma once
#include "lanes_abi.h"
#include "uint256.cuh"
#include "keccak.cuh"
#include "precompiles/precompiles.cuh"

// Operation counters for profiling the host build (kernels/tools/profile.py); compiled out
// unless LANES_STATS is defined, and never in the device build.
#if defined(LANES_STATS) && !LANES_DEVICE_BUILD
struct LanesStats {
  uint64_t ops;              // EVM instructions executed
  uint64_t keccak_blocks;    // Keccak-f[1600] permutations
  uint64_t analyzed_bytes;   // code bytes scanned for JUMPDESTs
  uint64_t pre_probes;       // pre-state hash-table entries inspected
  uint64_t pre_lookups;      // pre-state lookups (accounts + slots)
  uint64_t mem_bytes;        // EVM memory bytes zeroed on expansion
  uint64_t frames;           // call frames entered
  uint64_t u256_divs;        // 256-bit divisions (DIV/MOD/...)
};
static LanesStats lanes_stats;
#define LANES_STAT(x) (lanes_stats.x)
#else
#define LANES_STAT(x) ((void)0)
#endif

// Why execution stopped early (ctx->abort).
#define EVM_ABORT_NONE 0u
#define EVM_ABORT_MISSING 1u  // LANES_STATUS_MISSING_KEY, ctx->missing
#define EVM_ABORT_UNSUP 2u    // LANES_STATUS_UNSUPPORTED, ctx->abort_reason

// Overlay account flags.
#define OV_USED 1u
#define OV_LOADED 2u       // pre-state values loaded (else only warmth is known)
#define OV_EXISTS 4u       // the account exists now
#define OV_WARM 8u         // EIP-2929 warm
#define OV_CREATED 16u     // created in this tx (EIP-6780)
#define OV_DESTROYED 32u   // self-destructed in this tx
#define OV_TOUCHED 64u     // touched (EIP-161)
#define OV_CODE_NEW 128u   // code set in this tx
#define OV_CODE_READ 256u  // code bytes read from the pre-state
#define OV_PRE_EXISTS 512u // existed in the pre-state

// The journaled part of an account.
struct EvmAccState {
  uint32_t flags;
  uint32_t code_len;
  uint64_t nonce;
  U256 balance;
  uint8_t code_hash[32];
  const uint8_t* code;
};

struct EvmAccount {
  uint8_t addr[20];
  uint32_t pre_index;  // index in the wave's account table (valid with OV_LOADED)
  EvmAccState s;
};

#define SL_USED 1u
#define SL_LOADED 2u
#define SL_WARM 4u
#define SL_FROM_PRE 8u  // original value read from the pre-state table

struct EvmSlot {
  uint8_t addr[20];
  uint32_t flags;
  U256 key;
  U256 original;
  U256 present;
};

struct EvmTSlot {
  uint8_t addr[20];
  uint32_t used;
  U256 key;
  U256 value;
};

#define J_ACC 1u        // restore an account's EvmAccState
#define J_SLOT 2u       // restore a slot's present value
#define J_SLOT_WARM 3u  // clear a slot's warm flag
#define J_TSLOT 4u      // restore a transient slot's value
#define J_ACC_WARM 5u   // clear an account's warm flag

struct EvmJournal {
  uint32_t kind;
  uint32_t idx;
  EvmAccState acc;  // J_ACC
  U256 old;         // J_SLOT, J_TSLOT
};

struct EvmLog {
  uint8_t addr[20];
  uint32_t topics_count;
  uint8_t topics[4][32];
  const uint8_t* data;  // into the log data region
  uint32_t data_len;
  uint32_t _pad;
};

struct EvmBump {
  uint8_t* base;
  uint64_t cap;
  uint64_t top;
};

struct EvmFrame;

struct EvmCtx {
  const LanesWave* wave;
  const LanesTxInput* tx;
  const uint8_t* wave_bytes;
  uint32_t abort;
  uint32_t abort_reason;
  LanesKey missing;

  // Dense arrays (entries 0..count, never cleared) indexed by open-addressing tables of dense
  // index + 1 (0 = empty) that start small and double, so a tx pays for what it touches.
  EvmAccount* accs;
  uint32_t accs_cap;  // dense capacity
  uint32_t accs_count;
  EvmSlot* slots;
  uint32_t slots_cap;
  uint32_t slots_count;
  EvmTSlot* tslots;
  uint32_t tslots_cap;
  uint32_t tslots_count;
  uint32_t* accs_idx;  // index tables: capacity *_idx_cap (power of two, at most 2 * dense cap)
  uint32_t* slots_idx;
  uint32_t* tslots_idx;
  uint32_t accs_idx_cap;
  uint32_t slots_idx_cap;
  uint32_t tslots_idx_cap;
  uint32_t _pad_idx;
  EvmJournal* journal;
  uint32_t journal_cap;
  uint32_t journal_len;
  EvmLog* logs;
  uint32_t logs_cap;
  uint32_t logs_len;
  uint64_t* blockhash_reads;  // block numbers read
  uint32_t blockhash_reads_cap;
  uint32_t blockhash_reads_len;

  EvmBump stack_region;  // EVM stacks (32-byte words)
  EvmBump mem_region;    // EVM memories
  EvmBump aux_region;    // jumpdest bitmaps (freed on frame exit)
  EvmBump rd_region;     // return data buffers
  EvmBump perm_region;   // tx-lifetime bytes: created code, log data

  EvmFrame* frames;
  uint32_t depth;  // frames in use

  U256 gas_price;  // effective gas price
  uint8_t origin[20];
};

LANES_HD static inline void evm_memcpy(uint8_t* d, const uint8_t* s, uint64_t n) {
  for (uint64_t i = 0; i < n; i++) d[i] = s[i];
}
LANES_HD static inline void evm_memmove(uint8_t* d, const uint8_t* s, uint64_t n) {
  if (d < s)
    for (uint64_t i = 0; i < n; i++) d[i] = s[i];
  else
    for (uint64_t i = n; i > 0; i--) d[i - 1] = s[i - 1];
}
LANES_HD static inline void evm_memset(uint8_t* d, uint8_t v, uint64_t n) {
  for (uint64_t i = 0; i < n; i++) d[i] = v;
}
LANES_HD static inline bool evm_addr_eq(const uint8_t* a, const uint8_t* b) {
  for (int i = 0; i < 20; i++)
    if (a[i] != b[i]) return false;
  return true;
}
LANES_HD static inline bool evm_bytes_eq(const uint8_t* a, const uint8_t* b, int n) {
  for (int i = 0; i < n; i++)
    if (a[i] != b[i]) return false;
  return true;
}

// keccak256 of the empty string.
LANES_HD static inline void evm_keccak_empty(uint8_t out[32]) {
  const uint8_t e[32] = {0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d,
                         0xb2, 0xdc, 0xc7, 0x03, 0xc0, 0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82,
                         0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70};
  for (int i = 0; i < 32; i++) out[i] = e[i];
}
LANES_HD static inline bool evm_is_keccak_empty(const uint8_t h[32]) {
  uint8_t e[32];
  evm_keccak_empty(e);
  return evm_bytes_eq(h, e, 32);
}

LANES_HD static inline void evm_unsup(EvmCtx* c, uint32_t reason) {
  if (c->abort == EVM_ABORT_NONE) {
    c->abort = EVM_ABORT_UNSUP;
    c->abort_reason = reason;
  }
}
LANES_HD static inline void evm_missing(EvmCtx* c, uint32_t kind, const uint8_t* addr, const U256& slot) {
  if (c->abort != EVM_ABORT_NONE) return;
  c->abort = EVM_ABORT_MISSING;
  c->missing.kind = kind;
  for (int i = 0; i < 20; i++) c->missing.address[i] = addr ? addr[i] : 0;
  for (int i = 0; i < 4; i++) c->missing.slot.limbs[i] = slot.w[i];
}

// Bump allocation (8-byte aligned); null when full (the caller aborts with UNSUPPORTED).
LANES_HD static inline uint8_t* evm_bump(EvmBump* b, uint64_t n) {
  uint64_t a = (n + 7) & ~7ULL;
  if (a > b->cap - b->top) return 0;
  uint8_t* p = b->base + b->top;
  b->top += a;
  return p;
}

LANES_HD static inline U256 evm_u256_from_abi(const LanesU256& v) {
  U256 r;
  for (int i = 0; i < 4; i++) r.w[i] = v.limbs[i];
  return r;
}
LANES_HD static inline void evm_u256_to_abi(const U256& v, LanesU256* o) {
  for (int i = 0; i < 4; i++) o->limbs[i] = v.w[i];
}

// ---- pre-state lookups ----------------------------------------------------------------------

LANES_HD static inline const LanesAccount* evm_pre_account(const EvmCtx* c, const uint8_t* addr) {
  const LanesWave* w = c->wave;
  if (w->accounts_capacity == 0) return 0;
  const LanesAccount* t = (const LanesAccount*)(c->wave_bytes + w->accounts_offset);
  uint32_t mask = w->accounts_capacity - 1;
  uint32_t i = (uint32_t)lanes_hash_address(addr) & mask;
  LANES_STAT(pre_lookups++);
  for (uint32_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
    const LanesAccount* e = &t[i];
    LANES_STAT(pre_probes++);
    if (!(e->flags & LANES_ENTRY_USED)) return 0;
    if (evm_addr_eq(e->address, addr)) return e;
  }
  return 0;
}

LANES_HD static inline const LanesStorage* evm_pre_slot(const EvmCtx* c, const uint8_t* addr, const U256& key) {
  const LanesWave* w = c->wave;
  if (w->storage_capacity == 0) return 0;
  const LanesStorage* t = (const LanesStorage*)(c->wave_bytes + w->storage_offset);
  uint32_t mask = w->storage_capacity - 1;
  LanesU256 k;
  evm_u256_to_abi(key, &k);
  uint32_t i = (uint32_t)lanes_hash_slot(addr, &k) & mask;
  LANES_STAT(pre_lookups++);
  for (uint32_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
    const LanesStorage* e = &t[i];
    LANES_STAT(pre_probes++);
    if (!(e->flags & LANES_ENTRY_USED)) return 0;
    if (evm_addr_eq(e->address, addr) && e->slot.limbs[0] == k.limbs[0] && e->slot.limbs[1] == k.limbs[1] &&
        e->slot.limbs[2] == k.limbs[2] && e->slot.limbs[3] == k.limbs[3])
      return e;
  }
  return 0;
}

// ---- overlay accounts -----------------------------------------------------------------------

// Index tables: insert dense index d (hash h) into t (capacity cap, power of two).
LANES_HD static inline void evm_idx_put(uint32_t* t, uint32_t cap, uint64_t h, uint32_t d) {
  uint32_t mask = cap - 1;
  uint32_t i = (uint32_t)h & mask;
  while (t[i]) i = (i + 1) & mask;
  t[i] = d + 1;
}

LANES_HD static inline uint64_t evm_slot_hash(const uint8_t* addr, const U256& key) {
  LanesU256 k;
  for (int i = 0; i < 4; i++) k.limbs[i] = key.w[i];
  return lanes_hash_slot(addr, &k);
}

// Doubles an index table once its load passes 1/2 and rehashes the dense entries.
LANES_HD static inline void evm_grow_accs(EvmCtx* c) {
  if (c->accs_count * 2 <= c->accs_idx_cap) return;
  c->accs_idx_cap *= 2;
  for (uint32_t i = 0; i < c->accs_idx_cap; i++) c->accs_idx[i] = 0;
  for (uint32_t d = 0; d < c->accs_count; d++) evm_idx_put(c->accs_idx, c->accs_idx_cap, lanes_hash_address(c->accs[d].addr), d);
}
LANES_HD static inline void evm_grow_slots(EvmCtx* c) {
  if (c->slots_count * 2 <= c->slots_idx_cap) return;
  c->slots_idx_cap *= 2;
  for (uint32_t i = 0; i < c->slots_idx_cap; i++) c->slots_idx[i] = 0;
  for (uint32_t d = 0; d < c->slots_count; d++)
    evm_idx_put(c->slots_idx, c->slots_idx_cap, evm_slot_hash(c->slots[d].addr, c->slots[d].key), d);
}
LANES_HD static inline void evm_grow_tslots(EvmCtx* c) {
  if (c->tslots_count * 2 <= c->tslots_idx_cap) return;
  c->tslots_idx_cap *= 2;
  for (uint32_t i = 0; i < c->tslots_idx_cap; i++) c->tslots_idx[i] = 0;
  for (uint32_t d = 0; d < c->tslots_count; d++)
    evm_idx_put(c->tslots_idx, c->tslots_idx_cap, evm_slot_hash(c->tslots[d].addr, c->tslots[d].key), d);
}

// The overlay entry for addr, created (not loaded) if absent. -1 when the table is full.
LANES_HD static inline int evm_acc_slot(EvmCtx* c, const uint8_t* addr) {
  uint32_t mask = c->accs_idx_cap - 1;
  uint32_t i = (uint32_t)lanes_hash_address(addr) & mask;
  while (true) {
    uint32_t v = c->accs_idx[i];
    if (v == 0) {
      if (c->accs_count >= c->accs_cap) {
        evm_unsup(c, LANES_UNSUP_OVERLAY_FULL);
        return -1;
      }
      uint32_t d = c->accs_count++;
      EvmAccount* a = &c->accs[d];
      for (int k = 0; k < 20; k++) a->addr[k] = addr[k];
      a->s.flags = OV_USED;
      a->s.nonce = 0;
      a->s.balance = u256_zero();
      evm_keccak_empty(a->s.code_hash);
      a->s.code = 0;
      a->s.code_len = 0;
      a->pre_index = 0xffffffffu;
      c->accs_idx[i] = d + 1;
      evm_grow_accs(c);
      return (int)d;
    }
    if (evm_addr_eq(c->accs[v - 1].addr, addr)) return (int)(v - 1);
    i = (i + 1) & mask;
  }
}

// The loaded overlay account for addr (nonce, balance, code hash, existence), or null with
// ctx->abort set (missing key / full table).
LANES_HD static inline EvmAccount* evm_acc(EvmCtx* c, const uint8_t* addr) {
  int i = evm_acc_slot(c, addr);
  if (i < 0) return 0;
  EvmAccount* a = &c->accs[i];
  if (a->s.flags & OV_LOADED) return a;
  const LanesAccount* p = evm_pre_account(c, addr);
  if (!p) {
    evm_missing(c, LANES_KEY_ACCOUNT, addr, u256_zero());
    return 0;
  }
  a->s.flags |= OV_LOADED;
  a->pre_index = (uint32_t)(p - (const LanesAccount*)(c->wave_bytes + c->wave->accounts_offset));
  if (p->flags & LANES_ACCOUNT_EXISTS) {
    a->s.flags |= OV_EXISTS | OV_PRE_EXISTS;
    a->s.nonce = p->nonce;
    a->s.balance = evm_u256_from_abi(p->balance);
    for (int k = 0; k < 32; k++) a->s.code_hash[k] = p->code_hash[k];
  }
  return a;
}

// The account's code (pre-state or created in this tx); false with ctx->abort set on a miss.
LANES_HD static inline bool evm_acc_code(EvmCtx* c, EvmAccount* a, const uint8_t** code, uint32_t* len) {
  if (a->s.flags & OV_CODE_NEW) {
    *code = a->s.code;
    *len = a->s.code_len;
    return true;
  }
  if (!(a->s.flags & OV_EXISTS) || evm_is_keccak_empty(a->s.code_hash) || a->pre_index == 0xffffffffu) {
    *code = 0;
    *len = 0;
    return true;
  }
  const LanesAccount* p = (const LanesAccount*)(c->wave_bytes + c->wave->accounts_offset) + a->pre_index;
  if (!(p->flags & LANES_ACCOUNT_CODE_LOADED)) {
    evm_missing(c, LANES_KEY_CODE, a->addr, u256_zero());
    return false;
  }
  a->s.flags |= OV_CODE_READ;
  *code = c->wave_bytes + p->code_offset;
  *len = p->code_len;
  return true;
}

LANES_HD static inline bool evm_acc_is_empty(const EvmAccount* a) {
  return a->s.nonce == 0 && u256_is_zero(a->s.balance) && evm_is_keccak_empty(a->s.code_hash);
}

LANES_HD static inline bool evm_journal_push(EvmCtx* c, uint32_t kind, uint32_t idx) {
  if (c->journal_len >= c->journal_cap) {
    evm_unsup(c, LANES_UNSUP_SCRATCH_FULL);
    return false;
  }
  EvmJournal* j = &c->journal[c->journal_len++];
  j->kind = kind;
  j->idx = idx;
  return true;
}

// Record the account's state before a change.
LANES_HD static inline bool evm_acc_save(EvmCtx* c, EvmAccount* a) {
  uint32_t idx = (uint32_t)(a - c->accs);
  if (!evm_journal_push(c, J_ACC, idx)) return false;
  c->journal[c->journal_len - 1].acc = a->s;
  return true;
}

// Marks addr warm; returns whether it was cold. Precompiles and the coinbase are always warm.
LANES_HD static inline bool evm_is_precompile(const uint8_t* addr) {
  for (int i = 0; i < 19; i++)
    if (addr[i]) return false;
  return addr[19] >= 1 && addr[19] <= LANES_PC_LAST;
}
LANES_HD static inline bool evm_is_cold(EvmCtx* c, const uint8_t* addr) {
  if (evm_is_precompile(addr) || evm_addr_eq(addr, c->wave->block.coinbase)) return false;
  int i = evm_acc_slot(c, addr);
  if (i < 0) return false;
  return !(c->accs[i].s.flags & OV_WARM);
}
LANES_HD static inline void evm_warm(EvmCtx* c, const uint8_t* addr) {
  int i = evm_acc_slot(c, addr);
  if (i < 0) return;
  if (c->accs[i].s.flags & OV_WARM) return;
  c->accs[i].s.flags |= OV_WARM;
  evm_journal_push(c, J_ACC_WARM, (uint32_t)i);
}

// ---- overlay storage ------------------------------------------------------------------------

LANES_HD static inline int evm_slot_idx(EvmCtx* c, const uint8_t* addr, const U256& key) {
  uint32_t mask = c->slots_idx_cap - 1;
  uint32_t i = (uint32_t)evm_slot_hash(addr, key) & mask;
  while (true) {
    uint32_t v = c->slots_idx[i];
    if (v == 0) {
      if (c->slots_count >= c->slots_cap) {
        evm_unsup(c, LANES_UNSUP_OVERLAY_FULL);
        return -1;
      }
      uint32_t d = c->slots_count++;
      EvmSlot* s = &c->slots[d];
      for (int q = 0; q < 20; q++) s->addr[q] = addr[q];
      s->flags = SL_USED;
      s->key = key;
      s->original = u256_zero();
      s->present = u256_zero();
      c->slots_idx[i] = d + 1;
      evm_grow_slots(c);
      return (int)d;
    }
    EvmSlot* s = &c->slots[v - 1];
    if (evm_addr_eq(s->addr, addr) && u256_eq(s->key, key)) return (int)(v - 1);
    i = (i + 1) & mask;
  }
}

// The loaded slot of account a (already loaded); null with ctx->abort set.
LANES_HD static inline EvmSlot* evm_slot(EvmCtx* c, EvmAccount* a, const U256& key) {
  int i = evm_slot_idx(c, a->addr, key);
  if (i < 0) return 0;
  EvmSlot* s = &c->slots[i];
  if (s->flags & SL_LOADED) return s;
  if ((a->s.flags & OV_PRE_EXISTS) && !(a->s.flags & OV_CREATED)) {
    const LanesStorage* p = evm_pre_slot(c, a->addr, key);
    if (!p) {
      evm_missing(c, LANES_KEY_STORAGE, a->addr, key);
      return 0;
    }
    s->original = evm_u256_from_abi(p->value);
    s->flags |= SL_FROM_PRE;
  } else {
    s->original = u256_zero();
  }
  s->present = s->original;
  s->flags |= SL_LOADED;
  return s;
}

// The transient slot's dense index; -1 when absent and !create, -2 when the table is full.
LANES_HD static inline int evm_tslot_idx(EvmCtx* c, const uint8_t* addr, const U256& key, bool create) {
  uint32_t mask = c->tslots_idx_cap - 1;
  uint32_t i = (uint32_t)evm_slot_hash(addr, key) & mask;
  while (true) {
    uint32_t v = c->tslots_idx[i];
    if (v == 0) {
      if (!create) return -1;
      if (c->tslots_count >= c->tslots_cap) {
        evm_unsup(c, LANES_UNSUP_OVERLAY_FULL);
        return -2;
      }
      uint32_t d = c->tslots_count++;
      EvmTSlot* s = &c->tslots[d];
      for (int q = 0; q < 20; q++) s->addr[q] = addr[q];
      s->used = 1;
      s->key = key;
      s->value = u256_zero();
      c->tslots_idx[i] = d + 1;
      evm_grow_tslots(c);
      return (int)d;
    }
    EvmTSlot* s = &c->tslots[v - 1];
    if (evm_addr_eq(s->addr, addr) && u256_eq(s->key, key)) return (int)(v - 1);
    i = (i + 1) & mask;
  }
}

// Undo the journal back to `to` entries.
LANES_HD static inline void evm_revert_to(EvmCtx* c, uint32_t to) {
  while (c->journal_len > to) {
    EvmJournal* j = &c->journal[--c->journal_len];
    switch (j->kind) {
      case J_ACC: {
        uint32_t keep_mask = OV_WARM | OV_CODE_READ | OV_LOADED | OV_PRE_EXISTS;
        // revm keeps a touch of precompile 0x03 across reverts (the RIPEMD-160 consensus quirk).
        const uint8_t* ad = c->accs[j->idx].addr;
        bool ripemd = ad[19] == 3;
        for (int q = 0; q < 19 && ripemd; q++) ripemd = ad[q] == 0;
        if (ripemd) keep_mask |= OV_TOUCHED;
        uint32_t keep = c->accs[j->idx].s.flags & keep_mask;
        c->accs[j->idx].s = j->acc;
        c->accs[j->idx].s.flags = (j->acc.flags & ~keep_mask) | keep;
        break;
      }
      case J_ACC_WARM: c->accs[j->idx].s.flags &= ~OV_WARM; break;
      case J_SLOT: c->slots[j->idx].present = j->old; break;
      case J_SLOT_WARM: c->slots[j->idx].flags &= ~SL_WARM; break;
      case J_TSLOT: c->tslots[j->idx].value = j->old; break;
    }
  }
}
