//! The OpenAPI document served at `/v1/openapi.json`, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    audit, campaigns, credentials, entitlements, events, findings, graph, identities, leaks,
    offboardings, owners, policy, report, requests, rotations, secrets, stepup, sys, systems,
    tokens,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Holdfast API", description = "Control plane for non-human identities."),
    paths(
        sys::health, sys::init, sys::unseal, sys::seal, sys::rotate_keyring, sys::rekey_start, sys::rekey_authorize, sys::rekey_verify,
        owners::create, owners::list, owners::show, owners::update,
        systems::create, systems::list, systems::show,
        identities::create, identities::list, identities::show, identities::update, identities::transition,
        credentials::create, credentials::list, credentials::show, credentials::update, credentials::add_exposure,
        entitlements::create, entitlements::list, entitlements::show, entitlements::delete,
        leaks::report, leaks::list, leaks::show,
        tokens::create, tokens::list, tokens::revoke,
        audit::list, audit::verify, audit::keys, audit::checkpoints,
        graph::import, graph::sources, graph::blast_radius,
        secrets::put, secrets::get, secrets::list, secrets::metadata, secrets::delete, secrets::undelete, secrets::destroy,
        rotations::start, rotations::show, rotations::acknowledge, rotations::emergency,
        policy::show, policy::apply, policy::history, policy::version, policy::apply_entities,
        policy::authorize, policy::authorize_batch,
        requests::create, requests::list, requests::show, requests::approve, requests::deny,
        requests::cancel, requests::issue, requests::leases, requests::renew, requests::revoke,
        requests::revoke_holder, requests::jwks, requests::introspect, requests::breakglass,
        requests::reviews, requests::close_review, stepup::enroll, stepup::step_up,
        requests::x509_trust,
        events::ingest, events::list, events::show, events::acknowledge, events::close, events::usage,
        findings::list, findings::show, findings::accept, findings::recompute, findings::summary,
        findings::catalog, findings::risk,
        offboardings::offboard, offboardings::list, offboardings::show, offboardings::receipt,
        offboardings::confirm, offboardings::recheck, offboardings::depart,
        report::report,
        campaigns::start, campaigns::list, campaigns::show, campaigns::items, campaigns::decide,
    ),
    components(schemas(holdfast_types::ErrorBody, holdfast_types::ErrorDetail)),
    modifiers(&Bearer),
    security(("bearer" = []))
)]
#[derive(Debug)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /v1/openapi.json`.
pub async fn document(
    ctx: crate::state::Ctx,
) -> crate::error::ApiResult<Json<utoipa::openapi::OpenApi>> {
    ctx.require("api.describe").await?;
    Ok(Json(ApiDoc::openapi()))
}
