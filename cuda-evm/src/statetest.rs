//! A runner for ethereum/tests `GeneralStateTests`, over any [`Executor`].
//!
//! Every Cancun post-state entry of a test (one `(data, gas, value)` index combination) is a
//! block of one transaction: the pre-state is loaded into an [`InMemoryState`], the transaction
//! (the entry's `txbytes`) is executed by the executor under test, the resulting diff is
//! applied, and the state root (Merkle-Patricia trie over the accounts and their storage) and
//! the logs hash (keccak-256 of the RLP list of logs) are compared with the entry's. An entry
//! with `expectException` must leave its transaction out of the block (and the state, hence the
//! root, unchanged). An executor other than [`SequentialExecutor`] must moreover return exactly
//! what the sequential executor (revm) returns for the case: the same outcomes, skip reasons and
//! state diff, entry for entry.
//!
//! This is what `lanes statetest` runs, like revm's `revme statetest`: directories are walked
//! recursively for `.json` files, single files are run as given. [`SKIP`] lists, with reasons,
//! the cases that are not compared; it only shrinks.

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
    str::FromStr,
    time::{Duration, Instant},
};

use alloy_consensus::{TxEnvelope, transaction::Recovered, transaction::SignerRecoverable};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, Bytes, Log, U256, keccak256};
use alloy_trie::{
    TrieAccount,
    root::{state_root_unhashed, storage_root_unhashed},
};
use lanes_conflict::{BlockContext, BlockExecution, Executor, InMemoryState, SequentialExecutor};
use rayon::prelude::*;
use revm::bytecode::Bytecode;
use serde_json::Value;

/// The fork whose post-states are checked.
pub const FORK: &str = "Cancun";

/// Largest test file read (the largest in ethereum/tests is a few MiB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Cases not run, with why. Keys are `file-stem` (the whole file) or `file-stem/test-name`.
pub const SKIP: &[(&str, &str)] = &[
    // EIP-7610: creating a contract at an address that has storage (but no code and no nonce)
    // must fail. revm's `Database` cannot tell whether an account has storage, so revm deploys
    // there and gets another root; revm's own `revme statetest` skips these files too.
    ("InitCollisionParis", EIP_7610),
    ("create2collisionStorageParis", EIP_7610),
    ("dynamicAccountOverwriteEmpty_Paris", EIP_7610),
    ("RevertInCreateInInit_Paris", EIP_7610),
    ("RevertInCreateInInitCreate2Paris", EIP_7610),
];

const EIP_7610: &str = "EIP-7610 collision with existing storage: not modelled by revm";

/// Errors of the runner itself (not of a case).
#[derive(Debug, thiserror::Error)]
pub enum StateTestError {
    /// A path given on the command line does not exist or cannot be read.
    #[error("cannot read {path}: {message}")]
    Path {
        /// The path.
        path: PathBuf,
        /// What the operating system said.
        message: String,
    },
    /// No test file was found under the paths given.
    #[error("no .json test files under {0:?}")]
    NoFiles(Vec<PathBuf>),
}

/// Which case of which test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseId {
    /// The test file.
    pub file: PathBuf,
    /// The test's name inside the file.
    pub test: String,
    /// Position of the entry in the fork's post-state list.
    pub entry: usize,
    /// The entry's `(data, gas, value)` indexes into the transaction's lists.
    pub indexes: (usize, usize, usize),
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d, g, v) = self.indexes;
        write!(
            f,
            "{}::{} [d={d} g={g} v={v}]",
            self.file.display(),
            self.test
        )
    }
}

/// A case that failed, with what was expected and what was found.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The case (or, for a file that cannot be read, the file with an empty test name).
    pub id: CaseId,
    /// Expected and got.
    pub message: String,
}

/// A case that was not run or not compared, with why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The case.
    pub id: CaseId,
    /// Why.
    pub reason: String,
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Test files read.
    pub files: usize,
    /// Cases whose root, logs hash and inclusion matched.
    pub passed: usize,
    /// Cases that did not.
    pub failed: Vec<Failure>,
    /// Cases skipped, with why.
    pub skipped: Vec<Skipped>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl Report {
    fn merge(&mut self, other: Report) {
        self.files += other.files;
        self.passed += other.passed;
        self.failed.extend(other.failed);
        self.skipped.extend(other.skipped);
    }

    /// The one-line summary: `N passed, N failed, N skipped`.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped ({} files, {:.1?})",
            self.passed,
            self.failed.len(),
            self.skipped.len(),
            self.files,
            self.elapsed
        )
    }
}

/// Every `.json` file under `paths` (directories recursively, files as given), sorted.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, StateTestError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| StateTestError::Path {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if meta.is_dir() {
            walk(path, &mut out)?;
        } else {
            out.push(path.clone());
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(StateTestError::NoFiles(paths.to_vec()));
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), StateTestError> {
    let entries = std::fs::read_dir(dir).map_err(|e| StateTestError::Path {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    for entry in entries {
        let path = entry
            .map_err(|e| StateTestError::Path {
                path: dir.to_path_buf(),
                message: e.to_string(),
            })?
            .path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Runs every Cancun case of the files under `paths` through `executor`, files in parallel on
/// the current rayon pool.
pub fn run(paths: &[PathBuf], executor: &dyn Executor) -> Result<Report, StateTestError> {
    let start = Instant::now();
    let files = collect_files(paths)?;
    let reports: Vec<Report> = files
        .par_iter()
        .map(|file| run_file(file, executor))
        .collect();
    let mut report = Report::default();
    for r in reports {
        report.merge(r);
    }
    report.elapsed = start.elapsed();
    Ok(report)
}

/// Runs every Cancun case of one test file.
pub fn run_file(path: &Path, executor: &dyn Executor) -> Report {
    let mut report = Report {
        files: 1,
        ..Default::default()
    };
    let file_id = |message: String| Failure {
        id: CaseId {
            file: path.to_path_buf(),
            test: String::new(),
            entry: 0,
            indexes: (0, 0, 0),
        },
        message,
    };
    let tests = match read_json(path) {
        Ok(tests) => tests,
        Err(message) => {
            report.failed.push(file_id(message));
            return report;
        }
    };
    let Some(tests) = tests.as_object() else {
        report
            .failed
            .push(file_id("not a JSON object of tests".into()));
        return report;
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    for (name, test) in tests {
        let Some(entries) = test
            .get("post")
            .and_then(|p| p.get(FORK))
            .and_then(Value::as_array)
        else {
            continue;
        };
        let skip = listed(SKIP, &stem, name);
        for (entry_index, entry) in entries.iter().enumerate() {
            let id = CaseId {
                file: path.to_path_buf(),
                test: name.clone(),
                entry: entry_index,
                indexes: indexes(entry),
            };
            if let Some(reason) = skip {
                report.skipped.push(Skipped {
                    id,
                    reason: reason.to_owned(),
                });
                continue;
            }
            match run_case(executor, test, entry) {
                Ok(Outcome::Passed) => report.passed += 1,
                Ok(Outcome::Skipped(reason)) => report.skipped.push(Skipped { id, reason }),
                Err(message) => report.failed.push(Failure { id, message }),
            }
        }
    }
    report
}

fn read_json(path: &Path) -> Result<Value, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(format!(
            "file is {len} bytes, more than the limit of {MAX_FILE_BYTES}"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))
}

fn listed(list: &'static [(&str, &str)], file: &str, test: &str) -> Option<&'static str> {
    list.iter()
        .find(|(key, _)| {
            *key == file
                || key
                    .split_once('/')
                    .is_some_and(|(f, t)| f == file && t == test)
        })
        .map(|(_, why)| *why)
}

fn indexes(entry: &Value) -> (usize, usize, usize) {
    let get = |k: &str| {
        entry
            .get("indexes")
            .and_then(|i| i.get(k))
            .and_then(Value::as_u64)
            .map_or(0, |v| usize::try_from(v).unwrap_or(usize::MAX))
    };
    (get("data"), get("gas"), get("value"))
}

enum Outcome {
    Passed,
    Skipped(String),
}

/// One case, fully parsed: what [`run_case`] hands the executor.
#[derive(Debug, Clone)]
pub struct Case {
    /// The block the transaction runs in.
    pub block: BlockContext,
    /// The pre-state.
    pub pre: InMemoryState,
    /// The transaction with its sender.
    pub tx: Recovered<TxEnvelope>,
    /// Whether the test expects the transaction to be rejected.
    pub expect_exception: Option<String>,
    /// Expected state root after the block.
    pub want_root: B256,
    /// Expected logs hash.
    pub want_logs: B256,
}

/// Parses one post-state entry of `test`; `Ok(Err(reason))` is a case that cannot be run here
/// (with the reason), `Err` a malformed test.
pub fn parse_case(test: &Value, entry: &Value) -> Result<Result<Case, String>, String> {
    let env = test.get("env").ok_or("test has no env")?;
    let block = block(env)?;
    let pre = pre_state(test.get("pre").ok_or("test has no pre")?, block.number)?;
    let raw = bytes(entry.get("txbytes").ok_or("entry has no txbytes")?)?;
    let expect_exception = entry
        .get("expectException")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let want_root = B256::from(u256(entry.get("hash").ok_or("entry has no hash")?)?);
    let want_logs = B256::from(u256(entry.get("logs").ok_or("entry has no logs")?)?);
    let tx = match TxEnvelope::decode_2718(&mut raw.as_ref()) {
        Ok(tx) => tx,
        Err(e) if expect_exception.is_some() => {
            return Ok(Err(format!(
                "transaction does not decode ({e}), as the test expects ({}): nothing to execute",
                expect_exception.unwrap_or_default()
            )));
        }
        Err(e) => return Err(format!("transaction does not decode: {e}")),
    };
    let sender = match test
        .get("transaction")
        .and_then(|t| t.get("sender"))
        .and_then(Value::as_str)
    {
        Some(s) => Address::from_str(s).map_err(|e| format!("bad sender {s}: {e}"))?,
        None => tx
            .recover_signer()
            .map_err(|e| format!("no sender and signature does not recover: {e}"))?,
    };
    Ok(Ok(Case {
        block,
        pre,
        tx: Recovered::new_unchecked(tx, sender),
        expect_exception,
        want_root,
        want_logs,
    }))
}

fn run_case(executor: &dyn Executor, test: &Value, entry: &Value) -> Result<Outcome, String> {
    let case = match parse_case(test, entry)? {
        Ok(case) => case,
        Err(reason) => return Ok(Outcome::Skipped(reason)),
    };
    let txs = std::slice::from_ref(&case.tx);
    let got = executor
        .execute_block(&case.block, txs, &case.pre)
        .map_err(|e| format!("{} executor failed: {e}", executor.name()))?;
    let included = !got.included.is_empty();
    match (&case.expect_exception, included) {
        (Some(exception), true) => {
            return Err(format!(
                "expected the transaction to be rejected ({exception}), but it was included"
            ));
        }
        (None, false) => {
            return Err(format!(
                "expected the transaction to be included, but it was skipped: {:?}",
                got.skipped
            ));
        }
        _ => {}
    }
    let mut post = case.pre.clone();
    post.apply_diff(&got.diff);
    let root = state_root(&post);
    let logs = logs_hash(&got);
    // Any executor but the reference must also return exactly what revm returns: outcomes,
    // skip reasons and the state diff entry for entry, not only the same root.
    let reference = (executor.name() != SequentialExecutor.name())
        .then(|| SequentialExecutor.execute_block(&case.block, txs, &case.pre));
    if root == case.want_root && logs == case.want_logs {
        return match reference {
            None => Ok(Outcome::Passed),
            Some(Ok(reference)) if reference == got => Ok(Outcome::Passed),
            Some(Ok(reference)) => Err(format!(
                "state root and logs hash match, but the result differs from the sequential \
                 executor's{}",
                describe_difference(&got, &reference)
            )),
            Some(Err(e)) => Err(format!("sequential executor failed: {e}")),
        };
    }
    let mut message = format!(
        "state root got {root} expected {}; logs hash got {logs} expected {}",
        case.want_root, case.want_logs
    );
    if let Some(Ok(reference)) = reference {
        message.push_str(&describe_difference(&got, &reference));
    }
    Err(message)
}

/// Where `got` first differs from the sequential reference, for a failure message.
fn describe_difference(got: &BlockExecution, reference: &BlockExecution) -> String {
    if got == reference {
        return "; identical to the sequential executor's result".into();
    }
    let outcomes = |e: &BlockExecution| {
        e.included
            .iter()
            .map(|t| (t.outcome.success, t.outcome.gas_used))
            .collect::<Vec<_>>()
    };
    if outcomes(got) != outcomes(reference) {
        return format!(
            "; (success, gas) got {:?} sequential {:?}",
            outcomes(got),
            outcomes(reference)
        );
    }
    let addresses = got
        .diff
        .accounts
        .keys()
        .chain(reference.diff.accounts.keys());
    for address in addresses {
        let (a, b) = (
            got.diff.accounts.get(address),
            reference.diff.accounts.get(address),
        );
        if a != b {
            return format!("; first differing account {address}: got {a:?} sequential {b:?}");
        }
    }
    if got.diff.codes != reference.diff.codes {
        let hashes = |e: &BlockExecution| e.diff.codes.keys().copied().collect::<Vec<_>>();
        return format!(
            "; diff codes got {:?} sequential {:?}",
            hashes(got),
            hashes(reference)
        );
    }
    if got.skipped != reference.skipped {
        return format!(
            "; skipped got {:?} sequential {:?}",
            got.skipped, reference.skipped
        );
    }
    let logs = |e: &BlockExecution| {
        e.included
            .iter()
            .flat_map(|t| t.outcome.logs.clone())
            .collect::<Vec<_>>()
    };
    if logs(got) != logs(reference) {
        return format!(
            "; logs got {:?} sequential {:?}",
            logs(got),
            logs(reference)
        );
    }
    format!(
        "; outcomes got {:?} sequential {:?}",
        got.included, reference.included
    )
}

fn u256(v: &Value) -> Result<U256, String> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("expected a hex string, got {v}"))?;
    U256::from_str(s).map_err(|e| format!("bad number {s}: {e}"))
}

fn u64_sat(v: &Value) -> Result<u64, String> {
    Ok(u64::try_from(u256(v)?).unwrap_or(u64::MAX))
}

fn bytes(v: &Value) -> Result<Bytes, String> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("expected hex bytes, got {v}"))?;
    Bytes::from_str(s).map_err(|e| format!("bad hex {s}: {e}"))
}

fn field<'a>(obj: &'a Value, key: &str) -> Result<&'a Value, String> {
    obj.get(key).ok_or_else(|| format!("missing field {key}"))
}

/// The pre-state of a test, with the block hashes `BLOCKHASH` can see.
pub fn pre_state(pre: &Value, number: u64) -> Result<InMemoryState, String> {
    let mut state = InMemoryState::new();
    for (addr, acc) in pre.as_object().ok_or("pre is not an object")? {
        let address = Address::from_str(addr).map_err(|e| format!("bad address {addr}: {e}"))?;
        let code = bytes(field(acc, "code")?)?;
        let code = (!code.is_empty()).then(|| Bytecode::new_raw(code));
        state.insert_account(
            address,
            u256(field(acc, "balance")?)?,
            u64_sat(field(acc, "nonce")?)?,
            code,
        );
        let storage = field(acc, "storage")?
            .as_object()
            .ok_or("storage is not an object")?;
        for (slot, value) in storage {
            let value = u256(value)?;
            if !value.is_zero() {
                let slot = U256::from_str(slot).map_err(|e| format!("bad slot {slot}: {e}"))?;
                state.insert_storage(address, slot, value);
            }
        }
    }
    // The tests' generators (and revm's `EmptyDB`) define BLOCKHASH(n) as keccak(decimal n).
    for n in number.saturating_sub(256)..number {
        state.insert_block_hash(n, keccak256(n.to_string().as_bytes()));
    }
    Ok(state)
}

/// The block of a test's `env`.
pub fn block(env: &Value) -> Result<BlockContext, String> {
    let prevrandao = match env.get("currentRandom") {
        Some(v) => Some(v),
        None => env.get("currentDifficulty"),
    }
    .map(u256)
    .transpose()?
    .map(B256::from);
    let coinbase = field(env, "currentCoinbase")?
        .as_str()
        .ok_or("currentCoinbase is not a string")?;
    Ok(BlockContext {
        number: u64_sat(field(env, "currentNumber")?)?,
        timestamp: u64_sat(field(env, "currentTimestamp")?)?,
        beneficiary: Address::from_str(coinbase)
            .map_err(|e| format!("bad coinbase {coinbase}: {e}"))?,
        gas_limit: u64_sat(field(env, "currentGasLimit")?)?,
        base_fee: match env.get("currentBaseFee") {
            Some(v) => u64_sat(v)?,
            None => 0,
        },
        prevrandao: prevrandao.unwrap_or_default(),
        chain_id: 1,
        excess_blob_gas: match env.get("currentExcessBlobGas") {
            Some(v) => u64_sat(v)?,
            None => 0,
        },
    })
}

/// The Ethereum state root of `state`.
pub fn state_root(state: &InMemoryState) -> B256 {
    let accounts: BTreeMap<Address, TrieAccount> = state
        .accounts()
        .map(|(address, info)| {
            let storage_root = storage_root_unhashed(
                state
                    .storage_of(address)
                    .map(|(slot, value)| (B256::from(*slot), *value)),
            );
            (
                *address,
                TrieAccount::new(info.nonce, info.balance, storage_root, info.code_hash),
            )
        })
        .collect();
    state_root_unhashed(accounts)
}

/// keccak-256 of the RLP list of every log the block emitted.
pub fn logs_hash(exec: &BlockExecution) -> B256 {
    let logs: Vec<Log> = exec
        .included
        .iter()
        .flat_map(|tx| tx.outcome.logs.iter().cloned())
        .collect();
    keccak256(alloy_rlp::encode(&logs))
}
