//! Parameter types that are more lenient than alloy's, the way geth is.

use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{self, Visitor},
};

/// A `QUANTITY` parameter. Besides the canonical `"0x1f"` it accepts a JSON number (`31`) and a
/// decimal string (`"31"`), as geth's `HexOrDecimal64` does; web3.py and viem send different
/// forms for `eth_feeHistory`'s block count and `eth_sendRawTransactionSync`'s timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quantity(pub(crate) u64);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QuantityVisitor;

        impl Visitor<'_> for QuantityVisitor {
            type Value = Quantity;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hex quantity, a decimal string or a non-negative integer")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                u64::try_from(v)
                    .map(Quantity)
                    .map_err(|_| E::custom("negative quantity"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                    Some(hex) if !hex.is_empty() => u64::from_str_radix(hex, 16),
                    Some(_) => return Err(E::custom("empty hex quantity")),
                    None => v.parse::<u64>(),
                };
                parsed
                    .map(Quantity)
                    .map_err(|e| E::custom(format!("invalid quantity {v:?}: {e}")))
            }
        }

        deserializer.deserialize_any(QuantityVisitor)
    }
}

/// A filter id as a client sends it back. Ids are issued as hex quantities, but geth treats them
/// as opaque strings, so anything that is not one of ours is "filter not found", not a params
/// error (`"0x01"` finds filter 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FilterIdParam(pub(crate) Option<u128>);

impl<'de> Deserialize<'de> for FilterIdParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u64),
            Str(String),
        }
        Ok(Self(match Raw::deserialize(deserializer)? {
            Raw::Num(n) => Some(u128::from(n)),
            Raw::Str(s) => s
                .strip_prefix("0x")
                .filter(|hex| !hex.is_empty())
                .and_then(|hex| u128::from_str_radix(hex, 16).ok()),
        }))
    }
}

/// Formats a filter id the way it is issued: a hex quantity.
pub(crate) fn format_filter_id(id: u128) -> String {
    format!("{id:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantity_forms() {
        for (json, want) in [("\"0x1f\"", 31), ("31", 31), ("\"31\"", 31), ("\"0x0\"", 0)] {
            assert_eq!(
                serde_json::from_str::<Quantity>(json).unwrap(),
                Quantity(want),
                "{json}"
            );
        }
        for bad in [
            "\"0x\"",
            "-1",
            "\"zz\"",
            "null",
            "1.5",
            "\"0x10000000000000000\"",
        ] {
            assert!(serde_json::from_str::<Quantity>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filter_ids() {
        assert_eq!(
            serde_json::from_str::<FilterIdParam>("\"0x01\"").unwrap().0,
            Some(1)
        );
        assert_eq!(
            serde_json::from_str::<FilterIdParam>("7").unwrap().0,
            Some(7)
        );
        assert_eq!(
            serde_json::from_str::<FilterIdParam>("\"hello\"")
                .unwrap()
                .0,
            None
        );
        assert!(serde_json::from_str::<FilterIdParam>("{}").is_err());
        assert_eq!(format_filter_id(255), "0xff");
    }
}
