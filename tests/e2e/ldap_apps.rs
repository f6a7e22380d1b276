//! Replays of the exact LDAP searches real applications send (SSSD rfc2307bis, Nextcloud
//! user_ldap, Gitea, Grafana) through the ldap3 client crate against the demo server.
