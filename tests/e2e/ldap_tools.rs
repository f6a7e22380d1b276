//! End-to-end LDAP with the real ldap-utils clients (ldapsearch, ldapwhoami, ldappasswd,
//! ldapmodify, ldapcompare) against the demo server: plain, StartTLS (-ZZ) and LDAPS.
