//! Tests of the EAP-TTLS/PAP state machine (`tessera_radius::eap`), driven by a rustls client
//! acting as the supplicant through its own EAP/TTLS framing. One binary, a module per area.

mod flows;
mod malformed;
mod mppe;
mod peer;
mod table;
