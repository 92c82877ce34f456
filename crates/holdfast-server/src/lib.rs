//! Holdfast's HTTP API server: the `/v1` router, bearer authentication, the one error envelope,
//! the OpenAPI document, and serving over plain HTTP (loopback only) or TLS.
//!
//! Data flow of one request: [`auth::authenticate`] resolves the bearer token (or audits the
//! refusal) → the handler parses the body with [`extract::Json`] (field-naming errors) → checks the
//! policy set's decision for the token's principal ([`state::Ctx::require`], Cedar, audited on
//! refusal) → validates through `holdfast-core`
//! → [`state::Ctx::commit`] writes the change and its audit record in one store transaction →
//! the response is built from the committed record.

pub mod auth;
pub mod authz;
pub mod discovery;
pub mod edge;
pub mod error;
pub mod extract;
pub mod grants;
pub mod monitoring;
pub mod notify;
pub mod offboarding;
pub mod openapi;
pub mod posture;
pub mod rotation;
pub mod routes;
pub mod state;
pub mod vault;
pub mod x509;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use state::{AppState, Clock, RotatorConfig, SystemClock};

use crate::error::ApiError;
use crate::routes::{
    audit, campaigns, credentials, entitlements, events, findings, graph, identities, leaks,
    offboardings, owners, policy, report, requests, rotations, secrets, stepup, sys, systems,
    tokens,
};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Largest discovery import accepted (exports of large accounts and clusters run to tens of MB).
pub const DISCOVER_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/sys/health", get(sys::health))
        .route("/sys/init", post(sys::init))
        .route("/sys/unseal", post(sys::unseal))
        .route("/sys/seal", post(sys::seal))
        .route("/sys/rotate-keyring", post(sys::rotate_keyring))
        .route("/sys/rekey", post(sys::rekey_start))
        .route("/sys/rekey/authorize", post(sys::rekey_authorize))
        .route("/sys/rekey/verify", post(sys::rekey_verify))
        .route("/openapi.json", get(openapi::document))
        .route("/owners", post(owners::create).get(owners::list))
        .route("/owners/{owner}", get(owners::show).patch(owners::update))
        .route("/systems", post(systems::create).get(systems::list))
        .route("/systems/{system}", get(systems::show))
        .route(
            "/identities",
            post(identities::create).get(identities::list),
        )
        .route(
            "/identities/{id}",
            get(identities::show).patch(identities::update),
        )
        .route("/identities/{id}/transition", post(identities::transition))
        .route(
            "/credentials",
            post(credentials::create).get(credentials::list),
        )
        .route(
            "/credentials/{id}",
            get(credentials::show).patch(credentials::update),
        )
        .route(
            "/credentials/{id}/exposures",
            post(credentials::add_exposure),
        )
        .route(
            "/entitlements",
            post(entitlements::create).get(entitlements::list),
        )
        .route(
            "/entitlements/{id}",
            get(entitlements::show).delete(entitlements::delete),
        )
        .route("/scan/reports", post(leaks::report))
        .route("/leaks", get(leaks::list))
        .route("/leaks/{id}", get(leaks::show))
        .route("/tokens", post(tokens::create).get(tokens::list))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route("/audit", get(audit::list))
        .route("/audit/verify", get(audit::verify))
        .route("/audit/keys", get(audit::keys))
        .route("/audit/checkpoints", get(audit::checkpoints))
        .route("/secrets", get(secrets::list))
        .route("/secrets/{*path}", get(secrets::get).put(secrets::put))
        .route("/secret-metadata/{*path}", get(secrets::metadata))
        .route(
            "/secret-rotations/{*path}",
            post(rotations::start).get(rotations::show),
        )
        .route(
            "/secret-rotation-acks/{*path}",
            post(rotations::acknowledge),
        )
        .route("/secret-rotations-emergency", post(rotations::emergency))
        .route("/secret-versions/delete/{*path}", post(secrets::delete))
        .route("/secret-versions/undelete/{*path}", post(secrets::undelete))
        .route("/secret-versions/destroy/{*path}", post(secrets::destroy))
        .route("/discover/sources", get(graph::sources))
        .route("/graph/blast-radius", get(graph::blast_radius))
        .route("/policy", get(policy::show).put(policy::apply))
        .route("/policy/history", get(policy::history))
        .route("/policy/versions/{version}", get(policy::version))
        .route("/authorize", post(policy::authorize))
        .route("/authorize/batch", post(policy::authorize_batch))
        .route("/requests", post(requests::create).get(requests::list))
        .route("/requests/{id}", get(requests::show))
        .route("/requests/{id}/approve", post(requests::approve))
        .route("/requests/{id}/deny", post(requests::deny))
        .route("/requests/{id}/cancel", post(requests::cancel))
        .route("/requests/{id}/issue", post(requests::issue))
        .route("/leases", get(requests::leases))
        .route("/leases/revoke-holder", post(requests::revoke_holder))
        .route("/leases/{id}/renew", post(requests::renew))
        .route("/leases/{id}/revoke", post(requests::revoke))
        .route("/grants/jwks", get(requests::jwks))
        .route("/grants/introspect", post(requests::introspect))
        .route("/grants/x509", get(requests::x509_trust))
        .route("/breakglass", post(requests::breakglass))
        .route("/auth/step-up/enroll", post(stepup::enroll))
        .route("/auth/step-up", post(stepup::step_up))
        .route("/reviews", get(requests::reviews))
        .route("/reviews/{id}/close", post(requests::close_review))
        .route("/alerts", get(events::list))
        .route("/alerts/{id}", get(events::show))
        .route("/alerts/{id}/ack", post(events::acknowledge))
        .route("/alerts/{id}/close", post(events::close))
        .route("/identities/{id}/usage", get(events::usage))
        .route("/identities/{id}/risk", get(findings::risk))
        .route("/identities/{id}/offboard", post(offboardings::offboard))
        .route("/offboardings", get(offboardings::list))
        .route("/offboardings/{id}", get(offboardings::show))
        .route("/offboardings/{id}/receipt", get(offboardings::receipt))
        .route("/offboardings/{id}/recheck", post(offboardings::recheck))
        .route(
            "/offboardings/{id}/steps/{n}/confirm",
            post(offboardings::confirm),
        )
        .route("/owners/{name}/depart", post(offboardings::depart))
        .route(
            "/review-campaigns",
            get(campaigns::list).post(campaigns::start),
        )
        .route("/review-campaigns/{id}", get(campaigns::show))
        .route("/review-campaigns/{id}/items", get(campaigns::items))
        .route(
            "/review-campaigns/{id}/items/{identity}",
            post(campaigns::decide),
        )
        .route("/findings", get(findings::list))
        .route("/findings/recompute", post(findings::recompute))
        .route("/findings/{id}", get(findings::show))
        .route("/findings/{id}/accept", post(findings::accept))
        .route("/posture", get(findings::summary))
        .route("/posture/catalog", get(findings::catalog))
        .route("/report", get(report::report))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(
            Router::new()
                .route("/discover/{connector}", post(graph::import))
                .route("/events", post(events::ingest))
                .route(
                    "/policy/entities",
                    axum::routing::put(policy::apply_entities),
                )
                .layer(RequestBodyLimitLayer::new(DISCOVER_BODY_LIMIT))
                .layer(axum::extract::DefaultBodyLimit::max(DISCOVER_BODY_LIMIT)),
        )
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not accept that method",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    Router::new()
        .nest("/v1", v1)
        .fallback(|| async { ApiError::not_found("no such route; the API lives under /v1") })
        .layer(RequestBodyLimitLayer::new(DISCOVER_BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn(edge::envelope))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// How to listen.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    pub addr: SocketAddr,
    /// PEM certificate chain and private key files for TLS.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Allow plain HTTP on a non-loopback address.
    pub insecure_http: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing plain HTTP on `{0}`, which is not a loopback address: give `--tls-cert` and `--tls-key`, or `--insecure-http` if something in front terminates TLS"
    )]
    PlainHttpOffLoopback(SocketAddr),
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the TLS certificate or key could not be loaded: {0}")]
    Tls(String),
    #[error("the server stopped with an error: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks the listen rule before anything binds: plain HTTP only on loopback unless asked.
pub fn check_listen(opts: &ListenOptions) -> Result<(), ServeError> {
    if opts.tls.is_none() && !opts.insecure_http && !opts.addr.ip().is_loopback() {
        return Err(ServeError::PlainHttpOffLoopback(opts.addr));
    }
    Ok(())
}

/// Binds the listening socket (port 0 picks a free port; see `local_addr`).
pub fn bind(opts: &ListenOptions) -> Result<TcpListener, ServeError> {
    check_listen(opts)?;
    let l = TcpListener::bind(opts.addr).map_err(|source| ServeError::Bind {
        addr: opts.addr,
        source,
    })?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Loads a PEM certificate chain and key for TLS (rustls with the aws-lc-rs provider).
pub async fn load_tls(
    cert: &Path,
    key: &Path,
) -> Result<axum_server::tls_rustls::RustlsConfig, ServeError> {
    // Pin the process-wide provider to aws-lc-rs; a second install is harmless.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .map_err(|e| ServeError::Tls(format!("`{}` / `{}`: {e}", cert.display(), key.display())))
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let make = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => {
            let l = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(l, make)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        Some(config) => {
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener, config)?
                .handle(handle)
                .serve(make)
                .await?;
        }
    }
    Ok(())
}
