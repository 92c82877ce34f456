//! Holdfast's own API tokens: who may call the API, with which scopes, until when.
//!
//! Only a SHA-256 hash of a token's secret half is kept; the token itself is shown once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a token may do. `admin` implies `write`, which implies `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read the inventory.
    Read,
    /// Change the inventory.
    Write,
    /// Manage tokens and read or verify the audit log.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            "admin" => Ok(Self::Admin),
            _ => Err(format!(
                "unknown scope `{s}`; expected one of read, write, admin"
            )),
        }
    }
}

/// An API token as stored: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub version: i64,
    /// Who the token is for, e.g. `root`, `ci-pipeline`, `alice`.
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Hex SHA-256 of the token's secret half.
    pub secret_hash: String,
    /// The token that created this one (none for the root token made at init).
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiToken {
    /// Whether the token grants `needed` at `now`.
    pub fn allows(&self, needed: Scope, now: OffsetDateTime) -> bool {
        self.is_live(now) && self.scopes.iter().any(|s| *s >= needed)
    }

    /// Not revoked and not expired at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn token(scopes: Vec<Scope>) -> ApiToken {
        ApiToken {
            id: Uuid::nil(),
            version: 1,
            name: "t".into(),
            scopes,
            secret_hash: String::new(),
            created_by: None,
            created_at: datetime!(2026-01-01 0:00 UTC),
            expires_at: Some(datetime!(2026-02-01 0:00 UTC)),
            revoked_at: None,
        }
    }

    #[test]
    fn scopes_imply_lower_ones_until_expiry_or_revocation() {
        let now = datetime!(2026-01-15 0:00 UTC);
        let w = token(vec![Scope::Write]);
        assert!(w.allows(Scope::Read, now));
        assert!(w.allows(Scope::Write, now));
        assert!(!w.allows(Scope::Admin, now));
        assert!(!w.allows(Scope::Read, datetime!(2026-02-01 0:00 UTC)));
        let mut r = token(vec![Scope::Admin]);
        assert!(r.allows(Scope::Admin, now));
        r.revoked_at = Some(now);
        assert!(!r.allows(Scope::Read, now));
    }
}
