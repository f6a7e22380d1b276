//! The secrets of a conversation: the inner password, the MSK/EMSK exported from the TLS
//! session (RFC 5281 §8 for TLS 1.2, RFC 9427 §2.1 for TLS 1.3) and their MS-MPPE-Recv-Key /
//! Send-Key encryption for RADIUS (RFC 2548 §2.4.2–2.4.3). It must not build RADIUS packets:
//! it returns attribute values and the caller places them.

use md5::{Digest, Md5};
use rand::Rng;
use rustls::{ProtocolVersion, ServerConnection};
use zeroize::{Zeroize, Zeroizing};

use super::EapError;

/// The inner User-Password, for the core's authentication call only. Prints `[redacted]`,
/// wiped when dropped.
pub struct InnerPassword(String);

impl InnerPassword {
    pub(crate) fn new(password: String) -> Self {
        InnerPassword(password)
    }

    /// The password, to hand to the core's authentication call.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for InnerPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for InnerPassword {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// TLS 1.2 exporter label of EAP-TTLSv0 (RFC 5281 §8), used with no context.
const TLS12_LABEL: &[u8] = b"ttls keying material";
/// TLS 1.3 exporter label of the TLS-based EAP types (RFC 9427 §2.1) …
const TLS13_LABEL: &[u8] = b"EXPORTER_EAP_TLS_Key_Material";
/// … with the EAP Type-Code as context: 0x15 for TTLS.
const TLS13_CONTEXT: &[u8] = &[super::packet::TYPE_TTLS];
/// MSK and EMSK, 64 bytes each.
const KEY_MATERIAL: usize = 128;
const MSK_LEN: usize = 64;
/// The MPPE keys are the two halves of the MSK's first 64 bytes.
const MPPE_KEY_LEN: usize = 32;

/// The keys of a successful conversation: the MSK (first 64 bytes of the exported key
/// material) and the EMSK (the next 64). Prints `[redacted]`, wiped when dropped.
pub struct Msk {
    material: Zeroizing<[u8; KEY_MATERIAL]>,
}

impl std::fmt::Debug for Msk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msk([redacted])")
    }
}

/// The encrypted values of MS-MPPE-Recv-Key (vendor 311, type 17) and MS-MPPE-Send-Key
/// (vendor 311, type 16), each `salt ‖ ciphertext` ready to be the attribute's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MppeAttributes {
    /// MS-MPPE-Recv-Key: the MSK's first 32 bytes, encrypted.
    pub recv_key: Vec<u8>,
    /// MS-MPPE-Send-Key: the MSK's next 32 bytes, encrypted.
    pub send_key: Vec<u8>,
}

impl Msk {
    /// Exports the key material from an established tunnel, by the rule of its TLS version.
    pub(crate) fn derive(tls: &ServerConnection) -> Result<Msk, EapError> {
        let (label, context) = match tls.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => (TLS13_LABEL, Some(TLS13_CONTEXT)),
            Some(ProtocolVersion::TLSv1_2) => (TLS12_LABEL, None),
            _ => return Err(EapError::KeyDerivation),
        };
        let material = tls
            .export_keying_material(Zeroizing::new([0u8; KEY_MATERIAL]), label, context)
            .map_err(|_| EapError::KeyDerivation)?;
        Ok(Msk { material })
    }

    /// The Master Session Key (64 bytes).
    pub fn msk(&self) -> &[u8] {
        self.material.get(..MSK_LEN).unwrap_or_default()
    }

    /// The Extended Master Session Key (64 bytes).
    pub fn emsk(&self) -> &[u8] {
        self.material.get(MSK_LEN..).unwrap_or_default()
    }

    /// The MS-MPPE-Recv-Key (the MSK's first 32 bytes), in clear.
    pub fn recv_key(&self) -> &[u8] {
        self.material.get(..MPPE_KEY_LEN).unwrap_or_default()
    }

    /// The MS-MPPE-Send-Key (the MSK's bytes 32..64), in clear.
    pub fn send_key(&self) -> &[u8] {
        self.material.get(MPPE_KEY_LEN..MSK_LEN).unwrap_or_default()
    }

    /// Both MPPE keys encrypted for one Access-Accept: `secret` is the client's shared secret,
    /// `request_authenticator` the Request Authenticator of the Access-Request being answered.
    /// Each gets its own random salt (high bit set, the two distinct).
    pub fn mppe_attributes(
        &self,
        secret: &[u8],
        request_authenticator: &[u8; 16],
    ) -> MppeAttributes {
        let mut rng = rand::thread_rng();
        let recv_salt: u16 = rng.r#gen();
        let mut send_salt: u16 = rng.r#gen();
        if (send_salt | 0x8000) == (recv_salt | 0x8000) {
            send_salt ^= 1;
        }
        MppeAttributes {
            recv_key: mppe_encrypt(secret, request_authenticator, recv_salt, self.recv_key()),
            send_key: mppe_encrypt(secret, request_authenticator, send_salt, self.send_key()),
        }
    }

    #[cfg(test)]
    pub(crate) fn from_material(material: [u8; KEY_MATERIAL]) -> Msk {
        Msk {
            material: Zeroizing::new(material),
        }
    }
}

/// Encrypts `key` as an MS-MPPE-Send-Key / Recv-Key value (RFC 2548 §2.4.2): the plaintext is
/// the key's length octet, the key and zero padding to a multiple of 16; it is XORed with
/// `b(1) = MD5(secret ‖ request_authenticator ‖ salt)`, `b(i) = MD5(secret ‖ c(i−1))`. Returns
/// `salt ‖ ciphertext`; the salt's high bit is forced on as the RFC requires. `key` must be at
/// most 255 bytes (MPPE keys are 32): longer keys are cut there.
pub fn mppe_encrypt(
    secret: &[u8],
    request_authenticator: &[u8; 16],
    salt: u16,
    key: &[u8],
) -> Vec<u8> {
    let key = key.get(..usize::from(u8::MAX)).unwrap_or(key);
    let salt = (salt | 0x8000).to_be_bytes();
    let mut plain = Zeroizing::new(Vec::with_capacity(key.len() + 16));
    plain.push(u8::try_from(key.len()).unwrap_or(u8::MAX));
    plain.extend_from_slice(key);
    while !plain.len().is_multiple_of(16) {
        plain.push(0);
    }
    let mut out = Vec::with_capacity(2 + plain.len());
    out.extend_from_slice(&salt);
    let mut block = Md5::new()
        .chain_update(secret)
        .chain_update(request_authenticator)
        .chain_update(salt)
        .finalize();
    for p in plain.chunks(16) {
        let c: Vec<u8> = p.iter().zip(block.iter()).map(|(p, b)| p ^ b).collect();
        block = Md5::new().chain_update(secret).chain_update(&c).finalize();
        out.extend_from_slice(&c);
    }
    out
}

/// Decrypts an MS-MPPE-Send-Key / Recv-Key value made by [`mppe_encrypt`] (or by any RFC 2548
/// implementation) back to the key.
pub fn mppe_decrypt(
    secret: &[u8],
    request_authenticator: &[u8; 16],
    value: &[u8],
) -> Result<Vec<u8>, EapError> {
    let (salt, cipher) = value
        .split_first_chunk::<2>()
        .ok_or(EapError::MalformedMppe)?;
    if salt[0] & 0x80 == 0 || cipher.is_empty() || !cipher.len().is_multiple_of(16) {
        return Err(EapError::MalformedMppe);
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(cipher.len()));
    let mut block = Md5::new()
        .chain_update(secret)
        .chain_update(request_authenticator)
        .chain_update(salt)
        .finalize();
    for c in cipher.chunks(16) {
        plain.extend(c.iter().zip(block.iter()).map(|(c, b)| c ^ b));
        block = Md5::new().chain_update(secret).chain_update(c).finalize();
    }
    let (&len, rest) = plain.split_first().ok_or(EapError::MalformedMppe)?;
    let key = rest
        .get(..usize::from(len))
        .ok_or(EapError::MalformedMppe)?;
    if rest
        .get(usize::from(len)..)
        .unwrap_or_default()
        .iter()
        .any(|&b| b != 0)
    {
        return Err(EapError::MalformedMppe);
    }
    Ok(key.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mppe_round_trip_and_shape() {
        let auth = [7u8; 16];
        let key: Vec<u8> = (0..32).collect();
        let value = mppe_encrypt(b"s3cret-s3cret-16", &auth, 0x1234, &key);
        assert_eq!(value.len(), 2 + 48);
        assert_eq!(&value[..2], &[0x92, 0x34]);
        assert_eq!(
            mppe_decrypt(b"s3cret-s3cret-16", &auth, &value).unwrap(),
            key
        );
        // Another secret or authenticator does not give the key back.
        assert!(mppe_decrypt(b"other-secret-xyz", &auth, &value)
            .map(|k| k != key)
            .unwrap_or(true));
        assert!(mppe_decrypt(b"s3cret-s3cret-16", &auth, &value[..20]).is_err());
        assert!(mppe_decrypt(b"s3cret-s3cret-16", &auth, &[0x12, 0x34]).is_err());
    }

    #[test]
    fn msk_halves_and_mppe_attributes() {
        let mut material = [0u8; 128];
        for (i, b) in material.iter_mut().enumerate() {
            *b = i as u8;
        }
        let msk = Msk::from_material(material);
        assert_eq!(msk.msk(), &material[..64]);
        assert_eq!(msk.emsk(), &material[64..]);
        assert_eq!(msk.recv_key(), &material[..32]);
        assert_eq!(msk.send_key(), &material[32..64]);
        assert_eq!(format!("{msk:?}"), "Msk([redacted])");
        let auth = [1u8; 16];
        let attrs = msk.mppe_attributes(b"0123456789abcdef", &auth);
        assert_ne!(attrs.recv_key[..2], attrs.send_key[..2]);
        assert_eq!(
            mppe_decrypt(b"0123456789abcdef", &auth, &attrs.recv_key).unwrap(),
            &material[..32]
        );
        assert_eq!(
            mppe_decrypt(b"0123456789abcdef", &auth, &attrs.send_key).unwrap(),
            &material[32..64]
        );
    }
}
