//! The SAML 2.0 identity-provider frontend: it will own per-tenant IdP metadata, AuthnRequest
//! validation, the login page and signed responses. It must never open the store or decide
//! allow/deny itself. Nothing is served yet: the frontend lands with its own issue; until then
//! this crate only pins the dependency direction (saml → directory).
