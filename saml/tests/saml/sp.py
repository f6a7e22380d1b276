"""A pysaml2 service provider and a minimal browser, driven by the SAML tests.

The IdP under test is judged by pysaml2 (Debian's python3-pysaml2) acting as the SP: it makes
the AuthnRequests (signed or not, over HTTP-Redirect or HTTP-POST) and it checks every Response
(signatures with the IdP certificate from the metadata, audience, destination, InResponseTo,
times). The "browser" follows the IdP's pages: it fills in the login form and the TOTP step,
keeps cookies by hand (the IdP's cookies are Secure and the test server speaks plain HTTP on
loopback), and hands the auto-submitted SAMLResponse to pysaml2.

Usage: sp.py <config.json>. The config names the IdP, the SP and one action; the result is one
JSON object on stdout. Any failure raises: the exit status is non-zero and the Rust test fails.
"""

import base64
import html
import json
import re
import sys
import urllib.parse

import requests
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.saml import NAMEID_FORMAT_PERSISTENT
from saml2.sigver import get_xmlsec_binary
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256


def sp_client(cfg):
    sp = cfg["sp"]
    conf = {
        "entityid": sp["entity_id"],
        "metadata": {"local": [cfg["metadata_file"]]},
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(sp["acs"], BINDING_HTTP_POST)],
                    "single_logout_service": [
                        (sp.get("slo", sp["acs"]), BINDING_HTTP_REDIRECT),
                        (sp.get("slo", sp["acs"]), BINDING_HTTP_POST),
                    ],
                },
                "logout_requests_signed": bool(sp.get("sign")),
                "authn_requests_signed": bool(sp.get("sign")),
                "want_response_signed": True,
                "want_assertions_signed": True,
                "allow_unsolicited": True,
                "name_id_format": NAMEID_FORMAT_PERSISTENT,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        },
        "xmlsec_binary": get_xmlsec_binary(),
        "allow_unknown_attributes": True,
    }
    if sp.get("key_file"):
        conf["key_file"] = sp["key_file"]
        conf["cert_file"] = sp["cert_file"]
        conf["encryption_keypairs"] = [{"key_file": sp["key_file"], "cert_file": sp["cert_file"]}]
    c = SPConfig()
    c.load(conf)
    return Saml2Client(config=c)


class Browser:
    """Follows pages and keeps cookies per name (the IdP scopes them by path per tenant)."""

    def __init__(self, cookies):
        self.cookies = dict(cookies or {})
        self.http = requests.Session()

    def _send(self, method, url, data=None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        r = self.http.request(method, url, data=data, headers=headers, allow_redirects=False)
        for raw in r.raw.headers.getlist("Set-Cookie"):
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            attrs = rest.lower()
            assert "httponly" in attrs and "secure" in attrs, f"cookie without Secure/HttpOnly: {raw}"
            if "max-age=0" in attrs:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return r

    def get(self, url):
        return self._send("GET", url)

    def post(self, url, data):
        return self._send("POST", url, data)


def hidden_inputs(page):
    return {
        html.unescape(m.group(1)): html.unescape(m.group(2))
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }


def form_action(page):
    m = re.search(r'<form (?:method="post" )?action="([^"]+)"', page)
    assert m, f"no form on the page: {page[:400]}"
    return html.unescape(m.group(1))


def drive(cfg, browser, r):
    """From the IdP's first answer to the page that posts a SAMLResponse, filling in forms."""
    base = cfg["base"]
    pages = []
    for _ in range(cfg.get("max_pages", 4)):
        assert r.status_code == 200, f"IdP answered {r.status_code}: {r.text[:400]}"
        page = r.text
        if 'name="new_password"' in page:
            pages.append("change")
        elif 'name="password"' in page:
            pages.append("login")
        elif 'name="code"' in page:
            pages.append("code")
        else:
            pages.append("post")
        fields = hidden_inputs(page)
        if "SAMLResponse" in fields:
            return form_action(page), fields, pages, None
        if len(pages) == cfg.get("max_pages", 4):
            return None, fields, pages, page.replace(fields.get("csrf", "-"), "CSRF")
        action = urllib.parse.urljoin(base, form_action(page))
        if 'name="new_password"' in page:
            new = cfg["new_passwords"].pop(0)
            data = {"csrf": fields["csrf"], "password": cfg["password"], "new_password": new, "confirm": new}
        elif 'name="password"' in page:
            data = {"csrf": fields["csrf"], "username": cfg["user"], "password": cfg["password"]}
        elif 'name="code"' in page:
            data = {"csrf": fields["csrf"], "code": cfg["code"]}
        else:
            raise AssertionError(f"unexpected page: {page[:400]}")
        r = browser.post(action, data)
    raise AssertionError("no SAMLResponse after four pages")


def authn_request(cfg, client):
    """pysaml2's AuthnRequest for the configured binding, signed when the SP signs."""
    binding = BINDING_HTTP_REDIRECT if cfg["binding"] == "redirect" else BINDING_HTTP_POST
    sign = bool(cfg["sp"].get("sign"))
    kwargs = {"sigalg": SIG_RSA_SHA256, "digest_alg": DIGEST_SHA256} if sign else {}
    req_id, info = client.prepare_for_authenticate(
        entityid=cfg["idp_entity_id"],
        relay_state=cfg.get("relay_state", ""),
        binding=binding,
        sign=sign,
        **kwargs,
    )
    return binding, req_id, info


def send(browser, binding, info):
    """Sends what pysaml2 prepared for a binding through the browser."""
    if binding == BINDING_HTTP_REDIRECT:
        return browser.get(dict(info["headers"])["Location"])
    return browser.post(form_action(info["data"]), hidden_inputs(info["data"]))


def sp_initiated(cfg):
    client = sp_client(cfg)
    binding, req_id, info = authn_request(cfg, client)
    browser = Browser(cfg.get("cookies"))
    r = send(browser, binding, info)
    return finish(cfg, client, browser, r, {req_id: cfg.get("relay_state", "")})


def login_logout(cfg):
    """Signs in at the SP, then signs out with SLO over cfg["slo_binding"]."""
    client = sp_client(cfg)
    client.config.preferred_binding["single_logout_service"] = [
        BINDING_HTTP_REDIRECT if cfg["slo_binding"] == "redirect" else BINDING_HTTP_POST
    ]
    binding, req_id, info = authn_request(cfg, client)
    browser = Browser(cfg.get("cookies"))
    _, fields, pages, _ = drive(cfg, browser, send(browser, binding, info))
    login = client.parse_authn_request_response(
        fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={req_id: ""}
    )
    cookies_before = dict(browser.cookies)
    sign = bool(cfg["sp"].get("sign"))
    out = client.global_logout(
        login.name_id, sign=sign, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
    )
    lbinding, info = out[cfg["idp_entity_id"]]
    r = send(browser, lbinding, info)
    assert r.status_code == 200, f"IdP answered {r.status_code}: {r.text[:400]}"
    page = r.text
    frames = [html.unescape(u) for u in re.findall(r'<iframe src="([^"]+)"', page)]
    fields = hidden_inputs(page)
    resp = client.parse_logout_request_response(fields["SAMLResponse"], BINDING_HTTP_POST)
    status = resp.response.status.status_code.value
    client.handle_logout_response(resp)
    return {
        "login_pages": pages,
        "name_id": login.name_id.text,
        "logout_binding": lbinding,
        "logout_action": form_action(page),
        "logout_status": status,
        "frames": frames,
        "cookies_before": cookies_before,
        "cookies_after": browser.cookies,
    }


def idp_initiated(cfg):
    client = sp_client(cfg)
    browser = Browser(cfg.get("cookies"))
    url = f'{cfg["base"]}/saml/{cfg["tenant"]}/apps/{cfg["app"]}/start'
    if cfg.get("relay_state"):
        url += "?" + urllib.parse.urlencode({"RelayState": cfg["relay_state"]})
    return finish(cfg, client, browser, browser.get(url), {})


def finish(cfg, client, browser, r, outstanding):
    acs, fields, pages, last_page = drive(cfg, browser, r)
    if acs is None:
        return {"status": "stuck", "pages": pages, "last_page": last_page}
    assert acs == cfg["sp"]["acs"], f"posted to {acs}, not the registered ACS"
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    try:
        resp = client.parse_authn_request_response(
            fields["SAMLResponse"], BINDING_HTTP_POST, outstanding=outstanding
        )
    except Exception as e:  # the status a refusal carries, for the test to check
        return {
            "status": "error",
            "error": type(e).__name__,
            "pages": pages,
            "response_xml": xml,
            "cookies": browser.cookies,
        }
    assert resp is not None, "pysaml2 refused the response"
    authn = resp.authn_info()
    return {
        "pages": pages,
        "status": "success",
        "name_id": resp.name_id.text,
        "name_id_format": resp.name_id.format,
        "attributes": resp.get_identity(),
        "authn_class": authn[0][0] if authn else None,
        "session_index": resp.session_info().get("session_index"),
        "in_response_to": resp.in_response_to,
        "relay_state": fields.get("RelayState"),
        "cookies": browser.cookies,
        "response_xml": xml,
    }


def request_only(cfg):
    """An AuthnRequest exactly as pysaml2 sends it, for the negative tests to tamper with."""
    binding, req_id, info = authn_request(cfg, sp_client(cfg))
    if binding == BINDING_HTTP_REDIRECT:
        return {"id": req_id, "url": dict(info["headers"])["Location"]}
    fields = hidden_inputs(info["data"])
    return {
        "id": req_id,
        "action": form_action(info["data"]),
        "xml": base64.b64decode(fields["SAMLRequest"]).decode(),
        "relay_state": fields.get("RelayState"),
    }


def metadata(cfg):
    """The SP's own metadata, as pysaml2's create_metadata_string writes it."""
    from saml2.metadata import create_metadata_string

    client = sp_client(cfg)
    xml = create_metadata_string(None, config=client.config, valid=24, sign=False)
    return {"xml": xml.decode()}


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    action = {
        "sp-initiated": sp_initiated,
        "idp-initiated": idp_initiated,
        "request": request_only,
        "login-logout": login_logout,
        "metadata": metadata,
    }
    print(json.dumps(action[cfg["action"]](cfg)))


if __name__ == "__main__":
    main()
