// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// A minimal contract for the end-to-end suites: one storage slot, an event on every write,
/// and a call that always reverts with a reason string.
contract Store {
    uint256 public value;

    event ValueSet(address indexed setter, uint256 oldValue, uint256 newValue);

    constructor(uint256 initial) {
        value = initial;
    }

    function set(uint256 newValue) external {
        emit ValueSet(msg.sender, value, newValue);
        value = newValue;
    }

    function fail() external pure {
        revert("Store: always fails");
    }
}
