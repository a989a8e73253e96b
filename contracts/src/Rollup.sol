// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @notice The part of the Bridge that the Rollup reads: the L1 deposit queue.
interface IDepositQueue {
    /// @notice Number of deposits queued so far.
    function depositCount() external view returns (uint64);

    /// @notice Rolling deposit hash after the first `count` deposits.
    function depositHashAt(uint64 count) external view returns (bytes32);
}

/// @title Rollup
/// @notice The Lanes settlement contract on L1. The sequencer commits batches of L2 blocks (their
///         data as calldata or as EIP-4844 blobs, the post state root, the withdrawals root, how
///         far the batch consumed the Bridge's deposit queue, and the Poseidon2 state commitment
///         the batch proof is about); the prover finalizes them in order with the hash of a batch
///         proof whose public inputs this contract derives from the committed batches. The Bridge
///         pays out withdrawals only against finalized batches.
/// @dev Batch 0 is the genesis batch, committed and finalized at deployment. Every committed
///      batch is identified by its batch hash,
///      `keccak256(abi.encode(index, parentBatchHash, dataHash, postStateRoot, firstBlock,
///      lastBlock, withdrawalsRoot, depositCount, depositHash, stateCommitment, payloadHash))`,
///      so each batch commits to the whole chain of batches before it.
///
///      Trust model enforced here: only the sequencer key commits and reverts batches; batches
///      form one chain (index, parent hash, contiguous block ranges); each batch's deposit count
///      and rolling deposit hash must match the Bridge's queue, so the sequencer cannot invent,
///      drop or reorder deposits it claims to have included; only the prover key finalizes, and
///      finalized batches cannot be reverted; `finalizeBatch` checks the proof's public inputs
///      against the committed batches. Today `finalizeBatch` does NOT verify the STARK proof
///      itself: it trusts the prover key for that, and followers verify every proof natively
///      (see its NatSpec).
contract Rollup {
    /// @notice What the sequencer states about a batch when committing it.
    /// @param index Batch index, `lastCommitted + 1`.
    /// @param parentBatchHash Batch hash of batch `index - 1`.
    /// @param dataHash `keccak256(data)` for calldata batches; for blob batches
    ///        `keccak256(abi.encodePacked(blobhash(0), ..., blobhash(n - 1)))`.
    /// @param postStateRoot L2 state root after the batch's last block.
    /// @param firstBlock First L2 block number in the batch (previous batch's `lastBlock + 1`).
    /// @param lastBlock Last L2 block number in the batch (`>= firstBlock`).
    /// @param withdrawalsRoot Merkle root of the batch's L2 withdrawals (see Bridge).
    /// @param depositCount Number of L1 deposits consumed on L2 up to and including this batch.
    /// @param depositHash The Bridge's rolling deposit hash after `depositCount` deposits.
    /// @param stateCommitment Poseidon2 state commitment (the root of the node's sparse Merkle
    ///        tree over accounts and storage slots) after the batch's last block.
    /// @param payloadHash `keccak256` of the batch data bytes: equal to `dataHash` for calldata;
    ///        for blobs, of the bytes the blobs encode (followers check it against the blobs).
    struct BatchHeader {
        uint64 index;
        bytes32 parentBatchHash;
        bytes32 dataHash;
        bytes32 postStateRoot;
        uint64 firstBlock;
        uint64 lastBlock;
        bytes32 withdrawalsRoot;
        uint64 depositCount;
        bytes32 depositHash;
        bytes32 stateCommitment;
        bytes32 payloadHash;
    }

    /// @notice What the contract stores per committed batch (what a light client needs).
    /// @param batchHash Batch hash of the header (zero if the batch is not committed).
    /// @param dataHash The header's data hash.
    /// @param postStateRoot The header's post state root.
    /// @param withdrawalsRoot The header's withdrawals root.
    /// @param stateCommitment The header's state commitment.
    /// @param payloadHash The header's payload hash.
    /// @param proofHash Hash of the proof that finalized the batch (zero when unfinalized or
    ///        finalized unproven).
    /// @param firstBlock First L2 block of the batch.
    /// @param lastBlock Last L2 block of the batch.
    /// @param depositCount Deposits consumed up to and including the batch.
    /// @param l1Block L1 block number the batch was committed in.
    /// @param da Data availability: 0 calldata, 1 blobs.
    /// @param finalized Whether the batch is finalized.
    struct BatchInfo {
        bytes32 batchHash;
        bytes32 dataHash;
        bytes32 postStateRoot;
        bytes32 withdrawalsRoot;
        bytes32 stateCommitment;
        bytes32 payloadHash;
        bytes32 proofHash;
        uint64 firstBlock;
        uint64 lastBlock;
        uint64 depositCount;
        uint64 l1Block;
        uint8 da;
        bool finalized;
    }

    /// @notice Data availability mode of a batch committed with `commitBatch`.
    uint8 public constant DA_CALLDATA = 0;
    /// @notice Data availability mode of a batch committed with `commitBatchBlobs`.
    uint8 public constant DA_BLOB = 1;
    /// @notice Most blobs one batch may reference.
    uint256 public constant MAX_BLOBS = 16;

    /// @notice The only address that may commit and revert batches.
    address public immutable sequencer;
    /// @notice The only address that may finalize batches with `finalizeBatch`.
    address public immutable prover;
    /// @notice The Bridge whose deposit queue batches consume.
    IDepositQueue public immutable bridge;
    /// @notice Whether this is a dev deployment (enables `finalizeBatchUnproven`).
    bool public immutable devMode;
    /// @notice Hash of L2 block 0, for followers to check they start from the same genesis.
    bytes32 public immutable genesisBlockHash;

    /// @notice Index of the newest committed batch.
    uint64 public lastCommitted;
    /// @notice Index of the newest finalized batch.
    uint64 public lastFinalized;

    mapping(uint64 => BatchInfo) private _batches;

    /// @notice Batch `index` was committed.
    event BatchCommitted(
        uint64 indexed index,
        bytes32 indexed batchHash,
        bytes32 dataHash,
        bytes32 postStateRoot,
        uint64 firstBlock,
        uint64 lastBlock,
        uint64 depositCount,
        uint8 da
    );
    /// @notice Batch `index` was finalized; `proven` is false for `finalizeBatchUnproven`.
    event BatchFinalized(
        uint64 indexed index, bytes32 indexed batchHash, bytes32 proofHash, bytes32 publicInputsHash, bool proven
    );
    /// @notice Committed, unfinalized batches `fromIndex..` were dropped.
    event BatchesReverted(uint64 indexed fromIndex);

    /// @notice The caller is not the sequencer.
    error NotSequencer();
    /// @notice The caller is not the prover.
    error NotProver();
    /// @notice The function exists only in dev deployments.
    error NotDevDeployment();
    /// @notice A constructor address argument is zero.
    error ZeroAddress();
    /// @notice The batch index is not `lastCommitted + 1`.
    error WrongBatchIndex(uint64 expected, uint64 got);
    /// @notice The parent batch hash is not the batch hash of `lastCommitted`.
    error WrongParentBatch(bytes32 expected, bytes32 got);
    /// @notice `firstBlock` does not follow the previous batch, or `lastBlock < firstBlock`.
    error WrongBlockRange();
    /// @notice `dataHash` does not match the calldata or the blob versioned hashes.
    error DataHashMismatch();
    /// @notice Blob `i` of the transaction is missing (or the blob count is 0 or too large).
    error MissingBlob(uint256 i);
    /// @notice `depositCount` went backwards or exceeds the Bridge's queue.
    error DepositsOutOfRange();
    /// @notice `depositHash` is not the Bridge's rolling hash at `depositCount`.
    error DepositHashMismatch();
    /// @notice Batch `index` is not committed.
    error BatchNotCommitted(uint64 index);
    /// @notice Batch `index` is already finalized.
    error AlreadyFinalized(uint64 index);
    /// @notice Batches finalize one at a time, in order: `index` must be `lastFinalized + 1`.
    error FinalizeOutOfOrder();
    /// @notice The public inputs hash given to `finalizeBatch` is not the one of the batch.
    error PublicInputsMismatch(bytes32 expected, bytes32 got);
    /// @notice A calldata batch's `payloadHash` differs from its `dataHash`.
    error PayloadHashMismatch();
    /// @notice `finalizeBatch` was given a zero proof hash.
    error ZeroProofHash();

    modifier onlySequencer() {
        if (msg.sender != sequencer) revert NotSequencer();
        _;
    }

    /// @param sequencer_ Address allowed to commit and revert batches.
    /// @param prover_ Address allowed to finalize batches.
    /// @param bridge_ The Bridge holding the deposit queue.
    /// @param devMode_ True only for local dev deployments: enables `finalizeBatchUnproven`.
    /// @param genesisStateRoot L2 state root of the genesis block (post state of batch 0).
    /// @param genesisBlockHash_ Hash of L2 block 0.
    /// @param genesisStateCommitment Poseidon2 state commitment of the genesis state.
    constructor(
        address sequencer_,
        address prover_,
        address bridge_,
        bool devMode_,
        bytes32 genesisStateRoot,
        bytes32 genesisBlockHash_,
        bytes32 genesisStateCommitment
    ) {
        if (sequencer_ == address(0) || prover_ == address(0) || bridge_ == address(0)) revert ZeroAddress();
        sequencer = sequencer_;
        prover = prover_;
        bridge = IDepositQueue(bridge_);
        devMode = devMode_;
        genesisBlockHash = genesisBlockHash_;

        BatchHeader memory g;
        g.postStateRoot = genesisStateRoot;
        g.stateCommitment = genesisStateCommitment;
        bytes32 h = _hash(g);
        BatchInfo storage b = _batches[0];
        b.batchHash = h;
        b.postStateRoot = genesisStateRoot;
        b.stateCommitment = genesisStateCommitment;
        b.l1Block = uint64(block.number);
        b.finalized = true;
        emit BatchCommitted(0, h, bytes32(0), genesisStateRoot, 0, 0, 0, DA_CALLDATA);
        emit BatchFinalized(0, h, bytes32(0), bytes32(0), false);
    }

    /// @notice Commits a batch whose data is posted as this transaction's calldata.
    /// @dev Only the sequencer. Checks the chain of batches, the block range, the deposit queue
    ///      and `h.dataHash == keccak256(data) == h.payloadHash`.
    /// @param h The batch header.
    /// @param data The batch data (versioned, compressed L2 blocks; opaque to this contract).
    function commitBatch(BatchHeader calldata h, bytes calldata data) external onlySequencer {
        if (h.dataHash != keccak256(data)) revert DataHashMismatch();
        if (h.payloadHash != h.dataHash) revert PayloadHashMismatch();
        _commit(h, DA_CALLDATA);
    }

    /// @notice Commits a batch whose data is posted in this transaction's EIP-4844 blobs.
    /// @dev Only the sequencer. `h.dataHash` must be the keccak of the concatenated versioned
    ///      hashes of blobs `0..blobCount-1`, each of which must be present. `h.payloadHash`
    ///      (keccak of the bytes the blobs encode) cannot be checked here; followers check it.
    /// @param h The batch header.
    /// @param blobCount Number of blobs carrying the batch data (1..MAX_BLOBS).
    function commitBatchBlobs(BatchHeader calldata h, uint256 blobCount) external onlySequencer {
        if (blobCount == 0) revert MissingBlob(0);
        if (blobCount > MAX_BLOBS) revert MissingBlob(MAX_BLOBS);
        bytes32[] memory hashes = new bytes32[](blobCount);
        for (uint256 i = 0; i < blobCount; i++) {
            bytes32 v = blobhash(i);
            if (v == bytes32(0)) revert MissingBlob(i);
            hashes[i] = v;
        }
        if (h.dataHash != keccak256(abi.encodePacked(hashes))) revert DataHashMismatch();
        _commit(h, DA_BLOB);
    }

    /// @notice Finalizes batch `index` with a batch proof.
    /// @dev Only the prover; batches finalize in order (`index == lastFinalized + 1`) and must be
    ///      committed. `publicInputsHash` must be the hash of the public inputs of this batch as
    ///      committed here: `keccak256(abi.encode(index, stateCommitment of batch index - 1,
    ///      stateCommitment of batch index, payloadHash of batch index))`.
    ///      THIS DOES NOT VERIFY THE PROOF: it trusts the prover key to have proven those public
    ///      inputs and records `proofHash`; followers fetch the proof, check its hash against this
    ///      record and verify it natively. An on-chain verifier is future work.
    /// @param index Batch to finalize.
    /// @param proofHash keccak256 of the proof bytes (followers check the proof they fetch).
    /// @param publicInputsHash Hash of the proof's public inputs, checked as above.
    function finalizeBatch(uint64 index, bytes32 proofHash, bytes32 publicInputsHash) external {
        if (msg.sender != prover) revert NotProver();
        if (proofHash == bytes32(0)) revert ZeroProofHash();
        BatchInfo storage b = _checkFinalizable(index);
        bytes32 expected = publicInputsHashOf(index);
        if (publicInputsHash != expected) revert PublicInputsMismatch(expected, publicInputsHash);
        b.finalized = true;
        b.proofHash = proofHash;
        lastFinalized = index;
        emit BatchFinalized(index, b.batchHash, proofHash, publicInputsHash, true);
    }

    /// @notice Finalizes batch `index` with no proof at all. Dev deployments only: it exists so a
    ///         local chain can exercise withdrawals before the prover exists. It gives no validity.
    /// @dev Only when `devMode`, only the sequencer, same ordering as `finalizeBatch`.
    /// @param index Batch to finalize.
    function finalizeBatchUnproven(uint64 index) external {
        if (!devMode) revert NotDevDeployment();
        if (msg.sender != sequencer) revert NotSequencer();
        BatchInfo storage b = _checkFinalizable(index);
        b.finalized = true;
        lastFinalized = index;
        emit BatchFinalized(index, b.batchHash, bytes32(0), bytes32(0), false);
    }

    /// @notice Drops committed but unfinalized batches `fromIndex..lastCommitted`, so the
    ///         sequencer can re-commit them (after an L1 reorg or a failed resubmission).
    /// @dev Only the sequencer. Finalized batches can never be reverted.
    /// @param fromIndex First batch to drop (`lastFinalized < fromIndex <= lastCommitted`).
    function revertBatches(uint64 fromIndex) external onlySequencer {
        if (fromIndex > lastCommitted) revert BatchNotCommitted(fromIndex);
        if (fromIndex <= lastFinalized) revert AlreadyFinalized(fromIndex);
        for (uint64 i = lastCommitted; i >= fromIndex; i--) {
            delete _batches[i];
        }
        lastCommitted = fromIndex - 1;
        emit BatchesReverted(fromIndex);
    }

    /// @notice What is stored for batch `index` (all zero if it is not committed).
    /// @param index Batch index.
    /// @return The stored batch info.
    function batches(uint64 index) external view returns (BatchInfo memory) {
        return _batches[index];
    }

    /// @notice Batch hash of batch `index` (zero if not committed).
    /// @param index Batch index.
    /// @return The batch hash.
    function batchHash(uint64 index) external view returns (bytes32) {
        return _batches[index].batchHash;
    }

    /// @notice Whether batch `index` is finalized.
    /// @param index Batch index.
    /// @return True if finalized.
    function isFinalized(uint64 index) external view returns (bool) {
        return _batches[index].finalized;
    }

    /// @notice Withdrawals root of batch `index` (zero if not committed).
    /// @param index Batch index.
    /// @return The withdrawals Merkle root.
    function withdrawalsRoot(uint64 index) external view returns (bytes32) {
        return _batches[index].withdrawalsRoot;
    }

    /// @notice The public inputs hash a proof of committed batch `index` (>= 1) must have:
    ///         `keccak256(abi.encode(index, previous commitment, commitment, payloadHash))`.
    /// @param index Batch index.
    /// @return The public inputs hash (`BatchNotCommitted` if `index` is 0 or not committed).
    function publicInputsHashOf(uint64 index) public view returns (bytes32) {
        if (index == 0 || index > lastCommitted) revert BatchNotCommitted(index);
        BatchInfo storage b = _batches[index];
        return keccak256(abi.encode(index, _batches[index - 1].stateCommitment, b.stateCommitment, b.payloadHash));
    }

    /// @notice The batch hash of a header, exactly as `commitBatch` computes it.
    /// @param h A batch header.
    /// @return The batch hash.
    function computeBatchHash(BatchHeader calldata h) external pure returns (bytes32) {
        return _hash(h);
    }

    function _commit(BatchHeader calldata h, uint8 da) private {
        uint64 last = lastCommitted;
        if (h.index != last + 1) revert WrongBatchIndex(last + 1, h.index);
        BatchInfo storage prev = _batches[last];
        if (h.parentBatchHash != prev.batchHash) revert WrongParentBatch(prev.batchHash, h.parentBatchHash);
        if (h.firstBlock != prev.lastBlock + 1 || h.lastBlock < h.firstBlock) revert WrongBlockRange();
        if (h.depositCount < prev.depositCount || h.depositCount > bridge.depositCount()) {
            revert DepositsOutOfRange();
        }
        if (h.depositHash != bridge.depositHashAt(h.depositCount)) revert DepositHashMismatch();

        bytes32 hash = _hash(h);
        BatchInfo storage b = _batches[h.index];
        b.batchHash = hash;
        b.dataHash = h.dataHash;
        b.postStateRoot = h.postStateRoot;
        b.withdrawalsRoot = h.withdrawalsRoot;
        b.stateCommitment = h.stateCommitment;
        b.payloadHash = h.payloadHash;
        b.firstBlock = h.firstBlock;
        b.lastBlock = h.lastBlock;
        b.depositCount = h.depositCount;
        b.l1Block = uint64(block.number);
        b.da = da;
        lastCommitted = h.index;
        emit BatchCommitted(
            h.index, hash, h.dataHash, h.postStateRoot, h.firstBlock, h.lastBlock, h.depositCount, da
        );
    }

    function _checkFinalizable(uint64 index) private view returns (BatchInfo storage b) {
        if (index <= lastFinalized) revert AlreadyFinalized(index);
        if (index > lastCommitted) revert BatchNotCommitted(index);
        if (index != lastFinalized + 1) revert FinalizeOutOfOrder();
        return _batches[index];
    }

    function _hash(BatchHeader memory h) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                h.index,
                h.parentBatchHash,
                h.dataHash,
                h.postStateRoot,
                h.firstBlock,
                h.lastBlock,
                h.withdrawalsRoot,
                h.depositCount,
                h.depositHash,
                h.stateCommitment,
                h.payloadHash
            )
        );
    }
}
