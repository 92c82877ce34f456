//! A typed HTTP client for Holdfast's `/v1` API, used by the CLI and the end-to-end tests.

use holdfast_audit::{Checkpoint, PublicKeyInfo, VerifyReport};
use holdfast_types::*;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// What went wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with its error envelope.
    #[error("{} ({status})", error.message)]
    Api { status: u16, error: ErrorDetail },
    /// The server could not be reached or the exchange broke.
    #[error("could not reach Holdfast at {addr}: {detail}")]
    Transport { addr: String, detail: String },
    /// The answer was not what the API documents.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

impl ClientError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A connection to one Holdfast server.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// Query parameters as name/value pairs; `None` values are left out.
pub type Params<'a> = Vec<(&'a str, Option<String>)>;

impl Client {
    /// A client for `addr` (e.g. `http://127.0.0.1:8200`), trusting `ca_pem` in addition to the
    /// platform's roots when given.
    pub fn new(addr: &str, token: Option<String>, ca_pem: Option<&[u8]>) -> Result<Self> {
        let mut b = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60));
        if let Some(pem) = ca_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| ClientError::Decode(format!("the CA certificate is not PEM: {e}")))?;
            b = b.tls_certs_merge([cert]);
        }
        let http = b.build().map_err(|e| ClientError::Transport {
            addr: addr.into(),
            detail: e.to_string(),
        })?;
        Ok(Self {
            http,
            base: addr.trim_end_matches('/').to_string(),
            token,
        })
    }

    pub fn with_token(&self, token: Option<String>) -> Self {
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            token,
        }
    }

    pub fn addr(&self) -> &str {
        &self.base
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: Params<'_>,
        body: Option<&B>,
    ) -> Result<T> {
        let url = format!("{}/v1{path}", self.base);
        let mut req = self.http.request(method, &url);
        let q: Vec<(&str, String)> = params
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        if !q.is_empty() {
            req = req.query(&q);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(req).await
    }

    /// Sends a built request and reads its answer (JSON, or the error body).
    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T> {
        let resp = req.send().await.map_err(|e| ClientError::Transport {
            addr: self.base.clone(),
            detail: e.to_string(),
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| ClientError::Transport {
            addr: self.base.clone(),
            detail: e.to_string(),
        })?;
        if status.is_success() {
            let bytes = if status == StatusCode::NO_CONTENT || bytes.is_empty() {
                &b"null"[..]
            } else {
                &bytes[..]
            };
            return serde_json::from_slice(bytes).map_err(|e| ClientError::Decode(e.to_string()));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => Err(ClientError::Api {
                status: status.as_u16(),
                error: b.error,
            }),
            Err(_) => Err(ClientError::Api {
                status: status.as_u16(),
                error: ErrorDetail {
                    code: "http".into(),
                    message: format!("HTTP {status}"),
                    field: None,
                },
            }),
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, params: Params<'_>) -> Result<T> {
        self.call::<(), T>(Method::GET, path, params, None).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.call(Method::POST, path, vec![], Some(body)).await
    }

    async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.call(Method::PUT, path, vec![], Some(body)).await
    }

    async fn patch<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.call(Method::PATCH, path, vec![], Some(body)).await
    }

    pub async fn health(&self) -> Result<Health> {
        self.get("/sys/health", vec![]).await
    }

    pub async fn init(&self) -> Result<InitResponse> {
        self.post("/sys/init", &serde_json::json!({})).await
    }

    /// `operator init` with the vault's share options.
    pub async fn init_with(&self, r: &holdfast_types::InitRequest) -> Result<InitResponse> {
        self.post("/sys/init", r).await
    }

    pub async fn unseal(&self, share: &str) -> Result<holdfast_types::SealStatusView> {
        self.post(
            "/sys/unseal",
            &holdfast_types::UnsealRequest {
                share: Some(share.to_string()),
            },
        )
        .await
    }

    pub async fn seal(&self) -> Result<holdfast_types::SealStatusView> {
        self.post("/sys/seal", &serde_json::json!({})).await
    }

    pub async fn rekey_start(
        &self,
        r: &holdfast_types::InitRequest,
    ) -> Result<holdfast_types::RekeyStatus> {
        self.post("/sys/rekey", r).await
    }

    /// `step` is `authorize` (a current share) or `verify` (a new share).
    pub async fn rekey_share(
        &self,
        step: &str,
        share: &str,
    ) -> Result<holdfast_types::RekeyStatus> {
        self.post(
            &format!("/sys/rekey/{step}"),
            &holdfast_types::UnsealRequest {
                share: Some(share.to_string()),
            },
        )
        .await
    }

    pub async fn rotate_keyring(&self) -> Result<holdfast_types::KeyringRotated> {
        self.post("/sys/rotate-keyring", &serde_json::json!({}))
            .await
    }

    pub async fn policy(&self, version: Option<i64>) -> Result<holdfast_types::PolicyVersionView> {
        match version {
            None => self.get("/policy", vec![]).await,
            Some(n) => self.get(&format!("/policy/versions/{n}"), vec![]).await,
        }
    }

    pub async fn policy_history(&self) -> Result<holdfast_types::PolicyHistory> {
        self.get("/policy/history", vec![]).await
    }

    pub async fn apply_policy(
        &self,
        r: &holdfast_types::ApplyPolicyRequest,
    ) -> Result<holdfast_types::PolicyApplied> {
        self.put("/policy", r).await
    }

    pub async fn apply_policy_entities(
        &self,
        r: &holdfast_types::ApplyPolicyRequest,
    ) -> Result<holdfast_types::PolicyApplied> {
        self.put("/policy/entities", r).await
    }

    pub async fn authorize(
        &self,
        r: &holdfast_types::AuthorizeRequest,
    ) -> Result<holdfast_types::AuthorizeResponse> {
        self.post("/authorize", r).await
    }

    pub async fn create_access_request(
        &self,
        r: &holdfast_types::CreateAccessRequest,
    ) -> Result<holdfast_core::AccessRequest> {
        self.post("/requests", r).await
    }

    pub async fn access_request(&self, id: uuid::Uuid) -> Result<holdfast_core::AccessRequest> {
        self.get(&format!("/requests/{id}"), vec![]).await
    }

    /// `step` is `approve`, `deny` or `cancel`.
    pub async fn decide_access_request(
        &self,
        id: uuid::Uuid,
        step: &str,
        comment: Option<String>,
    ) -> Result<holdfast_core::AccessRequest> {
        self.post(
            &format!("/requests/{id}/{step}"),
            &holdfast_types::DecideRequest { comment },
        )
        .await
    }

    pub async fn issue_grant(&self, id: uuid::Uuid) -> Result<holdfast_types::IssuedGrant> {
        self.post(&format!("/requests/{id}/issue"), &serde_json::json!({}))
            .await
    }

    pub async fn renew_lease(
        &self,
        id: uuid::Uuid,
        ttl_seconds: Option<u32>,
    ) -> Result<holdfast_types::IssuedGrant> {
        self.post(
            &format!("/leases/{id}/renew"),
            &holdfast_types::RenewLeaseRequest { ttl_seconds },
        )
        .await
    }

    pub async fn revoke_lease(&self, id: uuid::Uuid) -> Result<holdfast_core::Lease> {
        self.post(&format!("/leases/{id}/revoke"), &serde_json::json!({}))
            .await
    }

    pub async fn revoke_holder(
        &self,
        holder: &str,
        reason: Option<String>,
    ) -> Result<holdfast_types::RevokedLeases> {
        self.post(
            "/leases/revoke-holder",
            &holdfast_types::RevokeHolderRequest {
                holder: Some(holder.to_string()),
                reason,
            },
        )
        .await
    }

    pub async fn breakglass(
        &self,
        r: &holdfast_types::CreateAccessRequest,
    ) -> Result<holdfast_types::IssuedGrant> {
        self.post("/breakglass", r).await
    }

    pub async fn reviews(&self, state: Option<&str>) -> Result<holdfast_types::ReviewPage> {
        self.get("/reviews", vec![("state", state.map(str::to_string))])
            .await
    }

    pub async fn close_review(
        &self,
        id: uuid::Uuid,
        notes: Option<String>,
    ) -> Result<holdfast_core::Review> {
        self.post(
            &format!("/reviews/{id}/close"),
            &holdfast_types::CloseReviewRequest { notes },
        )
        .await
    }

    pub async fn step_up_enroll(&self) -> Result<holdfast_types::StepUpEnrolled> {
        self.post("/auth/step-up/enroll", &serde_json::json!({}))
            .await
    }

    pub async fn step_up(&self, code: &str) -> Result<holdfast_types::StepUpStatus> {
        self.post(
            "/auth/step-up",
            &holdfast_types::StepUpRequest {
                code: Some(code.to_string()),
            },
        )
        .await
    }

    pub async fn x509_trust(&self) -> Result<holdfast_types::X509Trust> {
        self.get("/grants/x509", vec![]).await
    }

    pub async fn jwks(&self) -> Result<holdfast_types::Jwks> {
        self.get("/grants/jwks", vec![]).await
    }

    pub async fn introspect(&self, token: &str) -> Result<holdfast_types::Introspection> {
        self.post(
            "/grants/introspect",
            &holdfast_types::IntrospectRequest {
                token: Some(token.to_string()),
            },
        )
        .await
    }

    pub async fn authorize_batch(
        &self,
        r: &holdfast_types::BatchAuthorizeRequest,
    ) -> Result<holdfast_types::BatchAuthorizeResponse> {
        self.post("/authorize/batch", r).await
    }

    pub async fn openapi(&self) -> Result<serde_json::Value> {
        self.get("/openapi.json", vec![]).await
    }

    /// One page of any list route (`/identities`, `/owners`, …): its items and the next cursor.
    pub async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        p: Params<'_>,
    ) -> Result<(Vec<T>, Option<String>)> {
        #[derive(serde::Deserialize)]
        struct Page<T> {
            items: Vec<T>,
            next: Option<String>,
        }
        let page: Page<T> = self.get(path, p).await?;
        Ok((page.items, page.next))
    }

    /// A raw GET returning JSON, for routes without a typed method.
    pub async fn get_json(&self, path: &str, params: Params<'_>) -> Result<serde_json::Value> {
        self.get(path, params).await
    }

    pub async fn create_owner(&self, r: &CreateOwnerRequest) -> Result<OwnerView> {
        self.post("/owners", r).await
    }
    pub async fn list_owners(&self, p: Params<'_>) -> Result<OwnerPage> {
        self.get("/owners", p).await
    }
    pub async fn owner(&self, id_or_name: &str) -> Result<OwnerView> {
        self.get(&format!("/owners/{id_or_name}"), vec![]).await
    }
    pub async fn update_owner(
        &self,
        id_or_name: &str,
        r: &UpdateOwnerRequest,
    ) -> Result<OwnerView> {
        self.patch(&format!("/owners/{id_or_name}"), r).await
    }

    pub async fn create_system(&self, r: &CreateSystemRequest) -> Result<SystemView> {
        self.post("/systems", r).await
    }
    pub async fn list_systems(&self, p: Params<'_>) -> Result<SystemPage> {
        self.get("/systems", p).await
    }
    pub async fn system(&self, id_or_name: &str) -> Result<SystemView> {
        self.get(&format!("/systems/{id_or_name}"), vec![]).await
    }

    pub async fn create_identity(&self, r: &CreateIdentityRequest) -> Result<IdentityView> {
        self.post("/identities", r).await
    }
    pub async fn list_identities(&self, p: Params<'_>) -> Result<IdentityPage> {
        self.get("/identities", p).await
    }
    pub async fn identity(&self, id: &str) -> Result<IdentityView> {
        self.get(&format!("/identities/{id}"), vec![]).await
    }
    pub async fn update_identity(
        &self,
        id: &str,
        r: &UpdateIdentityRequest,
    ) -> Result<IdentityView> {
        self.patch(&format!("/identities/{id}"), r).await
    }
    pub async fn transition(&self, id: &str, r: &TransitionRequest) -> Result<IdentityView> {
        self.post(&format!("/identities/{id}/transition"), r).await
    }

    pub async fn create_credential(&self, r: &CreateCredentialRequest) -> Result<CredentialView> {
        self.post("/credentials", r).await
    }
    pub async fn list_credentials(&self, p: Params<'_>) -> Result<CredentialPage> {
        self.get("/credentials", p).await
    }
    pub async fn credential(&self, id: &str) -> Result<CredentialView> {
        self.get(&format!("/credentials/{id}"), vec![]).await
    }
    pub async fn update_credential(
        &self,
        id: &str,
        r: &UpdateCredentialRequest,
    ) -> Result<CredentialView> {
        self.patch(&format!("/credentials/{id}"), r).await
    }
    pub async fn add_exposure(&self, id: &str, r: &AddExposureRequest) -> Result<CredentialView> {
        self.post(&format!("/credentials/{id}/exposures"), r).await
    }

    pub async fn create_entitlement(
        &self,
        r: &CreateEntitlementRequest,
    ) -> Result<EntitlementView> {
        self.post("/entitlements", r).await
    }
    pub async fn list_entitlements(&self, p: Params<'_>) -> Result<EntitlementPage> {
        self.get("/entitlements", p).await
    }
    pub async fn entitlement(&self, id: &str) -> Result<EntitlementView> {
        self.get(&format!("/entitlements/{id}"), vec![]).await
    }
    pub async fn delete_entitlement(&self, id: &str, version: Option<i64>) -> Result<()> {
        self.call::<(), ()>(
            Method::DELETE,
            &format!("/entitlements/{id}"),
            vec![("version", version.map(|v| v.to_string()))],
            None,
        )
        .await
    }

    /// Runs a connector over files on the server and imports what it finds.
    pub async fn discover(
        &self,
        connector: &str,
        r: &holdfast_types::DiscoverRequest,
    ) -> Result<holdfast_types::ImportReport> {
        self.post(&format!("/discover/{connector}"), r).await
    }

    pub async fn sources(&self) -> Result<holdfast_types::SourceList> {
        self.get("/discover/sources", vec![]).await
    }

    /// The blast radius of a graph node key, an identity id or a secret's fingerprint.
    pub async fn blast_radius(
        &self,
        node: Option<&str>,
        identity: Option<Uuid>,
        max_paths: Option<usize>,
    ) -> Result<holdfast_types::BlastRadiusView> {
        let fingerprint = node
            .filter(|n| n.starts_with("sha256:"))
            .map(str::to_string);
        let node = node
            .filter(|n| !n.starts_with("sha256:"))
            .map(str::to_string);
        self.get(
            "/graph/blast-radius",
            vec![
                ("node", node),
                ("identity", identity.map(|i| i.to_string())),
                ("fingerprint", fingerprint),
                ("max_paths", max_paths.map(|m| m.to_string())),
            ],
        )
        .await
    }

    pub async fn put_secret(
        &self,
        path: &str,
        r: &holdfast_types::PutSecretRequest,
    ) -> Result<holdfast_types::SecretWritten> {
        self.call(Method::PUT, &format!("/secrets/{path}"), vec![], Some(r))
            .await
    }

    pub async fn get_secret(
        &self,
        path: &str,
        version: Option<u64>,
    ) -> Result<holdfast_types::SecretValueView> {
        self.get(
            &format!("/secrets/{path}"),
            vec![("version", version.map(|v| v.to_string()))],
        )
        .await
    }

    pub async fn start_rotation(
        &self,
        path: &str,
        r: &holdfast_types::StartRotationRequest,
    ) -> Result<holdfast_types::RotationView> {
        self.post(&format!("/secret-rotations/{path}"), r).await
    }

    pub async fn acknowledge_rotation(&self, path: &str) -> Result<holdfast_types::RotationView> {
        self.post(
            &format!("/secret-rotation-acks/{path}"),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn emergency_rotation(
        &self,
        r: &holdfast_types::EmergencyRotationRequest,
    ) -> Result<holdfast_types::EmergencyRotationReport> {
        self.post("/secret-rotations-emergency", r).await
    }

    pub async fn rotation(&self, path: &str) -> Result<holdfast_types::RotationView> {
        self.get(&format!("/secret-rotations/{path}"), vec![]).await
    }

    pub async fn secret_metadata(&self, path: &str) -> Result<holdfast_types::SecretMetaView> {
        self.get(&format!("/secret-metadata/{path}"), vec![]).await
    }

    /// `op` is `delete`, `undelete` or `destroy`.
    pub async fn secret_versions(
        &self,
        op: &str,
        path: &str,
        versions: Vec<u64>,
    ) -> Result<holdfast_types::SecretMetaView> {
        self.post(
            &format!("/secret-versions/{op}/{path}"),
            &holdfast_types::SecretVersionsRequest { versions },
        )
        .await
    }

    pub async fn scan_report(&self, r: &ScanReport) -> Result<ScanReportResult> {
        self.post("/scan/reports", r).await
    }
    /// Posts a batch of events (JSON lines or a CloudTrail file, gzip or not) as it is.
    pub async fn ingest_events(
        &self,
        body: Vec<u8>,
        format: Option<&str>,
        source: Option<&str>,
    ) -> Result<holdfast_monitor::IngestReport> {
        let mut req = self
            .http
            .post(format!("{}/v1/events", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(body);
        let q: Vec<(&str, &str)> = [("format", format), ("source", source)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        if !q.is_empty() {
            req = req.query(&q);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn list_alerts(&self, p: Params<'_>) -> Result<holdfast_monitor::AlertPage> {
        self.get("/alerts", p).await
    }

    pub async fn alert(&self, id: Uuid) -> Result<holdfast_monitor::Alert> {
        self.get(&format!("/alerts/{id}"), vec![]).await
    }

    /// `ack` or `close`.
    pub async fn update_alert(
        &self,
        id: Uuid,
        verb: &str,
        note: Option<String>,
    ) -> Result<holdfast_monitor::Alert> {
        self.post(
            &format!("/alerts/{id}/{verb}"),
            &holdfast_monitor::AlertUpdate { note },
        )
        .await
    }

    pub async fn usage(
        &self,
        id: Uuid,
        window_days: Option<i64>,
    ) -> Result<holdfast_monitor::UsageView> {
        self.get(
            &format!("/identities/{id}/usage"),
            vec![("window_days", window_days.map(|d| d.to_string()))],
        )
        .await
    }

    pub async fn offboard(
        &self,
        identity: &str,
        reason: &str,
    ) -> Result<holdfast_core::Offboarding> {
        self.post(
            &format!("/identities/{identity}/offboard"),
            &holdfast_types::OffboardRequest {
                reason: Some(reason.to_string()),
            },
        )
        .await
    }

    pub async fn offboarding(&self, id: Uuid) -> Result<holdfast_core::Offboarding> {
        self.get(&format!("/offboardings/{id}"), vec![]).await
    }

    pub async fn list_offboardings(
        &self,
        p: Params<'_>,
    ) -> Result<holdfast_types::OffboardingPage> {
        self.get("/offboardings", p).await
    }

    pub async fn confirm_offboarding_step(
        &self,
        id: Uuid,
        n: u32,
        note: &str,
    ) -> Result<holdfast_core::Offboarding> {
        self.post(
            &format!("/offboardings/{id}/steps/{n}/confirm"),
            &holdfast_types::ConfirmStepRequest {
                note: Some(note.to_string()),
            },
        )
        .await
    }

    pub async fn recheck_offboarding(&self, id: Uuid) -> Result<holdfast_core::Offboarding> {
        self.post(
            &format!("/offboardings/{id}/recheck"),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn depart_owner(
        &self,
        owner: &str,
        r: &holdfast_types::DepartRequest,
    ) -> Result<holdfast_types::DepartReport> {
        self.post(&format!("/owners/{owner}/depart"), r).await
    }

    /// The signed receipt file of a finished offboarding, byte for byte as issued.
    pub async fn offboarding_receipt(&self, id: Uuid) -> Result<String> {
        self.get_text(&format!("/offboardings/{id}/receipt"), vec![])
            .await
    }

    /// The evidence report: `json`, `html` or `oscal`, as the server rendered it.
    pub async fn report(&self, format: &str) -> Result<String> {
        self.get_text("/report", vec![("format", Some(format.to_string()))])
            .await
    }

    /// A response body as text, exactly as sent (errors read from the error envelope).
    async fn get_text(&self, path: &str, params: Params<'_>) -> Result<String> {
        let url = format!("{}/v1{path}", self.base);
        let mut req = self.http.get(&url);
        let q: Vec<(&str, String)> = params
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        if !q.is_empty() {
            req = req.query(&q);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let transport = |e: reqwest::Error| ClientError::Transport {
            addr: self.base.clone(),
            detail: e.to_string(),
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let text = resp.text().await.map_err(transport)?;
        if status.is_success() {
            return Ok(text);
        }
        Err(ClientError::Api {
            status: status.as_u16(),
            error: serde_json::from_str::<ErrorBody>(&text)
                .map(|b| b.error)
                .unwrap_or(ErrorDetail {
                    code: "http".into(),
                    message: format!("HTTP {status}"),
                    field: None,
                }),
        })
    }

    pub async fn start_campaign(
        &self,
        r: &holdfast_types::StartCampaignRequest,
    ) -> Result<holdfast_types::CampaignView> {
        self.post("/review-campaigns", r).await
    }

    pub async fn list_campaigns(&self, p: Params<'_>) -> Result<holdfast_types::CampaignPage> {
        self.get("/review-campaigns", p).await
    }

    pub async fn campaign(&self, id: Uuid) -> Result<holdfast_types::CampaignView> {
        self.get(&format!("/review-campaigns/{id}"), vec![]).await
    }

    pub async fn campaign_items(
        &self,
        id: Uuid,
        p: Params<'_>,
    ) -> Result<holdfast_types::CampaignItemPage> {
        self.get(&format!("/review-campaigns/{id}/items"), p).await
    }

    pub async fn decide_review_item(
        &self,
        campaign: Uuid,
        identity: &str,
        r: &holdfast_types::DecideItemRequest,
    ) -> Result<holdfast_core::CampaignItem> {
        self.post(&format!("/review-campaigns/{campaign}/items/{identity}"), r)
            .await
    }

    pub async fn list_findings(&self, p: Params<'_>) -> Result<holdfast_posture::FindingPage> {
        self.get("/findings", p).await
    }

    pub async fn finding(&self, id: Uuid) -> Result<holdfast_posture::FindingRecord> {
        self.get(&format!("/findings/{id}"), vec![]).await
    }

    pub async fn accept_finding(
        &self,
        id: Uuid,
        req: &holdfast_posture::AcceptFinding,
    ) -> Result<holdfast_posture::FindingRecord> {
        self.post(&format!("/findings/{id}/accept"), req).await
    }

    pub async fn recompute_findings(&self) -> Result<holdfast_posture::RecomputeReport> {
        self.post("/findings/recompute", &serde_json::json!({}))
            .await
    }

    pub async fn posture(&self) -> Result<holdfast_posture::PostureSummary> {
        self.get("/posture", vec![]).await
    }

    pub async fn posture_catalog(&self) -> Result<serde_json::Value> {
        self.get("/posture/catalog", vec![]).await
    }

    pub async fn identity_risk(&self, id: Uuid) -> Result<holdfast_posture::Risk> {
        self.get(&format!("/identities/{id}/risk"), vec![]).await
    }

    pub async fn list_leaks(&self, p: Params<'_>) -> Result<LeakPage> {
        self.get("/leaks", p).await
    }

    pub async fn create_token(&self, r: &CreateTokenRequest) -> Result<CreatedToken> {
        self.post("/tokens", r).await
    }
    pub async fn list_tokens(&self, p: Params<'_>) -> Result<TokenPage> {
        self.get("/tokens", p).await
    }
    pub async fn revoke_token(&self, id: Uuid) -> Result<TokenView> {
        self.post(&format!("/tokens/{id}/revoke"), &serde_json::json!({}))
            .await
    }

    pub async fn audit(&self, after: Option<u64>, limit: Option<u32>) -> Result<AuditPage> {
        self.get(
            "/audit",
            vec![
                ("after", after.map(|a| a.to_string())),
                ("limit", limit.map(|l| l.to_string())),
            ],
        )
        .await
    }
    pub async fn audit_verify(&self, public_keys: Option<String>) -> Result<VerifyReport> {
        self.get("/audit/verify", vec![("public_keys", public_keys)])
            .await
    }
    pub async fn audit_keys(&self) -> Result<Vec<PublicKeyInfo>> {
        self.get("/audit/keys", vec![]).await
    }
    pub async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.get("/audit/checkpoints", vec![]).await
    }
}
