//! The command line: nouns as subcommands, `--json` everywhere, flags over `HOLDFAST_*` variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "holdfast",
    version,
    about = "Control plane for non-human identities"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Server address.
    #[arg(
        long,
        global = true,
        env = "HOLDFAST_ADDR",
        default_value = "http://127.0.0.1:8200"
    )]
    pub addr: String,
    /// API token (prefer --token-file or HOLDFAST_TOKEN so it stays out of shell history).
    #[arg(long, global = true, env = "HOLDFAST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the API token.
    #[arg(long, global = true, env = "HOLDFAST_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// PEM CA certificate to trust for the server's TLS certificate.
    #[arg(long, global = true, env = "HOLDFAST_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the control plane.
    Serve(ServeArgs),
    /// Start a server with a sample estate on the embedded store and show what to try.
    Demo(DemoArgs),
    /// Operate the server: initialise it.
    #[command(subcommand)]
    Operator(OperatorCmd),
    /// Non-human identities.
    #[command(subcommand)]
    Identity(IdentityCmd),
    /// Owners: the people and teams accountable for identities.
    #[command(subcommand)]
    Owner(OwnerCmd),
    /// Systems identities act on.
    #[command(subcommand)]
    System(SystemCmd),
    /// Credentials of identities (kept as fingerprints).
    #[command(subcommand)]
    Credential(CredentialCmd),
    /// What identities may do.
    #[command(subcommand)]
    Entitlement(EntitlementCmd),
    /// Secrets found in the wild that match no known credential.
    #[command(subcommand)]
    Leak(LeakCmd),
    /// Holdfast's own API tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Measure identity create and list throughput through the HTTP API, audit on.
    Bench(BenchArgs),
    /// Scan files for secrets (offline; exit 1 when something is found).
    Scan(ScanArgs),
    /// Discover identities, credentials and permissions from exports, manifests, workflows and
    /// state files, and import them (or, with `--dry-run`, only show what was found).
    Discover(DiscoverArgs),
    /// The identity graph: blast radius and management-plane tiers.
    #[command(subcommand)]
    Graph(GraphCmd),
    /// Secrets in the vault: encrypted, versioned, every read audited.
    #[command(subcommand)]
    Secret(SecretCmd),
    /// The Cedar policy set every action is decided by: validate, test, apply, diff, history.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Ask the decision point: may this principal do this action on this resource? Exit 0 for
    /// allow, 1 for deny.
    Authorize(AuthorizeArgs),
    /// Just-in-time access requests: ask, approve, deny, cancel, collect the grant.
    #[command(subcommand)]
    Request(RequestCmd),
    /// Leases: grants in force; renew, revoke, revoke everything an identity holds.
    #[command(subcommand)]
    Lease(LeaseCmd),
    /// Break the glass: a grant now, without approval, with a reason; announced to approvers,
    /// time-boxed, reviewed afterwards by someone else, and what it reached is rotated after.
    Breakglass {
        #[arg(long)]
        reason: String,
        #[arg(long)]
        task: String,
        #[arg(long)]
        audience: String,
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        #[arg(long)]
        identity: Option<String>,
        /// jwt or postgres.
        #[arg(long)]
        kind: Option<String>,
        /// At most 1h.
        #[arg(long)]
        ttl: Option<String>,
    },
    /// Post-use reviews of break-glass grants.
    #[command(subcommand)]
    Review(ReviewCmd),
    /// Step-up: enrol an authenticator for this token, or prove a fresh code.
    #[command(subcommand)]
    Auth(AuthCmd),
    /// Events: ingest CloudTrail, Kubernetes audit and Holdfast audit logs.
    #[command(subcommand)]
    Events(EventsCmd),
    /// Alerts the detections raised: list, show, acknowledge, close.
    #[command(subcommand)]
    Alerts(AlertsCmd),
    /// The evidence report an auditor takes away: inventory, findings by OWASP item with trends,
    /// NIST CSF 2.0 outcomes with their evidence, workflows, the audit chain's verification.
    Report {
        /// json, html (one self-contained file) or oscal (assessment results).
        #[arg(long, default_value = "html")]
        format: String,
        /// Where to write it (default: standard output).
        #[arg(long, short = 'o')]
        output: Option<std::path::PathBuf>,
    },
    /// Offboardings: their steps, manual confirmations, re-checks and receipts.
    #[command(subcommand)]
    Offboarding(OffboardingCmd),
    /// Offboarding receipts: verify one offline.
    #[command(subcommand)]
    Receipt(ReceiptCmd),
    /// Posture findings mapped to OWASP NHI Top 10 and NIST CSF 2.0: list, show, accept a risk,
    /// recompute, an identity's risk score.
    #[command(subcommand)]
    Findings(FindingsCmd),
    /// How an identity is used: last use, credentials, baseline, and granted versus used with a
    /// right-sized policy.
    Usage {
        /// Identity id.
        id: String,
        /// Days of use that count.
        #[arg(long, default_value_t = 90)]
        window_days: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// Send a log file (or `-` for standard input): CloudTrail `{"Records":[…]}` files (gzip or
    /// not) or JSON lines, Kubernetes audit JSON lines, Holdfast audit lines. Large inputs go in
    /// batches of `--batch` lines.
    Ingest {
        file: String,
        /// auto, cloudtrail, kubernetes or holdfast.
        #[arg(long, default_value = "auto")]
        format: String,
        /// The discovery source to map actors in.
        #[arg(long)]
        source: Option<String>,
        /// Lines per request for JSON-lines input.
        #[arg(long, default_value_t = 20_000)]
        batch: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCmd {
    /// List alerts (newest last).
    List {
        /// open, acknowledged or closed.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        severity: Option<String>,
        #[arg(long)]
        detection: Option<String>,
        #[arg(long)]
        identity: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// One alert with the events behind it.
    Show { id: String },
    /// Acknowledge: someone is on it.
    Ack {
        id: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Close with what was found and done.
    Close {
        id: String,
        #[arg(long)]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OffboardingCmd {
    List {
        /// running, waiting or finished.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        identity: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Every step with its status, outcome and evidence.
    Show { id: String },
    /// Confirm a manual step (something Holdfast cannot do itself) with what you did.
    Confirm {
        id: String,
        /// The step number.
        #[arg(long)]
        step: u32,
        #[arg(long)]
        note: String,
    },
    /// Re-scan the locations of a finished offboarding whose copies remained; a new receipt.
    Recheck { id: String },
    /// Save the signed receipt of a finished offboarding.
    Receipt {
        id: String,
        /// Where to write it (default: standard output).
        #[arg(long, short = 'o')]
        output: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReceiptCmd {
    /// Verify a receipt file offline: exactly as issued and signed by the key it names (or by
    /// one of `--public-key`, the node's audit public key from `holdfast audit keys`).
    Verify {
        file: std::path::PathBuf,
        #[arg(long = "public-key")]
        public_keys: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum FindingsCmd {
    /// List findings.
    List {
        /// open, accepted or resolved.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        #[arg(long)]
        severity: Option<String>,
        /// An OWASP NHI Top 10 item (NHI1 … NHI10).
        #[arg(long)]
        owasp: Option<String>,
        /// A NIST CSF outcome: 2.0 (PR.AA-05) or 1.1 (PR.AC-4, matched to what it became).
        #[arg(long)]
        csf: Option<String>,
        #[arg(long)]
        identity: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// One finding: explanation, evidence, fix, mappings and history.
    Show { id: String },
    /// Accept a finding as a risk: a reason and an expiry; you must not own the identity.
    Accept {
        id: String,
        #[arg(long)]
        reason: String,
        /// When the acceptance ends: an RFC 3339 time or a duration such as `30d`.
        #[arg(long)]
        expires: String,
    },
    /// Recompute findings now (the server also does it when the inventory changes).
    Recompute,
    /// Counts by OWASP item and severity, and the trend by day.
    Summary,
    /// An identity's risk score with its parts.
    Risk { id: String },
    /// The rules, OWASP items, CSF 2.0 outcomes and the CSF 1.1 → 2.0 crosswalk.
    Catalog,
}

#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// Enrol a TOTP authenticator for this token; the secret is shown once.
    Enroll,
    /// Prove a fresh code; management-plane policies count minutes from here.
    StepUp {
        #[arg(long)]
        code: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCmd {
    /// Start an access review: each owner attests, reduces or revokes each identity they own by
    /// the deadline; what nobody answers is suspended (as policy decides).
    Start {
        #[arg(long)]
        name: String,
        /// Days until the deadline.
        #[arg(long, conflicts_with = "deadline")]
        deadline_days: Option<u32>,
        /// The deadline itself (RFC 3339).
        #[arg(long)]
        deadline: Option<String>,
        /// Only identities of this owner.
        #[arg(long)]
        owner: Option<String>,
        /// Only identities of this tier.
        #[arg(long)]
        tier: Option<String>,
    },
    /// A campaign's progress, or every campaign without an id.
    Status {
        id: Option<String>,
        /// List the items (optionally only this owner's).
        #[arg(long)]
        owner: Option<String>,
    },
    /// Answer for an identity you own: attested (still needed), reduced (with the entitlements to
    /// remove) or revoked (offboard it).
    Attest {
        campaign: String,
        #[arg(long)]
        identity: String,
        #[arg(long, default_value = "attested")]
        decision: String,
        #[arg(long)]
        note: Option<String>,
        #[arg(long = "remove-entitlement")]
        remove_entitlements: Vec<String>,
    },
    /// Break-glass post-use reviews.
    List {
        /// open or closed
        #[arg(long)]
        state: Option<String>,
    },
    /// Close a review (never by the one who broke the glass).
    Close {
        id: uuid::Uuid,
        #[arg(long)]
        notes: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RequestCmd {
    /// Ask for a short-lived grant.
    Create {
        /// What it is for (a ticket, a change).
        #[arg(long)]
        task: String,
        #[arg(long)]
        reason: String,
        /// The system that will accept the grant (the JWT audience).
        #[arg(long)]
        audience: String,
        /// What the grant allows there; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// The identity (id) to elevate, when it is not the caller.
        #[arg(long)]
        identity: Option<String>,
        /// The person an AI agent acts for.
        #[arg(long)]
        on_behalf_of: Option<String>,
        /// How long, e.g. 15m, 1h.
        #[arg(long)]
        ttl: Option<String>,
        /// Declare it management-plane.
        #[arg(long)]
        management_plane: bool,
    },
    List {
        /// pending, approved, denied, cancelled, expired, issued, closed
        #[arg(long)]
        state: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    Show {
        id: uuid::Uuid,
    },
    Approve {
        id: uuid::Uuid,
        #[arg(long)]
        comment: Option<String>,
    },
    Deny {
        id: uuid::Uuid,
        #[arg(long)]
        comment: Option<String>,
    },
    Cancel {
        id: uuid::Uuid,
    },
    /// Collect an approved request's grant; the credential is printed once.
    Issue {
        id: uuid::Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum LeaseCmd {
    List {
        #[arg(long)]
        state: Option<String>,
        /// The holder as a policy principal.
        #[arg(long)]
        holder: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Extend a lease within its maximum; prints the new credential once.
    Renew {
        id: uuid::Uuid,
        #[arg(long)]
        ttl: Option<String>,
    },
    Revoke {
        id: uuid::Uuid,
    },
    /// Revoke every lease an identity (id or principal) holds.
    RevokeHolder {
        holder: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Check a credential: active, or why not.
    Introspect {
        /// Read the credential from this file instead of standard input.
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Check a policy file against Holdfast's schema (offline; exit 1 with Cedar's diagnostics).
    Validate { file: PathBuf },
    /// Run a test suite (JSON: `entities` and `cases` with `expect`) against a policy file
    /// (offline; exit 1 when a case fails).
    Test {
        file: PathBuf,
        #[arg(long)]
        suite: PathBuf,
    },
    /// Apply a policy file as the next version (validated on the server first).
    Apply {
        file: PathBuf,
        /// Why; kept with the version.
        #[arg(long)]
        comment: Option<String>,
        /// Refuse if the current version is not this one (someone applied another since).
        #[arg(long)]
        base: Option<i64>,
        /// Validate and show what would change; store nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// What would change, policy by policy: the current set against a file, or two versions.
    Diff {
        /// Compare the current set with this file.
        file: Option<PathBuf>,
        #[arg(long, conflicts_with = "file", requires = "to")]
        from: Option<i64>,
        #[arg(long, conflicts_with = "file", requires = "from")]
        to: Option<i64>,
    },
    /// Every version, oldest first.
    History,
    /// Print the current policy set (or `--version N`).
    Show {
        #[arg(long)]
        version: Option<i64>,
    },
    /// Replace the entities the decision point knows (Cedar entity JSON).
    Entities {
        file: PathBuf,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Print Holdfast's Cedar schema.
    Schema,
}

#[derive(Debug, clap::Args)]
pub struct AuthorizeArgs {
    /// `Holdfast::Identity::"<id>"`, `Holdfast::Person::"alice"`, …
    #[arg(long)]
    pub principal: String,
    /// An action of the schema, e.g. `secret.read`.
    #[arg(long)]
    pub action: String,
    /// `Holdfast::Secret::"ci/deploy"`, `Holdfast::Api::"holdfast"`, …
    #[arg(long)]
    pub resource: String,
    /// Context as a JSON object, e.g. '{"step_up_minutes": 3}'.
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SecretCmd {
    /// Write a new version. The value comes from standard input (or `--value-file`), so it stays
    /// out of shell history and process lists.
    Put {
        path: String,
        /// Read the value from this file instead of standard input.
        #[arg(long)]
        value_file: Option<PathBuf>,
        /// Write only if the newest version is this one (0: only if the secret is new).
        #[arg(long)]
        cas: Option<u64>,
        /// The identity the secret belongs to (id).
        #[arg(long)]
        owner_identity: Option<uuid::Uuid>,
        /// Who uses it (repeatable).
        #[arg(long = "consumer")]
        consumers: Vec<String>,
        /// Rotate at least this often.
        #[arg(long)]
        max_age_days: Option<u32>,
    },
    /// Print a version's value (the newest by default). Audited and recorded on the secret.
    Get {
        path: String,
        #[arg(long)]
        version: Option<u64>,
    },
    /// List secrets (metadata only).
    List {
        /// Paths containing this (case-insensitive).
        #[arg(long)]
        prefix: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// A secret's metadata and versions (no values).
    Versions { path: String },
    /// Soft-delete versions (the newest by default); undelete brings them back.
    Delete {
        path: String,
        #[arg(long = "version")]
        versions: Vec<u64>,
    },
    /// Bring soft-deleted versions back.
    Undelete {
        path: String,
        #[arg(long = "version")]
        versions: Vec<u64>,
    },
    /// Rotate a secret without an outage: the new credential is made valid at the target, consumers
    /// are pointed at it, and the old one is revoked after the grace period.
    Rotate {
        path: String,
        /// The rotator: `postgres` (two login roles under one group role, alternating), `command`
        /// or `webhook` (declared in the server's configuration).
        #[arg(long, default_value = "postgres")]
        rotator: String,
        /// postgres: vault path of the admin connection string.
        #[arg(long)]
        admin_secret: Option<String>,
        /// postgres: the two login roles.
        #[arg(long)]
        blue_role: Option<String>,
        #[arg(long)]
        green_role: Option<String>,
        /// command, webhook: the declared rotator's name.
        #[arg(long)]
        name: Option<String>,
        /// command, webhook: the two logins it alternates between.
        #[arg(long)]
        blue_login: Option<String>,
        #[arg(long)]
        green_login: Option<String>,
        /// Seconds the old credential keeps working after consumers are pointed at the new one.
        #[arg(long)]
        grace_seconds: Option<u64>,
    },
    /// Where the latest rotation of a secret stands.
    Rotation { path: String },
    /// Consumers have moved to the rotated version: revoke the old one without waiting out the
    /// grace period.
    RotationAck { path: String },
    /// Rotate now, with no grace period, every secret an identity owns or whose value has a
    /// leaked fingerprint.
    RotateEmergency {
        /// The identity (id) whose secrets to rotate.
        #[arg(long, conflicts_with = "fingerprint")]
        identity: Option<uuid::Uuid>,
        /// The leaked value's fingerprint (`sha256:…`, as `holdfast scan` prints it).
        #[arg(long)]
        fingerprint: Option<String>,
    },
    /// Destroy versions for good: their ciphertext is erased.
    Destroy {
        path: String,
        #[arg(long = "version")]
        versions: Vec<u64>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DiscoverArgs {
    #[command(subcommand)]
    pub command: Option<DiscoverCmd>,
    /// The connector: kubernetes, aws-iam, github-actions, terraform or env.
    #[arg(value_parser = ["kubernetes", "aws-iam", "github-actions", "terraform", "env"])]
    pub connector: Option<String>,
    /// Files or directories to read (directories are searched for the connector's file types).
    pub paths: Vec<PathBuf>,
    /// The cluster, repository (`owner/repo`) or account the files describe, when they do not say.
    #[arg(long)]
    pub system: Option<String>,
    /// Run the connector here and print what it finds, tiers included; nothing is imported.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum DiscoverCmd {
    /// Sources imported so far, with their findings.
    Sources,
}

#[derive(Debug, Subcommand)]
pub enum GraphCmd {
    /// What an identity or secret reaches if stolen: systems, resources, identities it can
    /// become, whether it reaches the management plane, a score, and every path explained.
    BlastRadius {
        /// An identity id, a graph node key (`aws:arn:aws:iam::…:role/deploy`), or a secret's
        /// fingerprint (`sha256:…`, as `holdfast scan` prints it).
        target: String,
        /// Full paths to at most this many identities.
        #[arg(long)]
        max_paths: Option<usize>,
        /// Compute offline from files instead of asking the server: `CONNECTOR=PATH`, repeatable
        /// (e.g. `--from aws-iam=iam.json --from github-actions=.github/workflows`).
        #[arg(long = "from", value_name = "CONNECTOR=PATH")]
        from: Vec<String>,
        /// With `--from`: the system for connectors that need one, as `CONNECTOR=SYSTEM`.
        #[arg(long = "system", value_name = "CONNECTOR=SYSTEM")]
        systems: Vec<String>,
    },
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Data directory: the SQLite database and this node's audit signing key.
    #[arg(long, env = "HOLDFAST_DATA")]
    pub data: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8200).
    #[arg(long, env = "HOLDFAST_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Use PostgreSQL instead of the embedded store: postgres://user@host:port/db.
    #[arg(long, env = "HOLDFAST_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// TLS certificate chain (PEM).
    #[arg(long, env = "HOLDFAST_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "HOLDFAST_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (when a proxy in front terminates TLS).
    #[arg(long, env = "HOLDFAST_INSECURE_HTTP", num_args = 0..=1, default_missing_value = "true")]
    pub insecure_http: Option<bool>,
    /// TOML configuration file; flags and HOLDFAST_* variables override it.
    #[arg(long, env = "HOLDFAST_CONFIG")]
    pub config: Option<PathBuf>,
    /// Single-node setups: the file holding the vault's root key. `operator init` writes it (when
    /// no `--shares` are asked for); the server unseals from it at start. Keep it off the data
    /// volume's backups.
    #[arg(long, env = "HOLDFAST_UNSEAL_KEY_FILE")]
    pub unseal_key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Data directory for the demo (wiped and recreated).
    #[arg(long, default_value = ".holdfast-demo")]
    pub data: PathBuf,
    /// Address to listen on; a free port is used if it is taken.
    #[arg(long, default_value = "127.0.0.1:8200")]
    pub listen: SocketAddr,
    /// Load the estate, print what to try, and exit instead of serving.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCmd {
    /// Initialise a fresh server: prints the root token and the unseal key shares, once.
    Init {
        /// Split the vault's root key into this many shares (default 5, unless the server has a
        /// key file).
        #[arg(long)]
        shares: Option<u8>,
        /// Shares needed to unseal (default 3).
        #[arg(long)]
        threshold: Option<u8>,
    },
    /// Give one unseal key share (`hfs1-…`) on standard input — never as an argument, so it
    /// stays out of shell history and process lists; repeat with other holders' shares.
    Unseal,
    /// Seal the vault on this server: drop its keys from memory. Secret operations stop until it
    /// is unsealed again.
    Seal,
    /// Add a data key for new writes and re-encrypt every stored secret version under it.
    RotateKeyring,
    /// Replace the root key and its shares. Reads a quorum of the current shares from standard
    /// input (one per line) and prints the new shares; they replace the old ones only after
    /// `operator rekey-verify` proves them, so the old shares keep working until then.
    Rekey {
        #[arg(long)]
        shares: Option<u8>,
        #[arg(long)]
        threshold: Option<u8>,
    },
    /// Prove the new shares of a rekey (one per line on standard input); at the threshold they
    /// replace the old ones.
    RekeyVerify,
}

#[derive(Debug, Args)]
pub struct Page {
    /// Items per page.
    #[arg(long)]
    pub limit: Option<u32>,
    /// Continue after this id (the `next` of the previous page).
    #[arg(long)]
    pub after: Option<String>,
    /// Fetch every page.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum IdentityCmd {
    /// Register an identity.
    Create {
        #[arg(long)]
        name: String,
        /// service_account, api_key, access_key, token, certificate, ssh_key, workload, ci_job, ai_agent, bot, oauth_app
        #[arg(long)]
        kind: String,
        /// Owner id or handle.
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        purpose: Option<String>,
        #[arg(long)]
        environment: Option<String>,
        /// System id or name; repeat for several.
        #[arg(long = "system")]
        systems: Vec<String>,
        /// standard, management_plane, break_glass
        #[arg(long)]
        tier: Option<String>,
        #[arg(long)]
        tier_reason: Option<String>,
        /// RFC 3339 time.
        #[arg(long)]
        expires_at: Option<String>,
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        external_id: Option<String>,
        /// key=value; repeat for several.
        #[arg(long = "label")]
        labels: Vec<String>,
    },
    /// List identities.
    List {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        tier: Option<String>,
        #[arg(long)]
        environment: Option<String>,
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        system: Option<String>,
        /// Name contains.
        #[arg(long)]
        q: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Show one identity.
    Show { id: String },
    /// Change an identity (send the version you read with --version).
    Update {
        id: String,
        #[arg(long)]
        version: i64,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        purpose: Option<String>,
        #[arg(long)]
        environment: Option<String>,
        #[arg(long)]
        tier: Option<String>,
        #[arg(long)]
        tier_reason: Option<String>,
        #[arg(long)]
        expires_at: Option<String>,
        /// Record an owner review now.
        #[arg(long)]
        reviewed: bool,
    },
    /// Suspend an identity.
    Suspend {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Resume a suspended identity.
    Resume {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Offboard an identity: revoke every credential, lease and token it holds, re-scan every
    /// place a copy was found, verify revoked credentials no longer sign in, then issue a signed
    /// receipt. Waits for it unless `--no-wait`.
    Offboard {
        id: String,
        #[arg(long)]
        reason: String,
        /// Return once it is started.
        #[arg(long)]
        no_wait: bool,
        /// Write the receipt here once it is issued.
        #[arg(long)]
        receipt: Option<std::path::PathBuf>,
    },
    /// Move an identity to any lifecycle state the rules allow.
    Transition {
        id: String,
        /// active, suspended, offboarding, offboarded
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OwnerCmd {
    Create {
        #[arg(long)]
        name: String,
        /// person or team
        #[arg(long, default_value = "team")]
        kind: String,
        #[arg(long)]
        contact: String,
        #[arg(long)]
        display_name: Option<String>,
    },
    List {
        #[arg(long)]
        q: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    Show {
        owner: String,
    },
    /// An owner leaves: every identity they own is offboarded, or reassigned with --reassign-to.
    Depart {
        owner: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        reassign_to: Option<String>,
    },
    /// Mark an owner as departed, or change contact.
    Update {
        owner: String,
        #[arg(long)]
        version: i64,
        #[arg(long)]
        contact: Option<String>,
        #[arg(long)]
        active: Option<bool>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SystemCmd {
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        environment: Option<String>,
    },
    List {
        #[arg(long)]
        kind: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    Show {
        system: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CredentialCmd {
    Create {
        /// Identity id.
        #[arg(long)]
        identity: String,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        external_id: Option<String>,
        /// sha256:… fingerprint of the value.
        #[arg(long)]
        fingerprint: Option<String>,
        /// Read the secret value from stdin to fingerprint it (it is not stored).
        #[arg(long)]
        value_stdin: bool,
        #[arg(long)]
        stored_in: Option<String>,
        #[arg(long)]
        expires_at: Option<String>,
    },
    List {
        #[arg(long)]
        identity: Option<String>,
        #[arg(long)]
        fingerprint: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    Show {
        id: String,
    },
    /// Record where a copy of the credential was found.
    AddExposure {
        id: String,
        #[arg(long)]
        location: String,
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        detail: Option<String>,
    },
    /// Mark a credential revoked.
    Revoke {
        id: String,
        #[arg(long)]
        version: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum EntitlementCmd {
    Create {
        #[arg(long)]
        identity: String,
        #[arg(long)]
        system: Option<String>,
        #[arg(long)]
        resource: String,
        /// Repeat for several.
        #[arg(long = "action", required = true)]
        actions: Vec<String>,
        #[arg(long)]
        granted_by: String,
    },
    List {
        #[arg(long)]
        identity: Option<String>,
        #[arg(long)]
        system: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    Show {
        id: String,
    },
    Delete {
        id: String,
        #[arg(long)]
        version: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token; it is shown once.
    Create {
        #[arg(long)]
        name: String,
        /// reader, writer, auditor, approver or admin; repeat for several.
        #[arg(long = "role", visible_alias = "scope", required = true)]
        roles: Vec<String>,
        /// The machine identity or AI agent (id) the token authenticates as; omit for a person.
        #[arg(long)]
        identity: Option<String>,
        /// A named group besides the roles (e.g. platform-leads); repeat for several.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Lifetime, e.g. 3600s, 90m, 12h, 30d.
        #[arg(long)]
        ttl: Option<String>,
    },
    List {
        #[command(flatten)]
        page: Page,
    },
    Revoke {
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check the whole chain and every signature; exit 1 naming the first tampered record.
    Verify {
        /// Trust only these hex Ed25519 public keys (from `operator init` or `audit keys`).
        #[arg(long = "public-key")]
        public_keys: Vec<String>,
    },
    /// The newest records.
    Tail {
        #[arg(long, short = 'n', default_value_t = 20)]
        lines: u32,
    },
    /// Public keys that sign the log.
    Keys,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCmd>,
    /// Identities to create.
    #[arg(long, default_value_t = 2000)]
    pub count: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Benchmark against PostgreSQL instead of a fresh embedded store.
    #[arg(long, env = "HOLDFAST_BENCH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Secret writes and reads through the HTTP API with audit on, beside the raw audited insert
    /// rate of the same store, as a ratio.
    Secrets {
        #[arg(long, default_value_t = 2000)]
        count: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Benchmark against PostgreSQL (an empty database) instead of a fresh embedded store.
        #[arg(long, env = "HOLDFAST_BENCH_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Decisions per second and p50/p99 latency of `POST /v1/authorize` at 1, 8 and 64 concurrent
    /// clients, with a realistic policy set over a generated entity set, beside in-process Cedar.
    /// Generate CloudTrail records for an estate, then measure parsing + detection throughput on
    /// one core and through `POST /v1/events` on a fresh embedded store; print events per second
    /// and peak memory.
    Events {
        /// Records to generate.
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        /// Identities in the estate.
        #[arg(long, default_value_t = 1000)]
        identities: usize,
        /// Records sent through the HTTP API (0 skips that part).
        #[arg(long, default_value_t = 200_000)]
        http_count: usize,
    },
    Authorize {
        /// Requests per concurrency level.
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        /// Entities in the generated set.
        #[arg(long, default_value_t = 10_000)]
        entities: usize,
    },
    /// Generate an estate (identities, credentials, entitlements, secrets, leaks and a graph),
    /// assess it in memory and through a fresh store (cold and unchanged); print time and peak
    /// memory.
    Posture {
        /// Identities in the generated estate.
        #[arg(long, default_value_t = 100_000)]
        identities: usize,
        /// Edges in the generated graph.
        #[arg(long, default_value_t = 1_000_000)]
        edges: usize,
        /// Benchmark against PostgreSQL instead of a fresh embedded store.
        #[arg(long, env = "HOLDFAST_BENCH_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Generate an estate, import it into a fresh store, compute every blast radius; print time
    /// and peak memory.
    Graph {
        /// Identities in the generated estate.
        #[arg(long, default_value_t = 100_000)]
        identities: usize,
        /// Edges in the generated estate.
        #[arg(long, default_value_t = 1_000_000)]
        edges: usize,
        /// Single blast-radius queries to time.
        #[arg(long, default_value_t = 1000)]
        queries: usize,
        /// Threads for computing every blast radius (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Benchmark against PostgreSQL instead of a fresh embedded store.
        #[arg(long, env = "HOLDFAST_BENCH_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScanArgs {
    #[command(subcommand)]
    pub command: Option<ScanCmd>,
    /// Files and directories to scan (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Scan the git history of the repository at the path instead of the files on disk: every blob
    /// reachable from every ref, once, attributed to the first commit that has it.
    #[arg(long)]
    pub git: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ScanFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Print secrets in full (text and JSON). Off by default.
    #[arg(long)]
    pub show_secrets: bool,
    /// Suppress the findings listed in this baseline file.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Write every finding of this scan to a baseline file (and exit 0).
    #[arg(long)]
    pub write_baseline: Option<PathBuf>,
    /// Scan configuration (default: `.holdfast-scan.toml` in the first path, if present).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Honour .gitignore and .ignore files (by default ignored files such as .env are scanned).
    #[arg(long)]
    pub respect_gitignore: bool,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 25 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Only report findings at or above this confidence.
    #[arg(long, value_enum, default_value = "low")]
    pub min_confidence: MinConfidence,
    /// Only these rule ids (repeatable).
    #[arg(long = "rule")]
    pub only_rules: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No progress bar even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Send the findings (fingerprints, locations, redacted previews; never values) to the Holdfast
    /// server at `--addr`, where each becomes an exposure of the credential with that fingerprint.
    #[arg(long)]
    pub report_to_server: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum MinConfidence {
    Low,
    Medium,
    High,
}

#[derive(Debug, Subcommand)]
pub enum ScanCmd {
    /// The rule pack.
    #[command(subcommand)]
    Rules(RulesCmd),
}

#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// Check every rule against its examples and counter-examples.
    Check,
    /// List the rules.
    List,
}

#[derive(Debug, Subcommand)]
pub enum LeakCmd {
    /// List leaks.
    List {
        #[arg(long)]
        rule: Option<String>,
        #[command(flatten)]
        page: Page,
    },
}
