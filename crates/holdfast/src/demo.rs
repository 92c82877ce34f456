//! `holdfast demo`: a server on a fresh embedded store, initialised, with a sample estate loaded
//! through the API, and a short guide to what to try.

use std::net::SocketAddr;

use anyhow::Context;
use holdfast_client::Client;
use holdfast_core::{CredentialKind, IdentityKind, Tier};
use holdfast_types::*;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::cli::DemoArgs;
use crate::serve::{Settings, shutdown_signal, start};

const ESTATE: &str = include_str!("../fixtures/demo-estate.json");

/// The example estate the connectors read (`examples/estate/`), bundled so the demo needs no
/// checkout: `(connector, system, [(path, content)])`.
type Bundle = (
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
);
const DISCOVERED: &[Bundle] = &[
    (
        "aws-iam",
        None,
        &[
            (
                "examples/estate/aws/authorization-details.json",
                include_str!("../../../examples/estate/aws/authorization-details.json"),
            ),
            (
                "examples/estate/aws/access-keys-ci-deployer.json",
                include_str!("../../../examples/estate/aws/access-keys-ci-deployer.json"),
            ),
            (
                "examples/estate/aws/credential-report.csv",
                include_str!("../../../examples/estate/aws/credential-report.csv"),
            ),
        ],
    ),
    (
        "kubernetes",
        Some("prod"),
        &[
            (
                "examples/estate/kubernetes/payments.yaml",
                include_str!("../../../examples/estate/kubernetes/payments.yaml"),
            ),
            (
                "examples/estate/kubernetes/cluster-rbac.yaml",
                include_str!("../../../examples/estate/kubernetes/cluster-rbac.yaml"),
            ),
            (
                "examples/estate/kubernetes/kube-system.yaml",
                include_str!("../../../examples/estate/kubernetes/kube-system.yaml"),
            ),
        ],
    ),
    (
        "github-actions",
        Some("acme/payments"),
        &[
            (
                "examples/estate/github/payments/.github/workflows/deploy.yml",
                include_str!(
                    "../../../examples/estate/github/payments/.github/workflows/deploy.yml"
                ),
            ),
            (
                "examples/estate/github/payments/.github/workflows/pr-checks.yml",
                include_str!(
                    "../../../examples/estate/github/payments/.github/workflows/pr-checks.yml"
                ),
            ),
            (
                "examples/estate/github/payments/.github/workflows/release.yml",
                include_str!(
                    "../../../examples/estate/github/payments/.github/workflows/release.yml"
                ),
            ),
        ],
    ),
    (
        "terraform",
        None,
        &[(
            "examples/estate/terraform/terraform.tfstate",
            include_str!("../../../examples/estate/terraform/terraform.tfstate"),
        )],
    ),
    (
        "env",
        Some("payments"),
        &[
            (
                "examples/estate/env/.env",
                include_str!("../../../examples/estate/env/.env"),
            ),
            (
                "examples/estate/env/docker-compose.yml",
                include_str!("../../../examples/estate/env/docker-compose.yml"),
            ),
        ],
    ),
];

/// A repository with planted secrets, scanned by the demo: one of them is the access key the
/// Terraform state says belongs to `tf-runner`, so the finding becomes an exposure of that credential.
const REPO: &[(&str, &str)] = &[
    (
        "README.md",
        include_str!("../../../examples/estate/repo/README.md"),
    ),
    (
        "deploy/batch.env",
        include_str!("../../../examples/estate/repo/deploy/batch.env"),
    ),
    (
        "src/release_notes.py",
        include_str!("../../../examples/estate/repo/src/release_notes.py"),
    ),
];

/// Writes the bundled repository under `dir`, scans it with the bundled rules and reports the
/// findings (fingerprints and locations only) to the server.
pub async fn scan_repo(c: &Client, dir: &std::path::Path) -> anyhow::Result<ScanReportResult> {
    let root = dir.join("repo");
    for (path, content) in REPO {
        let file = root.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&file, content)
            .with_context(|| format!("cannot write `{}`", file.display()))?;
    }
    let rules = holdfast_rules::bundled().context("the bundled rule pack does not load")?;
    let engine = holdfast_scan::Engine::new(rules)?;
    let found = std::sync::Mutex::new(Vec::<holdfast_scan::Finding>::new());
    let sink = |f: holdfast_scan::Finding| {
        if let Ok(mut v) = found.lock() {
            v.push(f);
        }
    };
    let opts = holdfast_scan::WalkOptions::default();
    holdfast_scan::scan_paths(&engine, std::slice::from_ref(&root), &opts, &|_| {}, &sink)?;
    let findings = found.into_inner().unwrap_or_default();
    let report = ScanReport {
        source: Some("scanner".into()),
        findings: findings
            .iter()
            .map(|f| ReportedFinding {
                fingerprint: Some(f.fingerprint.clone()),
                rule: Some(f.rule.clone()),
                location: Some(format!(
                    "git:github.com/acme/payments:{}:{}",
                    f.path.trim_start_matches(&format!("{}/", root.display())),
                    f.line
                )),
                preview: Some(f.preview.clone()),
            })
            .collect(),
    };
    Ok(c.scan_report(&report).await?)
}

/// What the demo's event history raised.
#[derive(Debug, Default)]
pub struct Monitored {
    pub events: usize,
    pub alerts: usize,
    pub responses: Vec<String>,
}

/// Eight ordinary days of CloudTrail for three identities of the example estate, ending yesterday,
/// then today's incident: the CI key used from a laptop on a new network, an access key minted for
/// another user, a burst of refusals, and the deploy role switching CloudTrail off. Ingested through
/// the API, so the alerts (and the containment policy allows) are real.
pub async fn monitor_estate(c: &Client) -> anyhow::Result<Monitored> {
    use holdfast_monitor::synthetic::{Actor, Rng, ordinary_day, record};
    use serde_json::json;
    let today = OffsetDateTime::now_utc()
        .replace_time(time::Time::MIDNIGHT)
        .unix_timestamp();
    let actor = |name: &str, key: &str, net: &str, agent: &'static str, actions| Actor {
        name: name.into(),
        access_key: key.into(),
        network: net.into(),
        agent,
        hours: (6, 20),
        actions,
        secrets: vec!["prod/payments/db".into(), "prod/payments/stripe".into()],
    };
    let boto = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.10.205 md/arch#x86_64 lang/python#3.11.6 Botocore/1.34.0";
    let tf = "Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0 aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5";
    let ci = actor(
        "user/ci-deployer",
        "AKIAIOSFODNN7EXAMPLE",
        "203.0.113.10",
        boto,
        vec![
            ("sts.amazonaws.com", "AssumeRole"),
            ("s3.amazonaws.com", "PutObject"),
            ("ecr.amazonaws.com", "GetAuthorizationToken"),
        ],
    );
    let deploy = actor(
        "role/deploy",
        "ASIAEXAMPLEDEPLOY001",
        "203.0.113.11",
        tf,
        vec![
            ("ecs.amazonaws.com", "UpdateService"),
            ("ecs.amazonaws.com", "DescribeServices"),
            ("iam.amazonaws.com", "PassRole"),
        ],
    );
    let reporting = actor(
        "user/reporting-bot",
        "AKIAEXAMPLEREPORTING",
        "10.20.0.15",
        boto,
        vec![
            ("athena.amazonaws.com", "StartQueryExecution"),
            ("s3.amazonaws.com", "GetObject"),
        ],
    );
    let actors = [ci.clone(), deploy.clone(), reporting.clone()];
    let mut rng = Rng::new(2026);
    let mut records = vec![];
    for d in (1..=8).rev() {
        records.extend(ordinary_day(&actors, today - d * 86_400, 12, &mut rng));
    }
    let t = today + 9 * 3600;
    let laptop = "aws-cli/2.15.0 Python/3.11.6 Darwin/23.1.0 exe/x86_64 prompt/off command/iam.create-access-key";
    records.push(record(
        &ci,
        t,
        "sts.amazonaws.com",
        "GetCallerIdentity",
        "198.51.100.77",
        laptop,
        json!(null),
        None,
        1,
    ));
    records.push(record(
        &ci,
        t + 40,
        "iam.amazonaws.com",
        "CreateAccessKey",
        "198.51.100.77",
        laptop,
        json!({"userName": "reporting-bot"}),
        None,
        2,
    ));
    for i in 0..10 {
        records.push(record(
            &reporting,
            t + 300 + i * 7,
            "iam.amazonaws.com",
            "ListAttachedUserPolicies",
            "198.51.100.77",
            laptop,
            json!({"userName": "reporting-bot"}),
            Some("AccessDenied"),
            10 + i as u64,
        ));
    }
    records.push(record(
        &deploy,
        t + 600,
        "cloudtrail.amazonaws.com",
        "StopLogging",
        "203.0.113.11",
        tf,
        json!({"name": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"}),
        None,
        30,
    ));
    let file = json!({"Records": records});
    let r = c
        .ingest_events(file.to_string().into_bytes(), Some("cloudtrail"), None)
        .await
        .context("ingesting the demo's CloudTrail history")?;
    Ok(Monitored {
        events: r.accepted,
        alerts: r.alerts_opened.len(),
        responses: r.responses,
    })
}

/// What discovery brought in.
#[derive(Debug, Default)]
pub struct Discovered {
    pub sources: usize,
    pub identities: u64,
    pub management_plane: u64,
    pub findings: usize,
}

/// Imports the bundled example estate through the discovery API, one connector at a time.
pub async fn discover_estate(c: &Client) -> anyhow::Result<Discovered> {
    let mut n = Discovered::default();
    for (connector, system, files) in DISCOVERED {
        let req = DiscoverRequest {
            inputs: files
                .iter()
                .map(|(name, content)| DiscoverInput {
                    name: Some((*name).to_string()),
                    content: Some((*content).to_string()),
                })
                .collect(),
            system: system.map(str::to_string),
        };
        let report = c
            .discover(connector, &req)
            .await
            .with_context(|| format!("discovering the demo estate with {connector}"))?;
        n.sources += 1;
        n.identities +=
            report.identities_created + report.identities_updated + report.identities_unchanged;
        n.management_plane += report.management_plane;
        n.findings += report.findings.len();
    }
    Ok(n)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Estate {
    owners: Vec<CreateOwnerRequest>,
    systems: Vec<CreateSystemRequest>,
    identities: Vec<DemoIdentity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoIdentity {
    kind: IdentityKind,
    name: String,
    owner: String,
    purpose: String,
    environment: Option<String>,
    #[serde(default)]
    systems: Vec<String>,
    tier: Option<Tier>,
    tier_reason: Option<String>,
    source: Option<String>,
    external_id: Option<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
    #[serde(default)]
    credentials: Vec<DemoCredential>,
    #[serde(default)]
    entitlements: Vec<CreateEntitlementRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCredential {
    kind: CredentialKind,
    name: String,
    external_id: Option<String>,
    value: Option<String>,
    stored_in: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    issued_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
    #[serde(default)]
    exposures: Vec<AddExposureRequest>,
}

/// What was loaded.
#[derive(Debug, Default)]
pub struct Loaded {
    pub owners: usize,
    pub systems: usize,
    pub identities: usize,
    pub credentials: usize,
    pub entitlements: usize,
}

/// Loads the bundled estate through the API.
pub async fn load_estate(c: &Client) -> anyhow::Result<Loaded> {
    let estate: Estate =
        serde_json::from_str(ESTATE).context("the bundled demo estate is malformed")?;
    let mut n = Loaded::default();
    for o in &estate.owners {
        c.create_owner(o).await?;
        n.owners += 1;
    }
    for s in &estate.systems {
        c.create_system(s).await?;
        n.systems += 1;
    }
    for d in estate.identities {
        let req = CreateIdentityRequest {
            kind: Some(d.kind),
            name: Some(d.name.clone()),
            owner: Some(d.owner),
            purpose: Some(d.purpose),
            environment: d.environment,
            systems: d.systems,
            tier: d.tier,
            tier_reason: d.tier_reason,
            labels: d.labels,
            expires_at: d.expires_at,
            source: d.source,
            external_id: d.external_id,
        };
        let identity = c
            .create_identity(&req)
            .await
            .with_context(|| format!("demo identity `{}`", d.name))?;
        n.identities += 1;
        for cr in d.credentials {
            let req = CreateCredentialRequest {
                identity: Some(identity.id.to_string()),
                kind: Some(cr.kind),
                name: Some(cr.name),
                external_id: cr.external_id,
                fingerprint: None,
                value: cr.value,
                stored_in: cr.stored_in,
                issued_at: cr.issued_at,
                expires_at: cr.expires_at,
                last_rotated_at: None,
            };
            let cred = c.create_credential(&req).await?;
            for x in &cr.exposures {
                c.add_exposure(&cred.id.to_string(), x).await?;
            }
            n.credentials += 1;
        }
        for mut e in d.entitlements {
            e.identity = Some(identity.id.to_string());
            c.create_entitlement(&e).await?;
            n.entitlements += 1;
        }
    }
    Ok(n)
}

/// Marks a directory as the demo's own, so a later run may wipe it.
const MARKER: &str = ".holdfast-demo";

/// Empties the demo directory, but only one the demo made: a real data directory is never wiped.
fn reset_demo_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.exists() {
        let is_empty = std::fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !dir.join(MARKER).exists() && !is_empty {
            anyhow::bail!(
                "`{}` exists and was not made by `holdfast demo`; refusing to wipe it (pick another --data)",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot clear the demo directory `{}`", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    std::fs::write(dir.join(MARKER), "made by holdfast demo; safe to delete\n")
        .with_context(|| format!("cannot write to `{}`", dir.display()))?;
    Ok(())
}

/// `holdfast demo`.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    reset_demo_dir(&args.data)?;
    let mut settings = Settings {
        data: args.data.clone(),
        listen: args.listen,
        database_url: None,
        tls: None,
        insecure_http: false,
        unseal_key_file: Some(args.data.join("unseal.key")),
        rotators: Default::default(),
        monitor: Default::default(),
        posture: Default::default(),
        offboarding: Default::default(),
    };
    let running = match start(&settings).await {
        Ok(r) => r,
        Err(e) if e.chain().any(|c| c.to_string().contains("cannot listen")) => {
            settings.listen = SocketAddr::new(args.listen.ip(), 0);
            start(&settings).await?
        }
        Err(e) => return Err(e),
    };
    let anon = Client::new(&running.url, None, None)?;
    let init = anon.init().await.context("initialising the demo server")?;
    let client = anon.with_token(Some(init.root_token.clone()));
    let loaded = load_estate(&client).await?;
    let found = discover_estate(&client).await?;
    let scanned = scan_repo(&client, &args.data).await?;
    let monitored = monitor_estate(&client).await?;
    let posture = client
        .recompute_findings()
        .await
        .context("computing the demo estate's posture")?
        .run;
    let owasp_items = holdfast_posture::OWASP_NHI
        .iter()
        .filter(|i| posture.by_owasp.contains_key(i.id))
        .count();
    let url = &running.url;
    let token = &init.root_token;
    println!(
        r#"Holdfast demo is running.

  API          {url}/v1   (OpenAPI: {url}/v1/openapi.json)
  Store        embedded SQLite in {data}
  Root token   {token}

Loaded {o} owners, {s} systems, {i} identities, {c} credentials and {e} entitlements.
Discovered {di} more identities from {ds} sources (AWS IAM, Kubernetes, GitHub Actions, Terraform
state, .env/compose): {dm} are management-plane; {df} findings.
Scanned a repository with planted secrets: {sm} matched credentials in the inventory (now
exposures), {su} unknown ones recorded as leaks.
Ingested {me} CloudTrail events (eight ordinary days and this morning's incident): {ma} alerts;
automatic containment: {mr}.
Posture: {pf} findings across {po} of the 10 OWASP NHI Top 10 items ({pc} critical).

Try, in another terminal:

  export HOLDFAST_ADDR={url} HOLDFAST_TOKEN={token}
  holdfast identity list
  holdfast identity list --tier management_plane
  holdfast graph blast-radius aws:arn:aws:iam::111122223333:user/ci-deployer
  holdfast graph blast-radius gha:acme/payments:deploy.yml:infrastructure
  holdfast graph blast-radius k8s:prod:serviceaccount:payments/ci-deployer
  holdfast discover sources
  holdfast leak list
  holdfast findings summary
  holdfast findings list --state open --severity critical
  holdfast findings list --csf PR.AC-4
  holdfast alerts list
  holdfast alerts list --severity critical --json
  holdfast usage <id of ci-deployer, from `holdfast identity list`>
  holdfast events ingest crates/holdfast-monitor/tests/fixtures/k8s-audit.jsonl --format kubernetes
  holdfast discover kubernetes examples/estate/kubernetes --system prod --dry-run
  holdfast identity list --owner payments-team --json
  holdfast credential list
  holdfast owner list
  holdfast policy show
  holdfast authorize --principal 'Holdfast::Person::"carol"' --action secret.read --resource 'Holdfast::Secret::"ci/deploy"'
  holdfast audit tail
  holdfast audit verify

(From a checkout, `cargo run -q -p holdfast --` stands in for `holdfast`.)
Press Ctrl-C to stop.
"#,
        data = args.data.display(),
        o = loaded.owners,
        s = loaded.systems,
        i = loaded.identities,
        c = loaded.credentials,
        e = loaded.entitlements,
        di = found.identities,
        ds = found.sources,
        dm = found.management_plane,
        df = found.findings,
        sm = scanned.matched,
        su = scanned.unmatched,
        me = monitored.events,
        ma = monitored.alerts,
        pf = posture.raised,
        po = owasp_items,
        pc = posture.by_severity.get("critical").copied().unwrap_or(0),
        mr = match monitored
            .responses
            .iter()
            .filter(|r| r.ends_with("suspend: done"))
            .count()
        {
            0 => "none".to_string(),
            n => format!("{n} identities suspended and their leases revoked"),
        },
    );
    if args.no_wait {
        return running.stop().await;
    }
    shutdown_signal().await;
    running.stop().await
}
