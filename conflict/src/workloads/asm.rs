//! A small EVM assembler: enough to write test and benchmark contracts as bytecode in Rust,
//! with labels for jumps and the shortest `PUSH` for each constant.

use alloy_primitives::{Address, Bytes, U256};
use revm::bytecode::opcode;

/// A jump target, created by [`Asm::label`] and placed by [`Asm::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

/// Bytecode under construction.
#[derive(Debug, Default, Clone)]
pub struct Asm {
    code: Vec<u8>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    /// Empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one opcode (see `revm::bytecode::opcode`).
    pub fn op(&mut self, op: u8) -> &mut Self {
        self.code.push(op);
        self
    }

    /// Appends several opcodes.
    pub fn ops(&mut self, ops: &[u8]) -> &mut Self {
        self.code.extend_from_slice(ops);
        self
    }

    /// Pushes a constant with the shortest push (`PUSH0` for zero).
    pub fn push(&mut self, value: u64) -> &mut Self {
        self.push_word(U256::from(value))
    }

    /// Pushes a 256-bit constant with the shortest push (`PUSH0` for zero).
    pub fn push_word(&mut self, value: U256) -> &mut Self {
        if value.is_zero() {
            return self.op(opcode::PUSH0);
        }
        let bytes = value.to_be_bytes::<32>();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        self.push_bytes(&bytes[skip..])
    }

    /// Pushes 1 to 32 bytes as they are.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        assert!(
            (1..=32).contains(&bytes.len()),
            "push of {} bytes",
            bytes.len()
        );
        let len = u8::try_from(bytes.len()).expect("at most 32");
        self.code.push(opcode::PUSH1 + len - 1);
        self.code.extend_from_slice(bytes);
        self
    }

    /// Pushes an address.
    pub fn push_address(&mut self, address: Address) -> &mut Self {
        self.push_bytes(address.as_slice())
    }

    /// A new, not yet placed label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `label` here, as a `JUMPDEST`.
    pub fn mark(&mut self, label: Label) -> &mut Self {
        assert!(self.labels[label.0].is_none(), "label placed twice");
        self.labels[label.0] = Some(self.code.len());
        self.op(opcode::JUMPDEST)
    }

    /// Pushes the offset of `label` (two bytes, filled in by [`Asm::build`]).
    pub fn push_label(&mut self, label: Label) -> &mut Self {
        self.code.push(opcode::PUSH2);
        self.fixups.push((self.code.len(), label));
        self.code.extend_from_slice(&[0, 0]);
        self
    }

    /// Jumps to `label`.
    pub fn jump(&mut self, label: Label) -> &mut Self {
        self.push_label(label).op(opcode::JUMP)
    }

    /// Jumps to `label` if the top of the stack is non-zero (consumes it).
    pub fn jumpi(&mut self, label: Label) -> &mut Self {
        self.push_label(label).op(opcode::JUMPI)
    }

    /// `mem[offset..offset + 32] = top of stack` (consumes it).
    pub fn mstore_at(&mut self, offset: u64) -> &mut Self {
        self.push(offset).op(opcode::MSTORE)
    }

    /// Pushes `mem[offset..offset + 32]`.
    pub fn mload_at(&mut self, offset: u64) -> &mut Self {
        self.push(offset).op(opcode::MLOAD)
    }

    /// Pushes calldata word `index` after the 4-byte selector.
    pub fn arg(&mut self, index: u64) -> &mut Self {
        self.push(4 + 32 * index).op(opcode::CALLDATALOAD)
    }

    /// Pushes the slot of `mapping[key]` for a Solidity mapping declared at `slot`, with the key
    /// on the stack (consumed): `keccak256(key . slot)`. Uses memory `0..64`.
    pub fn mapping_slot(&mut self, slot: u64) -> &mut Self {
        self.mstore_at(0)
            .push(slot)
            .mstore_at(32)
            .push(64)
            .push(0)
            .op(opcode::KECCAK256)
    }

    /// Returns the top of the stack as one 32-byte word.
    pub fn return_word(&mut self) -> &mut Self {
        self.mstore_at(0).push(32).push(0).op(opcode::RETURN)
    }

    /// Reverts with no data.
    pub fn revert_empty(&mut self) -> &mut Self {
        self.push(0).push(0).op(opcode::REVERT)
    }

    /// The finished bytecode. Panics if a used label was never placed.
    pub fn build(&self) -> Bytes {
        let mut code = self.code.clone();
        for (at, label) in &self.fixups {
            let target = self.labels[label.0].expect("label used but never placed");
            let target = u16::try_from(target).expect("code longer than 64 KiB");
            code[*at..*at + 2].copy_from_slice(&target.to_be_bytes());
        }
        code.into()
    }
}

/// Init code that deploys `runtime` as it is.
pub fn initcode(runtime: &[u8]) -> Bytes {
    // PUSH2 len; PUSH2 offset; PUSH0; CODECOPY; PUSH2 len; PUSH0; RETURN, then the runtime.
    const HEADER: usize = 13;
    let len = u16::try_from(runtime.len())
        .expect("runtime longer than 64 KiB")
        .to_be_bytes();
    let offset = u16::try_from(HEADER).expect("small").to_be_bytes();
    let mut code = vec![
        opcode::PUSH2,
        len[0],
        len[1],
        opcode::PUSH2,
        offset[0],
        offset[1],
        opcode::PUSH0,
        opcode::CODECOPY,
        opcode::PUSH2,
        len[0],
        len[1],
        opcode::PUSH0,
        opcode::RETURN,
    ];
    debug_assert_eq!(code.len(), HEADER);
    code.extend_from_slice(runtime);
    code.into()
}
