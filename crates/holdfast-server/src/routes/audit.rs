//! `/v1/audit`: read, tail and verify the tamper-evident audit log (admin scope).

use axum::Json as AxumJson;
use holdfast_audit::{AuditEvent, Checkpoint, PublicKeyInfo, StoredRecord, VerifyReport};
use holdfast_types::{AuditPage, AuditRecordView};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::state::Ctx;

fn view(r: StoredRecord) -> ApiResult<AuditRecordView> {
    let event: AuditEvent = serde_json::from_str(&r.body).map_err(|_| {
        ApiError::internal(
            "an audit record is unreadable",
            format!("record {} does not parse", r.seq),
        )
    })?;
    Ok(AuditRecordView {
        seq: r.seq,
        hash: r.hash,
        prev_hash: r.prev_hash,
        event,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Records after this sequence number; without it, the newest `limit` records.
    pub after: Option<u64>,
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditParams), responses((status = 200, body = AuditPage)))]
pub async fn list(ctx: Ctx, Query(p): Query<AuditParams>) -> ApiResult<AxumJson<AuditPage>> {
    ctx.require("audit.read").await?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    if p.after.is_some_and(|a| a > i64::MAX as u64) {
        return Err(ApiError::invalid(
            "after",
            "is larger than any sequence number",
        ));
    }
    let tail_mode = p.after.is_none();
    let records = match p.after {
        Some(after) => ctx.store().audit_records(after, limit).await?,
        None => ctx.store().audit_tail(limit).await?,
    };
    let next = (!tail_mode && records.len() == limit as usize)
        .then(|| records.last().map(|r| r.seq.to_string()))
        .flatten();
    let items = records
        .into_iter()
        .map(view)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(AxumJson(AuditPage { items, next }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VerifyParams {
    /// Comma-separated hex public keys to trust instead of the keys registered in the store.
    pub public_keys: Option<String>,
}

#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit", params(VerifyParams), responses((status = 200, body = VerifyReport)))]
pub async fn verify(ctx: Ctx, Query(p): Query<VerifyParams>) -> ApiResult<AxumJson<VerifyReport>> {
    ctx.require("audit.verify").await?;
    let trusted = match p.public_keys {
        Some(list) => {
            let mut infos = vec![];
            for k in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                let info = PublicKeyInfo {
                    key_id: String::new(),
                    public_key: k.to_string(),
                };
                let key = holdfast_audit::AuditKey::from_info(&info)
                    .map_err(|e| ApiError::invalid("public_keys", e.to_string()))?;
                infos.push(PublicKeyInfo {
                    key_id: key.key_id,
                    public_key: k.to_string(),
                });
            }
            Some(infos)
        }
        None => None,
    };
    Ok(AxumJson(
        holdfast_store::verify_audit(ctx.store(), trusted).await?,
    ))
}

#[utoipa::path(get, path = "/v1/audit/keys", tag = "audit", responses((status = 200, body = Vec<PublicKeyInfo>)))]
pub async fn keys(ctx: Ctx) -> ApiResult<AxumJson<Vec<PublicKeyInfo>>> {
    ctx.require("audit.keys").await?;
    Ok(AxumJson(ctx.store().audit_keys().await?))
}

#[utoipa::path(get, path = "/v1/audit/checkpoints", tag = "audit", responses((status = 200, body = Vec<Checkpoint>)))]
pub async fn checkpoints(ctx: Ctx) -> ApiResult<AxumJson<Vec<Checkpoint>>> {
    ctx.require("audit.checkpoints").await?;
    Ok(AxumJson(ctx.store().audit_checkpoints().await?))
}
