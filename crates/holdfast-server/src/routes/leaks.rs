//! `/v1/scan/reports` and `/v1/leaks`: scanner findings become exposure locations of the credential
//! with the same fingerprint, or — when no credential matches — a leak: an unknown credential in the
//! wild. Only fingerprints, rules, locations and redacted previews arrive here, never values.

use std::collections::BTreeMap;

use axum::Json as AxumJson;
use axum::extract::Path;
use holdfast_core::{Credential, Exposure, Fingerprint, Leak, validate};
use holdfast_store::{Change, Filter, Query as StoreQuery, Table, Value, find, get_by};
use holdfast_types::{LeakPage, LeakView, ScanReport, ScanReportResult};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{eq, must_get, page, parse_id, table_query};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::Ctx;

/// Most findings accepted in one report.
pub const MAX_FINDINGS: usize = 5000;

struct Parsed {
    fingerprint: Fingerprint,
    rule: String,
    location: String,
    preview: String,
}

fn parse(report: ScanReport) -> ApiResult<(String, Vec<Parsed>)> {
    let source = report.source.unwrap_or_else(|| "scanner".into());
    let mut errs = holdfast_core::ValidationErrors::default();
    validate::check_handle(&mut errs, "source", &source);
    errs.into_result()?;
    if report.findings.len() > MAX_FINDINGS {
        return Err(ApiError::invalid(
            "findings",
            format!(
                "holds {} findings; send at most {MAX_FINDINGS} per report",
                report.findings.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(report.findings.len());
    for (n, f) in report.findings.into_iter().enumerate() {
        let field = |x: &str| format!("findings[{n}].{x}");
        let fp = f
            .fingerprint
            .ok_or_else(|| ApiError::invalid(field("fingerprint"), "is required"))?;
        let fingerprint: Fingerprint =
            fp.parse()
                .map_err(|e: holdfast_core::fingerprint::FingerprintParseError| {
                    ApiError::invalid(field("fingerprint"), e.to_string())
                })?;
        let rule = f
            .rule
            .ok_or_else(|| ApiError::invalid(field("rule"), "is required"))?;
        let location = f
            .location
            .ok_or_else(|| ApiError::invalid(field("location"), "is required"))?;
        let preview = f.preview.unwrap_or_default();
        let mut errs = holdfast_core::ValidationErrors::default();
        validate::check_handle(&mut errs, &field("rule"), &rule);
        validate::check_name(&mut errs, &field("location"), &location);
        if preview.chars().count() > 64 {
            errs.push(
                field("preview"),
                "must be at most 64 characters: send a redacted preview, never the secret",
            );
        }
        errs.into_result()?;
        out.push(Parsed {
            fingerprint,
            rule,
            location,
            preview,
        });
    }
    Ok((source, out))
}

#[utoipa::path(post, path = "/v1/scan/reports", tag = "scan", request_body = ScanReport,
    responses((status = 200, body = ScanReportResult), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn report(
    ctx: Ctx,
    Json(req): Json<ScanReport>,
) -> ApiResult<AxumJson<ScanReportResult>> {
    ctx.require("scan.report").await?;
    let (source, findings) = parse(req)?;
    let now = ctx.now();
    let mut by_fp: BTreeMap<Fingerprint, Vec<Parsed>> = BTreeMap::new();
    for f in findings {
        by_fp.entry(f.fingerprint.clone()).or_default().push(f);
    }
    let mut changes = vec![];
    let mut result = ScanReportResult {
        matched: 0,
        unmatched: 0,
        new_locations: 0,
        credentials: vec![],
        leaks: vec![],
    };
    for (fp, group) in by_fp {
        let q = StoreQuery::new(Table::Credentials)
            .filter(Filter::Eq("fingerprint", Value::text(fp.to_string())))
            .limit(100);
        let creds: Vec<Credential> = find(ctx.store(), &q).await?;
        let exposures = |existing: &[Exposure]| -> Vec<Exposure> {
            let mut add: Vec<Exposure> = vec![];
            for f in &group {
                if !existing
                    .iter()
                    .chain(add.iter())
                    .any(|e| e.location == f.location)
                {
                    add.push(Exposure {
                        location: f.location.clone(),
                        source: source.clone(),
                        found_at: now,
                        detail: Some(format!("rule {}, {}", f.rule, f.preview)),
                    });
                }
            }
            add
        };
        if creds.is_empty() {
            result.unmatched += group.len();
            let first = group
                .first()
                .map(|f| (f.rule.clone(), f.preview.clone()))
                .unwrap_or_default();
            match get_by::<Leak>(ctx.store(), "fingerprint", &fp.to_string()).await? {
                Some(mut leak) => {
                    let add = exposures(&leak.locations);
                    result.new_locations += add.len();
                    leak.locations.extend(add);
                    leak.last_seen = now;
                    leak.version += 1;
                    result.leaks.push(leak.id);
                    changes.push(Change::update(&leak)?);
                }
                None => {
                    let add = exposures(&[]);
                    result.new_locations += add.len();
                    let leak = Leak {
                        id: Uuid::now_v7(),
                        version: 1,
                        fingerprint: fp,
                        rule: first.0,
                        preview: first.1,
                        locations: add,
                        first_seen: now,
                        last_seen: now,
                    };
                    result.leaks.push(leak.id);
                    changes.push(Change::insert(&leak)?);
                }
            }
        } else {
            result.matched += group.len();
            for mut cred in creds {
                let add = exposures(&cred.exposures);
                if add.is_empty() {
                    continue;
                }
                result.new_locations += add.len();
                cred.exposures.extend(add);
                cred.updated_at = now;
                cred.version += 1;
                result.credentials.push(cred.id);
                changes.push(Change::update(&cred)?);
            }
        }
    }
    let detail = json!({
        "source": source,
        "matched": result.matched,
        "unmatched": result.unmatched,
        "new_locations": result.new_locations,
        "credentials": result.credentials,
        "leaks": result.leaks,
    });
    ctx.commit(changes, "scan.report", None, detail).await?;
    Ok(AxumJson(result))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LeakFilter {
    pub rule: Option<String>,
    pub fingerprint: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/leaks", tag = "scan", params(LeakFilter), responses((status = 200, body = LeakPage)))]
pub async fn list(ctx: Ctx, Query(f): Query<LeakFilter>) -> ApiResult<AxumJson<LeakPage>> {
    ctx.require("leak.list").await?;
    let q = eq(
        eq(table_query(Table::Leaks), "rule", f.rule),
        "fingerprint",
        f.fingerprint,
    );
    let (items, next) = page::<Leak>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(LeakPage {
        items: items.into_iter().map(Into::into).collect(),
        next,
    }))
}

#[utoipa::path(get, path = "/v1/leaks/{id}", tag = "scan", params(("id" = Uuid, Path)),
    responses((status = 200, body = LeakView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<LeakView>> {
    ctx.require("leak.show").await?;
    let l: Leak = must_get(&ctx, parse_id("leak", &raw)?).await?;
    Ok(AxumJson(l.into()))
}
