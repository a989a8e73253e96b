// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title LanesToken
/// @notice A plain ERC-20 token (EIP-20) for Lanes benchmarks and parallel-execution workloads.
/// @dev No imports, no owner, no mint after construction: the total supply is fixed at deploy
///      time, so a workload can check that transfers conserve it.
contract LanesToken {
    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @param name_ Token name.
    /// @param symbol_ Token symbol.
    /// @param holders Accounts that each receive `amountEach`; when empty, the deployer receives it.
    /// @param amountEach Amount minted to every holder (or to the deployer).
    constructor(string memory name_, string memory symbol_, address[] memory holders, uint256 amountEach) {
        name = name_;
        symbol = symbol_;
        if (holders.length == 0) {
            _mint(msg.sender, amountEach);
        } else {
            for (uint256 i = 0; i < holders.length; ++i) {
                _mint(holders[i], amountEach);
            }
        }
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        // An allowance of type(uint256).max is infinite and is not decreased.
        if (allowed != type(uint256).max) {
            require(allowed >= value, "LanesToken: insufficient allowance");
            unchecked {
                allowance[from][msg.sender] = allowed - value;
            }
        }
        _transfer(from, to, value);
        return true;
    }

    function _transfer(address from, address to, uint256 value) internal {
        require(to != address(0), "LanesToken: transfer to the zero address");
        uint256 fromBalance = balanceOf[from];
        require(fromBalance >= value, "LanesToken: insufficient balance");
        unchecked {
            // Cannot overflow: the sum of all balances is totalSupply, which did not overflow.
            balanceOf[from] = fromBalance - value;
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }

    function _mint(address to, uint256 value) internal {
        require(to != address(0), "LanesToken: mint to the zero address");
        totalSupply += value;
        unchecked {
            balanceOf[to] += value;
        }
        emit Transfer(address(0), to, value);
    }
}
