//! EIP-1559 signing with libsecp256k1, in parallel.
//!
//! alloy's local signer uses k256; libsecp256k1 signs several times faster, and pre-signing is
//! the slowest part of a load generator's set-up.

use alloy_consensus::{SignableTransaction, Signed, TxEip1559};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, Signature};
use rayon::prelude::*;
use secp256k1::{Message, SECP256K1, SecretKey};

/// A signed transaction ready for `eth_sendRawTransaction`.
#[derive(Debug, Clone)]
pub struct RawTx {
    /// Transaction hash (keccak-256 of the EIP-2718 encoding).
    pub hash: B256,
    /// The EIP-2718 encoding as a `0x`-prefixed hex string, the parameter of
    /// `eth_sendRawTransaction`, encoded up front so that sending does no work.
    pub hex: String,
}

/// Signs `tx` with `key`.
pub fn sign(tx: TxEip1559, key: &SecretKey) -> Signed<TxEip1559> {
    let sighash = tx.signature_hash();
    let signature = SECP256K1.sign_ecdsa_recoverable(Message::from_digest(sighash.0), key);
    let (recid, rs) = signature.serialize_compact();
    let signature = Signature::from_scalars_and_parity(
        B256::from_slice(&rs[..32]),
        B256::from_slice(&rs[32..]),
        i32::from(recid) != 0,
    );
    tx.into_signed(signature)
}

/// Signs and encodes `tx` with `key`.
pub fn sign_raw(tx: TxEip1559, key: &SecretKey) -> RawTx {
    let signed = sign(tx, key);
    RawTx {
        hash: *signed.hash(),
        hex: alloy_primitives::hex::encode_prefixed(signed.encoded_2718()),
    }
}

/// Builds and signs `count` transactions on all cores: `build(i)` returns transaction `i` and the
/// key that signs it. The result is in index order.
pub fn sign_all<'a, F>(count: usize, build: F) -> Vec<RawTx>
where
    F: Fn(usize) -> (TxEip1559, &'a SecretKey) + Sync,
{
    (0..count)
        .into_par_iter()
        .map(|i| {
            let (tx, key) = build(i);
            sign_raw(tx, key)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{DEV_MNEMONIC, derive};
    use alloy_consensus::TxEnvelope;
    use alloy_eips::eip2718::Decodable2718;
    use alloy_primitives::{TxKind, U256, address};

    #[test]
    fn signature_recovers_to_sender() {
        let account = derive(DEV_MNEMONIC, 3).unwrap();
        let tx = TxEip1559 {
            chain_id: 1337,
            nonce: 5,
            gas_limit: 21_000,
            max_fee_per_gas: 3_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(address!("0x0000000000000000000000000000000000000001")),
            value: U256::from(1),
            ..Default::default()
        };
        let signed = sign(tx.clone(), &account.key);
        assert_eq!(signed.recover_signer().unwrap(), account.address);

        let raw = sign_raw(tx, &account.key);
        let bytes = alloy_primitives::hex::decode(&raw.hex).unwrap();
        let decoded = TxEnvelope::decode_2718(&mut bytes.as_slice()).unwrap();
        assert_eq!(*decoded.tx_hash(), raw.hash);
        assert_eq!(raw.hash, *signed.hash());
    }
}
