//! What the parsers need of CBOR beyond `minicbor`'s decoder: checking that one item is
//! well-formed without walking into unbounded nesting. Indefinite lengths and tags are refused:
//! CTAP2's canonical encoding, in which authenticators write these structures, has neither,
//! and browsers pass them on unchanged.

use minicbor::data::Type;
use minicbor::Decoder;

/// Deeper than any structure an authenticator writes (a `packed` statement's certificate chain
/// is three levels).
const MAX_DEPTH: u32 = 16;

/// Why an item is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// Truncated, a wrong type, invalid UTF-8 or a reserved encoding.
    Decode,
    /// An indefinite length, a tag, a `break`, or nesting past [`MAX_DEPTH`].
    Unsupported,
}

impl From<minicbor::decode::Error> for Malformed {
    fn from(_: minicbor::decode::Error) -> Self {
        Malformed::Decode
    }
}

/// Reads past one well-formed item. Loops are bounded by the input: every item takes at least
/// one byte, so a declared length larger than what is left fails at the end of the input.
pub(crate) fn skip_item(d: &mut Decoder<'_>) -> Result<(), Malformed> {
    skip_nested(d, 0)
}

fn skip_nested(d: &mut Decoder<'_>, depth: u32) -> Result<(), Malformed> {
    if depth > MAX_DEPTH {
        return Err(Malformed::Unsupported);
    }
    match d.datatype()? {
        Type::Map => {
            let n = d.map()?.ok_or(Malformed::Unsupported)?;
            for _ in 0..n {
                skip_nested(d, depth + 1)?;
                skip_nested(d, depth + 1)?;
            }
        }
        Type::Array => {
            let n = d.array()?.ok_or(Malformed::Unsupported)?;
            for _ in 0..n {
                skip_nested(d, depth + 1)?;
            }
        }
        Type::Bytes => {
            d.bytes()?;
        }
        Type::String => {
            d.str()?;
        }
        Type::Bool
        | Type::Null
        | Type::Undefined
        | Type::U8
        | Type::U16
        | Type::U32
        | Type::U64
        | Type::I8
        | Type::I16
        | Type::I32
        | Type::I64
        | Type::Int
        | Type::F16
        | Type::F32
        | Type::F64
        | Type::Simple => d.skip()?,
        Type::BytesIndef
        | Type::StringIndef
        | Type::ArrayIndef
        | Type::MapIndef
        | Type::Tag
        | Type::Break => return Err(Malformed::Unsupported),
        Type::Unknown(_) => return Err(Malformed::Decode),
    }
    Ok(())
}

/// The length of a definite map at the decoder's position.
pub(crate) fn definite_map(d: &mut Decoder<'_>) -> Result<u64, Malformed> {
    match d.datatype()? {
        Type::Map => d.map()?.ok_or(Malformed::Unsupported),
        Type::MapIndef => Err(Malformed::Unsupported),
        _ => Err(Malformed::Decode),
    }
}
