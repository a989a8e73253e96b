// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title L2Withdrawals
/// @notice L2 system contract (predeployed at 0x4c00000000000000000000000000000000000001) where
///         users start a withdrawal to L1: the ETH sent is locked here, and the
///         `WithdrawalInitiated` event becomes a leaf of the batch's withdrawals root, claimable
///         on the L1 Bridge once the batch is finalized.
/// @dev Placed in the L2 genesis as runtime bytecode, so it has no constructor and no
///      immutables; `nextId` (slot 0) starts at 0. Plain ETH transfers without `withdraw` revert.
contract L2Withdrawals {
    /// @notice The id the next withdrawal gets (storage slot 0).
    uint256 public nextId;

    /// @notice Withdrawal `id` of `amount` wei from `from` (L2) to `to` (L1) was started.
    event WithdrawalInitiated(uint256 indexed id, address indexed from, address indexed to, uint256 amount);

    /// @notice A withdrawal must carry ETH.
    error ZeroWithdrawal();

    /// @notice Starts a withdrawal of `msg.value` wei to `l1Recipient` on L1.
    /// @param l1Recipient Who may be paid on L1.
    /// @return id The withdrawal's id.
    function withdraw(address l1Recipient) external payable returns (uint256 id) {
        if (msg.value == 0) revert ZeroWithdrawal();
        id = nextId;
        nextId = id + 1;
        emit WithdrawalInitiated(id, msg.sender, l1Recipient, msg.value);
    }
}
