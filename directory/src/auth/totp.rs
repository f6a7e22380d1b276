//! TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, ±1 step) on totp-rs: new seeds, the
//! `otpauth://` URL and QR code for enrolment, and verification that accepts each time step at
//! most once (the caller persists the returned step). It must not store anything itself.

use crate::error::Error;
use subtle::ConstantTimeEq;
use tessera_policy::Timestamp;
use totp_rs::{Algorithm, Builder, Totp};

/// The seed length: 160 bits, as RFC 4226 recommends.
pub(crate) const SEED_LEN: usize = 20;
const STEP_SECS: u64 = 30;

fn totp(seed: &[u8], issuer: &str, account: &str) -> Result<Totp, Error> {
    // ':' is the otpauth label separator; keep labels readable rather than refuse them.
    let clean = |s: &str| s.replace(':', "-");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(seed.to_vec())
        .with_issuer(Some(clean(issuer)))
        .with_account_name(clean(account))
        .build()
        .map_err(|e| Error::Corrupt(format!("cannot build a TOTP generator: {e}")))
}

/// What a user needs to add the seed to an authenticator app.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The `otpauth://totp/...` URL.
    pub url: String,
    /// The same URL as a QR code, PNG bytes.
    pub qr_png: Vec<u8>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

pub(crate) fn enrolment(seed: &[u8], issuer: &str, account: &str) -> Result<Enrolment, Error> {
    let t = totp(seed, issuer, account)?;
    let url = t
        .to_url()
        .map_err(|e| Error::Corrupt(format!("cannot write the otpauth URL: {e}")))?;
    let qr_png = t
        .to_qr_png()
        .map_err(|e| Error::Corrupt(format!("cannot draw the QR code: {e}")))?;
    Ok(Enrolment { url, qr_png })
}

/// The time step `now` falls in.
pub(crate) fn step_of(now: Timestamp) -> u64 {
    u64::try_from(now.as_secs()).unwrap_or(0) / STEP_SECS
}

/// The step whose code `code` is, within ±1 step of `now` and after `last_used`; `None` when the
/// code is wrong, malformed, or its step was already used.
pub(crate) fn verify(
    seed: &[u8],
    code: &str,
    now: Timestamp,
    last_used: Option<u64>,
) -> Result<Option<u64>, Error> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(seed, "tessera", "check")?;
    let origin = step_of(now);
    let mut matched = None;
    // Compare against every candidate step (no early exit), newest accepted step wins.
    for step in origin.saturating_sub(1)..=origin + 1 {
        let fresh = last_used.is_none_or(|l| step > l);
        let expected = t.generate(step * STEP_SECS).to_string();
        let same: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        if same && fresh {
            matched = Some(step);
        }
    }
    Ok(matched)
}

/// The code for `now` (tests).
#[cfg(any(test, feature = "testkit"))]
pub(crate) fn code_at(seed: &[u8], now: Timestamp) -> Result<String, Error> {
    Ok(totp(seed, "tessera", "check")?
        .generate(step_of(now) * STEP_SECS)
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &[u8; 20] = b"12345678901234567890"; // RFC 6238 appendix B, SHA-1

    #[test]
    fn rfc6238_vectors() {
        // Appendix B: T = 59 s → 94287082 (8 digits) → 6 digits 287082.
        assert_eq!(code_at(SEED, Timestamp::from_secs(59)).unwrap(), "287082");
        assert_eq!(
            code_at(SEED, Timestamp::from_secs(1_111_111_109)).unwrap(),
            "081804"
        );
        assert_eq!(
            code_at(SEED, Timestamp::from_secs(2_000_000_000)).unwrap(),
            "279037"
        );
    }

    #[test]
    fn plus_minus_one_step_and_single_use() {
        let now = Timestamp::from_secs(1_111_111_109);
        let s = step_of(now);
        let prev = code_at(SEED, now.plus_secs(-30)).unwrap();
        let next = code_at(SEED, now.plus_secs(30)).unwrap();
        let far = code_at(SEED, now.plus_secs(60)).unwrap();
        assert_eq!(verify(SEED, &prev, now, None).unwrap(), Some(s - 1));
        assert_eq!(verify(SEED, &next, now, None).unwrap(), Some(s + 1));
        assert_eq!(verify(SEED, &far, now, None).unwrap(), None);
        // A used step is not accepted again, nor any step before it.
        let cur = code_at(SEED, now).unwrap();
        assert_eq!(verify(SEED, &cur, now, Some(s)).unwrap(), None);
        assert_eq!(verify(SEED, &prev, now, Some(s)).unwrap(), None);
        assert_eq!(verify(SEED, &next, now, Some(s)).unwrap(), Some(s + 1));
        for bad in ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"] {
            assert_eq!(verify(SEED, bad, now, None).unwrap(), None, "{bad:?}");
        }
    }

    #[test]
    fn enrolment_url_and_png() {
        let e = enrolment(SEED, "Tessera: contoso", "alice@contoso").unwrap();
        assert!(e.url.starts_with("otpauth://totp/"), "{}", e.url);
        assert!(
            e.url.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{}",
            e.url
        );
        assert!(e.qr_png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(format!("{e:?}"), "Enrolment([redacted])");
    }
}
