//! PAP's User-Password hiding (RFC 2865 §5.2): the password, padded with NULs to a multiple of
//! 16 octets (at most 128), XORed block by block with MD5(secret + previous block), the first
//! block chained on the Request Authenticator. It owns the decoding (and, for tests and tools,
//! the encoding); it must not judge the password — that is the core's one authentication call.

use md5::{Digest, Md5};
use zeroize::{Zeroize, Zeroizing};

/// The longest hidden password RFC 2865 allows.
pub(crate) const MAX_HIDDEN: usize = 128;

/// Why a User-Password attribute cannot be read (the request is rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PapError {
    /// Not a multiple of 16 octets between 16 and 128.
    Length,
    /// The password is not UTF-8 text.
    NotText,
}

fn block_key(secret: &[u8], chain: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(secret);
    h.update(chain);
    h.finalize().into()
}

/// Recovers the password from a User-Password value.
pub(crate) fn decode(
    hidden: &[u8],
    secret: &[u8],
    authenticator: &[u8; 16],
) -> Result<Zeroizing<String>, PapError> {
    if hidden.is_empty() || hidden.len() > MAX_HIDDEN || !hidden.len().is_multiple_of(16) {
        return Err(PapError::Length);
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(hidden.len()));
    let mut chain: &[u8] = authenticator;
    for block in hidden.chunks(16) {
        let mut key = block_key(secret, chain);
        plain.extend(block.iter().zip(key.iter()).map(|(c, k)| c ^ k));
        key.zeroize();
        chain = block;
    }
    while plain.last() == Some(&0) {
        plain.pop();
    }
    match std::str::from_utf8(&plain) {
        Ok(s) => Ok(Zeroizing::new(s.to_string())),
        Err(_) => Err(PapError::NotText),
    }
}

/// Hides a password as a NAS does (for tests, the fuzz corpus and tools). Passwords longer than
/// 128 octets are cut.
pub fn encode(password: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Vec<u8> {
    let mut padded = password.get(..MAX_HIDDEN).unwrap_or(password).to_vec();
    let len = padded.len().max(1).div_ceil(16) * 16;
    padded.resize(len, 0);
    let mut out: Vec<u8> = Vec::with_capacity(len);
    for (i, block) in padded.chunks(16).enumerate() {
        let start = i * 16;
        let chain: Vec<u8> = if i == 0 {
            authenticator.to_vec()
        } else {
            out.get(start - 16..start).unwrap_or_default().to_vec()
        };
        let key = block_key(secret, &chain);
        out.extend(block.iter().zip(key.iter()).map(|(p, k)| p ^ k));
    }
    padded.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a-shared-secret-of-20";
    const AUTH: [u8; 16] = [7; 16];

    #[test]
    fn round_trips_short_exact_and_long_passwords() {
        for pw in [
            "p",
            "exactly-16-chars",
            "seventeen-chars!!",
            "Demo-2026:1.1!",
            &"x".repeat(128),
            "pässwörd with ünïcode",
        ] {
            let hidden = encode(pw.as_bytes(), SECRET, &AUTH);
            assert_eq!(hidden.len() % 16, 0);
            assert_eq!(&*decode(&hidden, SECRET, &AUTH).unwrap(), pw);
        }
    }

    #[test]
    fn long_passwords_chain_every_block() {
        // A 100-octet password spans 7 blocks; each block depends on the previous cipher block.
        let pw = "L".repeat(100);
        let hidden = encode(pw.as_bytes(), SECRET, &AUTH);
        assert_eq!(hidden.len(), 112);
        let mut tampered = hidden.clone();
        tampered[20] ^= 0xff; // the second block
        let back = decode(&tampered, SECRET, &AUTH);
        assert_ne!(back.as_deref().map(String::as_str), Ok(pw.as_str()));
        assert_eq!(&*decode(&hidden, SECRET, &AUTH).unwrap(), pw.as_str());
    }

    #[test]
    fn rfc_2865_first_block_by_hand() {
        let hidden = encode(b"abc", SECRET, &AUTH);
        let key = block_key(SECRET, &AUTH);
        assert_eq!(hidden[0], b'a' ^ key[0]);
        assert_eq!(hidden[3], key[3], "padding is NUL XOR key");
    }

    #[test]
    fn wrong_lengths_and_secrets() {
        assert_eq!(decode(&[], SECRET, &AUTH), Err(PapError::Length));
        assert_eq!(decode(&[0; 15], SECRET, &AUTH), Err(PapError::Length));
        assert_eq!(decode(&[0; 144], SECRET, &AUTH), Err(PapError::Length));
        let hidden = encode(b"Demo-2026:1.1!", SECRET, &AUTH);
        let other = decode(&hidden, b"another-secret-20ch", &AUTH);
        assert_ne!(other.as_deref().map(String::as_str), Ok("Demo-2026:1.1!"));
    }
}
