//! COSE keys (RFC 9052/9053, RFC 8230) of the three algorithms the contract offers, turned into
//! the forms WebCrypto imports: a raw Ed25519 key, a raw uncompressed P-256 point, and an RSA
//! modulus and exponent (a JWK's `n` and `e`).

use minicbor::data::Type;
use minicbor::Decoder;

use super::cbor;
use super::PasskeyError;

/// A COSE algorithm the relying party offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// EdDSA over Ed25519 (-8).
    EdDsa,
    /// ECDSA over P-256 with SHA-256 (-7).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (-257).
    Rs256,
}

impl Algorithm {
    /// Every algorithm, in the order the options offer them (EdDSA, ES256, RS256).
    pub const ALL: [Algorithm; 3] = [Algorithm::EdDsa, Algorithm::Es256, Algorithm::Rs256];

    /// The COSE algorithm identifier.
    #[must_use]
    pub fn cose_id(self) -> i64 {
        match self {
            Algorithm::EdDsa => -8,
            Algorithm::Es256 => -7,
            Algorithm::Rs256 => -257,
        }
    }

    /// The algorithm of a COSE identifier, if it is one of ours.
    #[must_use]
    pub fn from_cose_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.cose_id() == id)
    }
}

/// A public key in the form WebCrypto's `importKey` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// The 32-byte Ed25519 key (`importKey("raw", …, {name: "Ed25519"})`).
    Ed25519([u8; 32]),
    /// The uncompressed P-256 point `0x04 ‖ x ‖ y` (`importKey("raw", …, {name: "ECDSA",
    /// namedCurve: "P-256"})`). Whether it lies on the curve is the importer's check.
    P256([u8; 65]),
    /// An RSA key of 2048 to 4096 bits: big-endian modulus without leading zeros, and exponent
    /// (a JWK's `n` and `e`).
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
    },
}

impl PublicKey {
    /// The algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Ed25519(_) => Algorithm::EdDsa,
            PublicKey::P256(_) => Algorithm::Es256,
            PublicKey::Rsa { .. } => Algorithm::Rs256,
        }
    }
}

/// The labels of a COSE key that these algorithms use.
#[derive(Default)]
struct Labels<'a> {
    kty: Option<i64>,
    alg: Option<i64>,
    /// -1: `crv` (OKP, EC2) or `n` (RSA).
    minus1: Option<Value<'a>>,
    /// -2: `x` (OKP, EC2) or `e` (RSA).
    minus2: Option<&'a [u8]>,
    /// -3: `y` (EC2).
    minus3: Option<&'a [u8]>,
}

#[derive(Clone, Copy)]
enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

/// The COSE `alg` of a key, read before the key itself so that an algorithm the options did
/// not offer is told apart from a malformed key.
///
/// # Errors
/// [`PasskeyError::MalformedPublicKey`] when `bytes` is not a COSE key map with an integer `alg`.
pub fn algorithm_id(bytes: &[u8]) -> Result<i64, PasskeyError> {
    labels(bytes)?.alg.ok_or(PasskeyError::MalformedPublicKey)
}

/// Parses a COSE key of one of [`Algorithm::ALL`].
///
/// # Errors
/// [`PasskeyError::AlgorithmNotAllowed`] for another `alg`; [`PasskeyError::MalformedPublicKey`]
/// for a key whose `kty`, curve or coordinates do not fit its `alg`, or bytes that are not one
/// COSE key map.
pub fn parse(bytes: &[u8]) -> Result<PublicKey, PasskeyError> {
    const BAD: PasskeyError = PasskeyError::MalformedPublicKey;
    let l = labels(bytes)?;
    let alg =
        Algorithm::from_cose_id(l.alg.ok_or(BAD)?).ok_or(PasskeyError::AlgorithmNotAllowed)?;
    match (alg, l.kty, l.minus1, l.minus2, l.minus3) {
        // OKP, Ed25519.
        (Algorithm::EdDsa, Some(1), Some(Value::Int(6)), Some(x), None) => {
            Ok(PublicKey::Ed25519(x.try_into().map_err(|_| BAD)?))
        }
        // EC2, P-256.
        (Algorithm::Es256, Some(2), Some(Value::Int(1)), Some(x), Some(y))
            if x.len() == 32 && y.len() == 32 =>
        {
            let mut point = [4u8; 65];
            point[1..33].copy_from_slice(x);
            point[33..].copy_from_slice(y);
            Ok(PublicKey::P256(point))
        }
        // RSA.
        (Algorithm::Rs256, Some(3), Some(Value::Bytes(n)), Some(e), None) => {
            let n = strip_zeros(n);
            let e = strip_zeros(e);
            let bits = n.first().map_or(0, |top| {
                n.len() * 8 - usize::try_from(top.leading_zeros()).unwrap_or(8)
            });
            // An odd exponent above 1 of at most 32 bits: what WebCrypto and RustCrypto import.
            let e_ok =
                (1..=4).contains(&e.len()) && e.last().is_some_and(|b| b & 1 == 1) && e != [1];
            if !(2048..=4096).contains(&bits) || !e_ok {
                return Err(BAD);
            }
            Ok(PublicKey::Rsa {
                n: n.to_vec(),
                e: e.to_vec(),
            })
        }
        _ => Err(BAD),
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

/// The labels of one COSE key map that fills `bytes` exactly. Other labels (integers or text)
/// are skipped; a label given twice is refused.
fn labels(bytes: &[u8]) -> Result<Labels<'_>, PasskeyError> {
    read_labels(bytes).ok_or(PasskeyError::MalformedPublicKey)
}

const MAX_LABELS: u64 = 16;

fn read_labels(bytes: &[u8]) -> Option<Labels<'_>> {
    let mut d = Decoder::new(bytes);
    let entries = cbor::definite_map(&mut d).ok()?;
    // A key has a handful of labels; the bound keeps the duplicate check cheap.
    if entries > MAX_LABELS {
        return None;
    }
    let mut l = Labels::default();
    let mut seen: Vec<i64> = Vec::new();
    for _ in 0..entries {
        let label = match d.datatype().ok()? {
            Type::String => {
                d.str().ok()?;
                cbor::skip_item(&mut d).ok()?;
                continue;
            }
            _ => d.i64().ok()?,
        };
        if seen.contains(&label) {
            return None;
        }
        seen.push(label);
        match label {
            1 => l.kty = Some(d.i64().ok()?),
            3 => l.alg = Some(d.i64().ok()?),
            -1 => {
                l.minus1 = Some(match d.datatype().ok()? {
                    Type::Bytes => Value::Bytes(d.bytes().ok()?),
                    _ => Value::Int(d.i64().ok()?),
                })
            }
            -2 => l.minus2 = Some(d.bytes().ok()?),
            -3 => l.minus3 = Some(d.bytes().ok()?),
            _ => cbor::skip_item(&mut d).ok()?,
        }
    }
    (d.position() == bytes.len()).then_some(l)
}
