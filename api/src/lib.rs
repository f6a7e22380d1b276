//! The admin REST API: it will own HTTP routes, tokens, OpenAPI and the mapping from `directory`
//! errors to RFC 7807 problems. It must never open the store or decide allow/deny itself.
//! Nothing is served yet: the API lands with its own issue; until then this crate only pins the
//! dependency direction (api → directory).
