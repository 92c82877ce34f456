//! Rules every record must satisfy, and the drafts and patches that create and change identities.
//!
//! Each rule reports the API's field name and a reason, so a refused request says exactly what to fix.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::lifecycle::LifecycleState;
use crate::model::{Credential, Entitlement, Identity, IdentityKind, Owner, System, Tier};

const MAX_NAME: usize = 200;
const MAX_TEXT: usize = 4000;
const MAX_LABELS: usize = 64;

/// A short name: 1–200 characters, no control characters, no surrounding spaces.
pub fn check_name(errs: &mut ValidationErrors, field: &str, value: &str) {
    if value.trim().is_empty() {
        errs.push(field, "is required and must not be blank");
    } else if value.chars().count() > MAX_NAME {
        errs.push(field, format!("must be at most {MAX_NAME} characters"));
    } else if value.chars().any(char::is_control) {
        errs.push(field, "must not contain control characters");
    } else if value.trim() != value {
        errs.push(field, "must not start or end with spaces");
    }
}

/// Free text: not blank and at most 4000 characters.
pub fn check_text(errs: &mut ValidationErrors, field: &str, value: &str) {
    if value.trim().is_empty() {
        errs.push(field, "must not be blank");
    } else if value.chars().count() > MAX_TEXT {
        errs.push(field, format!("must be at most {MAX_TEXT} characters"));
    }
}

fn check_opt_text(errs: &mut ValidationErrors, field: &str, value: Option<&str>) {
    if let Some(v) = value {
        check_text(errs, field, v);
    }
}

/// A handle: lower-case letters, digits, `-`, `_`, `.`, `@`; starts with a letter or digit.
pub fn check_handle(errs: &mut ValidationErrors, field: &str, value: &str) {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.@".contains(c);
    if value.is_empty() {
        errs.push(field, "is required and must not be blank");
    } else if value.len() > MAX_NAME {
        errs.push(field, format!("must be at most {MAX_NAME} characters"));
    } else if !value.chars().all(ok_char) || !value.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        errs.push(
            field,
            format!("`{value}` is not a valid handle: use lower-case letters, digits, `-`, `_`, `.` or `@`, starting with a letter or digit"),
        );
    }
}

/// Where an identity came from: `manual`, or a discovery source such as `aws-iam:123456789012`
/// or `github-actions:acme/payments` (a handle, then optionally `:` and what the source covers).
pub fn check_source(errs: &mut ValidationErrors, value: &str) {
    let (kind, scope) = value.split_once(':').unwrap_or((value, ""));
    let mut sub = ValidationErrors::default();
    check_handle(&mut sub, "source", kind);
    let scope_ok = scope.len() <= MAX_NAME
        && scope
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@/:".contains(c));
    if !sub.errors.is_empty() || !scope_ok || (value.contains(':') && scope.is_empty()) {
        errs.push(
            "source",
            "must be a handle (`manual`, `kubernetes`), optionally followed by `:` and letters, digits, `-`, `_`, `.`, `@`, `/` or `:`",
        );
    }
}

fn check_labels(errs: &mut ValidationErrors, labels: &BTreeMap<String, String>) {
    if labels.len() > MAX_LABELS {
        errs.push("labels", format!("at most {MAX_LABELS} labels are allowed"));
    }
    for (k, v) in labels {
        let key_ok = !k.is_empty()
            && k.len() <= 128
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
        if !key_ok {
            errs.push(
                format!("labels.{k}"),
                "label keys are 1–128 characters of letters, digits, `-`, `_`, `.` or `/`",
            );
        } else if v.chars().count() > 512 || v.chars().any(char::is_control) {
            errs.push(
                format!("labels.{k}"),
                "label values are at most 512 characters, without control characters",
            );
        }
    }
}

impl Identity {
    /// Checks the invariants every stored identity satisfies.
    pub fn check(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        check_name(&mut errs, "name", &self.name);
        check_source(&mut errs, &self.source);
        if let Some(ext) = &self.external_id {
            check_name(&mut errs, "external_id", ext);
        }
        check_opt_text(&mut errs, "purpose", self.purpose.as_deref());
        if let Some(env) = &self.environment {
            check_handle(&mut errs, "environment", env);
        }
        match (self.tier, self.tier_reason.as_deref()) {
            (Tier::Standard, _) => {
                check_opt_text(&mut errs, "tier_reason", self.tier_reason.as_deref())
            }
            (tier, None) => errs.push(
                "tier_reason",
                format!("is required when the tier is {tier}"),
            ),
            (_, Some(r)) => check_text(&mut errs, "tier_reason", r),
        }
        if let Some(exp) = self.expires_at
            && exp <= self.created_at
        {
            errs.push(
                "expires_at",
                "must be later than the identity's creation time",
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.systems {
            if !seen.insert(s) {
                errs.push("systems", format!("system `{s}` is listed twice"));
            }
        }
        check_labels(&mut errs, &self.labels);
        errs.into_result()
    }
}

/// Everything needed to create an identity, with the owner already resolved to an id.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityDraft {
    pub kind: IdentityKind,
    pub name: String,
    pub source: String,
    pub external_id: Option<String>,
    pub owner_id: Option<Uuid>,
    pub purpose: Option<String>,
    pub environment: Option<String>,
    pub systems: Vec<Uuid>,
    pub tier: Tier,
    pub tier_reason: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub expires_at: Option<OffsetDateTime>,
}

impl IdentityDraft {
    /// Builds the identity a create request asks for. Identities declared by a person (every source
    /// but discovery connectors) must name an owner and a purpose.
    pub fn into_identity(
        self,
        id: Uuid,
        now: OffsetDateTime,
        require_owner_and_purpose: bool,
    ) -> Result<Identity, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        if require_owner_and_purpose {
            if self.owner_id.is_none() {
                errs.push(
                    "owner",
                    "is required: every identity needs an accountable owner",
                );
            }
            if self.purpose.as_deref().is_none_or(|p| p.trim().is_empty()) {
                errs.push("purpose", "is required: say why this identity exists");
            }
        }
        let identity = Identity {
            id,
            version: 1,
            kind: self.kind,
            name: self.name,
            source: self.source,
            external_id: self.external_id,
            owner_id: self.owner_id,
            purpose: self.purpose,
            environment: self.environment,
            systems: self.systems,
            tier: self.tier,
            tier_reason: self.tier_reason,
            state: LifecycleState::Active,
            state_reason: None,
            labels: self.labels,
            created_at: now,
            updated_at: now,
            expires_at: self.expires_at,
            last_used_at: None,
            last_rotated_at: None,
            last_reviewed_at: None,
            graph_key: None,
            provenance: BTreeMap::new(),
            attributes: BTreeMap::new(),
            missing_since: None,
            tier_override: false,
        };
        if let Err(more) = identity.check() {
            for e in more.errors {
                if !errs.errors.iter().any(|x| x.field == e.field) {
                    errs.errors.push(e);
                }
            }
        }
        errs.into_result().map(|()| identity)
    }
}

/// A partial update of an identity; `None` leaves a field as it is. For clearable fields the inner
/// `None` clears the value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdentityPatch {
    pub name: Option<String>,
    pub owner_id: Option<Uuid>,
    pub purpose: Option<String>,
    pub environment: Option<Option<String>>,
    pub systems: Option<Vec<Uuid>>,
    pub tier: Option<Tier>,
    pub tier_reason: Option<Option<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub expires_at: Option<Option<OffsetDateTime>>,
    pub last_reviewed_at: Option<OffsetDateTime>,
}

/// Why an update was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpdateError {
    #[error("the identity is offboarded and can no longer be changed")]
    Offboarded,
    #[error("{0}")]
    Invalid(ValidationErrors),
}

impl Identity {
    /// Applies a patch, producing the next version of the record or saying why not.
    pub fn patched(
        &self,
        patch: IdentityPatch,
        now: OffsetDateTime,
    ) -> Result<Identity, UpdateError> {
        if !self.state.is_editable() {
            return Err(UpdateError::Offboarded);
        }
        let mut next = self.clone();
        if let Some(v) = patch.name {
            next.name = v;
        }
        // A field a person sets is theirs: its discovery provenance goes, and discovery leaves it.
        if let Some(v) = patch.owner_id {
            next.owner_id = Some(v);
            next.provenance.remove("owner");
        }
        if let Some(v) = patch.purpose {
            next.purpose = Some(v);
            next.provenance.remove("purpose");
        }
        if let Some(v) = patch.environment {
            next.environment = v;
            next.provenance.remove("environment");
        }
        if let Some(v) = patch.systems {
            next.systems = v;
        }
        if let Some(v) = patch.tier {
            next.tier = v;
            // A tier set by a person stands until a person changes it.
            next.tier_override = true;
        }
        if let Some(v) = patch.tier_reason {
            next.tier_reason = v;
        }
        if let Some(v) = patch.labels {
            next.labels = v;
        }
        if let Some(v) = patch.expires_at {
            next.expires_at = v;
        }
        if let Some(v) = patch.last_reviewed_at {
            next.last_reviewed_at = Some(v);
        }
        next.check().map_err(UpdateError::Invalid)?;
        next.version = self.version + 1;
        next.updated_at = now;
        Ok(next)
    }

    /// Moves the identity to another lifecycle state, recording why.
    pub fn transitioned(
        &self,
        to: LifecycleState,
        reason: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Identity, crate::lifecycle::TransitionError> {
        self.state.check_transition(to)?;
        let mut next = self.clone();
        next.state = to;
        next.state_reason = reason;
        next.version = self.version + 1;
        next.updated_at = now;
        Ok(next)
    }
}

impl Owner {
    pub fn check(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        check_handle(&mut errs, "name", &self.name);
        if let Some(d) = &self.display_name {
            check_name(&mut errs, "display_name", d);
        }
        check_name(&mut errs, "contact", &self.contact);
        errs.into_result()
    }
}

impl System {
    pub fn check(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        check_handle(&mut errs, "name", &self.name);
        check_opt_text(&mut errs, "description", self.description.as_deref());
        if let Some(env) = &self.environment {
            check_handle(&mut errs, "environment", env);
        }
        errs.into_result()
    }
}

impl Credential {
    pub fn check(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        check_name(&mut errs, "name", &self.name);
        if let Some(e) = &self.external_id {
            check_name(&mut errs, "external_id", e);
        }
        if let Some(s) = &self.stored_in {
            check_name(&mut errs, "stored_in", s);
        }
        if let (Some(i), Some(e)) = (self.issued_at, self.expires_at)
            && e <= i
        {
            errs.push("expires_at", "must be later than `issued_at`");
        }
        for (n, x) in self.exposures.iter().enumerate() {
            check_name(&mut errs, &format!("exposures[{n}].location"), &x.location);
            check_handle(&mut errs, &format!("exposures[{n}].source"), &x.source);
        }
        errs.into_result()
    }
}

impl Entitlement {
    pub fn check(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        check_name(&mut errs, "resource", &self.resource);
        if self.actions.is_empty() {
            errs.push("actions", "must list at least one action");
        }
        for (n, a) in self.actions.iter().enumerate() {
            check_name(&mut errs, &format!("actions[{n}]"), a);
        }
        check_text(&mut errs, "granted_by", &self.granted_by);
        errs.into_result()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn draft() -> IdentityDraft {
        IdentityDraft {
            kind: IdentityKind::ServiceAccount,
            name: "billing-exporter".into(),
            source: "manual".into(),
            external_id: None,
            owner_id: Some(Uuid::from_u128(7)),
            purpose: Some("exports invoices nightly".into()),
            environment: Some("prod".into()),
            systems: vec![],
            tier: Tier::Standard,
            tier_reason: None,
            labels: BTreeMap::new(),
            expires_at: None,
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    fn fields(r: Result<Identity, ValidationErrors>) -> Vec<String> {
        r.err()
            .map(|e| e.errors.into_iter().map(|e| e.field).collect())
            .unwrap_or_default()
    }

    #[test]
    fn owner_and_purpose_are_required_for_declared_identities() {
        type Case = (fn(&mut IdentityDraft), Vec<&'static str>);
        let cases: Vec<Case> = vec![
            (|_| {}, vec![]),
            (|d| d.owner_id = None, vec!["owner"]),
            (|d| d.purpose = None, vec!["purpose"]),
            (|d| d.purpose = Some("  ".into()), vec!["purpose"]),
            (
                |d| {
                    d.owner_id = None;
                    d.purpose = None
                },
                vec!["owner", "purpose"],
            ),
            (|d| d.name = String::new(), vec!["name"]),
            (|d| d.tier = Tier::ManagementPlane, vec!["tier_reason"]),
            (
                |d| d.environment = Some("Prod Env".into()),
                vec!["environment"],
            ),
            (
                |d| d.expires_at = Some(datetime!(2020-01-01 0:00 UTC)),
                vec!["expires_at"],
            ),
            (
                |d| d.systems = vec![Uuid::from_u128(1), Uuid::from_u128(1)],
                vec!["systems"],
            ),
        ];
        for (mutate, expect) in cases {
            let mut d = draft();
            mutate(&mut d);
            assert_eq!(
                fields(d.into_identity(Uuid::from_u128(1), NOW, true)),
                expect
            );
        }
    }

    #[test]
    fn discovery_may_leave_owner_empty() {
        let mut d = draft();
        d.owner_id = None;
        d.purpose = None;
        let id = d.into_identity(Uuid::from_u128(1), NOW, false);
        assert_eq!(id.map(|i| i.owner_id), Ok(None));
    }

    #[test]
    fn offboarded_identities_cannot_be_patched_or_revived() {
        let id = draft()
            .into_identity(Uuid::from_u128(1), NOW, true)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let off = id
            .transitioned(LifecycleState::Offboarding, Some("left".into()), NOW)
            .and_then(|i| i.transitioned(LifecycleState::Offboarded, None, NOW))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(off.version, 3);
        assert_eq!(
            off.patched(IdentityPatch::default(), NOW),
            Err(UpdateError::Offboarded)
        );
        assert!(off.transitioned(LifecycleState::Active, None, NOW).is_err());
    }

    #[test]
    fn patch_bumps_version_and_validates_the_result() {
        let id = draft()
            .into_identity(Uuid::from_u128(1), NOW, true)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let p = IdentityPatch {
            tier: Some(Tier::ManagementPlane),
            ..Default::default()
        };
        assert!(
            matches!(id.patched(p, NOW), Err(UpdateError::Invalid(e)) if e.errors[0].field == "tier_reason")
        );
        let p = IdentityPatch {
            tier: Some(Tier::ManagementPlane),
            tier_reason: Some(Some("can edit IAM".into())),
            ..Default::default()
        };
        let next = id.patched(p, NOW).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((next.version, next.tier), (2, Tier::ManagementPlane));
    }
}
