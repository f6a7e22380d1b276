//! Authentication: the one path every frontend uses, and what it needs — the argon2id pool,
//! credentials, TOTP, the verified-credential cache. Frontends only carry its outcome to the
//! wire; nothing else in Tessera verifies a secret.

pub(crate) mod hasher;
pub(crate) mod journal;
pub(crate) mod login;
pub(crate) mod service;
pub(crate) mod totp;
pub(crate) mod verified;

pub use login::Login;
pub use service::{
    AuthRequest, Authenticated, MfaNeed, MfaPending, Outcome, TenantRef, MFA_STEP_TTL_SECS,
};
pub use totp::Enrolment;
