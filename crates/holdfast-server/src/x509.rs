//! Holdfast's certificate authority for X.509 grants: one per installation, its key sealed under
//! the vault keyring in the store (so every replica issues and revokes with it), created on first
//! use. Certificates carry a SPIFFE URI SAN for the grantee, the lease id as serial, client-auth
//! usage, and the lease's expiry as `notAfter`; revoked leases are listed in the CA's CRL.

use holdfast_store::{Change, GrantKeyRecord, StoreError};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The `grant_keys` row that holds the CA.
pub const CA_KID: &str = "x509-ca";
const CA_NAME: &str = "Holdfast grants CA";
const SEALED_PATH: &str = "sys/grant-ca";

/// The CA, loaded.
pub struct GrantCa {
    key: KeyPair,
    pub cert_pem: String,
}

impl std::fmt::Debug for GrantCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantCa").finish_non_exhaustive()
    }
}

fn ca_params(now: OffsetDateTime) -> ApiResult<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| ApiError::internal("CA parameters", e))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Holdfast");
    dn.push(DnType::CommonName, CA_NAME);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.key_identifier_method = KeyIdMethod::Sha256;
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(3650);
    Ok(p)
}

fn internal(what: &str) -> impl Fn(rcgen::Error) -> ApiError + '_ {
    move |e| ApiError::internal(what, e)
}

/// The installation's CA, created (and its key sealed into the store) on first use.
pub async fn load(state: &AppState) -> ApiResult<GrantCa> {
    let store = state.store.as_ref();
    let keyring = state.vault.current_keyring(store).await?;
    for _ in 0..2 {
        if let Some(rec) = holdfast_store::get_by::<GrantKeyRecord>(store, "kid", CA_KID).await? {
            let sealed = rec
                .sealed_key
                .ok_or_else(|| ApiError::internal("the CA record has no key", CA_KID))?;
            let envelope: holdfast_vault::Envelope = sealed
                .parse()
                .map_err(|e| ApiError::internal("the sealed CA key is damaged", e))?;
            let pem = keyring
                .decrypt(SEALED_PATH, 1, &envelope)
                .map_err(|e| ApiError::internal("opening the CA key", e))?;
            let pem = Zeroizing::new(
                String::from_utf8(pem.to_vec())
                    .map_err(|e| ApiError::internal("the CA key is not PEM", e))?,
            );
            let key = KeyPair::from_pem(&pem).map_err(internal("loading the CA key"))?;
            return Ok(GrantCa {
                key,
                cert_pem: rec.x,
            });
        }
        let now = state.clock.now();
        let key = KeyPair::generate().map_err(internal("generating the CA key"))?;
        let cert = ca_params(now)?
            .self_signed(&key)
            .map_err(internal("self-signing the CA"))?;
        let sealed = keyring
            .encrypt(
                SEALED_PATH,
                1,
                Zeroizing::new(key.serialize_pem()).as_bytes(),
            )
            .map_err(|e| ApiError::internal("sealing the CA key", e))?;
        let rec = GrantKeyRecord {
            id: Uuid::now_v7(),
            version: 1,
            kid: CA_KID.into(),
            x: cert.pem(),
            sealed_key: Some(sealed.to_string()),
            created_at: now,
        };
        let ev = holdfast_audit::AuditEvent {
            time: now,
            actor: "holdfast".into(),
            action: "grant.ca_created".into(),
            target: Some(format!("grant-key:{CA_KID}")),
            outcome: holdfast_audit::Outcome::Success,
            source: None,
            request_id: None,
            detail: serde_json::json!({}),
        };
        match store.apply(vec![Change::insert(&rec)?], ev).await {
            // Another replica made it first: use theirs.
            Ok(_) | Err(StoreError::Duplicate { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::internal("the CA could not be created", CA_KID))
}

/// The serial of a lease's certificate (each renewal is a new certificate): a leading 0x01 (so
/// the integer is positive), the lease id's 16 bytes and the renewal number.
pub fn serial_of(lease: Uuid, renewal: u32) -> Vec<u8> {
    let mut s = vec![1u8];
    s.extend_from_slice(lease.as_bytes());
    s.extend_from_slice(&renewal.to_be_bytes());
    s
}

/// A client certificate and its new private key, both PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: Zeroizing<String>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

impl GrantCa {
    fn issuer(&self, now: OffsetDateTime) -> ApiResult<Issuer<'static, &KeyPair>> {
        Ok(Issuer::new(ca_params(now)?, &self.key))
    }

    /// Issues a client certificate for `spiffe_id`, with the audience and scopes as URN SANs.
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &self,
        lease: Uuid,
        renewal: u32,
        common_name: &str,
        spiffe_id: &str,
        audience: &str,
        scopes: &[String],
        now: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> ApiResult<Issued> {
        let key = KeyPair::generate().map_err(internal("generating a grant key"))?;
        let mut p = CertificateParams::new(Vec::<String>::new())
            .map_err(internal("certificate parameters"))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        p.distinguished_name = dn;
        let uri = |s: String| {
            s.try_into()
                .map(SanType::URI)
                .map_err(internal("a URI SAN"))
        };
        p.subject_alt_names = vec![uri(spiffe_id.to_string())?];
        p.subject_alt_names
            .push(uri(format!("urn:holdfast:audience:{audience}"))?);
        for s in scopes {
            p.subject_alt_names
                .push(uri(format!("urn:holdfast:scope:{s}"))?);
        }
        p.serial_number = Some(SerialNumber::from_slice(&serial_of(lease, renewal)));
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
        p.not_before = now - Duration::seconds(5);
        p.not_after = not_after;
        let cert = p
            .signed_by(&key, &self.issuer(now)?)
            .map_err(internal("signing a grant certificate"))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: Zeroizing::new(key.serialize_pem()),
        })
    }

    /// A CRL listing `revoked` (lease id, renewal, revocation time), valid for an hour.
    pub fn crl(
        &self,
        revoked: &[(Uuid, u32, OffsetDateTime)],
        now: OffsetDateTime,
    ) -> ApiResult<String> {
        let params = CertificateRevocationListParams {
            this_update: now - Duration::seconds(5),
            next_update: now + Duration::hours(1),
            crl_number: SerialNumber::from(u64::try_from(now.unix_timestamp()).unwrap_or_default()),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|(lease, renewal, at)| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&serial_of(*lease, *renewal)),
                    revocation_time: *at,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params
            .signed_by(&self.issuer(now)?)
            .map_err(internal("signing the CRL"))?;
        crl.pem().map_err(internal("encoding the CRL"))
    }
}
