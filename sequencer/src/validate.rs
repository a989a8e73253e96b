//! Stateless checks of a raw transaction, before it reaches the pool: size, decoding, type,
//! chain id, signature (sender recovery with libsecp256k1), intrinsic gas and fee fields.

use alloy_consensus::{Transaction, TxEnvelope, transaction::Recovered};
use alloy_eips::{Typed2718, eip2718::Decodable2718};
use alloy_primitives::{Address, U256, keccak256};
use secp256k1::{
    Message, SECP256K1,
    ecdsa::{RecoverableSignature, RecoveryId},
};

/// Largest accepted encoded transaction: 128 KiB, as geth's pool.
pub const MAX_TX_SIZE: usize = 128 * 1024;
/// EIP-3860 initcode limit.
pub const MAX_INITCODE_SIZE: usize = 2 * 24_576;

/// secp256k1 n / 2: signatures with a larger `s` are malleable and invalid (EIP-2).
const SECP256K1N_HALF: U256 = U256::from_be_slice(&[
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
]);

/// Why a transaction was refused before entering the pool. Messages follow geth's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// Larger than [`MAX_TX_SIZE`].
    #[error("oversized data: transaction size {size}, limit {limit}")]
    Oversized {
        /// Encoded size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// Not a valid EIP-2718 / RLP transaction.
    #[error("rlp: {0}")]
    Decode(String),
    /// Blob and set-code transactions are not accepted.
    #[error("transaction type not supported: type {ty} ({name}) is not accepted by this chain")]
    UnsupportedType {
        /// EIP-2718 type.
        ty: u8,
        /// Its name.
        name: &'static str,
    },
    /// Signed for another chain.
    #[error("invalid chain id for signer: have {have}, want {want}")]
    WrongChainId {
        /// Chain id in the transaction.
        have: u64,
        /// This chain's id.
        want: u64,
    },
    /// The signature does not recover to a sender.
    #[error("invalid sender: {0}")]
    InvalidSender(String),
    /// Gas limit below the intrinsic cost.
    #[error("intrinsic gas too low: have {have}, want {want}")]
    IntrinsicGas {
        /// Gas limit.
        have: u64,
        /// Intrinsic gas.
        want: u64,
    },
    /// Gas limit above the block's.
    #[error("exceeds block gas limit: tx gas limit {gas_limit}, block gas limit {block_limit}")]
    GasLimit {
        /// Transaction gas limit.
        gas_limit: u64,
        /// Block gas limit.
        block_limit: u64,
    },
    /// Priority fee above the fee cap.
    #[error("max priority fee per gas higher than max fee per gas: tip {tip}, fee cap {fee_cap}")]
    TipAboveFeeCap {
        /// maxPriorityFeePerGas.
        tip: u128,
        /// maxFeePerGas.
        fee_cap: u128,
    },
    /// Fee cap below the base fee of the next block.
    #[error(
        "max fee per gas less than block base fee: address {sender}, maxFeePerGas: {fee_cap}, baseFee: {base_fee}"
    )]
    FeeCapTooLow {
        /// Sender.
        sender: Address,
        /// maxFeePerGas.
        fee_cap: u128,
        /// Base fee of the next block.
        base_fee: u64,
    },
    /// Signed by the deposit system account, whose transactions only the block builder makes
    /// (from the L1 Bridge's queue).
    #[error(
        "transactions from {0} (the deposit system account) are made by the sequencer from L1 deposits only"
    )]
    SystemSender(Address),
    /// EIP-3860.
    #[error("max initcode size exceeded: code size {size}, limit {limit}")]
    InitcodeTooLarge {
        /// Initcode size.
        size: usize,
        /// Limit.
        limit: usize,
    },
}

impl TxError {
    /// JSON-RPC error code: -32602 for undecodable input, -32000 (geth) for the rest.
    pub fn code(&self) -> i32 {
        match self {
            TxError::Decode(_) => -32602,
            _ => -32000,
        }
    }

    /// Metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            TxError::Oversized { .. } => "oversized",
            TxError::Decode(_) => "decode",
            TxError::UnsupportedType { .. } => "unsupported_type",
            TxError::WrongChainId { .. } => "chain_id",
            TxError::InvalidSender(_) => "invalid_sender",
            TxError::IntrinsicGas { .. } => "intrinsic_gas",
            TxError::GasLimit { .. } => "gas_limit",
            TxError::TipAboveFeeCap { .. } => "tip_above_fee_cap",
            TxError::FeeCapTooLow { .. } => "fee_cap_below_base_fee",
            TxError::InitcodeTooLarge { .. } => "initcode_size",
            TxError::SystemSender(_) => "system_sender",
        }
    }
}

/// Recovers the sender with libsecp256k1 (several times faster than k256; see DESIGN.md).
pub fn recover_sender(tx: &TxEnvelope) -> Result<Address, TxError> {
    let sig = tx.signature();
    if sig.s() > SECP256K1N_HALF {
        return Err(TxError::InvalidSender(
            "signature s value is too high (EIP-2)".into(),
        ));
    }
    let recid = RecoveryId::try_from(i32::from(sig.v()))
        .map_err(|e| TxError::InvalidSender(e.to_string()))?;
    let mut compact = [0u8; 64];
    compact[..32].copy_from_slice(&sig.r().to_be_bytes::<32>());
    compact[32..].copy_from_slice(&sig.s().to_be_bytes::<32>());
    let sig = RecoverableSignature::from_compact(&compact, recid)
        .map_err(|e| TxError::InvalidSender(e.to_string()))?;
    let msg = Message::from_digest(tx.signature_hash().0);
    let key = SECP256K1
        .recover_ecdsa(msg, &sig)
        .map_err(|e| TxError::InvalidSender(e.to_string()))?;
    let hash = keccak256(&key.serialize_uncompressed()[1..]);
    Ok(Address::from_slice(&hash[12..]))
}

/// Cancun intrinsic gas of a transaction.
pub fn intrinsic_gas(tx: &TxEnvelope) -> u64 {
    // revm's own formula, so the pool admits exactly what the executor will accept.
    let (accounts, slots) = tx.access_list().map_or((0, 0), |list| {
        (
            list.len() as u64,
            list.iter().map(|item| item.storage_keys.len() as u64).sum(),
        )
    });
    let gas = revm::context_interface::cfg::gas::calculate_initial_tx_gas(
        lanes_conflict::evm::SPEC,
        tx.input(),
        tx.kind().is_create(),
        accounts,
        slots,
        0,
        None,
    );
    gas.initial_regular_gas + gas.initial_state_gas
}

/// Limits the checks are made against.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext {
    /// This chain's id.
    pub chain_id: u64,
    /// Block gas limit.
    pub block_gas_limit: u64,
    /// Base fee of the next block.
    pub base_fee: u64,
}

/// Decodes and checks a raw transaction; returns it with its recovered sender.
pub fn validate_raw(raw: &[u8], ctx: &ValidationContext) -> Result<Recovered<TxEnvelope>, TxError> {
    if raw.len() > MAX_TX_SIZE {
        return Err(TxError::Oversized {
            size: raw.len(),
            limit: MAX_TX_SIZE,
        });
    }
    if raw.is_empty() {
        return Err(TxError::Decode("empty transaction data".into()));
    }
    let mut buf = raw;
    let tx = TxEnvelope::decode_2718(&mut buf).map_err(|e| TxError::Decode(e.to_string()))?;
    if !buf.is_empty() {
        return Err(TxError::Decode(format!(
            "{} trailing bytes after transaction",
            buf.len()
        )));
    }
    match tx.ty() {
        3 => {
            return Err(TxError::UnsupportedType {
                ty: 3,
                name: "EIP-4844 blob",
            });
        }
        4 => {
            return Err(TxError::UnsupportedType {
                ty: 4,
                name: "EIP-7702 set-code",
            });
        }
        _ => {}
    }
    // Pre-EIP-155 legacy transactions (no chain id) stay accepted, as anvil and geth --dev do,
    // because deterministic deployers (e.g. the CREATE2 factory) rely on them.
    if let Some(have) = tx.chain_id()
        && have != ctx.chain_id
    {
        return Err(TxError::WrongChainId {
            have,
            want: ctx.chain_id,
        });
    }
    if tx.gas_limit() > ctx.block_gas_limit {
        return Err(TxError::GasLimit {
            gas_limit: tx.gas_limit(),
            block_limit: ctx.block_gas_limit,
        });
    }
    if tx.kind().is_create() && tx.input().len() > MAX_INITCODE_SIZE {
        return Err(TxError::InitcodeTooLarge {
            size: tx.input().len(),
            limit: MAX_INITCODE_SIZE,
        });
    }
    let want = intrinsic_gas(&tx);
    if tx.gas_limit() < want {
        return Err(TxError::IntrinsicGas {
            have: tx.gas_limit(),
            want,
        });
    }
    if let Some(tip) = tx.max_priority_fee_per_gas()
        && tip > tx.max_fee_per_gas()
    {
        return Err(TxError::TipAboveFeeCap {
            tip,
            fee_cap: tx.max_fee_per_gas(),
        });
    }
    let sender = recover_sender(&tx)?;
    if sender == crate::deposits::system_address() {
        return Err(TxError::SystemSender(sender));
    }
    if tx.max_fee_per_gas() < u128::from(ctx.base_fee) {
        return Err(TxError::FeeCapTooLow {
            sender,
            fee_cap: tx.max_fee_per_gas(),
            base_fee: ctx.base_fee,
        });
    }
    Ok(Recovered::new_unchecked(tx, sender))
}

#[cfg(test)]
mod tests {
    use alloy_consensus::{SignableTransaction, TxEip1559, transaction::SignerRecoverable};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_network::TxSignerSync;
    use alloy_primitives::{Bytes, TxKind};
    use alloy_signer_local::PrivateKeySigner;
    use proptest::prelude::*;

    use super::*;

    const CTX: ValidationContext = ValidationContext {
        chain_id: 1337,
        block_gas_limit: 30_000_000,
        base_fee: 7,
    };

    fn signed(chain_id: u64) -> (Vec<u8>, Address) {
        let signer = PrivateKeySigner::random();
        let mut tx = TxEip1559 {
            chain_id,
            nonce: 0,
            gas_limit: 21_000,
            max_fee_per_gas: 100,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(Address::repeat_byte(7)),
            value: U256::from(1),
            access_list: Default::default(),
            input: Bytes::new(),
        };
        let sig = signer.sign_transaction_sync(&mut tx).unwrap();
        (
            TxEnvelope::from(tx.into_signed(sig)).encoded_2718(),
            signer.address(),
        )
    }

    #[test]
    fn recovers_sender_like_k256() {
        let (raw, sender) = signed(1337);
        let tx = validate_raw(&raw, &CTX).unwrap();
        assert_eq!(tx.signer(), sender);
        assert_eq!(tx.inner().recover_signer().unwrap(), sender);
    }

    #[test]
    fn refuses_the_deposit_system_account() {
        let d = crate::deposits::L1Deposit {
            index: 0,
            from: Address::ZERO,
            to: Address::ZERO,
            value: alloy_primitives::U256::from(1),
            deposit_hash: alloy_primitives::B256::ZERO,
            l1_block: 0,
        };
        let tx = crate::deposits::deposit_tx(&d, 0, 100, 1337).unwrap();
        let raw = alloy_eips::eip2718::Encodable2718::encoded_2718(tx.inner());
        let err = validate_raw(&raw, &CTX).unwrap_err();
        assert!(matches!(err, TxError::SystemSender(_)), "{err}");
    }

    #[test]
    fn rejects_wrong_chain() {
        let (raw, _) = signed(1);
        assert_eq!(
            validate_raw(&raw, &CTX).unwrap_err(),
            TxError::WrongChainId {
                have: 1,
                want: 1337
            }
        );
    }

    #[test]
    fn intrinsic_gas_is_cancuns() {
        let signer = PrivateKeySigner::random();
        let mut tx = TxEip1559 {
            chain_id: 1337,
            gas_limit: 100_000,
            max_fee_per_gas: 100,
            to: TxKind::Call(Address::repeat_byte(7)),
            input: Bytes::from(vec![0, 1]),
            access_list: alloy_eips::eip2930::AccessList(vec![
                alloy_eips::eip2930::AccessListItem {
                    address: Address::repeat_byte(1),
                    storage_keys: vec![Default::default(); 2],
                },
            ]),
            ..Default::default()
        };
        let sig = signer.sign_transaction_sync(&mut tx).unwrap();
        let tx = TxEnvelope::from(tx.into_signed(sig));
        // 21000 base + 4 per zero byte + 16 per non-zero byte + 2400 per address + 1900 per key.
        assert_eq!(intrinsic_gas(&tx), 21_000 + 4 + 16 + 2_400 + 2 * 1_900);
    }

    proptest! {
        /// Arbitrary bytes never panic the decoder and never validate by accident.
        #[test]
        fn arbitrary_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = validate_raw(&bytes, &CTX);
        }

        /// Corrupting a valid transaction either fails or yields a different sender/tx.
        #[test]
        fn bit_flips_do_not_panic(pos in 0usize..200, bit in 0u8..8) {
            let (mut raw, _) = signed(1337);
            let pos = pos % raw.len();
            raw[pos] ^= 1 << bit;
            let _ = validate_raw(&raw, &CTX);
        }
    }
}
