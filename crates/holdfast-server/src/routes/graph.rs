//! `/v1/discover` and `/v1/graph`: connector imports, the sources they came from and their
//! findings, and blast radius over the identity graph.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use holdfast_core::DiscoverySource;
use holdfast_discover::{Connector, Input, Options};
use holdfast_store::find_all;
use holdfast_types::{BlastRadiusView, DiscoverRequest, ImportReport, SourceList};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::must_get;
use crate::discovery;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::{AppState, Ctx};

/// Most files in one import.
pub const MAX_INPUTS: usize = 1000;

#[utoipa::path(post, path = "/v1/discover/{connector}", tag = "discovery", request_body = DiscoverRequest,
    params(("connector" = String, Path, description = "kubernetes, aws-iam, github-actions, terraform or env")),
    responses((status = 200, body = ImportReport), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn import(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(connector): Path<String>,
    Json(req): Json<DiscoverRequest>,
) -> ApiResult<AxumJson<ImportReport>> {
    ctx.require("discovery.import").await?;
    let connector: Connector =
        connector
            .parse()
            .map_err(|e: holdfast_discover::DiscoverError| {
                ApiError::invalid("connector", e.to_string())
            })?;
    if req.inputs.is_empty() {
        return Err(ApiError::invalid(
            "inputs",
            "is required: give at least one file",
        ));
    }
    if req.inputs.len() > MAX_INPUTS {
        return Err(ApiError::invalid(
            "inputs",
            format!("at most {MAX_INPUTS} files per import"),
        ));
    }
    let mut inputs = Vec::with_capacity(req.inputs.len());
    for (i, input) in req.inputs.into_iter().enumerate() {
        let name = input
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ApiError::invalid(format!("inputs[{i}].name"), "is required"))?;
        let content = input
            .content
            .ok_or_else(|| ApiError::invalid(format!("inputs[{i}].content"), "is required"))?;
        inputs.push(Input {
            name: name.chars().take(500).collect(),
            bytes: content.into_bytes(),
        });
    }
    let options = Options {
        system: req.system,
        now: Some(ctx.now()),
    };
    let discovery = tokio::task::spawn_blocking(move || {
        holdfast_discover::discover(connector, &inputs, &options)
    })
    .await
    .map_err(|e| ApiError::internal("running the connector", e))?
    .map_err(|e| ApiError::invalid("inputs", e.to_string()))?;
    let _one_import = state.graph.imports.lock().await;
    let (changes, report) = discovery::plan(ctx.store(), connector, &discovery, ctx.now()).await?;
    let detail = json!({
        "connector": connector.as_str(),
        "changed": report.changed,
        "identities_created": report.identities_created,
        "identities_updated": report.identities_updated,
        "identities_missing": report.identities_missing,
        "nodes_added": report.nodes_added,
        "nodes_removed": report.nodes_removed,
        "edges_added": report.edges_added,
        "edges_removed": report.edges_removed,
        "tiers_changed": report.tiers_changed,
        "findings": report.findings.len(),
    });
    ctx.commit(
        changes,
        "discovery.import",
        Some(format!("source:{}", report.source)),
        detail,
    )
    .await?;
    Ok(AxumJson(report))
}

#[utoipa::path(get, path = "/v1/discover/sources", tag = "discovery",
    responses((status = 200, body = SourceList)))]
pub async fn sources(ctx: Ctx) -> ApiResult<AxumJson<SourceList>> {
    ctx.require("discovery.sources").await?;
    let mut items: Vec<DiscoverySource> = find_all(ctx.store(), vec![], 1000).await?;
    items.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(AxumJson(SourceList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BlastRadiusQuery {
    /// A graph node key (`aws:arn:aws:iam::…:role/deploy`, `k8s:prod:serviceaccount:ns/name`).
    pub node: Option<String>,
    /// An identity id; its graph key is used.
    pub identity: Option<Uuid>,
    /// A secret's fingerprint (`sha256:…`, as the scanner reports it): the copy discovery found,
    /// or else the identity of the inventory credential with that fingerprint.
    pub fingerprint: Option<String>,
    /// Full paths to at most this many identities (default 50, at most 1000).
    pub max_paths: Option<usize>,
}

#[utoipa::path(get, path = "/v1/graph/blast-radius", tag = "graph", params(BlastRadiusQuery),
    responses((status = 200, body = BlastRadiusView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn blast_radius(
    ctx: Ctx,
    State(state): State<AppState>,
    Query(q): Query<BlastRadiusQuery>,
) -> ApiResult<AxumJson<BlastRadiusView>> {
    ctx.require("graph.blast_radius").await?;
    let max_paths = q.max_paths.unwrap_or(50);
    if max_paths > 1000 {
        return Err(ApiError::invalid("max_paths", "must be at most 1000"));
    }
    let graph = state.graph.get(ctx.store()).await?;
    let key = match (q.node, q.identity, q.fingerprint) {
        (Some(k), None, None) => k,
        (None, Some(id), None) => {
            let identity: holdfast_core::Identity = must_get(&ctx, id).await?;
            identity.graph_key.ok_or_else(|| {
                ApiError::not_found(format!("identity `{id}` is not in the identity graph: it was not discovered by a connector"))
            })?
        }
        (None, None, Some(fp)) => {
            let fp: holdfast_core::Fingerprint = fp.parse().map_err(|_| {
                ApiError::invalid("fingerprint", "must be `sha256:` and 64 hex digits")
            })?;
            let copy = format!("secret:{fp}");
            if graph.find(&copy).is_some() {
                copy
            } else {
                let q = holdfast_store::Query::new(holdfast_store::Table::Credentials)
                    .filter(holdfast_store::Filter::Eq(
                        "fingerprint",
                        holdfast_store::Value::text(fp.to_string()),
                    ))
                    .limit(50);
                let creds: Vec<holdfast_core::Credential> =
                    holdfast_store::find(ctx.store(), &q).await?;
                let mut found = None;
                for c in creds {
                    let identity: Option<holdfast_core::Identity> =
                        holdfast_store::get(ctx.store(), c.identity_id).await?;
                    if let Some(k) = identity
                        .and_then(|i| i.graph_key)
                        .filter(|k| graph.find(k).is_some())
                    {
                        found = Some(k);
                        break;
                    }
                }
                found.ok_or_else(|| {
                    ApiError::not_found(
                        "no secret or credential with that fingerprint is in the identity graph",
                    )
                })?
            }
        }
        _ => {
            return Err(ApiError::invalid(
                "node",
                "give exactly one of `node`, `identity` or `fingerprint`",
            ));
        }
    };
    let shown: String = key.chars().take(300).collect();
    let id = graph.find(&key).ok_or_else(|| {
        ApiError::not_found(format!("`{shown}` is not a node of the identity graph"))
    })?;
    let radius = graph.blast_radius(id, max_paths).ok_or_else(|| {
        ApiError::not_found(format!("`{shown}` is not a node of the identity graph"))
    })?;
    Ok(AxumJson(BlastRadiusView {
        radius,
        tier: graph.tier(id),
    }))
}
