//! Holdfast's own API tokens: who may call the API, as whom and in which roles, until when. What a
//! role may do is decided by the policy set (`holdfast-policy`), not here.
//!
//! Only a SHA-256 hash of a token's secret half is kept; the token itself is shown once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A built-in role: a group in Holdfast's policy (`Holdfast::Group::"<role>"`). What each may do is
/// written in the policy set, not here; the default set gives readers the inventory, writers the
/// inventory and the vault, auditors the audit log, approvers access requests, admins everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read the inventory. (`read`, the foundation's scope, still reads as this.)
    #[serde(alias = "read")]
    Reader,
    /// Change the inventory and the vault. (`write` still reads as this.)
    #[serde(alias = "write")]
    Writer,
    /// Read and verify the audit log.
    Auditor,
    /// Decide access requests.
    Approver,
    /// Everything, including the management plane.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Reader,
        Self::Writer,
        Self::Auditor,
        Self::Approver,
        Self::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Writer => "writer",
            Self::Auditor => "auditor",
            Self::Approver => "approver",
            Self::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reader" | "read" => Ok(Self::Reader),
            "writer" | "write" => Ok(Self::Writer),
            "auditor" => Ok(Self::Auditor),
            "approver" => Ok(Self::Approver),
            "admin" => Ok(Self::Admin),
            _ => Err(format!(
                "unknown role `{s}`; expected one of reader, writer, auditor, approver, admin"
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
    /// Built-in roles (policy groups) the token's holder belongs to.
    #[serde(alias = "scopes")]
    pub roles: Vec<Role>,
    /// The machine identity or AI agent this token authenticates as; none for a person.
    #[serde(default)]
    pub identity: Option<Uuid>,
    /// Named groups besides the roles (e.g. `platform-leads`), for policies and approval rules.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The TOTP secret for step-up, sealed under the vault keyring (envelope text); none until
    /// the holder enrols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up_secret: Option<String>,
    /// When the holder last proved a fresh TOTP code.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub stepped_up_at: Option<OffsetDateTime>,
    /// The TOTP time step last accepted (a code is never accepted twice).
    #[serde(default)]
    pub step_up_last_step: u64,
    /// Wrong codes in a row; at the limit step-up is locked for this token.
    #[serde(default)]
    pub step_up_failures: u32,
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
    /// Not revoked and not expired at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn tokens_live_until_expiry_or_revocation_and_old_scopes_read_as_roles() {
        let json = r#"{"id":"00000000-0000-0000-0000-000000000000","version":1,"name":"t",
            "scopes":["read","write","admin"],"secret_hash":"","created_by":null,
            "created_at":"2026-01-01T00:00:00Z","expires_at":"2026-02-01T00:00:00Z","revoked_at":null}"#;
        let mut t: ApiToken = serde_json::from_str(json).unwrap();
        assert_eq!(t.roles, vec![Role::Reader, Role::Writer, Role::Admin]);
        assert_eq!(t.identity, None);
        assert!(t.is_live(datetime!(2026-01-15 0:00 UTC)));
        assert!(!t.is_live(datetime!(2026-02-01 0:00 UTC)));
        t.revoked_at = Some(datetime!(2026-01-10 0:00 UTC));
        assert!(!t.is_live(datetime!(2026-01-15 0:00 UTC)));
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
