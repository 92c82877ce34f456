//! What findings mean: the OWASP Non-Human Identities Top 10 (2025), the NIST CSF 2.0 outcomes
//! Holdfast gives evidence for, the CSF 1.1 subcategories literature still cites and the CSF 2.0
//! outcomes they became, and the catalogue of posture rules with their mappings.

use holdfast_core::Severity;
use serde::Serialize;

/// One item of the OWASP Non-Human Identities Top 10 (2025).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwaspItem {
    /// `NHI1` … `NHI10`.
    pub id: &'static str,
    /// The full id as OWASP writes it: `NHI1:2025`.
    pub full_id: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
}

/// The OWASP Non-Human Identities Top 10, 2025 edition
/// (<https://owasp.org/www-project-non-human-identities-top-10/2025/>).
pub const OWASP_NHI: &[OwaspItem] = &[
    OwaspItem {
        id: "NHI1",
        full_id: "NHI1:2025",
        title: "Improper Offboarding",
        summary: "NHIs and their credentials outlive the service, project or person they were \
                  made for: nobody owns them, nobody revokes them.",
    },
    OwaspItem {
        id: "NHI2",
        full_id: "NHI2:2025",
        title: "Secret Leakage",
        summary: "Keys, tokens and passwords copied into code, configuration, logs, tickets or \
                  CI output where others can read them.",
    },
    OwaspItem {
        id: "NHI3",
        full_id: "NHI3:2025",
        title: "Vulnerable Third-Party NHI",
        summary: "Integrations, OAuth apps and external principals hold access into the estate; \
                  a compromise of the third party is a compromise of that access.",
    },
    OwaspItem {
        id: "NHI4",
        full_id: "NHI4:2025",
        title: "Insecure Authentication",
        summary: "Static or weak authentication where stronger methods exist: long-lived keys \
                  instead of federation, passwords, shared credentials.",
    },
    OwaspItem {
        id: "NHI5",
        full_id: "NHI5:2025",
        title: "Overprivileged NHI",
        summary: "NHIs granted more than they use or need, up to standing administrative access.",
    },
    OwaspItem {
        id: "NHI6",
        full_id: "NHI6:2025",
        title: "Insecure Cloud Deployment Configurations",
        summary: "CI/CD and cloud deployment identities configured with static secrets or \
                  trust relationships that do not bind who may use them.",
    },
    OwaspItem {
        id: "NHI7",
        full_id: "NHI7:2025",
        title: "Long-Lived Secrets",
        summary: "Credentials without expiry or rotation stay useful to whoever copies them, \
                  for as long as they exist.",
    },
    OwaspItem {
        id: "NHI8",
        full_id: "NHI8:2025",
        title: "Environment Isolation",
        summary: "The same NHI or credential used across development, test and production, so \
                  a weakness in one environment reaches the others.",
    },
    OwaspItem {
        id: "NHI9",
        full_id: "NHI9:2025",
        title: "NHI Reuse",
        summary: "One NHI shared by many applications or workloads: one compromise reaches all \
                  of them and nobody can tell them apart in the logs.",
    },
    OwaspItem {
        id: "NHI10",
        full_id: "NHI10:2025",
        title: "Human Use of NHI",
        summary: "People using an NHI's credentials for manual work, outside its purpose and \
                  past the controls people's own accounts carry.",
    },
];

/// One NIST CSF 2.0 outcome (subcategory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsfOutcome {
    /// `PR.AA-05`.
    pub id: &'static str,
    pub function: &'static str,
    pub category: &'static str,
    pub outcome: &'static str,
    /// What Holdfast does towards it, as evidence in a report.
    pub holdfast: &'static str,
}

/// The NIST CSF 2.0 outcomes Holdfast's findings and controls give evidence for
/// (NIST CSWP 29, February 2024).
pub const CSF_OUTCOMES: &[CsfOutcome] = &[
    CsfOutcome {
        id: "GV.SC-07",
        function: "Govern",
        category: "Cybersecurity Supply Chain Risk Management",
        outcome: "The risks posed by a supplier, their products and services, and other third \
                  parties are understood, recorded, prioritized, assessed, responded to, and \
                  monitored over the course of the relationship.",
        holdfast: "Third-party and external principals with access are found and judged \
                   (third-party scope, external trust).",
    },
    CsfOutcome {
        id: "ID.AM-01",
        function: "Identify",
        category: "Asset Management",
        outcome: "Inventories of hardware managed by the organization are maintained.",
        holdfast: "Systems (accounts, clusters, databases) are registered with their environment.",
    },
    CsfOutcome {
        id: "ID.AM-02",
        function: "Identify",
        category: "Asset Management",
        outcome: "Inventories of software, services, and systems managed by the organization \
                  are maintained.",
        holdfast: "Every non-human identity, credential and entitlement discovered from cloud \
                   IAM, Kubernetes, CI, Terraform and code is kept in one inventory.",
    },
    CsfOutcome {
        id: "ID.AM-05",
        function: "Identify",
        category: "Asset Management",
        outcome: "Assets are prioritized based on classification, criticality, resources, and \
                  impact on the mission.",
        holdfast: "Identities are tiered (management plane, break-glass) and scored by blast \
                   radius and risk.",
    },
    CsfOutcome {
        id: "ID.AM-08",
        function: "Identify",
        category: "Asset Management",
        outcome: "Systems, hardware, software, services, and data are managed throughout their \
                  life cycles.",
        holdfast: "Identities carry a lifecycle (active, suspended, offboarding, offboarded); \
                   offboarding revokes first and proves every copy is gone.",
    },
    CsfOutcome {
        id: "ID.RA-01",
        function: "Identify",
        category: "Risk Assessment",
        outcome: "Vulnerabilities in assets are identified, validated, and recorded.",
        holdfast: "Posture findings and leaked secrets are recorded with evidence and history.",
    },
    CsfOutcome {
        id: "PR.AA-01",
        function: "Protect",
        category: "Identity Management, Authentication, and Access Control",
        outcome: "Identities and credentials for authorized users, services, and hardware are \
                  managed by the organization.",
        holdfast: "Each identity has an accountable owner, credentials are tracked by \
                   fingerprint, vaulted, rotated and revoked.",
    },
    CsfOutcome {
        id: "PR.AA-02",
        function: "Protect",
        category: "Identity Management, Authentication, and Access Control",
        outcome: "Identities are proofed and bound to credentials based on the context of \
                  interactions.",
        holdfast: "Credentials are bound to one identity; shared and reused identities are \
                   findings.",
    },
    CsfOutcome {
        id: "PR.AA-03",
        function: "Protect",
        category: "Identity Management, Authentication, and Access Control",
        outcome: "Users, services, and hardware are authenticated.",
        holdfast: "Static and weak authentication is found; grants are short-lived signed \
                   credentials.",
    },
    CsfOutcome {
        id: "PR.AA-04",
        function: "Protect",
        category: "Identity Management, Authentication, and Access Control",
        outcome: "Identity assertions are protected, conveyed, and verified.",
        holdfast: "Federation trust without subject conditions is found; Holdfast's own grants \
                   are signed JWTs and X.509 certificates.",
    },
    CsfOutcome {
        id: "PR.AA-05",
        function: "Protect",
        category: "Identity Management, Authentication, and Access Control",
        outcome: "Access permissions, entitlements, and authorizations are defined in a policy, \
                  managed, enforced, and reviewed, and incorporate the principles of least \
                  privilege and separation of duties.",
        holdfast: "Cedar policy decides every action; access requests need approvers who are not \
                   the requester; access reviews; unused and wildcard grants are findings.",
    },
    CsfOutcome {
        id: "PR.DS-01",
        function: "Protect",
        category: "Data Security",
        outcome: "The confidentiality, integrity, and availability of data-at-rest are protected.",
        holdfast: "Secrets are sealed in the vault; copies found in code, state and files are \
                   findings.",
    },
    CsfOutcome {
        id: "PR.PS-01",
        function: "Protect",
        category: "Platform Security",
        outcome: "Configuration management practices are established and applied.",
        holdfast: "CI and cloud trust configurations are checked (static cloud keys in CI, \
                   untrusted triggers, public trust).",
    },
    CsfOutcome {
        id: "PR.PS-04",
        function: "Protect",
        category: "Platform Security",
        outcome: "Log records are generated and made available for continuous monitoring.",
        holdfast: "Every privileged action is written to a hash-chained, signed audit log, \
                   verified in the report.",
    },
    CsfOutcome {
        id: "PR.IR-01",
        function: "Protect",
        category: "Technology Infrastructure Resilience",
        outcome: "Networks and environments are protected from unauthorized logical access and \
                  usage.",
        holdfast: "Credentials used across environments are findings.",
    },
    CsfOutcome {
        id: "DE.CM-03",
        function: "Detect",
        category: "Continuous Monitoring",
        outcome: "Personnel activity and technology usage are monitored to find potentially \
                  adverse events.",
        holdfast: "CloudTrail, Kubernetes audit and Holdfast's own audit are baselined per \
                   identity; detections raise alerts.",
    },
    CsfOutcome {
        id: "DE.CM-09",
        function: "Detect",
        category: "Continuous Monitoring",
        outcome: "Computing hardware and software, runtime environments, and their data are \
                  monitored to find potentially adverse events.",
        holdfast: "Code, git history and CI are scanned for secrets.",
    },
    CsfOutcome {
        id: "RS.MI-01",
        function: "Respond",
        category: "Incident Mitigation",
        outcome: "Incidents are contained.",
        holdfast: "Policy-decided automatic containment: suspend, revoke leases, rotate secrets.",
    },
];

/// A CSF 1.1 subcategory and the CSF 2.0 outcomes NIST maps it to (the CSF 2.0 Reference Tool's
/// 1.1 → 2.0 crosswalk, as NIST's OSCAL catalogue of CSF 2.0 records it for each withdrawn
/// subcategory; subcategories 2.0 kept map to their renumbered selves).
pub const CSF_1_1_TO_2_0: &[(&str, &[&str])] = &[
    ("ID.AM-1", &["ID.AM-01"]),
    ("ID.AM-2", &["ID.AM-02"]),
    ("ID.AM-5", &["ID.AM-05"]),
    ("ID.RA-1", &["ID.RA-01"]),
    ("ID.AM-6", &["GV.RR-02", "GV.SC-02"]),
    (
        "ID.SC-2",
        &["GV.OC-02", "GV.SC-03", "GV.SC-04", "GV.SC-07", "ID.RA-10"],
    ),
    ("ID.SC-4", &["GV.SC-07", "ID.RA-10"]),
    ("PR.AC-1", &["PR.AA-01", "PR.AA-05"]),
    ("PR.AC-3", &["PR.AA-03", "PR.AA-05", "PR.IR-01"]),
    ("PR.AC-4", &["PR.AA-05"]),
    ("PR.AC-5", &["PR.IR-01"]),
    ("PR.AC-6", &["PR.AA-02"]),
    ("PR.AC-7", &["PR.AA-03"]),
    ("PR.AC-2", &["PR.AA-06"]),
    ("PR.DS-1", &["PR.DS-01"]),
    ("PR.DS-2", &["PR.DS-02"]),
    ("PR.DS-5", &["PR.DS-01", "PR.DS-02", "PR.DS-10"]),
    ("PR.IP-1", &["PR.PS-01"]),
    ("PR.IP-3", &["PR.PS-01", "ID.RA-07"]),
    ("PR.IP-6", &["ID.AM-08"]),
    ("PR.IP-11", &["GV.RR-04"]),
    ("PR.IP-12", &["ID.RA-01", "PR.PS-02"]),
    ("PR.PT-1", &["PR.PS-04"]),
    ("PR.PT-3", &["PR.PS-01"]),
    ("DE.AE-2", &["DE.AE-02"]),
    ("DE.AE-3", &["DE.AE-03"]),
    ("DE.CM-1", &["DE.CM-01"]),
    ("DE.CM-3", &["DE.CM-03"]),
    ("DE.CM-7", &["DE.CM-01", "DE.CM-03", "DE.CM-06", "DE.CM-09"]),
    ("DE.CM-8", &["ID.RA-01"]),
    ("RS.MI-1", &["RS.MI-01"]),
    ("RS.MI-2", &["RS.MI-02"]),
];

/// The CSF 2.0 outcomes a CSF id names: a 2.0 id as it is (normalised), a 1.1 id as the outcomes
/// it became, `None` for an id neither edition has in Holdfast's tables.
pub fn csf_2_0(id: &str) -> Option<Vec<&'static str>> {
    let want = id.trim().to_ascii_uppercase();
    if let Some(o) = CSF_OUTCOMES.iter().find(|o| o.id == want) {
        return Some(vec![o.id]);
    }
    CSF_1_1_TO_2_0
        .iter()
        .find(|(old, _)| *old == want)
        .map(|(_, new)| new.to_vec())
}

/// The OWASP item an id names (`NHI5`, `nhi5`, `NHI5:2025`).
pub fn owasp(id: &str) -> Option<&'static OwaspItem> {
    let want = id.trim().to_ascii_uppercase();
    let want = want.strip_suffix(":2025").unwrap_or(&want);
    OWASP_NHI.iter().find(|i| i.id == want)
}

/// One posture rule: what it looks for and what it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    /// The severity it is raised with unless the evidence makes it worse.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub severity: Severity,
    pub owasp: &'static [&'static str],
    pub csf: &'static [&'static str],
    /// What to do about it.
    pub fix: &'static str,
}

macro_rules! rules {
    ($($id:literal, $title:literal, $sev:ident, [$($o:literal),*], [$($c:literal),*], $fix:literal;)+) => {
        /// Every posture rule.
        pub const RULES: &[Rule] = &[$(Rule {
            id: $id,
            title: $title,
            severity: Severity::$sev,
            owasp: &[$($o),*],
            csf: &[$($c),*],
            fix: $fix,
        }),+];
    };
}

rules! {
    "no-owner", "Identity without an owner", Medium, ["NHI1"], ["PR.AA-01", "ID.AM-08"],
        "Register the accountable person or team (`holdfast identity update ID --owner …`), or offboard the identity if nobody claims it.";
    "owner-departed", "Owner has left", High, ["NHI1"], ["PR.AA-01", "ID.AM-08"],
        "Reassign the identity to an active owner or offboard it (`holdfast owner depart` does both).";
    "expired-still-active", "Past its end date but still active", High, ["NHI1"], ["PR.AA-01", "ID.AM-08"],
        "Revoke the credential or offboard the identity; extend the end date only with a reason.";
    "offboarded-credential-active", "Offboarded identity with an active credential", Critical, ["NHI1"], ["PR.AA-01", "ID.AM-08"],
        "Revoke the credential at its provider and re-run the offboarding so its receipt proves it.";
    "stale-identity", "Unused identity still active", Medium, ["NHI1"], ["PR.AA-01", "ID.AM-08"],
        "Confirm with the owner that nothing needs it, then offboard it.";
    "stale-credential", "Unused credential still active", Medium, ["NHI1"], ["PR.AA-01"],
        "Revoke the credential; the identity keeps working with the ones it uses.";
    "stale-trust", "Trust in a principal that no longer exists", Low, ["NHI1"], ["PR.AA-05", "ID.AM-08"],
        "Remove the deleted principal from the trust policy.";
    "credential-exposed", "Credential copied where it should not be", Critical, ["NHI2"], ["PR.DS-01", "PR.AA-01", "ID.RA-01"],
        "Rotate or revoke the credential first, then remove every copy; offboarding re-scans each location to prove it is gone.";
    "unclaimed-leak", "Leaked secret matching no known credential", High, ["NHI2"], ["PR.DS-01", "ID.RA-01", "ID.AM-02"],
        "Find whose secret it is, revoke it at its provider, and record the credential so the next copy is matched.";
    "secret-in-plaintext", "Secret stored in plain text", High, ["NHI2"], ["PR.DS-01"],
        "Move the value into the vault or a secret manager and reference it; rotate it since the plaintext copy existed.";
    "third-party-broad-scope", "Third-party or OAuth identity with broad scope", High, ["NHI3"], ["GV.SC-07", "PR.AA-05"],
        "Reduce the integration's scopes to what it uses, or replace it with a narrowly scoped one.";
    "external-trust", "Trusted by a principal outside the organisation", Medium, ["NHI3"], ["GV.SC-07", "PR.AA-05"],
        "Confirm the external party, require an external id or other condition, and remove trust nobody can justify.";
    "static-key-where-federation-exists", "Static long-lived key where federation is available", Medium, ["NHI4"], ["PR.AA-03", "PR.AA-02"],
        "Move the workload to federation (OIDC, workload identity) and revoke the static key.";
    "weak-authentication", "Password or unprotected interactive sign-in", High, ["NHI4"], ["PR.AA-03"],
        "Remove the password or console access; machines authenticate with short-lived, key-bound credentials.";
    "shared-credential", "One credential shared by several identities", High, ["NHI4", "NHI9"], ["PR.AA-02", "PR.AA-03"],
        "Issue each identity its own credential and revoke the shared one.";
    "root-access-key", "Access key on the account's root user", Critical, ["NHI4", "NHI5"], ["PR.AA-03", "PR.AA-05"],
        "Delete the root user's access keys; nothing should authenticate as root with a key.";
    "unused-permissions", "Permissions granted but never used", Medium, ["NHI5"], ["PR.AA-05"],
        "Replace the grant with the right-sized policy `holdfast usage ID` proposes.";
    "wildcard-grant", "Wildcard permission grant", High, ["NHI5"], ["PR.AA-05"],
        "Name the actions and resources the identity needs instead of `*`.";
    "standing-management-plane-access", "Standing management-plane access", High, ["NHI5"], ["PR.AA-05", "ID.AM-05"],
        "Remove the standing grant and use just-in-time access requests (`holdfast request create`) with approval.";
    "ci-token-default-permissions", "CI token with the repository's default permissions", Low, ["NHI5"], ["PR.AA-05", "PR.PS-01"],
        "Declare `permissions:` per job with only what the job needs.";
    "static-cloud-key-in-ci", "Static cloud key in CI", High, ["NHI6"], ["PR.PS-01", "PR.AA-03"],
        "Use the CI platform's OIDC federation to the cloud and delete the stored key.";
    "oidc-trust-without-subject", "Federated trust without a subject condition", High, ["NHI6"], ["PR.AA-04", "PR.PS-01"],
        "Add a condition on the token's `sub` claim (repository and branch or environment) to the trust policy.";
    "public-trust", "Role assumable by any principal", Critical, ["NHI6"], ["PR.AA-05", "PR.PS-01"],
        "Replace `*` with the principals that need the role.";
    "ci-secrets-exposed-to-untrusted-code", "CI secrets reachable from untrusted code", High, ["NHI6", "NHI2"], ["PR.PS-01", "PR.DS-01"],
        "Do not run untrusted pull-request code with secrets (`pull_request_target`, `secrets: inherit`); pass only the secrets a job needs.";
    "secret-past-max-age", "Secret older than its maximum age", Medium, ["NHI7"], ["PR.AA-01"],
        "Rotate it (`holdfast secret rotate PATH`) and keep rotation scheduled.";
    "never-rotated", "Credential never rotated", Medium, ["NHI7"], ["PR.AA-01"],
        "Rotate it through a rotator, or replace it with short-lived credentials.";
    "no-expiry", "Credential without an expiry", Low, ["NHI7"], ["PR.AA-01"],
        "Issue credentials with an expiry, or rotate on a schedule short enough to matter.";
    "long-lived-token", "Long-lived token where short-lived ones exist", Medium, ["NHI7", "NHI4"], ["PR.AA-01", "PR.AA-03"],
        "Use projected, audience-bound short-lived tokens and delete the long-lived one.";
    "credential-across-environments", "One credential used across environments", High, ["NHI8"], ["PR.IR-01", "PR.AA-05"],
        "Issue a separate credential per environment; production's must not open anything else.";
    "identity-reused-by-workloads", "One identity used by many workloads", Medium, ["NHI9"], ["PR.AA-02", "PR.AA-05"],
        "Give each workload its own identity with only what it needs.";
    "human-use", "Interactive human use of an NHI", High, ["NHI10"], ["PR.AA-02", "DE.CM-03"],
        "People use their own accounts; remove the NHI's interactive access and rotate what they saw.";
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// How a connector's own finding kinds map onto posture rules. Kinds the posture engine computes
/// itself from the stored records (`unowned-identity`, `credential-not-rotated`) are not listed.
pub const CONNECTOR_KINDS: &[(&str, &str)] = &[
    ("unused-identity", "stale-identity"),
    ("unused-credential", "stale-credential"),
    ("stale-trust-principal", "stale-trust"),
    ("plaintext-secret-in-file", "secret-in-plaintext"),
    ("secret-in-state", "secret-in-plaintext"),
    ("cross-account-trust", "external-trust"),
    ("root-access-key", "root-access-key"),
    ("human-and-machine-use", "human-use"),
    ("default-token-permissions", "ci-token-default-permissions"),
    ("oidc-trust-without-subject", "oidc-trust-without-subject"),
    ("public-trust", "public-trust"),
    (
        "untrusted-trigger-with-secrets",
        "ci-secrets-exposed-to-untrusted-code",
    ),
    ("secrets-inherited", "ci-secrets-exposed-to-untrusted-code"),
    ("long-lived-service-account-token", "long-lived-token"),
];
