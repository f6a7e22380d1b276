//! MS-MPPE-Send-Key / Recv-Key (RFC 2548 §2.4.2): the module's encryption checked against a
//! computation written here from the RFC's text, block by block.

use md5::{Digest, Md5};
use tessera_radius::eap::{mppe_decrypt, mppe_encrypt, EapError};

/// RFC 2548 §2.4.2, spelled out: P = len ‖ key ‖ zero padding to 16;
/// b(1) = MD5(S + R + A), c(1) = p(1) xor b(1); b(i) = MD5(S + c(i-1)), c(i) = p(i) xor b(i).
fn rfc2548(secret: &[u8], r: &[u8; 16], a: [u8; 2], key: &[u8]) -> Vec<u8> {
    let mut p = vec![key.len() as u8];
    p.extend_from_slice(key);
    p.resize(p.len().div_ceil(16) * 16, 0);
    let mut c: Vec<[u8; 16]> = Vec::new();
    for i in 0..p.len() / 16 {
        let mut h = Md5::new();
        h.update(secret);
        if i == 0 {
            h.update(r);
            h.update(a);
        } else {
            h.update(c[i - 1]);
        }
        let b = h.finalize();
        let mut block = [0u8; 16];
        for j in 0..16 {
            block[j] = p[i * 16 + j] ^ b[j];
        }
        c.push(block);
    }
    let mut out = a.to_vec();
    for block in c {
        out.extend_from_slice(&block);
    }
    out
}

#[test]
fn encryption_matches_the_rfc_construction() {
    let secret = b"contoso-radius-shared-secret";
    let authenticator: [u8; 16] = *b"0123456789abcdef";
    for (salt, key_len) in [
        (0x8001u16, 32usize),
        (0xfffe, 32),
        (0x9abc, 16),
        (0x8000, 15),
        (0xc0de, 64),
    ] {
        let key: Vec<u8> = (0..key_len).map(|i| (i * 7 + 3) as u8).collect();
        let ours = mppe_encrypt(secret, &authenticator, salt, &key);
        let theirs = rfc2548(secret, &authenticator, salt.to_be_bytes(), &key);
        assert_eq!(ours, theirs, "salt {salt:#x}, key length {key_len}");
        assert_eq!(mppe_decrypt(secret, &authenticator, &ours).unwrap(), key);
    }
}

#[test]
fn the_salt_high_bit_is_always_set() {
    let value = mppe_encrypt(b"secret", &[0; 16], 0x0123, &[1; 32]);
    assert_eq!(&value[..2], &[0x81, 0x23]);
    assert_eq!(value, rfc2548(b"secret", &[0; 16], [0x81, 0x23], &[1; 32]));
    assert_eq!(value.len(), 2 + 48, "32-byte key: 1 + 32 padded to 48");
}

#[test]
fn decryption_refuses_malformed_values() {
    let good = mppe_encrypt(b"secret", &[0; 16], 0x8001, &[9; 32]);
    // Salt without its high bit, ragged ciphertext, nothing at all.
    let mut low_salt = good.clone();
    low_salt[0] &= 0x7f;
    for bad in [&low_salt[..], &good[..good.len() - 1], &good[..2], &[]] {
        assert!(matches!(
            mppe_decrypt(b"secret", &[0; 16], bad),
            Err(EapError::MalformedMppe)
        ));
    }
    // A wrong secret gives garbage whose length octet or padding fails, or another key.
    let other = mppe_decrypt(b"wrong", &[0; 16], &good);
    assert!(other.map(|k| k != vec![9; 32]).unwrap_or(true));
}
