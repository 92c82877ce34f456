//! Signing grants: each node holds an Ed25519 key (in its data directory, like its audit key) and
//! publishes the public half in the store, so `/v1/grants/jwks` lists every node's key and a JWT
//! from any node verifies. JWTs are compact JWS with `alg: EdDSA` (RFC 8037); the signature comes
//! from `ed25519-dalek`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// This node's grant-signing key.
pub struct GrantSigner {
    key: SigningKey,
    kid: String,
}

impl std::fmt::Debug for GrantSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A key id: the first 16 hex digits of SHA-256 of the public key.
pub fn kid_of(public: &[u8; 32]) -> String {
    hex::encode(Sha256::digest(public))
        .get(..16)
        .unwrap_or_default()
        .to_string()
}

impl GrantSigner {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let kid = kid_of(key.verifying_key().as_bytes());
        Self { key, kid }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key, base64url without padding (a JWK's `x`).
    pub fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes())
    }

    /// A signed JWT carrying `claims`.
    pub fn jwt(&self, claims: &serde_json::Value) -> String {
        let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

/// Why a presented JWT is not one of ours.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("not a compact JWT")]
    Shape,
    #[error("the header is not EdDSA with a key id")]
    Header,
    #[error("signed by a key Holdfast does not know")]
    UnknownKey,
    #[error("the signature does not verify")]
    Signature,
    #[error("the claims are not a JSON object")]
    Claims,
}

/// Verifies a JWT against the published keys (`kid` → `x`) and returns its claims.
pub fn verify(token: &str, keys: &[(String, String)]) -> Result<serde_json::Value, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Shape);
    };
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Header)?;
    if header.get("alg").unwrap_or(&serde_json::Value::Null) != "EdDSA" {
        return Err(JwtError::Header);
    }
    let kid = header
        .get("kid")
        .unwrap_or(&serde_json::Value::Null)
        .as_str()
        .ok_or(JwtError::Header)?;
    let x = keys
        .iter()
        .find(|(k, _)| k == kid)
        .map(|(_, x)| x)
        .ok_or(JwtError::UnknownKey)?;
    let public: [u8; 32] = URL_SAFE_NO_PAD
        .decode(x)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(JwtError::UnknownKey)?;
    let key = VerifyingKey::from_bytes(&public).map_err(|_| JwtError::UnknownKey)?;
    let sig: [u8; 64] = URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(JwtError::Signature)?;
    key.verify_strict(
        format!("{h}.{c}").as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&sig),
    )
    .map_err(|_| JwtError::Signature)?;
    let claims: serde_json::Value = URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Claims)?;
    if !claims.is_object() {
        return Err(JwtError::Claims);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_tampering_does_not() {
        let s = GrantSigner::from_seed(&[7u8; 32]);
        let keys = vec![(s.kid().to_string(), s.x())];
        let jwt = s.jwt(&serde_json::json!({"sub": "a", "exp": 1}));
        assert_eq!(verify(&jwt, &keys).unwrap()["sub"], "a");
        let other = GrantSigner::from_seed(&[8u8; 32]);
        let forged = other.jwt(&serde_json::json!({"sub": "a"}));
        assert_eq!(verify(&forged, &keys), Err(JwtError::UnknownKey));
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let evil = URL_SAFE_NO_PAD.encode(r#"{"sub":"root","exp":1}"#);
        parts[1] = &evil;
        assert_eq!(verify(&parts.join("."), &keys), Err(JwtError::Signature));
        assert_eq!(verify("a.b", &keys), Err(JwtError::Shape));
    }
}
