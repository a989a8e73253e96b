// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @notice The part of the Rollup that the Bridge reads: which batches are final, and their
///         withdrawals roots.
interface IFinalizedBatches {
    /// @notice Whether batch `index` is finalized.
    function isFinalized(uint64 index) external view returns (bool);

    /// @notice Withdrawals Merkle root of batch `index`.
    function withdrawalsRoot(uint64 index) external view returns (bytes32);
}

/// @title Bridge
/// @notice Moves ETH between L1 and Lanes. Deposits: ETH locked here joins a queue with a
///         rolling hash; the sequencer must apply the deposits on L2 in queue order, and every
///         batch states (and the Rollup checks) how far into the queue it got. Withdrawals: ETH
///         sent to the L2Withdrawals system contract on L2 is claimable here, once, with a Merkle
///         proof against the withdrawals root of a finalized batch.
/// @dev Deployed before the Rollup; the deployer then calls `initialize(rollup)` once.
///
///      Deposit hash chain: `depositHash_0 = 0`,
///      `depositHash_{i+1} = keccak256(abi.encode(depositHash_i, uint64 i, from, l2Recipient, value))`.
///
///      Withdrawals tree: leaf = `keccak256(abi.encode(id, from, to, amount))`, leaves in L2 order;
///      each level pairs nodes left to right, `parent = keccak256(abi.encodePacked(left, right))`,
///      an odd last node is paired with `bytes32(0)`; the root of one leaf is the leaf, of no
///      leaves `bytes32(0)`. A proof is the sibling list bottom-up; bit k of the leaf index says
///      whether the node at level k is a right child.
contract Bridge {
    /// @notice A withdrawal initiated on L2 (one `WithdrawalInitiated` event of L2Withdrawals).
    /// @param id The L2Withdrawals counter value of the withdrawal (unique, claims once).
    /// @param from The L2 sender.
    /// @param to The L1 recipient.
    /// @param amount Wei to pay out.
    struct Withdrawal {
        uint256 id;
        address from;
        address to;
        uint256 amount;
    }

    /// @notice The only address that may call `initialize`.
    address public immutable deployer;
    /// @notice The Rollup whose finalized batches authorize withdrawals (zero until initialized).
    IFinalizedBatches public rollup;
    /// @notice Number of deposits queued so far.
    uint64 public depositCount;
    /// @notice Whether withdrawal `id` has been claimed.
    mapping(uint256 => bool) public claimed;

    // Rolling hash after `count` deposits, for every count (0 maps to bytes32(0)).
    mapping(uint64 => bytes32) private _depositHashes;

    /// @notice The Bridge was wired to `rollup`.
    event Initialized(address indexed rollup);
    /// @notice Deposit `index` joined the queue; `depositHash` is the rolling hash after it.
    event DepositQueued(
        uint64 indexed index, address indexed from, address indexed to, uint256 value, bytes32 depositHash
    );
    /// @notice Withdrawal `id` was paid out on L1.
    event WithdrawalClaimed(uint256 indexed id, address indexed to, uint256 amount);

    /// @notice Only the deployer may initialize.
    error NotDeployer();
    /// @notice `initialize` was already called (or the rollup address is zero).
    error AlreadyInitialized();
    /// @notice The Bridge has no Rollup yet.
    error NotInitialized();
    /// @notice A deposit must carry ETH.
    error ZeroDeposit();
    /// @notice `depositHashAt(count)` with more deposits than queued.
    error DepositCountTooHigh(uint64 count, uint64 depositCount);
    /// @notice Batch `index` is not finalized.
    error BatchNotFinalized(uint64 index);
    /// @notice The Merkle proof does not lead to the batch's withdrawals root.
    error InvalidWithdrawalProof();
    /// @notice Withdrawal `id` was already claimed.
    error AlreadyClaimed(uint256 id);
    /// @notice Sending the ETH to the recipient failed.
    error TransferFailed();

    constructor() {
        deployer = msg.sender;
    }

    /// @notice Wires the Bridge to its Rollup. Once, by the deployer.
    /// @param rollup_ The Rollup contract.
    function initialize(address rollup_) external {
        if (msg.sender != deployer) revert NotDeployer();
        if (address(rollup) != address(0) || rollup_ == address(0)) revert AlreadyInitialized();
        rollup = IFinalizedBatches(rollup_);
        emit Initialized(rollup_);
    }

    /// @notice Locks `msg.value` wei here and queues a deposit of it to `l2Recipient` on L2.
    /// @param l2Recipient Who receives the ETH on L2.
    function depositETH(address l2Recipient) external payable {
        if (msg.value == 0) revert ZeroDeposit();
        uint64 index = depositCount;
        bytes32 h = keccak256(abi.encode(_depositHashes[index], index, msg.sender, l2Recipient, msg.value));
        depositCount = index + 1;
        _depositHashes[index + 1] = h;
        emit DepositQueued(index, msg.sender, l2Recipient, msg.value, h);
    }

    /// @notice The rolling deposit hash after the first `count` deposits (`0` for `count == 0`).
    /// @param count Number of deposits (at most `depositCount`).
    /// @return The rolling hash.
    function depositHashAt(uint64 count) external view returns (bytes32) {
        if (count > depositCount) revert DepositCountTooHigh(count, depositCount);
        return _depositHashes[count];
    }

    /// @notice Pays out withdrawal `w` from finalized batch `batchIndex`, once.
    /// @param batchIndex The finalized batch whose withdrawals root contains `w`.
    /// @param w The withdrawal.
    /// @param leafIndex Position of `w` among the batch's withdrawals.
    /// @param proof Sibling hashes from the leaf up to the root.
    function claimWithdrawal(uint64 batchIndex, Withdrawal calldata w, uint256 leafIndex, bytes32[] calldata proof)
        external
    {
        IFinalizedBatches r = rollup;
        if (address(r) == address(0)) revert NotInitialized();
        if (!r.isFinalized(batchIndex)) revert BatchNotFinalized(batchIndex);
        if (!verifyWithdrawalProof(r.withdrawalsRoot(batchIndex), withdrawalLeaf(w), leafIndex, proof)) {
            revert InvalidWithdrawalProof();
        }
        if (claimed[w.id]) revert AlreadyClaimed(w.id);
        claimed[w.id] = true;
        (bool ok,) = w.to.call{value: w.amount}("");
        if (!ok) revert TransferFailed();
        emit WithdrawalClaimed(w.id, w.to, w.amount);
    }

    /// @notice The Merkle leaf of a withdrawal: `keccak256(abi.encode(id, from, to, amount))`.
    /// @param w The withdrawal.
    /// @return The leaf hash.
    function withdrawalLeaf(Withdrawal calldata w) public pure returns (bytes32) {
        return keccak256(abi.encode(w.id, w.from, w.to, w.amount));
    }

    /// @notice Whether `proof` shows that `leaf` is leaf number `leafIndex` of the tree with
    ///         root `root`. The index must fit in `proof.length` bits.
    /// @param root The Merkle root.
    /// @param leaf The leaf hash.
    /// @param leafIndex Position of the leaf.
    /// @param proof Sibling hashes bottom-up.
    /// @return True if the proof is valid.
    function verifyWithdrawalProof(bytes32 root, bytes32 leaf, uint256 leafIndex, bytes32[] calldata proof)
        public
        pure
        returns (bool)
    {
        // An index with bits above the proof's height would name another position for the
        // same path; reject it so each leaf has exactly one valid (index, proof).
        if (proof.length < 256 && (leafIndex >> proof.length) != 0) return false;
        bytes32 h = leaf;
        for (uint256 k = 0; k < proof.length; k++) {
            if ((leafIndex >> k) & 1 == 0) {
                h = keccak256(abi.encodePacked(h, proof[k]));
            } else {
                h = keccak256(abi.encodePacked(proof[k], h));
            }
        }
        return h == root;
    }
}
