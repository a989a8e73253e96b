//! STARK configuration: field, extension, Merkle commitments, FRI parameters.
//!
//! - Field: KoalaBear (`p = 2^31 - 2^24 + 1`), two-adicity 24 (traces up to 2^24
//!   rows before blowup). Chosen over BabyBear because its Poseidon2 S-box is `x^3`:
//!   the Poseidon2 AIR then has constraint degree 3 with no extra S-box columns
//!   (BabyBear's `x^7` needs one register per S-box for the same degree), which keeps
//!   the state-transition trace narrow and matches the Keccak AIR's degree 3.
//! - Challenges: the degree-4 binomial extension (~124 bits).
//! - Merkle commitments of the traces: `MerkleTreeMmcs` over [`LanesHash`] /
//!   [`LanesCompress`]: keccak-256 of each row's raw Montgomery `u32`s (little-endian
//!   bytes) and of each pair of 32-byte digests, arity 2, cap height 0. Keccak rather
//!   than Poseidon2 here because this is the bulk of proving time and a portable (no
//!   AVX2) build hashes ~14x more bytes per second with Keccak-f (0.7 us per 136
//!   bytes) than with scalar Poseidon2 (2.3 us per 32 bytes) on the 2-core machine
//!   (and `p3_keccak` batches it with AVX2 when the CPU has it, found at run time). The state commitment itself stays Poseidon2, which is
//!   what is cheap inside the AIR.
//! - Fiat-Shamir: a keccak-256 hash challenger (`SerializingChallenger32`).
//! - FRI: binary folding down to a constant, with the parameters of [`Security`].

use p3_challenger::{HashChallenger, SerializingChallenger32};
use p3_commit::ExtensionMmcs;
use p3_field::extension::BinomialExtensionField;
use p3_fri::{FriParameters, TwoAdicFriPcs};
use p3_keccak::Keccak256Hash;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_uni_stark::StarkConfig;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, LanesCompress, LanesDft, LanesHash, MMCS_DIGEST_WORDS};
use crate::hash::F;
/// The challenge field.
pub type Challenge = BinomialExtensionField<F, 4>;
/// Merkle commitment to base-field matrices.
pub type ValMmcs = MerkleTreeMmcs<
    [F; p3_keccak::VECTOR_LEN],
    [u64; p3_keccak::VECTOR_LEN],
    LanesHash,
    LanesCompress,
    2,
    MMCS_DIGEST_WORDS,
>;
type ChallengeMmcs = ExtensionMmcs<F, Challenge, ValMmcs>;
type Challenger = SerializingChallenger32<F, HashChallenger<u8, Keccak256Hash, 32>>;
type Pcs = TwoAdicFriPcs<F, LanesDft, ValMmcs, ChallengeMmcs>;
/// The uni-stark configuration of both proofs.
pub type LanesStarkConfig = StarkConfig<Pcs, Challenge, Challenger>;

/// Grinding (proof-of-work) bits before the FRI query phase, in every setting.
pub const QUERY_POW_BITS: usize = 16;

/// Named FRI settings, each at least 100 bits of conjectured security by
/// `log_blowup * num_queries + query_pow_bits` (Plonky3's
/// `FriParameters::conjectured_soundness_bits`; the "ethSTARK" conjecture that each
/// query removes `log_blowup` bits), below the ~124-bit challenge field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Security {
    /// Blowup 2, 84 queries: fastest proving, largest proofs. 1*84 + 16 = 100 bits.
    Fast,
    /// Blowup 4, 42 queries. 2*42 + 16 = 100 bits.
    #[default]
    Balanced,
    /// Blowup 8, 28 queries: smallest proofs, slowest proving. 3*28 + 16 = 100 bits.
    Compact,
}

impl Security {
    /// `(log_blowup, num_queries)`.
    pub fn fri(&self) -> (usize, usize) {
        match self {
            Self::Fast => (1, 84),
            Self::Balanced => (2, 42),
            Self::Compact => (3, 28),
        }
    }

    /// Conjectured security in bits: `log_blowup * num_queries + QUERY_POW_BITS`.
    pub fn conjectured_bits(&self) -> usize {
        let (b, q) = self.fri();
        b * q + QUERY_POW_BITS
    }

    /// The setting's name (`fast`, `balanced`, `compact`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Balanced => "balanced",
            Self::Compact => "compact",
        }
    }

    /// Parses [`Self::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Fast, Self::Balanced, Self::Compact]
            .into_iter()
            .find(|x| x.name() == s)
    }
}

/// Prover settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProverConfig {
    /// FRI parameters.
    pub security: Security,
    /// Where the DFT and Merkle hashing run.
    pub backend: Backend,
}

/// Builds the uni-stark configuration for `security` on `backend`.
pub fn stark_config(security: Security, backend: Backend) -> LanesStarkConfig {
    let val_mmcs = ValMmcs::new(LanesHash::new(backend), LanesCompress::new(backend), 0);
    let challenge_mmcs = ChallengeMmcs::new(val_mmcs.clone());
    let (log_blowup, num_queries) = security.fri();
    let fri = FriParameters {
        log_blowup,
        log_final_poly_len: 0,
        max_log_arity: 1,
        num_queries,
        batch_proof_of_work_bits: 0,
        commit_proof_of_work_bits: 0,
        query_proof_of_work_bits: QUERY_POW_BITS,
        mmcs: challenge_mmcs,
    };
    let pcs = Pcs::new(LanesDft::new(backend), val_mmcs, fri);
    LanesStarkConfig::new(pcs, Challenger::from_hasher(Vec::new(), Keccak256Hash {}))
}
