//! Rules of the MSP tenant tree: the five tenant kinds, which kind may hold which, and what a
//! valid slug is. It must not know how tenants are stored.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of a tenant, as in ESET PROTECT's MSP structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantKind {
    /// A distributor: holds MSP managers and MSPs.
    Distributor,
    /// An MSP manager: holds managed MSPs and customers.
    MspManager,
    /// A managed service provider: holds customers.
    Msp,
    /// An MSP managed by an MSP manager: holds customers.
    ManagedMsp,
    /// A customer organisation: a leaf.
    Customer,
}

impl TenantKind {
    /// Every kind, from the top of the tree down.
    pub const ALL: [TenantKind; 5] = [
        TenantKind::Distributor,
        TenantKind::MspManager,
        TenantKind::Msp,
        TenantKind::ManagedMsp,
        TenantKind::Customer,
    ];

    /// The kinds a tenant of this kind may hold as direct children.
    pub const fn allowed_children(self) -> &'static [TenantKind] {
        match self {
            TenantKind::Distributor => &[TenantKind::MspManager, TenantKind::Msp],
            TenantKind::MspManager => &[TenantKind::ManagedMsp, TenantKind::Customer],
            TenantKind::Msp | TenantKind::ManagedMsp => &[TenantKind::Customer],
            TenantKind::Customer => &[],
        }
    }

    /// Whether a tenant of this kind may hold a direct child of kind `child`.
    pub fn may_hold(self, child: TenantKind) -> bool {
        self.allowed_children().contains(&child)
    }

    /// The stable lower-case name used on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            TenantKind::Distributor => "distributor",
            TenantKind::MspManager => "msp_manager",
            TenantKind::Msp => "msp",
            TenantKind::ManagedMsp => "managed_msp",
            TenantKind::Customer => "customer",
        }
    }

    /// Parses [`TenantKind::as_str`] (also accepting `-` for `_`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        TenantKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for TenantKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a slug was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SlugError {
    /// Empty, or longer than 63 characters.
    #[error("a slug is 1 to 63 characters long")]
    Length,
    /// A character outside `[a-z0-9-]`.
    #[error("a slug uses only lower-case letters a-z, digits and '-'")]
    Character,
}

/// Checks a tenant slug: `[a-z0-9-]{1,63}`.
pub fn validate_slug(slug: &str) -> Result<(), SlugError> {
    if slug.is_empty() || slug.len() > 63 {
        return Err(SlugError::Length);
    }
    if !slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(SlugError::Character);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tree_rules_match_the_design() {
        use TenantKind::*;
        let allowed = [
            (Distributor, MspManager),
            (Distributor, Msp),
            (MspManager, ManagedMsp),
            (MspManager, Customer),
            (Msp, Customer),
            (ManagedMsp, Customer),
        ];
        for parent in TenantKind::ALL {
            for child in TenantKind::ALL {
                assert_eq!(
                    parent.may_hold(child),
                    allowed.contains(&(parent, child)),
                    "{parent} -> {child}"
                );
            }
        }
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in TenantKind::ALL {
            assert_eq!(TenantKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(
            TenantKind::parse("msp-manager"),
            Some(TenantKind::MspManager)
        );
        assert_eq!(TenantKind::parse("reseller"), None);
    }

    #[test]
    fn slugs() {
        assert!(validate_slug("acme").is_ok());
        assert!(validate_slug("a").is_ok());
        assert!(validate_slug("acme-2").is_ok());
        assert!(validate_slug(&"a".repeat(63)).is_ok());
        assert_eq!(validate_slug(""), Err(SlugError::Length));
        assert_eq!(validate_slug(&"a".repeat(64)), Err(SlugError::Length));
        assert_eq!(validate_slug("Acme"), Err(SlugError::Character));
        assert_eq!(validate_slug("ac me"), Err(SlugError::Character));
        assert_eq!(validate_slug("acmé"), Err(SlugError::Character));
        assert_eq!(validate_slug("a_b"), Err(SlugError::Character));
    }

    proptest! {
        #[test]
        fn slug_accepts_exactly_the_pattern(s in "\\PC{0,70}") {
            let expected = !s.is_empty() && s.len() <= 63
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            prop_assert_eq!(validate_slug(&s).is_ok(), expected);
        }

        #[test]
        fn a_customer_is_always_a_leaf(child in proptest::sample::select(TenantKind::ALL.to_vec())) {
            prop_assert!(!TenantKind::Customer.may_hold(child));
        }

        #[test]
        fn no_kind_holds_a_distributor(parent in proptest::sample::select(TenantKind::ALL.to_vec())) {
            prop_assert!(!parent.may_hold(TenantKind::Distributor));
        }
    }
}
