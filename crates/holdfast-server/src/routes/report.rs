//! `GET /v1/report`: the evidence report as JSON, one self-contained HTML file, or an OSCAL
//! assessment-results document.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use holdfast_core::{
    AccessRequest, Campaign, CampaignItem, Credential, CredentialState, Identity, Leak, Lease,
    Offboarding, Owner, Review, Secret, System,
};
use holdfast_monitor::Alert;
use holdfast_posture::report::{AuditStatus, CsfEvidence, InventoryCounts, Report, Workflows};
use holdfast_posture::{FindingRecord, FindingState, PostureRun, rank};
use holdfast_store::{Filter, Value, find_all};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::state::Ctx;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// `json` (default), `html` or `oscal`.
    pub format: Option<String>,
}

async fn all<R: holdfast_store::Record>(ctx: &Ctx, filters: Vec<Filter>) -> ApiResult<Vec<R>> {
    Ok(find_all::<R>(ctx.store(), filters, 1000).await?)
}

fn count<I: IntoIterator<Item = String>>(it: I) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for k in it {
        *m.entry(k).or_default() += 1;
    }
    m
}

/// Gathers the report from the store.
pub async fn gather(ctx: &Ctx) -> ApiResult<Report> {
    let identities: Vec<Identity> = all(ctx, vec![]).await?;
    let credentials: Vec<Credential> = all(ctx, vec![]).await?;
    let owners: Vec<Owner> = all(ctx, vec![]).await?;
    let systems: Vec<System> = all(ctx, vec![]).await?;
    let leaks: Vec<Leak> = all(ctx, vec![]).await?;
    let secrets: Vec<Secret> = all(ctx, vec![]).await?;
    let mut raised: Vec<FindingRecord> =
        all(ctx, vec![Filter::Eq("state", Value::text("open"))]).await?;
    let accepted: Vec<FindingRecord> =
        all(ctx, vec![Filter::Eq("state", Value::text("accepted"))]).await?;
    let mut trend: Vec<PostureRun> = all(ctx, vec![]).await?;
    trend.sort_by_key(|r| r.at);
    let requests: Vec<AccessRequest> =
        all(ctx, vec![Filter::Eq("state", Value::text("pending"))]).await?;
    let leases: Vec<Lease> = all(ctx, vec![Filter::Eq("state", Value::text("active"))]).await?;
    let bg_reviews: Vec<Review> = all(ctx, vec![Filter::Eq("state", Value::text("open"))]).await?;
    let campaigns: Vec<Campaign> = all(ctx, vec![Filter::Eq("state", Value::text("open"))]).await?;
    let items: Vec<CampaignItem> = all(ctx, vec![]).await?;
    let offboardings: Vec<Offboarding> = all(ctx, vec![]).await?;
    let alerts: Vec<Alert> = all(ctx, vec![Filter::Eq("state", Value::text("open"))]).await?;
    let verify = holdfast_store::verify_audit(ctx.store(), None).await?;
    let keys = ctx.store().audit_keys().await?;

    let active_owner: std::collections::HashSet<uuid::Uuid> =
        owners.iter().filter(|o| o.active).map(|o| o.id).collect();
    let inventory = InventoryCounts {
        identities: identities.len() as u64,
        by_kind: count(identities.iter().map(|i| i.kind.as_str().to_string())),
        by_tier: count(identities.iter().map(|i| i.tier.as_str().to_string())),
        by_source: count(identities.iter().map(|i| i.source.clone())),
        by_state: count(identities.iter().map(|i| i.state.as_str().to_string())),
        credentials: credentials.len() as u64,
        credentials_active: credentials
            .iter()
            .filter(|c| c.state == CredentialState::Active)
            .count() as u64,
        owners: owners.len() as u64,
        owners_departed: owners.iter().filter(|o| !o.active).count() as u64,
        systems: systems.len() as u64,
        leaks: leaks.len() as u64,
        vault_secrets: secrets.len() as u64,
    };
    let mut owasp: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut severity: BTreeMap<String, u64> = BTreeMap::new();
    for f in raised.iter().chain(&accepted) {
        for o in &f.owasp {
            *owasp
                .entry(o.clone())
                .or_default()
                .entry(f.severity.as_str().to_string())
                .or_default() += 1;
        }
        *severity.entry(f.severity.as_str().to_string()).or_default() += 1;
    }
    let workflows = Workflows {
        requests_pending: requests.len() as u64,
        leases_active: leases.len() as u64,
        breakglass_reviews_open: bg_reviews.len() as u64,
        review_campaigns_open: campaigns.len() as u64,
        review_items_pending: items
            .iter()
            .filter(|i| i.decision == holdfast_core::ItemDecision::Pending)
            .count() as u64,
        review_items_missed: items
            .iter()
            .filter(|i| {
                matches!(
                    i.decision,
                    holdfast_core::ItemDecision::Missed
                        | holdfast_core::ItemDecision::MissedSuspended
                )
            })
            .count() as u64,
        offboardings_running: offboardings
            .iter()
            .filter(|o| o.state == holdfast_core::OffboardingState::Running)
            .count() as u64,
        offboardings_waiting: offboardings
            .iter()
            .filter(|o| o.state == holdfast_core::OffboardingState::Waiting)
            .count() as u64,
        offboardings_complete: offboardings
            .iter()
            .filter(|o| o.outcome.as_deref() == Some("complete"))
            .count() as u64,
        offboardings_copies_remain: offboardings
            .iter()
            .filter(|o| o.outcome.as_deref() == Some("copies_remain"))
            .count() as u64,
        alerts_open: count(alerts.iter().map(|a| a.severity.as_str().to_string())),
    };
    let audit = AuditStatus {
        ok: verify.ok,
        records_checked: verify.records_checked,
        head_seq: verify.last_seq,
        problem: verify.problem.map(|p| p.message),
        keys: keys.iter().map(|k| k.key_id.clone()).collect(),
    };
    let policy = ctx.state.policy.current();
    let owned = identities
        .iter()
        .filter(|i| i.owner_id.is_some_and(|o| active_owner.contains(&o)))
        .count();
    let mp = identities
        .iter()
        .filter(|i| i.tier != holdfast_core::Tier::Standard)
        .count();
    let exposures: usize = credentials.iter().map(|c| c.exposures.len()).sum();
    let facts = |id: &str| -> Vec<String> {
        let i = &inventory;
        match id {
            "GV.SC-07" => vec![format!(
                "{} third-party (OAuth) identities inventoried",
                i.by_kind.get("oauth_app").copied().unwrap_or(0)
            )],
            "ID.AM-01" => vec![format!("{} systems registered with their environment", i.systems)],
            "ID.AM-02" => vec![format!(
                "{} non-human identities inventoried from {} sources; {} credentials tracked by fingerprint",
                i.identities,
                i.by_source.len(),
                i.credentials
            )],
            "ID.AM-05" => vec![format!(
                "{mp} identities on the management-plane or break-glass tier; blast radius computed for every identity"
            )],
            "ID.AM-08" => vec![format!(
                "{} offboardings complete, {} with copies remaining, {} in progress",
                workflows.offboardings_complete,
                workflows.offboardings_copies_remain,
                workflows.offboardings_running + workflows.offboardings_waiting
            )],
            "ID.RA-01" => vec![format!(
                "{} findings raised with evidence and history; {} unclaimed leaks",
                raised.len() + accepted.len(),
                i.leaks
            )],
            "PR.AA-01" => vec![
                format!("{owned} of {} identities have an active owner", i.identities),
                format!("{} secrets held in the vault", i.vault_secrets),
            ],
            "PR.AA-02" => vec![format!("{} credentials bound to one identity each", i.credentials)],
            "PR.AA-03" => vec![format!(
                "{} short-lived grants (leases) active, issued as signed JWTs, certificates or database logins",
                workflows.leases_active
            )],
            "PR.AA-04" => vec!["grant tokens are Ed25519-signed and verifiable against the published JWKS".to_string()],
            "PR.AA-05" => vec![
                format!(
                    "policy set version {} (sha256 {}) decides every API action",
                    policy.number,
                    policy.sha256.get(..12).unwrap_or_default()
                ),
                format!(
                    "{} access requests pending; {} review campaigns open, {} items missed",
                    workflows.requests_pending,
                    workflows.review_campaigns_open,
                    workflows.review_items_missed
                ),
            ],
            "PR.DS-01" => vec![format!(
                "{} secrets sealed in the vault; {exposures} exposure locations recorded",
                i.vault_secrets
            )],
            "PR.PS-01" => vec!["CI and cloud trust configurations judged on every discovery import".to_string()],
            "PR.PS-04" => vec![format!(
                "audit chain {}: {} records checked",
                if audit.ok { "verified" } else { "verification FAILED" },
                audit.records_checked
            )],
            "PR.IR-01" => vec![format!("{} systems across environments", i.systems)],
            "DE.CM-03" => vec![format!(
                "{} alerts open from per-identity baselines",
                workflows.alerts_open.values().sum::<u64>()
            )],
            "DE.CM-09" => vec![format!(
                "{exposures} copies of credentials found by the scanner or connectors; {} unknown secrets",
                i.leaks
            )],
            "RS.MI-01" => vec!["containment decided by policy (suspend, revoke leases, rotate secrets) on critical alerts".to_string()],
            _ => Vec::new(),
        }
    };
    let csf: Vec<CsfEvidence> = holdfast_posture::CSF_OUTCOMES
        .iter()
        .map(|o| {
            let mapped: Vec<&FindingRecord> = raised
                .iter()
                .filter(|f| f.csf.iter().any(|c| c == o.id))
                .collect();
            let serious = mapped.iter().any(|f| rank(f.severity) >= 3);
            let holds = o.id != "PR.PS-04" || audit.ok;
            CsfEvidence {
                id: o.id.to_string(),
                function: o.function.to_string(),
                category: o.category.to_string(),
                outcome: o.outcome.to_string(),
                controls: o.holdfast.to_string(),
                evidence: facts(o.id),
                open_findings: mapped.len() as u64,
                satisfied: !serious && holds,
            }
        })
        .collect();
    raised.sort_by(|a, b| {
        rank(b.severity)
            .cmp(&rank(a.severity))
            .then(a.first_seen.cmp(&b.first_seen))
    });
    raised.truncate(100);
    let generated_by = ctx
        .principal
        .as_ref()
        .map(|p| p.actor())
        .unwrap_or_else(|| "holdfast".into());
    Ok(Report {
        generated_at: ctx.now(),
        generated_by,
        version: env!("CARGO_PKG_VERSION").to_string(),
        inventory,
        owasp,
        severity,
        accepted: accepted.len() as u64,
        trend,
        top_findings: raised
            .into_iter()
            .filter(|f| f.state == FindingState::Open)
            .collect(),
        csf,
        workflows,
        audit,
    })
}

#[utoipa::path(get, path = "/v1/report", tag = "posture", params(ReportParams),
    responses((status = 200, description = "The evidence report: JSON, HTML or OSCAL assessment results"),
        (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn report(ctx: Ctx, Query(p): Query<ReportParams>) -> ApiResult<Response> {
    ctx.require("report.read").await?;
    let format = p.format.unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "html" | "oscal") {
        return Err(ApiError::invalid(
            "format",
            format!("`{format}` is not json, html or oscal"),
        ));
    }
    let r = gather(&ctx).await?;
    let (ct, body) = match format.as_str() {
        "html" => ("text/html; charset=utf-8", r.to_html()),
        "oscal" => (
            "application/json",
            serde_json::to_string_pretty(&r.to_oscal())
                .map_err(|e| ApiError::internal("rendering the report", e))?,
        ),
        _ => (
            "application/json",
            serde_json::to_string_pretty(&r)
                .map_err(|e| ApiError::internal("rendering the report", e))?,
        ),
    };
    Ok(([(axum::http::header::CONTENT_TYPE, ct)], body).into_response())
}
