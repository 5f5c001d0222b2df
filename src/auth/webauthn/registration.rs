//! Registration (WebAuthn L3 §7.1 "Registering a New Credential"): a new passkey's
//! response to `navigator.credentials.create()`, checked and turned into what to store.
//!
//! The attestation object carries the authenticator data, whose attested credential data
//! holds the new credential id and public key. edge-chat asks for no attestation
//! (`attestation: "none"`), so the statement proves nothing about the authenticator model
//! and none is needed: the passkey's worth is that only its holder can sign with it later.

use serde::Deserialize;

use super::authdata::{AuthenticatorData, BE};
use super::cbor::{self, Value};
use super::client_data::{Ceremony, ClientData, decode_field};
use super::cose::CredentialPublicKey;
use super::{CredentialId, RelyingParty, WebAuthnError, credential_id, json_error, sha256};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegistrationJson {
    id: String,
    raw_id: String,
    #[serde(rename = "type")]
    ty: String,
    response: AttestationJson,
}

/// AuthenticatorAttestationResponseJSON. Its convenience fields (`authenticatorData`,
/// `publicKey`, `publicKeyAlgorithm`) are ignored: everything is read from the
/// attestation object, the one thing the authenticator produced.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttestationJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    attestation_object: String,
    #[serde(default)]
    transports: Vec<String>,
}

/// A RegistrationResponseJSON, decoded but not yet verified.
#[derive(Debug, Clone)]
pub struct RegistrationResponse {
    id: CredentialId,
    client_data_json: Vec<u8>,
    client_data: ClientData,
    attestation_object: Vec<u8>,
    transports: Vec<String>,
}

/// Transport hints are kept (a later `excludeCredentials` may pass them back) only if they
/// look like the spec's tokens (`usb`, `hybrid`, `internal`, …): a few short words.
fn transports(hints: Vec<String>) -> Vec<String> {
    let token = |t: &String| {
        (1..=16).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
    };
    hints.into_iter().filter(token).take(8).collect()
}

impl RegistrationResponse {
    pub fn from_json(body: &[u8]) -> Result<Self, WebAuthnError> {
        let json: RegistrationJson =
            serde_json::from_slice(body).map_err(|_| json_error("the registration response"))?;
        let client_data_json = decode_field("clientDataJSON", &json.response.client_data_json)?;
        Ok(Self {
            id: credential_id(&json.id, &json.raw_id, &json.ty)?,
            client_data: ClientData::parse(&client_data_json)?,
            client_data_json,
            attestation_object: decode_field(
                "attestationObject",
                &json.response.attestation_object,
            )?,
            transports: transports(json.response.transports),
        })
    }

    /// The challenge the browser says this answers.
    pub fn challenge(&self) -> &[u8] {
        self.client_data.challenge()
    }
}

/// A verified new passkey: what to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub id: CredentialId,
    pub public_key: CredentialPublicKey,
    pub sign_count: u32,
    /// The authenticator model, when the authenticator says (all zeros when it does not).
    pub aaguid: [u8; 16],
    pub transports: Vec<String>,
    /// Whether the passkey may be synced to the user's other devices (BE flag).
    pub backup_eligible: bool,
}

/// The attestation object (§6.5.4): `fmt`, `attStmt`, `authData`.
struct AttestationObject<'a> {
    fmt: &'a str,
    statement: Value<'a>,
    auth_data: &'a [u8],
}

impl<'a> AttestationObject<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, WebAuthnError> {
        let object = cbor::decode(bytes).map_err(|e| {
            WebAuthnError::Malformed(format!("the attestation object is not valid CBOR ({e})"))
        })?;
        let field = |name| object.get_text(name);
        match (
            field("fmt").and_then(Value::as_text),
            field("attStmt").filter(|s| s.as_map().is_some()),
            field("authData").and_then(Value::as_bytes),
        ) {
            (Some(fmt), Some(statement), Some(auth_data)) => Ok(Self {
                fmt,
                statement: statement.clone(),
                auth_data,
            }),
            _ => Err(WebAuthnError::Malformed(
                "the attestation object lacks fmt, attStmt or authData".into(),
            )),
        }
    }

    /// §7.1 steps 21–24 for the two formats edge-chat accepts: `none` (§8.7), which it asks
    /// for, and `packed` self attestation (§8.2), signed by the new key itself with its own
    /// algorithm (§8.2 verification procedure, self attestation: `alg` must match), which some
    /// authenticators send anyway. Certificate chains are refused: edge-chat trusts no
    /// authenticator vendor's root, so checking one would prove nothing it uses.
    fn verify(
        &self,
        client_data_hash: &[u8; 32],
        key: &CredentialPublicKey,
    ) -> Result<(), WebAuthnError> {
        let entries = self.statement.as_map().unwrap_or_default();
        match self.fmt {
            "none" if entries.is_empty() => Ok(()),
            "none" => Err(WebAuthnError::Malformed(
                "a \"none\" attestation has a statement".into(),
            )),
            "packed" if self.statement.get_text("x5c").is_some() => Err(
                WebAuthnError::UnsupportedAttestation("\"packed\" with a certificate chain".into()),
            ),
            "packed" => {
                let alg = self.statement.get_text("alg").and_then(Value::as_int);
                let sig = self.statement.get_text("sig").and_then(Value::as_bytes);
                match (alg, sig) {
                    (Some(alg), Some(sig)) if alg == key.algorithm() && entries.len() == 2 => {
                        if key.verifies(&[self.auth_data, client_data_hash], sig) {
                            Ok(())
                        } else {
                            Err(WebAuthnError::InvalidAttestation)
                        }
                    }
                    (Some(_), Some(_)) if entries.len() == 2 => {
                        Err(WebAuthnError::InvalidAttestation)
                    }
                    _ => Err(WebAuthnError::Malformed(
                        "the packed attestation statement is incomplete".into(),
                    )),
                }
            }
            other => Err(WebAuthnError::UnsupportedAttestation(format!(
                "format \"{}\"",
                other.chars().take(32).collect::<String>()
            ))),
        }
    }
}

/// §7.1: verifies a registration response against the challenge it answers.
pub fn verify_registration(
    response: &RegistrationResponse,
    expected_challenge: &[u8],
    rp: &RelyingParty,
) -> Result<NewCredential, WebAuthnError> {
    response
        .client_data
        .check(Ceremony::Create, expected_challenge, rp)?;
    let client_data_hash = sha256(&response.client_data_json);
    let object = AttestationObject::parse(&response.attestation_object)?;
    let auth_data = AuthenticatorData::parse(object.auth_data)?;
    auth_data.check(rp.id_hash())?;
    let attested = auth_data
        .attested
        .as_ref()
        .ok_or(WebAuthnError::NoCredential)?;
    let public_key = CredentialPublicKey::from_cose(&attested.public_key)?;
    object.verify(&client_data_hash, &public_key)?;
    if attested.credential_id != response.id.as_bytes() {
        return Err(WebAuthnError::CredentialMismatch);
    }
    Ok(NewCredential {
        id: response.id.clone(),
        public_key,
        sign_count: auth_data.sign_count,
        aaguid: attested.aaguid,
        transports: response.transports.clone(),
        backup_eligible: auth_data.has(BE),
    })
}

#[cfg(test)]
mod tests;
