//! argon2id as both servers use it (m=19456 KiB, t=2, p=1, the parameters Tessera hashes with):
//! PHC strings for slapd's `{ARGON2}` scheme, and the single-hash timing that sets the argon2
//! bind target. Same crate (RustCrypto `argon2`) and parameters as Tessera's hashing pool; it
//! must not pick parameters of its own.

use crate::clock::Stopwatch;
use anyhow::{anyhow, Context, Result};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Params, Version};
use std::time::Duration;

/// Memory cost in KiB (OWASP's minimum, Tessera's default).
pub const M_KIB: u32 = 19_456;
/// Iterations.
pub const T: u32 = 2;
/// Lanes.
pub const P: u32 = 1;

fn argon() -> Result<Argon2<'static>> {
    let params = Params::new(M_KIB, T, P, None).map_err(|e| anyhow!("argon2 params: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The raw argon2id output for `password` and `salt`.
fn raw(a: &Argon2<'_>, password: &[u8], salt: &[u8]) -> Result<[u8; Params::DEFAULT_OUTPUT_LEN]> {
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    a.hash_password_into(password, salt, &mut out)
        .map_err(|e| anyhow!("argon2: {e}"))?;
    Ok(out)
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) of `password` with `salt`.
pub fn phc(password: &str, salt: &[u8]) -> Result<String> {
    let a = argon()?;
    let out = raw(&a, password.as_bytes(), salt)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(a.params()).map_err(|e| anyhow!("argon2 params: {e}"))?,
        salt: Some(Salt::new(salt).map_err(|e| anyhow!("salt: {e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow!("output: {e}"))?),
    };
    Ok(hash.to_string())
}

/// A 16-byte salt derived from `i` (reproducible runs; uniqueness is all a benchmark needs).
pub fn salt(i: usize) -> [u8; 16] {
    let a = crate::data::mix(0x5a17 ^ i as u64).to_le_bytes();
    let b = crate::data::mix(0xa175 ^ i as u64).to_le_bytes();
    let mut s = [0u8; 16];
    for (d, v) in s.iter_mut().zip(a.iter().chain(b.iter())) {
        *d = *v;
    }
    s
}

/// PHC strings for `passwords`, computed on `threads` threads, in order.
pub fn phc_many(passwords: &[String], threads: usize, first_salt: usize) -> Result<Vec<String>> {
    let threads = threads.max(1);
    let chunk = passwords.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = passwords
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(j, p)| phc(p, &salt(first_salt + c * chunk + j)))
                        .collect::<Result<Vec<String>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(passwords.len());
        for h in handles {
            let part = h
                .join()
                .map_err(|_| anyhow!("a hashing thread panicked"))??;
            all.extend(part);
        }
        Ok(all)
    })
}

/// Whether `password` matches `phc` (one verification: one full argon2id computation).
pub fn verify(password: &str, phc: &str) -> Result<bool> {
    let parsed = PasswordHash::new(phc).map_err(|e| anyhow!("PHC string: {e}"))?;
    let salt = parsed.salt.context("PHC string without salt")?;
    let expected = parsed.hash.context("PHC string without hash")?;
    let out = raw(&argon()?, password.as_bytes(), salt.as_ref())?;
    Ok(out.as_slice() == expected.as_bytes())
}

/// The timing of single-threaded verifications.
#[derive(Debug, Clone, Copy)]
pub struct HashTime {
    /// The median of the timed verifications.
    pub median: Duration,
    /// The fastest one.
    pub min: Duration,
    /// How many were timed.
    pub rounds: usize,
    /// The thread's CPU time per verification over them (clock-tick resolution over the whole
    /// run; none when /proc cannot be read): what load on other cores disturbs far less.
    pub cpu: Option<Duration>,
}

/// Times `rounds` verifications on this thread (after one untimed warm-up) and checks each.
pub fn time_verify(rounds: usize) -> Result<HashTime> {
    let pw = crate::data::Dataset::password(0);
    let stored = phc(&pw, &salt(0))?;
    verify(&pw, &stored)?;
    let mut each = Vec::with_capacity(rounds.max(1));
    let cpu_start = crate::report::thread_cpu_us().ok();
    for _ in 0..rounds.max(1) {
        let sw = Stopwatch::start();
        let ok = verify(&pw, &stored)?;
        each.push(sw.elapsed());
        if !ok {
            return Err(anyhow!("argon2id verification of a fresh hash failed"));
        }
    }
    let cpu = cpu_start
        .zip(crate::report::thread_cpu_us().ok())
        .map(|(a, b)| Duration::from_micros(b.saturating_sub(a) / each.len().max(1) as u64));
    each.sort();
    Ok(HashTime {
        cpu,
        median: each.get(each.len() / 2).copied().unwrap_or_default(),
        min: each.first().copied().unwrap_or_default(),
        rounds: each.len(),
    })
}

/// Verifications per second with `threads` threads each verifying `rounds` times at once: what
/// the machine really sustains in parallel (memory bandwidth and shared vCPUs can keep it well
/// under `threads` × the single-thread rate).
pub fn parallel_rate(threads: usize, rounds: usize) -> Result<f64> {
    let pw = crate::data::Dataset::password(0);
    let stored = phc(&pw, &salt(0))?;
    let (threads, rounds) = (threads.max(1), rounds.max(1));
    let sw = Stopwatch::start();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    for _ in 0..rounds {
                        if !verify(&pw, &stored)? {
                            return Err(anyhow!("argon2id verification of a fresh hash failed"));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow!("a hashing thread panicked"))??;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok((threads * rounds) as f64 / sw.elapsed().as_secs_f64().max(1e-9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phc_round_trips_with_tessera_parameters() {
        let h = phc("Lb-secret-password", &salt(1)).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("Lb-secret-password", &h).unwrap());
        assert!(!verify("Lb-other-password", &h).unwrap());
    }
}
