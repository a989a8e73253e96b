//! Accounts of the dev chain: keys derived from the standard test mnemonic
//! (`m/44'/60'/0'/0/{index}`), and deterministic fresh recipient addresses.

use alloy_primitives::{Address, keccak256};
use alloy_signer_local::MnemonicBuilder;
use rayon::prelude::*;
use secp256k1::SecretKey;

use crate::{Error, Result};

/// The mnemonic of the dev chain (and of anvil and hardhat): its first 10 accounts are
/// prefunded with 10,000 ETH each.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// A key pair: the secret key in libsecp256k1 form, for fast signing, and its address.
#[derive(Clone, Copy)]
pub struct Account {
    /// The account's address.
    pub address: Address,
    /// Its secret key.
    pub key: SecretKey,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key, even of a test account: the habit is what matters.
        f.debug_struct("Account")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Derives the account at `m/44'/60'/0'/0/{index}` of `mnemonic`.
pub fn derive(mnemonic: &str, index: u32) -> Result<Account> {
    let signer = MnemonicBuilder::english()
        .phrase(mnemonic)
        .index(index)
        .and_then(|b| b.build())
        .map_err(|e| Error::Key(format!("deriving account {index}: {e}")))?;
    let key = SecretKey::from_byte_array(signer.to_bytes().0)
        .map_err(|e| Error::Key(format!("account {index}: {e}")))?;
    Ok(Account {
        address: signer.address(),
        key,
    })
}

/// Derives the accounts `start..start + count` in parallel: each derivation runs PBKDF2 over the
/// mnemonic (2,048 rounds of HMAC-SHA512), about a millisecond.
pub fn derive_range(mnemonic: &str, start: u32, count: u32) -> Result<Vec<Account>> {
    let end = start
        .checked_add(count)
        .ok_or_else(|| Error::Config("account index overflows u32".into()))?;
    (start..end)
        .into_par_iter()
        .map(|i| derive(mnemonic, i))
        .collect()
}

/// A recipient address with no known key, unique to `index`, and the same on every run.
pub fn recipient(index: u32) -> Address {
    Address::from_word(keccak256(format!("lanes-loadgen/recipient/{index}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    #[test]
    fn dev_accounts_match_anvil() {
        // Addresses anvil and hardhat print for the dev mnemonic.
        assert_eq!(
            derive(DEV_MNEMONIC, 0).unwrap().address,
            address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(
            derive(DEV_MNEMONIC, 1).unwrap().address,
            address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
        let range = derive_range(DEV_MNEMONIC, 0, 3).unwrap();
        assert_eq!(
            range[2].address,
            address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
        );
    }

    #[test]
    fn recipients_are_distinct() {
        assert_ne!(recipient(0), recipient(1));
        assert_eq!(recipient(7), recipient(7));
    }
}
