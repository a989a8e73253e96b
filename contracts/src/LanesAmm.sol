// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @dev The part of ERC-20 the pool uses (LanesToken implements it).
interface ILanesToken {
    function balanceOf(address account) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title LanesAmm
/// @notice A minimal constant-product (x * y = k) pool of two tokens with a 0.3% swap fee.
/// @dev Every swap reads and writes both reserves, so any two swaps on one pool conflict: this is
///      the fully conflicting workload for the parallel executor. Liquidity shares are plain
///      internal balances (no LP token).
contract LanesAmm {
    ILanesToken public immutable token0;
    ILanesToken public immutable token1;

    uint256 public reserve0;
    uint256 public reserve1;
    uint256 public totalShares;
    mapping(address => uint256) public sharesOf;

    event Mint(address indexed provider, uint256 amount0, uint256 amount1, uint256 shares);
    event Burn(address indexed provider, uint256 amount0, uint256 amount1, uint256 shares);
    event Swap(address indexed sender, bool zeroForOne, uint256 amountIn, uint256 amountOut, address indexed to);
    event Sync(uint256 reserve0, uint256 reserve1);

    constructor(ILanesToken token0_, ILanesToken token1_) {
        require(address(token0_) != address(token1_), "LanesAmm: identical tokens");
        token0 = token0_;
        token1 = token1_;
    }

    /// @notice Adds liquidity; the caller must have approved both amounts to this pool.
    /// @return shares The pool shares credited to the caller.
    function addLiquidity(uint256 amount0, uint256 amount1) external returns (uint256 shares) {
        require(amount0 > 0 && amount1 > 0, "LanesAmm: zero amount");
        _pull(token0, amount0);
        _pull(token1, amount1);
        if (totalShares == 0) {
            shares = _sqrt(amount0 * amount1);
        } else {
            uint256 s0 = amount0 * totalShares / reserve0;
            uint256 s1 = amount1 * totalShares / reserve1;
            shares = s0 < s1 ? s0 : s1;
        }
        require(shares > 0, "LanesAmm: zero shares");
        totalShares += shares;
        sharesOf[msg.sender] += shares;
        _sync(reserve0 + amount0, reserve1 + amount1);
        emit Mint(msg.sender, amount0, amount1, shares);
    }

    /// @notice Burns `shares` and sends the caller its part of both reserves.
    function removeLiquidity(uint256 shares) external returns (uint256 amount0, uint256 amount1) {
        require(shares > 0 && sharesOf[msg.sender] >= shares, "LanesAmm: insufficient shares");
        amount0 = reserve0 * shares / totalShares;
        amount1 = reserve1 * shares / totalShares;
        sharesOf[msg.sender] -= shares;
        totalShares -= shares;
        _sync(reserve0 - amount0, reserve1 - amount1);
        require(token0.transfer(msg.sender, amount0), "LanesAmm: transfer failed");
        require(token1.transfer(msg.sender, amount1), "LanesAmm: transfer failed");
        emit Burn(msg.sender, amount0, amount1, shares);
    }

    /// @notice The output of a swap of `amountIn` at the current reserves, after the 0.3% fee.
    function getAmountOut(bool zeroForOne, uint256 amountIn) public view returns (uint256) {
        (uint256 reserveIn, uint256 reserveOut) = zeroForOne ? (reserve0, reserve1) : (reserve1, reserve0);
        require(reserveIn > 0 && reserveOut > 0, "LanesAmm: no liquidity");
        uint256 amountInWithFee = amountIn * 997;
        return amountInWithFee * reserveOut / (reserveIn * 1000 + amountInWithFee);
    }

    /// @notice Swaps `amountIn` of token0 for token1 (`zeroForOne`) or the reverse; the caller must
    ///         have approved `amountIn` of the input token to this pool.
    /// @param minAmountOut Reverts if the output would be smaller (slippage bound).
    /// @param to Receiver of the output tokens.
    function swap(bool zeroForOne, uint256 amountIn, uint256 minAmountOut, address to)
        external
        returns (uint256 amountOut)
    {
        require(amountIn > 0, "LanesAmm: zero amount");
        amountOut = getAmountOut(zeroForOne, amountIn);
        require(amountOut > 0 && amountOut >= minAmountOut, "LanesAmm: insufficient output");
        if (zeroForOne) {
            _pull(token0, amountIn);
            require(token1.transfer(to, amountOut), "LanesAmm: transfer failed");
            _sync(reserve0 + amountIn, reserve1 - amountOut);
        } else {
            _pull(token1, amountIn);
            require(token0.transfer(to, amountOut), "LanesAmm: transfer failed");
            _sync(reserve0 - amountOut, reserve1 + amountIn);
        }
        emit Swap(msg.sender, zeroForOne, amountIn, amountOut, to);
    }

    function _pull(ILanesToken token, uint256 amount) private {
        require(token.transferFrom(msg.sender, address(this), amount), "LanesAmm: transferFrom failed");
    }

    function _sync(uint256 r0, uint256 r1) private {
        reserve0 = r0;
        reserve1 = r1;
        emit Sync(r0, r1);
    }

    /// @dev Babylonian integer square root (floor).
    function _sqrt(uint256 y) private pure returns (uint256 z) {
        if (y > 3) {
            z = y;
            uint256 x = y / 2 + 1;
            while (x < z) {
                z = x;
                x = (y / x + x) / 2;
            }
        } else if (y != 0) {
            z = 1;
        }
    }
}
