// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title L2Deposits
/// @notice L2 system contract (predeployed at 0x4c00000000000000000000000000000000000002) that
///         pays out L1 deposits on L2, in the L1 Bridge's queue order. The sequencer includes one
///         system transaction per deposit, `finalizeDeposit(index, from, to, value, depositHash)`,
///         signed by the deposit system account, at the start of a block.
/// @dev Placed in the L2 genesis as runtime bytecode with storage: slot 0 holds `system`, the
///      only sender allowed to finalize deposits, and the contract's balance is the reserve of
///      ETH not yet bridged to L2 (deposits move it out; nothing mints on L2).
///      The contract keeps the same rolling hash as the L1 Bridge
///      (`keccak256(abi.encode(prev, index, from, to, value))`), so after a batch `depositHash`
///      here equals `Bridge.depositHashAt(nextIndex)`; followers check it against the batch
///      header, which `Rollup.commitBatch` checked against the Bridge. A deposit therefore cannot
///      be invented, dropped, altered or reordered on L2 without followers noticing.
contract L2Deposits {
    /// @notice The only sender allowed to call `finalizeDeposit` (genesis storage slot 0).
    address public system;
    /// @notice Rolling hash after `nextIndex` deposits (zero before the first; slot 1).
    bytes32 public depositHash;
    /// @notice Index of the next deposit to finalize (= number finalized so far; slot 2).
    uint64 public nextIndex;
    /// @notice ETH held for recipients whose address refused the payment (a reverting contract;
    ///         mapping at slot 3).
    mapping(address => uint256) public held;

    /// @notice Gas the payment to the recipient may use; the rest of the system transaction
    ///         must still be able to record a refused payment.
    uint256 public constant PAYMENT_GAS = 100_000;

    /// @notice L1 deposit `index` of `value` wei from `from` (L1) was paid to `to` on L2;
    ///         `depositHash` is the rolling hash after it.
    event DepositFinalized(
        uint64 indexed index, address indexed from, address indexed to, uint256 value, bytes32 depositHash
    );
    /// @notice `to` refused the payment of deposit `index`; `value` is held for it (`claimHeld`).
    event DepositHeld(uint64 indexed index, address indexed to, uint256 value);
    /// @notice `to` took `value` wei of held deposits.
    event HeldClaimed(address indexed to, uint256 value);

    /// @notice The caller is not the deposit system account.
    error NotSystem();
    /// @notice Deposits finalize in queue order.
    error OutOfOrder(uint64 index, uint64 expected);
    /// @notice The stated rolling hash is not the one computed from the deposit.
    error DepositHashMismatch(bytes32 stated, bytes32 computed);
    /// @notice Nothing is held for the caller.
    error NothingHeld();
    /// @notice Sending the held ETH failed.
    error TransferFailed();

    /// @notice Pays out L1 deposit `index`. Only the system account, in order.
    /// @param index Position in the Bridge's queue.
    /// @param from The L1 depositor.
    /// @param to The L2 recipient.
    /// @param value Wei deposited.
    /// @param stated The Bridge's rolling hash after this deposit (from its `DepositQueued`).
    function finalizeDeposit(uint64 index, address from, address to, uint256 value, bytes32 stated) external {
        if (msg.sender != system) revert NotSystem();
        uint64 expected = nextIndex;
        if (index != expected) revert OutOfOrder(index, expected);
        bytes32 computed = keccak256(abi.encode(depositHash, index, from, to, value));
        if (computed != stated) revert DepositHashMismatch(stated, computed);
        nextIndex = expected + 1;
        depositHash = computed;
        emit DepositFinalized(index, from, to, value, computed);
        (bool ok,) = to.call{value: value, gas: PAYMENT_GAS}("");
        if (!ok) {
            held[to] += value;
            emit DepositHeld(index, to, value);
        }
    }

    /// @notice Sends the caller the deposits held for it.
    function claimHeld() external {
        uint256 value = held[msg.sender];
        if (value == 0) revert NothingHeld();
        held[msg.sender] = 0;
        emit HeldClaimed(msg.sender, value);
        (bool ok,) = msg.sender.call{value: value}("");
        if (!ok) revert TransferFailed();
    }
}
