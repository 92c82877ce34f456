//! Offboarding: revoke everything an identity holds first, then prove every copy of its
//! credentials is gone and that they no longer authenticate, then issue a signed receipt.
//!
//! An offboarding is a list of steps planned when it starts and persisted; each step's result is
//! stored once it is done, so a server killed half-way resumes where it stopped and the receipt
//! lists each step once. Steps act idempotently on their targets (revoking twice is revoking).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// End a just-in-time lease (and what it issued: a PostgreSQL login, tokens).
    RevokeLease,
    /// Revoke a Holdfast API token that authenticates as the identity.
    RevokeToken,
    /// Revoke a vault secret's credential at its target through its rotator (both slots).
    RevokeSecret,
    /// Revoke a credential at its provider: automatic when it lives in a revoked vault secret,
    /// otherwise a person does it and confirms.
    RevokeCredential,
    /// Re-scan a place a copy of a credential was found and confirm the copy is gone.
    Rescan,
    /// Try the revoked credential where a verifier exists: it must no longer authenticate.
    Verify,
    /// Move the identity to `offboarded` and its credentials to `revoked`.
    Finish,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RevokeLease => "revoke_lease",
            Self::RevokeToken => "revoke_token",
            Self::RevokeSecret => "revoke_secret",
            Self::RevokeCredential => "revoke_credential",
            Self::Rescan => "rescan",
            Self::Verify => "verify",
            Self::Finish => "finish",
        }
    }
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not done yet (or failed and will be tried again).
    Pending,
    /// Waiting for a person to do it and confirm: blocks completion.
    Manual,
    Done,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Manual => "manual",
            Self::Done => "done",
        }
    }
}

/// One step with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    /// 1, 2, 3, … in plan order.
    pub n: u32,
    pub kind: StepKind,
    /// What it acts on: `lease:<id>`, `token:<id>`, `secret:<path>`, `credential:<id>`,
    /// `location:<where>`.
    pub target: String,
    /// The credential a rescan or verify step is about, in words.
    pub about: String,
    pub status: StepStatus,
    /// Once done: `revoked`, `gone`, `still_present`, `does_not_authenticate`, `no_verifier`,
    /// `confirmed`, `offboarded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// What shows it: the statement run, the commits scanned, the login refused, who confirmed.
    #[serde(default)]
    pub evidence: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub done_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// After a failure: not tried again before this (backing off up to an hour).
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// For rescans: the credential fingerprint to look for (`sha256:…`, never the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl Step {
    pub fn new(
        n: u32,
        kind: StepKind,
        target: impl Into<String>,
        about: impl Into<String>,
    ) -> Self {
        Step {
            n,
            kind,
            target: target.into(),
            about: about.into(),
            status: StepStatus::Pending,
            outcome: None,
            evidence: Vec::new(),
            done_at: None,
            attempts: 0,
            last_error: None,
            next_attempt_at: None,
            fingerprint: None,
        }
    }
}

/// Where an offboarding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OffboardingState {
    /// Steps are being worked through.
    Running,
    /// Only manual steps are left: a person must do them and confirm.
    Waiting,
    /// Every step is done; the receipt is issued.
    Finished,
}

impl OffboardingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Finished => "finished",
        }
    }
}

/// The outcome a finished offboarding proves.
pub const OUTCOME_COMPLETE: &str = "complete";
/// Everything was revoked, but a copy of a credential is still where it was found.
pub const OUTCOME_COPIES_REMAIN: &str = "copies_remain";

/// One offboarding, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offboarding {
    pub id: Uuid,
    pub version: i64,
    pub identity_id: Uuid,
    pub identity_name: String,
    pub reason: String,
    /// Who started it: a principal, or `holdfast` (expiry, a missed review).
    pub requested_by: String,
    /// `manual`, `owner_departed`, `expired`, `review_missed`.
    pub trigger: String,
    pub state: OffboardingState,
    pub steps: Vec<Step>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<OffsetDateTime>,
    /// `complete` or `copies_remain`, once finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The signed receipt (the file's exact text), once finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// The node working through the steps, and until when: another replica leaves it alone until
    /// the claim runs out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub claimed_until: Option<OffsetDateTime>,
}

impl Offboarding {
    /// The first step not done, if it can be done without a person.
    pub fn next_step(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.status == StepStatus::Pending)
    }

    /// The state the steps put it in.
    pub fn settle(&mut self) {
        if self.steps.iter().all(|s| s.status == StepStatus::Done) {
            self.state = OffboardingState::Finished;
            let remain = self
                .steps
                .iter()
                .any(|s| s.outcome.as_deref() == Some("still_present"));
            self.outcome = Some(
                if remain {
                    OUTCOME_COPIES_REMAIN
                } else {
                    OUTCOME_COMPLETE
                }
                .to_string(),
            );
        } else if self.next_step().is_none() {
            self.state = OffboardingState::Waiting;
        } else {
            self.state = OffboardingState::Running;
        }
    }
}

/// The identity a receipt is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptIdentity {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub source: String,
    pub external_id: Option<String>,
}

/// One step as a receipt states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptStep {
    pub n: u32,
    pub kind: StepKind,
    pub target: String,
    pub about: String,
    pub outcome: String,
    pub evidence: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What an offboarding proves, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// `holdfast-offboarding-receipt/1`.
    pub format: String,
    pub offboarding: Uuid,
    pub identity: ReceiptIdentity,
    pub reason: String,
    pub requested_by: String,
    pub trigger: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// `complete` or `copies_remain`.
    pub outcome: String,
    /// The outcome in one sentence.
    pub summary: String,
    pub steps: Vec<ReceiptStep>,
}

pub const RECEIPT_FORMAT: &str = "holdfast-offboarding-receipt/1";

/// The signature block of a receipt file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptSignature {
    /// `ed25519`.
    pub algorithm: String,
    pub key_id: String,
    /// Hex of the signing node's 32-byte public key (its audit key).
    pub public_key: String,
    /// Hex of the signature over `holdfast-receipt-v1\0` and the compact JSON of `receipt`.
    pub signature: String,
}

/// A receipt file: the receipt and its signature, pretty-printed with a final newline. Any other
/// rendering of the same values is refused, so no byte of the file can change unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptFile {
    pub receipt: Receipt,
    pub signature: ReceiptSignature,
}

impl Receipt {
    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Builds the receipt of a finished offboarding.
    pub fn of(o: &Offboarding, identity: ReceiptIdentity) -> Option<Receipt> {
        let finished_at = o.finished_at?;
        let outcome = o.outcome.clone()?;
        let steps: Vec<ReceiptStep> = o
            .steps
            .iter()
            .map(|s| ReceiptStep {
                n: s.n,
                kind: s.kind,
                target: s.target.clone(),
                about: s.about.clone(),
                outcome: s.outcome.clone().unwrap_or_default(),
                evidence: s.evidence.clone(),
                at: s.done_at.unwrap_or(finished_at),
            })
            .collect();
        let revoked = steps
            .iter()
            .filter(|s| {
                matches!(
                    s.kind,
                    StepKind::RevokeLease
                        | StepKind::RevokeToken
                        | StepKind::RevokeSecret
                        | StepKind::RevokeCredential
                )
            })
            .count();
        let remaining: Vec<&str> = steps
            .iter()
            .filter(|s| s.outcome == "still_present")
            .map(|s| s.target.as_str())
            .collect();
        let summary = if remaining.is_empty() {
            format!(
                "{} was offboarded: {revoked} credentials, leases and tokens revoked; every recorded copy re-scanned and gone; verified where a verifier exists.",
                o.identity_name
            )
        } else {
            format!(
                "{} was offboarded and {revoked} credentials, leases and tokens revoked, but copies are still present at {}: the offboarding is not complete until they are removed and re-checked.",
                o.identity_name,
                remaining.join(", ")
            )
        };
        Some(Receipt {
            format: RECEIPT_FORMAT.to_string(),
            offboarding: o.id,
            identity,
            reason: o.reason.clone(),
            requested_by: o.requested_by.clone(),
            trigger: o.trigger.clone(),
            started_at: o.started_at,
            finished_at,
            outcome,
            summary,
            steps,
        })
    }
}

impl ReceiptFile {
    /// The file's exact text.
    pub fn render(&self) -> Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }

    /// Parses a receipt file, refusing any text that is not exactly its own rendering.
    pub fn parse_exact(text: &str) -> Result<ReceiptFile, String> {
        let file: ReceiptFile =
            serde_json::from_str(text).map_err(|e| format!("not a Holdfast receipt: {e}"))?;
        if file.receipt.format != RECEIPT_FORMAT {
            return Err(format!(
                "unknown receipt format `{}` (expected {RECEIPT_FORMAT})",
                file.receipt.format
            ));
        }
        let canonical = file.render().map_err(|e| e.to_string())?;
        if canonical != text {
            let at = canonical
                .bytes()
                .zip(text.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(canonical.len().min(text.len()));
            return Err(format!(
                "the file was altered: it differs from the receipt it holds at byte {at}"
            ));
        }
        Ok(file)
    }
}
