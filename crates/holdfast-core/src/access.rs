//! Just-in-time access: requests for a short-lived grant, their approvals, and the leases that the
//! grants become. Pure state machines; the server decides with policy and stores the records.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a request stands. `pending` → `approved` (enough approvals) → `issued` (the requester
/// collected the grant) → `closed` (its lease ended); or `denied`, `cancelled`, `expired` (no
/// decision in time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    Approved,
    Denied,
    Cancelled,
    Expired,
    Issued,
    Closed,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Issued => "issued",
            Self::Closed => "closed",
        }
    }

    /// No further step is possible.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Denied | Self::Cancelled | Self::Expired | Self::Closed
        )
    }
}

/// What kind of short-lived credential a grant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    /// A JWT signed by Holdfast (EdDSA), verifiable against `/v1/grants/jwks`.
    Jwt,
    /// A PostgreSQL login created for the grant, member of exactly the granted roles, dropped
    /// when the lease ends.
    Postgres,
    /// An X.509 client certificate from Holdfast's CA with a SPIFFE URI SAN; revocation is
    /// published in the CA's CRL.
    X509,
    /// A Holdfast API token with the granted roles, expiring with the lease: just-in-time access
    /// to Holdfast's own management plane.
    Holdfast,
}

/// One approval (or the denial) by one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// The approver as a policy principal: `Holdfast::Person::"bob"`.
    pub by: String,
    /// The person accountable for the approver (a person's name, an identity's owner): approvals
    /// are counted by it, so one person with two tokens is one approver.
    #[serde(default)]
    pub accountable: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A request for access: who asks, for whom, for what, for how long, and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessRequest {
    pub id: Uuid,
    pub version: i64,
    /// The caller as a policy principal.
    pub requester: String,
    /// The requester's name (a person's name, an identity's name).
    pub requester_name: String,
    /// `person`, or the identity kind (`ai_agent`, `ci_job`, …).
    pub requester_kind: String,
    /// The person an AI agent acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// The requester identity's owner, when the requester is an identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_owner: Option<String>,
    /// Who the grant is for (the principal being elevated); the requester unless it names an
    /// identity.
    pub grantee: String,
    pub grantee_name: String,
    /// The grantee identity's owner, when the grantee is an identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantee_owner: Option<String>,
    pub task: String,
    pub reason: String,
    pub kind: GrantKind,
    /// The JWT audience: the system that will accept the grant.
    pub audience: String,
    /// What the grant allows at the audience (its `scope` claim).
    pub scopes: Vec<String>,
    /// `standard`, `sensitive` or `management_plane`: the tier of what is asked for.
    pub tier: String,
    pub ttl_seconds: u32,
    /// The longest the grant may last, renewals included (the rule's bound for this tier).
    pub max_ttl_seconds: u32,
    /// The approval rule in force when the request was made, and the policy it came from.
    pub approvals_needed: u32,
    pub approver_groups: Vec<String>,
    pub rule_policy: String,
    pub approvals: Vec<Approval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denial: Option<Approval>,
    pub state: RequestState,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// A pending request expires unanswered at this time.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub decide_by: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Uuid>,
    /// Granted without approval, by break-glass; a review stays open until someone else closes it.
    #[serde(default)]
    pub breakglass: bool,
}

/// Where a post-use review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Open,
    Closed,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// The review a break-glass grant opens: who used it and why, what must be rotated when it ends,
/// and who (never the user) closed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    pub id: Uuid,
    pub version: i64,
    pub request: Uuid,
    pub lease: Uuid,
    /// The principal who broke the glass.
    pub used_by: String,
    pub reason: String,
    pub state: ReviewState,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub opened_at: OffsetDateTime,
    /// Vault secrets the grant could reach (those the elevated identity owns), rotated when the
    /// lease ends.
    pub to_rotate: Vec<String>,
    /// What happened to each when the lease ended (`started`, `needs a person`, `failed: …`);
    /// empty until then.
    #[serde(default)]
    pub rotation: Vec<String>,
    #[serde(default)]
    pub rotation_done: bool,
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Where a lease stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LeaseState {
    Active,
    Expired,
    Revoked,
}

impl LeaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// A grant in force: a short-lived credential, renewable within its request's bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lease {
    pub id: Uuid,
    pub version: i64,
    pub request: Uuid,
    pub kind: GrantKind,
    /// The grantee principal.
    pub holder: String,
    pub holder_name: String,
    pub audience: String,
    pub scopes: Vec<String>,
    /// The login created for the grant (PostgreSQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// Renewals so far; the current credential's id is `<lease id>.<renewals>`.
    pub renewals: u32,
    pub state: LeaseState,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    /// No renewal goes past this.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub max_expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub ended_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
}

impl Lease {
    /// The id of the credential currently issued under this lease (a JWT's `jti`).
    pub fn credential_id(&self) -> String {
        format!("{}.{}", self.id, self.renewals)
    }

    /// Active and not past its expiry at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.state == LeaseState::Active && self.expires_at > now
    }
}

/// Why an approval is refused, whatever the policy says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("the request is {0}, not pending")]
    NotPending(&'static str),
    #[error("the requester cannot approve their own request")]
    Requester,
    #[error("the principal being elevated cannot approve its own elevation")]
    Grantee,
    #[error("the person an agent acts for cannot approve the agent's request")]
    OnBehalfOf,
    #[error("an identity owned by the requester or by the grantee's owner cannot approve")]
    Owned,
    #[error("AI agents never approve")]
    Agent,
    #[error(
        "the approver is accountable for a party to this request (it owns the requesting or elevated identity, or is the person an agent acts for)"
    )]
    Accountable,
    #[error("{0} has already approved this request; approvals must come from distinct people")]
    AlreadyApproved(String),
    #[error("the approver is in none of the groups the rule names ({0})")]
    NotInGroup(String),
}

/// Who is approving: principal, name, kind, owner (for identities), groups.
#[derive(Debug, Clone)]
pub struct Approver<'a> {
    pub principal: &'a str,
    pub name: &'a str,
    /// `person` or an identity kind.
    pub kind: &'a str,
    pub owner: Option<&'a str>,
    pub groups: &'a [String],
}

impl Approver<'_> {
    /// The person accountable for this approver: a person's name, an identity's owner (or, with
    /// no owner, the identity itself).
    pub fn accountable(&self) -> String {
        if self.kind == "person" {
            self.name.to_string()
        } else {
            self.owner
                .map_or_else(|| self.principal.to_string(), str::to_string)
        }
    }
}

impl AccessRequest {
    /// Separation of duties, checked in code in addition to the policy set.
    pub fn check_approver(&self, a: &Approver<'_>) -> Result<(), ApprovalError> {
        if self.state != RequestState::Pending {
            return Err(ApprovalError::NotPending(self.state.as_str()));
        }
        self.check_independent(a)?;
        let accountable = a.accountable();
        if self
            .approvals
            .iter()
            .any(|x| x.by == a.principal || x.accountable == accountable)
        {
            return Err(ApprovalError::AlreadyApproved(accountable));
        }
        if !a.groups.iter().any(|g| self.approver_groups.contains(g)) {
            return Err(ApprovalError::NotInGroup(self.approver_groups.join(", ")));
        }
        Ok(())
    }

    /// Whether `a` is independent of this request: not an agent, not the requester, the grantee,
    /// the person an agent acts for, or anyone accountable for them. Approvals and the closing of
    /// break-glass reviews both need it.
    pub fn check_independent(&self, a: &Approver<'_>) -> Result<(), ApprovalError> {
        if a.kind == "ai_agent" {
            return Err(ApprovalError::Agent);
        }
        if a.principal == self.requester {
            return Err(ApprovalError::Requester);
        }
        if a.principal == self.grantee {
            return Err(ApprovalError::Grantee);
        }
        if a.kind == "person" && self.on_behalf_of.as_deref() == Some(a.name) {
            return Err(ApprovalError::OnBehalfOf);
        }
        // Whoever is accountable for a party is a party: the owner of the requesting or elevated
        // identity (approving as a person), and identities owned by the requester or those owners.
        let parties: Vec<&str> = [
            (self.requester_kind == "person").then_some(self.requester_name.as_str()),
            self.grantee
                .starts_with("Holdfast::Person::")
                .then_some(self.grantee_name.as_str()),
            self.requester_owner.as_deref(),
            self.grantee_owner.as_deref(),
            self.on_behalf_of.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let accountable = a.accountable();
        if parties.contains(&accountable.as_str()) {
            return Err(
                if a.kind == "person" && self.on_behalf_of.as_deref() == Some(a.name) {
                    ApprovalError::OnBehalfOf
                } else if a.kind == "person" {
                    ApprovalError::Accountable
                } else {
                    ApprovalError::Owned
                },
            );
        }
        Ok(())
    }

    /// Adds an approval; the request becomes `approved` when enough distinct approvers agreed.
    pub fn approve(
        &mut self,
        a: &Approver<'_>,
        at: OffsetDateTime,
        comment: Option<String>,
    ) -> Result<(), ApprovalError> {
        self.check_approver(a)?;
        self.approvals.push(Approval {
            by: a.principal.to_string(),
            accountable: a.accountable(),
            at,
            comment,
        });
        if self.approvals.len() >= self.approvals_needed as usize {
            self.state = RequestState::Approved;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn request() -> AccessRequest {
        AccessRequest {
            id: Uuid::nil(),
            version: 1,
            requester: "Holdfast::Person::\"alice\"".into(),
            requester_name: "alice".into(),
            requester_kind: "person".into(),
            on_behalf_of: None,
            requester_owner: None,
            grantee: "Holdfast::Identity::\"deployer\"".into(),
            grantee_name: "deployer".into(),
            grantee_owner: Some("platform".into()),
            task: "t".into(),
            reason: "r".into(),
            kind: GrantKind::Jwt,
            audience: "deploy".into(),
            scopes: vec!["deploy".into()],
            tier: "management_plane".into(),
            ttl_seconds: 900,
            max_ttl_seconds: 900,
            approvals_needed: 2,
            approver_groups: vec!["approver".into()],
            rule_policy: "p".into(),
            approvals: vec![],
            denial: None,
            state: RequestState::Pending,
            created_at: datetime!(2026-01-01 0:00 UTC),
            decide_by: datetime!(2026-01-02 0:00 UTC),
            lease: None,
            breakglass: false,
        }
    }

    fn person<'a>(principal: &'a str, name: &'a str, groups: &'a [String]) -> Approver<'a> {
        Approver {
            principal,
            name,
            kind: "person",
            owner: None,
            groups,
        }
    }

    #[test]
    fn approvals_need_distinct_eligible_people_and_never_the_parties() {
        let g = vec!["approver".to_string()];
        let at = datetime!(2026-01-01 1:00 UTC);
        let mut r = request();
        let alice = person("Holdfast::Person::\"alice\"", "alice", &g);
        assert_eq!(r.approve(&alice, at, None), Err(ApprovalError::Requester));
        let deployer = Approver {
            principal: "Holdfast::Identity::\"deployer\"",
            name: "deployer",
            kind: "ci_job",
            owner: Some("platform"),
            groups: &g,
        };
        assert_eq!(r.approve(&deployer, at, None), Err(ApprovalError::Grantee));
        let sibling = Approver {
            principal: "Holdfast::Identity::\"other\"",
            name: "other",
            kind: "workload",
            owner: Some("platform"),
            groups: &g,
        };
        assert_eq!(r.approve(&sibling, at, None), Err(ApprovalError::Owned));
        let agent = Approver {
            kind: "ai_agent",
            owner: Some("elsewhere"),
            ..sibling.clone()
        };
        assert_eq!(r.approve(&agent, at, None), Err(ApprovalError::Agent));
        let none: Vec<String> = vec![];
        let outsider = person("Holdfast::Person::\"eve\"", "eve", &none);
        assert!(matches!(
            r.approve(&outsider, at, None),
            Err(ApprovalError::NotInGroup(_))
        ));
        let bob = person("Holdfast::Person::\"bob\"", "bob", &g);
        r.approve(&bob, at, None).unwrap();
        assert_eq!(r.state, RequestState::Pending, "one of two");
        assert!(matches!(
            r.approve(&bob, at, None),
            Err(ApprovalError::AlreadyApproved(_))
        ));
        let carol = person("Holdfast::Person::\"carol\"", "carol", &g);
        r.approve(&carol, at, None).unwrap();
        assert_eq!(r.state, RequestState::Approved);
        let dave = person("Holdfast::Person::\"dave\"", "dave", &g);
        assert_eq!(
            r.approve(&dave, at, None),
            Err(ApprovalError::NotPending("approved"))
        );
    }

    #[test]
    fn owners_are_parties_and_one_human_counts_once() {
        let g = vec!["approver".to_string()];
        let at = datetime!(2026-01-01 1:00 UTC);
        // alice asks through an identity she owns; she cannot approve as herself.
        let mut r = request();
        r.requester = "Holdfast::Identity::\"ci\"".into();
        r.requester_name = "ci".into();
        r.requester_kind = "ci_job".into();
        r.requester_owner = Some("alice".into());
        let alice = person("Holdfast::Person::\"alice\"", "alice", &g);
        assert_eq!(r.approve(&alice, at, None), Err(ApprovalError::Accountable));
        // The grantee's owner cannot either.
        let platform = person("Holdfast::Person::\"platform\"", "platform", &g);
        assert_eq!(
            r.approve(&platform, at, None),
            Err(ApprovalError::Accountable)
        );
        // bob as a person and an identity bob owns are one approver.
        let bob = person("Holdfast::Person::\"bob\"", "bob", &g);
        r.approve(&bob, at, None).unwrap();
        let bobs_bot = Approver {
            principal: "Holdfast::Identity::\"bobs-bot\"",
            name: "bobs-bot",
            kind: "workload",
            owner: Some("bob"),
            groups: &g,
        };
        assert!(matches!(
            r.approve(&bobs_bot, at, None),
            Err(ApprovalError::AlreadyApproved(_))
        ));
        assert_eq!(r.state, RequestState::Pending);
    }

    #[test]
    fn an_agent_s_principal_cannot_approve_for_it() {
        let g = vec!["approver".to_string()];
        let mut r = request();
        r.on_behalf_of = Some("erin".into());
        let erin = person("Holdfast::Person::\"erin\"", "erin", &g);
        assert_eq!(
            r.approve(&erin, datetime!(2026-01-01 1:00 UTC), None),
            Err(ApprovalError::OnBehalfOf)
        );
    }
}
