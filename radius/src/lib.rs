//! The RADIUS frontend: it will own UDP listeners, NAS-client matching, Message-Authenticator
//! checks, the duplicate cache, EAP and the mapping from `directory` outcomes to Access-Accept /
//! Reject / Challenge. It must never open the store or decide allow/deny itself. Nothing is
//! served yet: the frontend lands with its own issue; until then this crate only pins the
//! dependency direction (radius → directory).
