//! `tessera login`, `logout` and `whoami`: the login exchange with the steps the API may ask
//! for (a TOTP code, a first TOTP enrolment, a password change), kept as a state machine whose
//! states consume themselves, and the saved session. It must not print the password, the
//! session token or the step tokens; the TOTP seed is shown once, to the user enrolling.

use super::client::{problem_kind, shown, Api, ApiError, Secret, TokenSource};
use super::table::{print_record, rights_compact, text};
use super::{new_secret_from, read_line, secret_from, session, ClientArgs, Ctx};
use crate::config::Config;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

/// `tessera login`.
#[derive(Debug, Args)]
#[command(
    after_help = "The password is asked for on the terminal, or read from \
    TESSERA_PASSWORD (for scripts). When the password must change, the new one is asked for \
    twice, or read from TESSERA_NEW_PASSWORD. The session is saved (mode 0600) in \
    TESSERA_SESSION_FILE, else $XDG_CONFIG_HOME/tessera/session.json, else \
    ~/.config/tessera/session.json."
)]
pub struct LoginArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The slug of your tenant.
    #[arg(long)]
    tenant: String,
    /// Your username.
    #[arg(long, visible_alias = "username")]
    user: String,
    /// The current TOTP code, when the policy asks for one (else it is asked for).
    #[arg(long, value_name = "CODE")]
    totp: Option<String>,
    /// Where to write the QR code of a first TOTP enrolment [default: a file in the temporary
    /// directory, named when written].
    #[arg(long, value_name = "FILE")]
    qr_file: Option<PathBuf>,
}

/// `tessera logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    client: ClientArgs,
}

/// `tessera whoami`.
#[derive(Debug, Args)]
pub struct WhoamiArgs {
    #[command(flatten)]
    client: ClientArgs,
}

/// What a login is waiting for next.
enum Step {
    /// Send the password (with a code, once one is known).
    Password { totp: Option<Secret> },
    /// The policy wants a TOTP code.
    Code,
    /// The policy wants TOTP and the user has none yet: show the seed, confirm a first code.
    Enrol {
        step_token: Secret,
        otpauth_url: Secret,
        qr_png: Secret,
    },
    /// The password expired or must change: set a new one, then log in again with it.
    ChangePassword { step_token: Secret },
    /// A session.
    Done(Value),
}

/// What the steps share.
struct Login<'a> {
    api: Api,
    args: &'a LoginArgs,
    password: Secret,
    totp: Option<Secret>,
}

/// A secret member of a problem document.
fn problem_secret(e: &anyhow::Error, key: &str) -> Result<Secret> {
    e.downcast_ref::<ApiError>()
        .and_then(|a| a.problem.as_ref())
        .and_then(|p| p.get(key))
        .and_then(Value::as_str)
        .map(Secret::new)
        .ok_or_else(|| anyhow!("the server asked for a login step without its `{key}`"))
}

impl Step {
    fn next(self, l: &mut Login<'_>) -> Result<Step> {
        match self {
            Step::Password { totp } => {
                let mut body = json!({
                    "tenant": l.args.tenant,
                    "username": l.args.user,
                    "password": l.password.expose(),
                });
                let sent_code = totp.is_some();
                if let (Some(t), Some(obj)) = (&totp, body.as_object_mut()) {
                    obj.insert("totp".into(), Value::String(t.expose().to_string()));
                }
                let answer = l
                    .api
                    .call(Method::POST, &["auth", "login"], &[], Some(&body));
                drop(body);
                match answer {
                    Ok(Some(session)) => Ok(Step::Done(session)),
                    Ok(None) => bail!("the login answer was empty"),
                    Err(e) => match problem_kind(&e).as_deref() {
                        Some("mfa-required") if !sent_code => Ok(Step::Code),
                        Some("mfa-enrolment-required") => Ok(Step::Enrol {
                            step_token: problem_secret(&e, "step_token")?,
                            otpauth_url: problem_secret(&e, "otpauth_url")?,
                            qr_png: problem_secret(&e, "qr_png")?,
                        }),
                        Some("password-change-required") => Ok(Step::ChangePassword {
                            step_token: problem_secret(&e, "step_token")?,
                        }),
                        _ => Err(e),
                    },
                }
            }
            Step::Code => {
                let code = match l.totp.take() {
                    Some(c) => c,
                    None => Secret::new(read_line("TOTP code: ")?),
                };
                Ok(Step::Password { totp: Some(code) })
            }
            Step::Enrol {
                step_token,
                otpauth_url,
                qr_png,
            } => {
                let qr = write_qr(l.args, &qr_png)?;
                eprintln!(
                    "Your tenant requires TOTP and you have none yet. Add this seed to an \
                     authenticator app (it is shown once):\n  {}\nThe same as a QR code: {}",
                    otpauth_url.expose(),
                    qr.display()
                );
                let code = Secret::new(read_line("First code from the app: ")?);
                let body = json!({ "step_token": step_token.expose(), "code": code.expose() });
                let session = l.api.send(Method::POST, &["auth", "enrol"], &body)?;
                let _ = std::fs::remove_file(&qr);
                Ok(Step::Done(session))
            }
            Step::ChangePassword { step_token } => {
                eprintln!("Your password has expired or must be changed.");
                let new = new_secret_from("TESSERA_NEW_PASSWORD", "New password")?;
                let body = json!({
                    "step_token": step_token.expose(),
                    "new_password": new.expose(),
                });
                l.api
                    .call(Method::POST, &["auth", "password"], &[], Some(&body))?;
                eprintln!("Password changed; logging in with the new one.");
                l.password = new;
                Ok(Step::Password { totp: None })
            }
            Step::Done(s) => Ok(Step::Done(s)),
        }
    }
}

/// Writes the enrolment's QR code (base64 of a PNG) where the user can open it, mode 0600.
fn write_qr(args: &LoginArgs, qr_png: &Secret) -> Result<PathBuf> {
    let png = base64_decode(qr_png.expose()).context("the QR code is not base64")?;
    let path = match &args.qr_file {
        Some(p) => p.clone(),
        None => {
            std::env::temp_dir().join(format!("tessera-totp-{}-{}.png", args.tenant, args.user))
        }
    };
    let _ = std::fs::remove_file(&path);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .with_context(|| format!("writing the QR code to {}", path.display()))?;
    f.write_all(&png)?;
    Ok(path)
}

/// Standard base64 (with or without padding).
fn base64_decode(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => bail!("unexpected character {:?}", char::from(c)),
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buf >> bits) & 0xff).unwrap_or(0));
        }
    }
    Ok(out)
}

/// `tessera login`.
pub fn login(args: &LoginArgs, cfg: &Config) -> Result<()> {
    let mut conn = Api::connect(&args.client, cfg, false)?;
    // A login never sends an old token along.
    conn = Api::new(
        conn.root().clone(),
        conn.ca().map(PathBuf::from),
        None,
        TokenSource::None,
    )?;
    let password = secret_from(
        "TESSERA_PASSWORD",
        &format!("Password for {}/{}: ", args.tenant, args.user),
    )?;
    let mut l = Login {
        api: conn,
        args,
        password,
        totp: args.totp.clone().map(Secret::new),
    };
    let mut step = Step::Password {
        totp: l.totp.take(),
    };
    // Bounded: a server that keeps asking for steps is refused rather than followed forever.
    for _ in 0..8 {
        step = step.next(&mut l)?;
        if let Step::Done(answer) = &step {
            let saved = l.api.session_of(answer)?;
            let path = session::save(&saved)?;
            let who = format!(
                "{}/{}",
                answer
                    .pointer("/tenant/slug")
                    .and_then(Value::as_str)
                    .unwrap_or(&args.tenant),
                answer
                    .pointer("/user/username")
                    .and_then(Value::as_str)
                    .unwrap_or(&args.user)
            );
            if args.client.json {
                // Everything but the token.
                super::table::print_json(&json!({
                    "user": answer.get("user"),
                    "tenant": answer.get("tenant"),
                    "expires_at": answer.get("expires_at"),
                    "session_file": path,
                }));
            } else {
                let until = super::table::time(answer, "expires_at");
                eprintln!(
                    "Logged in to {} as {who}{}. Session saved in {}.",
                    shown(l.api.root()),
                    if until.is_empty() {
                        String::new()
                    } else {
                        format!(" until {until}")
                    },
                    path.display()
                );
            }
            return Ok(());
        }
    }
    bail!("the server kept asking for more login steps; giving up")
}

/// `tessera logout`.
pub fn logout(args: &LogoutArgs, _cfg: &Config) -> Result<()> {
    let Some(s) = session::load()? else {
        eprintln!("Not logged in (no saved session).");
        return Ok(());
    };
    let root = super::client::parse_root(&s.url)?;
    let server = shown(&root).to_string();
    let revoked = Api::new(
        root,
        args.client.ca.clone().or(s.ca.clone()),
        Some(s.token.clone()),
        TokenSource::Session,
    )
    .and_then(|api| api.act(Method::POST, &["auth", "logout"]));
    session::remove()?;
    match revoked {
        Ok(_) => {
            eprintln!("Logged out of {server}.");
            Ok(())
        }
        Err(e) if problem_kind(&e).as_deref() == Some("unauthenticated") => {
            eprintln!("The session had already ended; forgot it.");
            Ok(())
        }
        Err(e) => Err(e.context(format!(
            "forgot the saved session, but {server} did not confirm that its token is revoked"
        ))),
    }
}

/// `tessera whoami`.
pub fn whoami(args: &WhoamiArgs, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&args.client, cfg)?;
    let me = ctx.api.get(&["auth", "me"], &[])?;
    ctx.show(&me, |me| {
        let user = me.get("user").cloned().unwrap_or_default();
        let tenant = me.get("tenant").cloned().unwrap_or_default();
        let token = me.get("token").cloned().unwrap_or_default();
        let from = match ctx.api.token_source() {
            TokenSource::Environment => "TESSERA_TOKEN",
            TokenSource::Session => "the saved session",
            TokenSource::None => "",
        };
        print_record(&[
            (
                "user",
                format!("{}/{}", text(&tenant, "slug"), text(&user, "username")),
            ),
            ("name", display_name(&user)),
            (
                "tenant",
                format!("{} ({})", text(&tenant, "name"), text(&tenant, "kind")),
            ),
            (
                "token",
                format!(
                    "{} {} (from {from})",
                    text(&token, "kind"),
                    text(&token, "id")
                ),
            ),
            ("expires", super::table::time(&token, "expires_at")),
            (
                "narrowed to",
                token.get("rights").map(rights_compact).unwrap_or_default(),
            ),
            ("server", shown(ctx.api.root()).into()),
        ]);
    });
    Ok(())
}

/// A user's display name, else given and family names.
pub fn display_name(u: &Value) -> String {
    let d = text(u, "display_name");
    if !d.is_empty() {
        return d;
    }
    [text(u, "given_name"), text(u, "family_name")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64_decodes() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("+/8=").unwrap(), [0xfb, 0xff]);
        assert!(base64_decode("a*b").is_err());
    }
}
