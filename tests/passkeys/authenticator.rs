//! A software authenticator, written from WebAuthn L3 and CTAP2 for these tests: it makes
//! registration and assertion responses in the JSON forms a browser sends, from parts a test
//! can change one at a time. Keys are constants, so every run signs the same bytes.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use edge_auth::app::passkeys::Algorithm;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const RP_ID: &str = "login.example.com";
pub const ORIGIN: &str = "https://login.example.com";
pub const CHALLENGE: [u8; 32] = [7; 32];
pub const USER_HANDLE: [u8; 32] = [42; 32];

pub const UP: u8 = 0x01;
pub const UV: u8 = 0x04;
pub const BE: u8 = 0x08;
pub const BS: u8 = 0x10;
pub const AT: u8 = 0x40;
pub const ED: u8 = 0x80;

/// A 2048-bit RSA key for these tests only (PKCS #1 DER, base64), made once with
/// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`: generating one in a debug
/// build takes seconds.
const RSA_PKCS1: &str = "MIIEpAIBAAKCAQEAn32L/SOIT4aMLfb2c6Rencydbm8E7ugf7Eg4wl4uaE5zFrPrAvmuKg9U7HslGa0lqoOG+0cU8Z2DXqs0ti/OLV2es6kJ4/Q/QgWREFelqJv3oiCT2tNI7bvv7zu+O+KupCgnRCSKLA4200CxFrbRfiCzr+9RaQsq5i1i80Oe7KM+yAfyOw272YJTlALhafcZg/LJGG8V7cvQDGZpu2AoHgH8/c0yZKTmZoTTx4oe7SSdjk/6fCI+qQWVIpYsA1cGiy/uf0At9x+dUIqFZnVSxPORRZItFBV8lmw3kk2HO9QKl+EFqkoAcyBIypYQriBMHJ2Uwp0F7UAtZZbK1X9eVwIDAQABAoIBACTpWf42fIQnOAclSml+J5WuttrJn+Mo3saA+n3lbSkfytv8vM29+lRqovVuFKqKG5cIhLNgApVepnpA9lyZ2MZADgw3eX4D16YQgr+9AS5yFlAz6PQyhQTcQ43jDkZu0otUba4EJORIT+D5bmK64eYmbF+x6+37Myz9YRK62iuayHqq0FAFD7kouURcwmyv54RBa5SRUDbvZCn8hE5df9ir32taciRI3KYRj3Zzrk2kwo3oBrktU9ebzciVZndgmkeyLDJZLMBi5rPGrk5/jD/jQrCVx1DP6EbTEATYhytxOmidSHqkCqxH+HAYf/zgYQpjMYjQjZPSd1oziG3P+T0CgYEA3EE7LSvWkaJfRZ/EzAc3oVzq/zUyHZEnfj+kD1RjbccUhWe5G2vghf2E+enDpWAJQCi8fdmcf/P9XRJ/smkH+CptGqFZETj8M4RKWL4qdxKDZPzlRPS0K/pSGeoAszEp+P3tmX9oxi99tTdhYa8vKXGtXa0pclBnI2VomkaIiJUCgYEAuV/H7zt/X8h1hcms3f4ONgvbi5LVDgd/f4IPyzWuTL8fFmXVnXyv3ueqruLCp/Gh4XUYIWEk1qZjR1bp/d9bOQHbEy9b7tmSPhA/F8SBu8O6zpqlGANO1O5PWjFO3KIWuYIfwo0nGRfVb2mRfs+KsdL2BchO5vFDa1wXsoGbVDsCgYEAnsT+7V7ue2i6mKvE5vZE6bLbS0CDccDS4TTrBInmapnZdxj/3H51COFpW+VgvPNvd6plxap6H9o3x0Gwf2Eq939NyqaIV9vmIRS5qyLZ5Z+Yy9FpS73Bqvn0+O0vt/w2r2AMSFwJoONXEKxtLEdmDc/+EsriV58R2fgd4Sf6/8kCgYEAkn4100Hym/Afp7XD7b8K3f0q57cGtcqJIGvZLV7junTDDYE2efmCRqZPhVtgNzZGFpThl+dcJGFjTYpK6jyrq3Zi+VtQzIWWA4P1SEQbvhWkuAcP9tUOZElb3kvfJY7WZI2HqcjAoBzsp9oGh+9djL/JerJcYDdDb0Fc3M19wecCgYACBPQlpGxDjh0dVq4op5eQXMwbtDpve5ljskoyrlg/IrkkI30TNjCAz1FqtOBpUH5ZPfkTE91UkJ68PLr5xG/TfBMXEspLU6CrYYZobhvqQXrbsD5III3tfsuFs+VdRDp0SK9VZFN2fuYJ08ocMOMdJkEbKhurGnoy/Ylc7h36uw==";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The smallest CBOR encoder the tests need (definite lengths, shortest heads), kept apart from
/// the parser under test.
pub mod cbor {
    pub fn head(out: &mut Vec<u8>, major: u8, n: u64) {
        let m = major << 5;
        match n {
            0..=23 => out.push(m | n as u8),
            24..=0xff => out.extend([m | 24, n as u8]),
            0x100..=0xffff => {
                out.push(m | 25);
                out.extend((n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(m | 26);
                out.extend((n as u32).to_be_bytes());
            }
            _ => {
                out.push(m | 27);
                out.extend(n.to_be_bytes());
            }
        }
    }
    pub fn int(out: &mut Vec<u8>, v: i64) {
        if v >= 0 {
            head(out, 0, v as u64);
        } else {
            head(out, 1, (-1 - v) as u64);
        }
    }
    pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        head(out, 2, b.len() as u64);
        out.extend_from_slice(b);
    }
    pub fn text(out: &mut Vec<u8>, s: &str) {
        head(out, 3, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
    pub fn map(out: &mut Vec<u8>, n: u64) {
        head(out, 5, n);
    }
}

enum Signer {
    Ed(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
}

/// One credential of the software authenticator.
pub struct Authenticator {
    pub algorithm: Algorithm,
    pub credential_id: Vec<u8>,
    signer: Signer,
}

impl Authenticator {
    /// The credential of `algorithm`; `seed` picks the key (EdDSA, ES256) and the id.
    pub fn new(algorithm: Algorithm, seed: u8) -> Self {
        let secret = [seed.wrapping_add(1); 32];
        let signer = match algorithm {
            Algorithm::EdDsa => Signer::Ed(ed25519_dalek::SigningKey::from_bytes(&secret)),
            Algorithm::Es256 => {
                Signer::P256(p256::ecdsa::SigningKey::from_bytes(&secret.into()).unwrap())
            }
            Algorithm::Rs256 => {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                let der = STANDARD.decode(RSA_PKCS1).unwrap();
                Signer::Rsa(Box::new(rsa::RsaPrivateKey::from_pkcs1_der(&der).unwrap()))
            }
        };
        let mut credential_id = vec![seed; 16];
        credential_id[0] = algorithm.cose_id() as u8;
        Self {
            algorithm,
            credential_id,
            signer,
        }
    }

    /// The public key as a COSE_Key (CTAP2's canonical order of labels).
    pub fn cose_key(&self) -> Vec<u8> {
        let mut k = Vec::new();
        match &self.signer {
            Signer::Ed(s) => {
                cbor::map(&mut k, 4);
                cbor::int(&mut k, 1);
                cbor::int(&mut k, 1);
                cbor::int(&mut k, 3);
                cbor::int(&mut k, -8);
                cbor::int(&mut k, -1);
                cbor::int(&mut k, 6);
                cbor::int(&mut k, -2);
                cbor::bytes(&mut k, s.verifying_key().as_bytes());
            }
            Signer::P256(s) => {
                let point = s.verifying_key().to_encoded_point(false);
                cbor::map(&mut k, 5);
                cbor::int(&mut k, 1);
                cbor::int(&mut k, 2);
                cbor::int(&mut k, 3);
                cbor::int(&mut k, -7);
                cbor::int(&mut k, -1);
                cbor::int(&mut k, 1);
                cbor::int(&mut k, -2);
                cbor::bytes(&mut k, point.x().unwrap());
                cbor::int(&mut k, -3);
                cbor::bytes(&mut k, point.y().unwrap());
            }
            Signer::Rsa(s) => {
                use rsa::traits::PublicKeyParts;
                cbor::map(&mut k, 4);
                cbor::int(&mut k, 1);
                cbor::int(&mut k, 3);
                cbor::int(&mut k, 3);
                cbor::int(&mut k, -257);
                cbor::int(&mut k, -1);
                cbor::bytes(&mut k, &s.n().to_bytes_be());
                cbor::int(&mut k, -2);
                cbor::bytes(&mut k, &s.e().to_bytes_be());
            }
        }
        k
    }

    /// A signature as an authenticator writes it (ES256 in DER).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.signer {
            Signer::Ed(s) => {
                use ed25519_dalek::Signer as _;
                s.sign(message).to_bytes().to_vec()
            }
            Signer::P256(s) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = s.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            Signer::Rsa(s) => {
                use rsa::signature::{SignatureEncoding, Signer as _};
                let key = rsa::pkcs1v15::SigningKey::<Sha256>::new((**s).clone());
                key.sign(message).to_vec()
            }
        }
    }
}

/// Authenticator data, as parts.
#[derive(Clone)]
pub struct AuthData {
    pub rp_id_hash: [u8; 32],
    pub flags: u8,
    pub sign_count: u32,
    /// aaguid, credential id, COSE key: written when present (whatever AT says).
    pub attested: Option<([u8; 16], Vec<u8>, Vec<u8>)>,
    /// Raw bytes written after the attested credential data (an extensions map, or junk).
    pub tail: Vec<u8>,
}

impl AuthData {
    pub fn new(flags: u8, sign_count: u32) -> Self {
        Self {
            rp_id_hash: Sha256::digest(RP_ID).into(),
            flags,
            sign_count,
            attested: None,
            tail: Vec::new(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.rp_id_hash.to_vec();
        out.push(self.flags);
        out.extend(self.sign_count.to_be_bytes());
        if let Some((aaguid, id, key)) = &self.attested {
            out.extend(aaguid);
            out.extend((id.len() as u16).to_be_bytes());
            out.extend(id);
            out.extend(key);
        }
        out.extend(&self.tail);
        out
    }
}

/// Client data, as the JSON object the browser serialises.
pub fn client_data(kind: &str) -> Value {
    json!({
        "type": kind,
        "challenge": b64(&CHALLENGE),
        "origin": ORIGIN,
        "crossOrigin": false,
    })
}

/// A registration response, as parts.
pub struct Registration {
    pub kind: String,
    pub id: Vec<u8>,
    pub raw_id: Vec<u8>,
    pub client_data: Value,
    /// Replaces the serialised client data when set.
    pub client_data_bytes: Option<Vec<u8>>,
    pub fmt: String,
    /// The CBOR of the attestation statement.
    pub att_stmt: Vec<u8>,
    pub auth_data: AuthData,
    /// Replaces the attestation object when set.
    pub attestation_object: Option<Vec<u8>>,
    pub transports: Value,
}

impl Registration {
    /// What the authenticator answers `create()` with: `none` attestation, UP, UV and AT set,
    /// counter 0.
    pub fn new(a: &Authenticator) -> Self {
        let mut auth_data = AuthData::new(UP | UV | AT, 0);
        auth_data.attested = Some(([0; 16], a.credential_id.clone(), a.cose_key()));
        Self {
            kind: "public-key".into(),
            id: a.credential_id.clone(),
            raw_id: a.credential_id.clone(),
            client_data: client_data("webauthn.create"),
            client_data_bytes: None,
            fmt: "none".into(),
            att_stmt: vec![0xa0],
            auth_data,
            attestation_object: None,
            transports: json!(["internal", "hybrid"]),
        }
    }

    pub fn attestation_object(&self) -> Vec<u8> {
        match &self.attestation_object {
            Some(o) => o.clone(),
            None => self.attestation_object_with(Some(&self.auth_data.encode())),
        }
    }

    /// The attestation object of `fmt` and `att_stmt` with `auth_data` as its `authData`
    /// bytes, or without that entry.
    pub fn attestation_object_with(&self, auth_data: Option<&[u8]>) -> Vec<u8> {
        let mut o = Vec::new();
        cbor::map(&mut o, if auth_data.is_some() { 3 } else { 2 });
        cbor::text(&mut o, "fmt");
        cbor::text(&mut o, &self.fmt);
        cbor::text(&mut o, "attStmt");
        o.extend(&self.att_stmt);
        if let Some(bytes) = auth_data {
            cbor::text(&mut o, "authData");
            cbor::bytes(&mut o, bytes);
        }
        o
    }

    pub fn to_json(&self) -> Value {
        let client_data = self
            .client_data_bytes
            .clone()
            .unwrap_or_else(|| serde_json::to_vec(&self.client_data).unwrap());
        json!({
            "id": b64(&self.id),
            "rawId": b64(&self.raw_id),
            "type": self.kind,
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&self.attestation_object()),
                "transports": self.transports,
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }
}

/// An assertion response, as parts; signed by `signer` when serialised.
pub struct Assertion {
    pub kind: String,
    pub id: Vec<u8>,
    pub raw_id: Vec<u8>,
    pub client_data: Value,
    pub client_data_bytes: Option<Vec<u8>>,
    pub auth_data: AuthData,
    /// Replaces the authenticator data, as sent and as signed, when set.
    pub auth_data_bytes: Option<Vec<u8>>,
    pub user_handle: Option<Vec<u8>>,
    /// Changes the signature after signing.
    pub tamper_signature: Option<fn(&mut Vec<u8>)>,
    /// Changes the authenticator data after signing (what the relying party receives).
    pub tamper_after_signing: Option<fn(&mut Vec<u8>)>,
}

impl Assertion {
    /// What the authenticator answers `get()` with: UP and UV set, the user handle, counter
    /// `sign_count`.
    pub fn new(a: &Authenticator, sign_count: u32) -> Self {
        Self {
            kind: "public-key".into(),
            id: a.credential_id.clone(),
            raw_id: a.credential_id.clone(),
            client_data: client_data("webauthn.get"),
            client_data_bytes: None,
            auth_data: AuthData::new(UP | UV, sign_count),
            auth_data_bytes: None,
            user_handle: Some(USER_HANDLE.to_vec()),
            tamper_signature: None,
            tamper_after_signing: None,
        }
    }

    pub fn to_json(&self, signer: &Authenticator) -> Value {
        let client_data = self
            .client_data_bytes
            .clone()
            .unwrap_or_else(|| serde_json::to_vec(&self.client_data).unwrap());
        let mut auth_data = self
            .auth_data_bytes
            .clone()
            .unwrap_or_else(|| self.auth_data.encode());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let mut signature = signer.sign(&signed);
        if let Some(t) = self.tamper_signature {
            t(&mut signature);
        }
        if let Some(t) = self.tamper_after_signing {
            t(&mut auth_data);
        }
        json!({
            "id": b64(&self.id),
            "rawId": b64(&self.raw_id),
            "type": self.kind,
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(&signature),
                "userHandle": self.user_handle.as_deref().map(b64),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }
}
