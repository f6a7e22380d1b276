//! The LDAP v3 frontend ("cloud LDAP"): it will own the wire (ldap3_proto), sessions, the DIT
//! mapping and the one mapping from `directory` errors to LDAP result codes. It must never open
//! the store or decide allow/deny itself. Nothing is served yet: the frontend lands with its own
//! issue; until then this crate only pins the dependency direction (ldap → directory).
