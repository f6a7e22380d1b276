//! Tests of the EAP-TTLS/PAP state machine (`tessera_radius::eap`), driven by a rustls client
//! acting as the supplicant through its own EAP/TTLS framing, and by wpa_supplicant's
//! `eapol_test`. One binary, a module per area; every module is test code (`cfg(test)`), helpers
//! included.

#[cfg(test)]
mod eapol;
#[cfg(test)]
mod flows;
#[cfg(test)]
mod malformed;
#[cfg(test)]
mod mppe;
#[cfg(test)]
mod peer;
#[cfg(test)]
mod table;
