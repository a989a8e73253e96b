// The buffer layout shared by the host (Rust, through bindgen) and the kernels (both builds).
//
// Plain C: fixed-width fields, explicit padding, no pointers inside structs. Every location is a
// byte offset, so the same bytes mean the same thing on the host and on the device.
//
// A wave is three buffers:
//
// 1. The wave buffer (read-only to the kernel). It starts with a `LanesWave` header; every
//    `*_offset` field in it and in the structs it points to is a byte offset from the start of
//    the wave buffer (the address of the `LanesWave` itself). Every offset is a multiple of 8.
//    It holds the block environment, the pre-state (account table, storage table, code arena,
//    block-hash table), the transactions and the input arena (calldata, access lists, blob
//    hashes).
// 2. The output buffer: `tx_count` slots of `out_stride` bytes. Slot i starts with a
//    `LanesTxOutput`; its `LanesSpan` offsets are byte offsets from the start of that slot. The
//    kernel fills the rest of the slot (return data, logs, read set, write set, new code). A
//    result that does not fit aborts the transaction with LANES_STATUS_UNSUPPORTED
//    (LANES_UNSUP_OUTPUT_FULL) and never writes outside the slot.
// 3. The scratch buffer: `tx_count` slots of `scratch_stride` bytes, the per-transaction working
//    memory (EVM stacks, memories, call frames, the journal, the transaction-local state
//    overlay). Its contents are undefined on entry and on exit. Running out aborts the
//    transaction with LANES_STATUS_UNSUPPORTED (LANES_UNSUP_SCRATCH_FULL).
//
// Every transaction of a wave executes independently against the same pre-state (an optimistic
// wave): the host validates the read sets and commits the write sets in order.
//
// Number encodings:
// - `LanesU256`: four 64-bit limbs, least significant first (alloy's `U256::from_limbs`).
//   Used for balances, values, fees and storage slots/values.
// - 32-byte hashes (code hash, block hash, log topics, blob versioned hashes, prevrandao) and
//   20-byte addresses are big-endian bytes as Ethereum writes them (alloy's B256 / Address).
//
// Hash tables (accounts, storage): capacity is a power of two; an entry lives at or after index
// `lanes_hash_*(key) & (capacity - 1)`, probing linearly (wrapping) until an entry whose
// `flags & LANES_ENTRY_USED` is 0, which means the key is not in the table (a miss). The host
// keeps the load factor at most 1/2 so that probes stay short and a free entry always exists.
// The hash (must be reproduced exactly by the host):
//   fmix64(x) = x ^= x >> 33; x *= 0xff51afd7ed558ccd; x ^= x >> 33;
//               x *= 0xc4ceb9fe1a85ec53; x ^= x >> 33   (wrapping, MurmurHash3's finalizer)
//   words(address) = little-endian u64 of bytes [0..8], [8..16], and [16..20] zero-extended
//   lanes_hash_address(a)   = h over words(a)
//   lanes_hash_slot(a, s)   = h over words(a) then s.limbs[0], s.limbs[1], s.limbs[2], s.limbs[3]
//   where h over w1..wn starts at 0 and does h = fmix64(h ^ wi) for each word in order.
//
// ABI changes after the first commit only add fields; each is recorded in kernels/ABI_CHANGES.md.
#pragma once
#include "lanes_common.cuh"

#define LANES_ABI_MAGIC 0x4c414e45u  // "LANE"
#define LANES_ABI_VERSION 1u

// A 256-bit unsigned integer: limbs[0] is the least significant 64 bits.
typedef struct LanesU256 {
  uint64_t limbs[4];
} LanesU256;

// A span inside an output slot: `offset` bytes from the slot start, `count` items (bytes for
// byte spans, records for record spans).
typedef struct LanesSpan {
  uint32_t offset;
  uint32_t count;
} LanesSpan;

// ---------------------------------------------------------------------------------------------
// Block environment.

typedef struct LanesBlockEnv {
  uint64_t number;
  uint64_t timestamp;
  uint64_t gas_limit;
  uint64_t chain_id;
  uint8_t coinbase[20];
  uint32_t _pad0;
  LanesU256 base_fee;       // BASEFEE, and the EIP-1559 checks
  LanesU256 blob_base_fee;  // BLOBBASEFEE: the blob gas price the host derived from excess blob gas
  uint8_t prevrandao[32];   // PREVRANDAO (DIFFICULTY's opcode after the merge)
} LanesBlockEnv;

// BLOCKHASH table: 256 entries; the hash of block n is at index n % 256 when its `number` is n
// and `flags & LANES_ENTRY_USED`. BLOCKHASH of a block in [number-256, number) whose entry does
// not hold it aborts the transaction with LANES_STATUS_MISSING_KEY, kind LANES_KEY_BLOCKHASH,
// slot = the block number.
#define LANES_BLOCKHASH_ENTRIES 256
typedef struct LanesBlockHashEntry {
  uint64_t number;
  uint32_t flags;  // LANES_ENTRY_USED
  uint32_t _pad0;
  uint8_t hash[32];
} LanesBlockHashEntry;

// ---------------------------------------------------------------------------------------------
// Pre-state tables.

#define LANES_ENTRY_USED 1u         // the table entry holds a key (0: an empty entry)
#define LANES_ACCOUNT_EXISTS 2u     // the account exists (an entry without it: known absent)
#define LANES_ACCOUNT_CODE_LOADED 4u  // code_offset/code_len hold its code (else a code read
                                      // aborts with MISSING_KEY kind LANES_KEY_CODE)

// Account table entry, keyed by address (lanes_hash_address).
typedef struct LanesAccount {
  uint8_t address[20];
  uint32_t flags;  // LANES_ENTRY_USED | LANES_ACCOUNT_EXISTS | LANES_ACCOUNT_CODE_LOADED
  uint64_t nonce;
  LanesU256 balance;
  uint8_t code_hash[32];  // keccak256(code); KECCAK_EMPTY for no code
  uint64_t code_offset;   // byte offset of the code in the wave buffer (inside the code arena)
  uint32_t code_len;
  uint32_t _pad0;
} LanesAccount;

// Storage table entry, keyed by (address, slot) (lanes_hash_slot). `value` is the committed
// value (SSTORE's "original" value). A slot of an account that exists but whose slot is not in
// the table is a miss (MISSING_KEY kind LANES_KEY_STORAGE); a slot of an account known absent
// reads zero without a lookup.
typedef struct LanesStorage {
  uint8_t address[20];
  uint32_t flags;  // LANES_ENTRY_USED
  LanesU256 slot;
  LanesU256 value;
} LanesStorage;

// ---------------------------------------------------------------------------------------------
// Transactions.

#define LANES_TX_LEGACY 0u
#define LANES_TX_EIP2930 1u
#define LANES_TX_EIP1559 2u
#define LANES_TX_EIP4844 3u

#define LANES_TXF_CREATE 1u          // no `to`: a contract creation
#define LANES_TXF_HAS_PRIORITY_FEE 2u  // gas_priority_fee is set (EIP-1559 style fees)
#define LANES_TXF_HAS_CHAIN_ID 4u    // chain_id is set and must equal the block env's

// One access-list entry: an address and `keys_count` 32-byte big-endian storage keys at
// `keys_offset` (wave buffer offset).
typedef struct LanesAccessListEntry {
  uint8_t address[20];
  uint32_t keys_count;
  uint64_t keys_offset;
} LanesAccessListEntry;

typedef struct LanesTxInput {
  uint32_t tx_type;  // LANES_TX_*
  uint32_t flags;    // LANES_TXF_*
  uint8_t caller[20];
  uint32_t _pad0;
  uint8_t to[20];  // ignored with LANES_TXF_CREATE
  uint32_t _pad1;
  uint64_t nonce;
  uint64_t gas_limit;
  uint64_t chain_id;
  uint64_t data_offset;  // calldata / initcode: wave buffer offset
  uint32_t data_len;
  uint32_t access_list_count;   // LanesAccessListEntry records
  uint64_t access_list_offset;  // wave buffer offset of the records
  uint64_t blob_hashes_offset;  // wave buffer offset of `blob_hashes_count` 32-byte hashes
  uint32_t blob_hashes_count;
  uint32_t _pad2;
  LanesU256 value;
  LanesU256 gas_price;         // legacy/2930: gasPrice; 1559/4844: maxFeePerGas (revm's gas_price)
  LanesU256 gas_priority_fee;  // maxPriorityFeePerGas when LANES_TXF_HAS_PRIORITY_FEE
  LanesU256 max_fee_per_blob_gas;  // 4844 only
} LanesTxInput;

// ---------------------------------------------------------------------------------------------
// The wave header (at offset 0 of the wave buffer).

typedef struct LanesWave {
  uint32_t magic;    // LANES_ABI_MAGIC
  uint32_t version;  // LANES_ABI_VERSION
  uint32_t tx_count;
  uint32_t flags;  // reserved, 0
  LanesBlockEnv block;
  uint64_t accounts_offset;  // LanesAccount[accounts_capacity]
  uint64_t storage_offset;   // LanesStorage[storage_capacity]
  uint32_t accounts_capacity;  // power of two
  uint32_t storage_capacity;   // power of two
  uint64_t code_offset;        // the code arena (accounts' code_offset point inside it)
  uint64_t code_len;
  uint64_t blockhash_offset;  // LanesBlockHashEntry[LANES_BLOCKHASH_ENTRIES]
  uint64_t txs_offset;        // LanesTxInput[tx_count]
  uint64_t input_offset;      // the input arena (calldata, access lists, blob hashes)
  uint64_t input_len;
  uint64_t wave_len;        // total bytes of the wave buffer
  uint64_t out_stride;      // bytes per output slot (multiple of 8, > sizeof(LanesTxOutput))
  uint64_t scratch_stride;  // bytes per scratch slot (multiple of 8)
} LanesWave;

// ---------------------------------------------------------------------------------------------
// Per-transaction output (at the start of each output slot).

#define LANES_STATUS_SUCCESS 0u      // executed, state changes in the write set
#define LANES_STATUS_REVERT 1u       // executed, REVERT: only the sender's nonce/fee change
#define LANES_STATUS_HALT 2u         // executed, exceptional halt (reason: LANES_HALT_*)
#define LANES_STATUS_INVALID_TX 3u   // rejected before execution (reason: LANES_INVALID_*);
                                     // no state change, not includable
#define LANES_STATUS_MISSING_KEY 4u  // a read missed the tables: `missing` names the key; the
                                     // host loads it and reruns the transaction
#define LANES_STATUS_UNSUPPORTED 5u  // this build cannot run it (reason: LANES_UNSUP_*); run
                                     // it on the CPU

// Exceptional halts (as revm's HaltReason).
#define LANES_HALT_OUT_OF_GAS 1u
#define LANES_HALT_OPCODE_NOT_FOUND 2u
#define LANES_HALT_INVALID_FE 3u
#define LANES_HALT_INVALID_JUMP 4u
#define LANES_HALT_STACK_UNDERFLOW 5u
#define LANES_HALT_STACK_OVERFLOW 6u
#define LANES_HALT_OUT_OF_OFFSET 7u        // RETURNDATACOPY out of bounds
#define LANES_HALT_STATE_CHANGE_DURING_STATIC 8u
#define LANES_HALT_CREATE_COLLISION 9u
#define LANES_HALT_CREATE_CONTRACT_SIZE_LIMIT 10u
#define LANES_HALT_CREATE_CONTRACT_STARTING_WITH_EF 11u
#define LANES_HALT_CREATE_INITCODE_SIZE_LIMIT 12u
#define LANES_HALT_CALL_TOO_DEEP 13u
#define LANES_HALT_OUT_OF_FUNDS 14u
#define LANES_HALT_PRECOMPILE_ERROR 15u
#define LANES_HALT_NONCE_OVERFLOW 16u
#define LANES_HALT_OTHER 17u

// Invalid transactions (checked in revm's order).
#define LANES_INVALID_PRIORITY_FEE_GREATER_THAN_MAX_FEE 1u
#define LANES_INVALID_GAS_PRICE_LESS_THAN_BASEFEE 2u
#define LANES_INVALID_CALLER_GAS_LIMIT_MORE_THAN_BLOCK 3u
#define LANES_INVALID_CALL_GAS_COST_MORE_THAN_GAS_LIMIT 4u  // intrinsic gas > gas limit
#define LANES_INVALID_REJECT_CALLER_WITH_CODE 5u           // EIP-3607
#define LANES_INVALID_LACK_OF_FUND_FOR_MAX_FEE 6u
#define LANES_INVALID_NONCE_TOO_HIGH 7u
#define LANES_INVALID_NONCE_TOO_LOW 8u
#define LANES_INVALID_NONCE_OVERFLOW 9u
#define LANES_INVALID_CREATE_INITCODE_SIZE_LIMIT 10u
#define LANES_INVALID_INVALID_CHAIN_ID 11u
#define LANES_INVALID_BLOB_GAS_PRICE_GREATER_THAN_MAX 12u
#define LANES_INVALID_EMPTY_BLOBS 13u
#define LANES_INVALID_BLOB_CREATE_TRANSACTION 14u
#define LANES_INVALID_TOO_MANY_BLOBS 15u
#define LANES_INVALID_BLOB_VERSION_NOT_SUPPORTED 16u
#define LANES_INVALID_TX_TYPE_NOT_SUPPORTED 17u
#define LANES_INVALID_OVERFLOW_PAYMENT 18u
#define LANES_INVALID_GAS_FLOOR_MORE_THAN_GAS_LIMIT 19u

// Reasons for LANES_STATUS_UNSUPPORTED.
#define LANES_UNSUP_SCRATCH_FULL 1u   // the per-tx scratch slot ran out
#define LANES_UNSUP_OUTPUT_FULL 2u    // the results did not fit the output slot
#define LANES_UNSUP_PRECOMPILE 3u     // a precompile this build does not run
#define LANES_UNSUP_BAD_WAVE 4u       // malformed wave (magic/version/offsets)
#define LANES_UNSUP_OVERLAY_FULL 5u   // the tx-local state overlay table filled up

// Key kinds for the read set and for MISSING_KEY.
#define LANES_KEY_ACCOUNT 1u    // an account's existence, nonce, balance and code hash
#define LANES_KEY_STORAGE 2u    // (address, slot)
#define LANES_KEY_CODE 3u       // an account's code bytes
#define LANES_KEY_BLOCKHASH 4u  // slot.limbs[0] = block number; address zero

typedef struct LanesKey {
  uint32_t kind;  // LANES_KEY_*
  uint8_t address[20];
  LanesU256 slot;
} LanesKey;

// A log: `topics_count` topics (big-endian 32-byte), `data` a byte span in the output slot.
typedef struct LanesLog {
  uint8_t address[20];
  uint32_t topics_count;
  uint8_t topics[4][32];
  LanesSpan data;
} LanesLog;

#define LANES_AW_CREATED 1u    // created in this tx (host: clear its old storage first)
#define LANES_AW_DESTROYED 2u  // self-destructed in this tx (EIP-6780): remove it and its storage
#define LANES_AW_DELETED 4u    // touched while empty (EIP-161): remove it
#define LANES_AW_CODE 8u       // new code in `code` (with code_hash)

// Post-state of an account the transaction touched (EIP-161) or changed; a touched account may
// be unchanged (flags 0, its pre-state values), as revm reports it. DELETED: touched and empty
// afterwards, whether or not it existed before. Without DESTROYED/DELETED the account exists
// afterwards with these nonce, balance, code hash (and code, if LANES_AW_CODE).
// The coinbase's priority fee is not included (see LanesTxOutput.coinbase_fee).
typedef struct LanesAccountWrite {
  uint8_t address[20];
  uint32_t flags;  // LANES_AW_*
  uint64_t nonce;
  LanesU256 balance;
  uint8_t code_hash[32];
  LanesSpan code;  // bytes in the output slot, with LANES_AW_CODE
} LanesAccountWrite;

// A storage slot whose value after the transaction differs from the committed value.
typedef struct LanesStorageWrite {
  uint8_t address[20];
  uint32_t _pad0;
  LanesU256 slot;
  LanesU256 value;
} LanesStorageWrite;

typedef struct LanesTxOutput {
  uint32_t status;  // LANES_STATUS_*
  uint32_t reason;  // LANES_HALT_* / LANES_INVALID_* / LANES_UNSUP_* for those statuses
  uint64_t gas_used;      // after the refund (what the sender pays for)
  uint64_t gas_refunded;  // the refund applied (capped at gas_used / 5)
  uint64_t used_bytes;    // bytes of the slot written, header included
  LanesU256 coinbase_fee;  // priority fee per gas * gas_used: the host credits the coinbase
  LanesKey missing;        // with LANES_STATUS_MISSING_KEY
  uint8_t created_address[20];  // the new contract of a creation tx (success only)
  uint32_t _pad0;
  LanesSpan return_data;     // bytes (also revert data)
  LanesSpan logs;            // LanesLog records (success only)
  LanesSpan reads;           // LanesKey records: everything read from the pre-state
  LanesSpan account_writes;  // LanesAccountWrite records
  LanesSpan storage_writes;  // LanesStorageWrite records
} LanesTxOutput;

// ---------------------------------------------------------------------------------------------
// Entry points (implemented in evm.cuh / evm.cu / host/evm_host.cpp):
//
//   LANES_HD static inline void lanes_execute_tx(const LanesWave* wave, uint32_t tx_index,
//                                               uint8_t* out, uint8_t* scratch);
//       runs transaction `tx_index`; `out` and `scratch` are the bases of the whole output and
//       scratch buffers (the slot is base + tx_index * stride).
//   extern "C" __global__ void lanes_wave_kernel(const LanesWave* wave, uint8_t* out,
//                                                uint8_t* scratch);   // one thread per tx
//   extern "C" void lanes_host_execute_tx(const LanesWave* wave, uint32_t tx_index,
//                                         uint8_t* out, uint8_t* scratch);
//   extern "C" void lanes_host_wave(const LanesWave* wave, uint8_t* out, uint8_t* scratch);

// The table hash (see the top of this file).
LANES_HD static inline uint64_t lanes_fmix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

LANES_HD static inline uint64_t lanes_load_le64(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

LANES_HD static inline uint64_t lanes_hash_address(const uint8_t* a) {
  uint64_t h = 0;
  h = lanes_fmix64(h ^ lanes_load_le64(a, 8));
  h = lanes_fmix64(h ^ lanes_load_le64(a + 8, 8));
  h = lanes_fmix64(h ^ lanes_load_le64(a + 16, 4));
  return h;
}

LANES_HD static inline uint64_t lanes_hash_slot(const uint8_t* a, const LanesU256* slot) {
  uint64_t h = lanes_hash_address(a);
  for (int i = 0; i < 4; i++) h = lanes_fmix64(h ^ slot->limbs[i]);
  return h;
}
