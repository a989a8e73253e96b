"""web3.py (pinned) against a real dev node: local signing with eth_account over HTTP."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from conftest import CHAIN_ID, MNEMONIC

Account.enable_unaudited_hdwallet_features()
DEV = [Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(3)]
ETH = 10**18


@pytest.fixture
def w3(node):
    web3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    assert web3.is_connected(), node.output()
    return web3


def transfer(w3: Web3, sender, to: str, value: int) -> dict:
    block = w3.eth.get_block("latest")
    tx = {
        "chainId": CHAIN_ID,
        "type": 2,
        "nonce": w3.eth.get_transaction_count(sender.address, "pending"),
        "to": to,
        "value": value,
        "gas": w3.eth.estimate_gas({"from": sender.address, "to": to, "value": value}),
        "maxFeePerGas": block["baseFeePerGas"] * 2 + w3.to_wei(1, "gwei"),
        "maxPriorityFeePerGas": w3.to_wei(1, "gwei"),
    }
    signed = sender.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    assert tx_hash == signed.hash
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.1)


def test_dev_accounts(w3):
    assert DEV[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert w3.eth.chain_id == CHAIN_ID
    for account in DEV:
        assert w3.eth.get_balance(account.address) == 10_000 * ETH


def test_send_eth_and_read_receipt(w3):
    sender, to = DEV[0], DEV[1].address
    before = w3.eth.get_balance(sender.address)
    receipt = transfer(w3, sender, to, 2 * ETH)
    assert receipt["status"] == 1
    assert receipt["gasUsed"] == 21_000
    assert receipt["from"] == sender.address
    assert receipt["to"] == to

    again = w3.eth.get_transaction_receipt(receipt["transactionHash"])
    assert again["blockHash"] == receipt["blockHash"]
    assert again["blockNumber"] == receipt["blockNumber"]
    assert again["transactionIndex"] == receipt["transactionIndex"]
    assert again["effectiveGasPrice"] > 0

    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(to) == 10_002 * ETH
    assert w3.eth.get_balance(sender.address) == before - 2 * ETH - fee
    tx = w3.eth.get_transaction(receipt["transactionHash"])
    assert tx["blockHash"] == receipt["blockHash"]
    assert tx["from"] == sender.address


def test_estimate_gas(w3):
    assert w3.eth.estimate_gas({"from": DEV[0].address, "to": DEV[1].address, "value": 1}) == 21_000
    # A create: more than the 53,000 intrinsic gas of a contract creation.
    init_code = "0x600a600c600039600a6000f3602a60005260206000f3"
    assert w3.eth.estimate_gas({"from": DEV[0].address, "data": init_code}) > 53_000


def test_latest_block_and_fee_history(w3):
    for i in range(3):
        transfer(w3, DEV[2], DEV[0].address, i + 1)
    latest = w3.eth.get_block("latest")
    assert "baseFeePerGas" in latest and latest["baseFeePerGas"] > 0
    assert latest["number"] >= 3
    assert w3.eth.get_block(latest["number"])["hash"] == latest["hash"]
    assert w3.eth.get_block(latest["number"] - 1)["hash"] == latest["parentHash"]

    history = w3.eth.fee_history(3, "latest", [25, 75])
    assert history["oldestBlock"] == latest["number"] - 2
    assert len(history["baseFeePerGas"]) == 4
    assert history["baseFeePerGas"][2] == latest["baseFeePerGas"]
    assert len(history["gasUsedRatio"]) == 3
    assert all(0 <= r <= 1 for r in history["gasUsedRatio"])
    assert len(history["reward"]) == 3 and all(len(r) == 2 for r in history["reward"])
