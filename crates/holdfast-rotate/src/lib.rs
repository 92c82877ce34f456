//! Rotators: the systems whose credentials Holdfast rotates. A rotator makes a credential slot valid
//! with a given secret (`apply`) or revokes it (`revoke`); both must be idempotent, because the
//! rotation engine repeats a step that a crash interrupted. The protocol that orders them — never a
//! moment with neither credential valid — is `holdfast_vault::rotation`.
//!
//! Rotators talk to *target* systems, never to Holdfast's own store.

use async_trait::async_trait;
use holdfast_vault::rotation::Slot;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Why a rotator step failed. Messages never contain the secret.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("invalid rotator settings: {0}")]
    Config(String),
    #[error("the target refused or could not be reached: {0}")]
    Target(String),
}

/// One credential a rotation writes: the login (username, role, key id) and its secret.
pub struct Credential {
    pub login: String,
    pub secret: Zeroizing<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("login", &self.login)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// A system whose credentials Holdfast rotates.
#[async_trait]
pub trait Rotator: Send + Sync {
    /// The login that `slot` stands for.
    fn login(&self, slot: Slot) -> String;
    /// Makes `slot` valid with `secret`. Idempotent.
    async fn apply(&self, slot: Slot, secret: &str) -> Result<(), RotateError>;
    /// Makes `slot` invalid. Idempotent.
    async fn revoke(&self, slot: Slot) -> Result<(), RotateError>;
    /// Whether `login` still signs in with `secret` at the target: `Some(true)` or `Some(false)`,
    /// or `None` when this kind of target gives no way to check.
    async fn authenticates(
        &self,
        _login: &str,
        _secret: &str,
    ) -> Result<Option<bool>, RotateError> {
        Ok(None)
    }
}

/// A fresh random secret: 32 letters and digits (about 190 bits).
pub fn generate_secret() -> Result<Zeroizing<String>, RotateError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = Zeroizing::new(String::with_capacity(32));
    while out.len() < 32 {
        let mut buf = Zeroizing::new([0u8; 64]);
        getrandom::fill(buf.as_mut()).map_err(|_| {
            RotateError::Target("the operating system's random source failed".into())
        })?;
        for b in buf.iter() {
            // 248 = 4 × 62: rejection sampling keeps every character equally likely.
            if *b < 248
                && out.len() < 32
                && let Some(c) = ALPHABET.get(usize::from(*b) % ALPHABET.len())
            {
                out.push(char::from(*c));
            }
        }
    }
    Ok(out)
}

/// Settings of the PostgreSQL rotator: two login roles that are members of one group role holding
/// the privileges, so consumers can move from one to the other without losing access. The admin
/// connection string is itself a vault secret, named by its path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSettings {
    /// Vault path of the connection string of a role allowed to `ALTER ROLE` the two.
    pub admin_secret: String,
    pub blue_role: String,
    pub green_role: String,
}

impl PostgresSettings {
    pub fn check(&self) -> Result<(), RotateError> {
        for (field, role) in [
            ("blue_role", &self.blue_role),
            ("green_role", &self.green_role),
        ] {
            let ok = !role.is_empty()
                && role.len() <= 63
                && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && role
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(RotateError::Config(format!(
                    "{field}: role names are lower-case letters, digits and `_`, starting with a letter or `_`, at most 63 characters"
                )));
            }
        }
        if self.blue_role == self.green_role {
            return Err(RotateError::Config(
                "green_role: must differ from blue_role".into(),
            ));
        }
        Ok(())
    }
}

/// Rotates a PostgreSQL role password, alternating between two login roles.
pub struct PostgresRotator {
    settings: PostgresSettings,
    admin_url: Zeroizing<String>,
}

impl std::fmt::Debug for PostgresRotator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresRotator")
            .field("settings", &self.settings)
            .field("admin_url", &"[redacted]")
            .finish()
    }
}

impl PostgresRotator {
    pub fn new(
        settings: PostgresSettings,
        admin_url: Zeroizing<String>,
    ) -> Result<Self, RotateError> {
        settings.check()?;
        Ok(Self {
            settings,
            admin_url,
        })
    }

    async fn execute(&self, sql: &str) -> Result<(), RotateError> {
        execute_as_admin(&self.admin_url, sql).await
    }
}

/// Runs `sql` as the admin role of a target database; errors carry the server's message only.
async fn execute_as_admin(admin_url: &str, sql: &str) -> Result<(), RotateError> {
    {
        let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
            .await
            .map_err(|e| {
                RotateError::Target(format!(
                    "cannot connect as the admin role: {}",
                    e.as_db_error()
                        .map_or("connection failed".to_string(), |d| d.message().to_string())
                ))
            })?;
        let handle = tokio::spawn(conn);
        let result = client.batch_execute(sql).await.map_err(|e| {
            RotateError::Target(e.as_db_error().map_or_else(
                || "the statement failed".to_string(),
                |d| d.message().to_string(),
            ))
        });
        drop(client);
        let _ = handle.await;
        result
    }
}

#[async_trait]
impl Rotator for PostgresRotator {
    fn login(&self, slot: Slot) -> String {
        match slot {
            Slot::Blue => self.settings.blue_role.clone(),
            Slot::Green => self.settings.green_role.clone(),
        }
    }

    async fn apply(&self, slot: Slot, secret: &str) -> Result<(), RotateError> {
        // The password goes to the server already hashed (a SCRAM-SHA-256 verifier, as psql's
        // `\password` sends it), so it never appears in the target's statement log. Role names
        // are checked identifiers and the verifier is base64 and `$:`, so neither can break out
        // of the statement (`ALTER ROLE … PASSWORD` takes no bind parameters).
        let verifier = Zeroizing::new(postgres_protocol::password::scram_sha_256(
            secret.as_bytes(),
        ));
        if verifier.contains('\'') {
            return Err(RotateError::Config("unexpected password verifier".into()));
        }
        let sql = Zeroizing::new(format!(
            "ALTER ROLE \"{}\" WITH LOGIN PASSWORD '{}'",
            self.login(slot),
            verifier.as_str()
        ));
        self.execute(&sql).await
    }

    async fn revoke(&self, slot: Slot) -> Result<(), RotateError> {
        self.execute(&format!(
            "ALTER ROLE \"{}\" WITH NOLOGIN PASSWORD NULL",
            self.login(slot)
        ))
        .await
    }

    async fn authenticates(&self, login: &str, secret: &str) -> Result<Option<bool>, RotateError> {
        authenticates_at(&self.admin_url, login, secret)
            .await
            .map(Some)
    }
}

/// Tries to sign in to the admin connection's server and database as `login` with `secret`:
/// true when the server lets it in, false when it refuses the login or the password.
pub async fn authenticates_at(
    admin_url: &str,
    login: &str,
    secret: &str,
) -> Result<bool, RotateError> {
    let mut config: tokio_postgres::Config = admin_url
        .parse()
        .map_err(|_| RotateError::Config("the admin connection string does not parse".into()))?;
    config
        .user(login)
        .password(secret)
        .connect_timeout(std::time::Duration::from_secs(10));
    match config.connect(tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            drop(client);
            let _ = conn.await;
            Ok(true)
        }
        Err(e) => match e.code() {
            Some(c)
                if *c == tokio_postgres::error::SqlState::INVALID_PASSWORD
                    || *c
                        == tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                Ok(false)
            }
            _ => Err(RotateError::Target(format!(
                "cannot reach the server to try the login: {}",
                e.as_db_error()
                    .map_or("connection failed".to_string(), |d| d.message().to_string())
            ))),
        },
    }
}

/// A command rotator as the server's configuration declares it (never through the API: a command
/// runs on the server). The program is run with `HOLDFAST_ROTATION_ACTION` (`apply` or `revoke`),
/// `HOLDFAST_ROTATION_SLOT` and `HOLDFAST_ROTATION_LOGIN` set, and, for `apply`, the new secret on
/// standard input. Exit status 0 means done; it must be idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Seconds before the command is killed and the step counts as failed (default 60).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// Settings a rotation names for a command or webhook rotator: which declared command or webhook,
/// and the two logins it alternates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedSlots {
    pub name: String,
    pub blue_login: String,
    pub green_login: String,
}

impl NamedSlots {
    /// Two different, non-empty logins.
    fn check(&self) -> Result<(), RotateError> {
        if self.blue_login.is_empty()
            || self.green_login.is_empty()
            || self.blue_login == self.green_login
        {
            return Err(RotateError::Config(
                "blue_login and green_login: two different, non-empty logins".into(),
            ));
        }
        Ok(())
    }

    fn login(&self, slot: Slot) -> String {
        match slot {
            Slot::Blue => self.blue_login.clone(),
            Slot::Green => self.green_login.clone(),
        }
    }
}

/// Settings a rotation names for a command rotator.
pub type CommandSettings = NamedSlots;
/// Settings a rotation names for a webhook rotator.
pub type WebhookSettings = NamedSlots;

/// Rotates by running a command the server's configuration declares.
#[derive(Debug)]
pub struct CommandRotator {
    spec: CommandSpec,
    settings: CommandSettings,
}

impl CommandRotator {
    pub fn new(spec: CommandSpec, settings: CommandSettings) -> Result<Self, RotateError> {
        if spec.command.is_empty() {
            return Err(RotateError::Config(format!(
                "command rotator `{}` has no command",
                settings.name
            )));
        }
        settings.check()?;
        Ok(Self { spec, settings })
    }

    async fn run(&self, action: &str, slot: Slot, secret: Option<&str>) -> Result<(), RotateError> {
        use tokio::io::AsyncWriteExt;
        let (program, args) = self
            .spec
            .command
            .split_first()
            .ok_or_else(|| RotateError::Config("empty command".into()))?;
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .env("HOLDFAST_ROTATION_ACTION", action)
            .env(
                "HOLDFAST_ROTATION_SLOT",
                match slot {
                    Slot::Blue => "blue",
                    Slot::Green => "green",
                },
            )
            .env("HOLDFAST_ROTATION_LOGIN", self.login(slot))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| RotateError::Target(format!("cannot run `{program}`: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            if let Some(secret) = secret {
                // A program that does not read its input closes the pipe: that is its business;
                // its exit status says whether the step worked.
                match stdin.write_all(secret.as_bytes()).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    Err(e) => {
                        return Err(RotateError::Target(format!(
                            "cannot hand the secret to `{program}`: {e}"
                        )));
                    }
                }
            }
            drop(stdin);
        }
        let limit = std::time::Duration::from_secs(self.spec.timeout_seconds.unwrap_or(60));
        let out = tokio::time::timeout(limit, child.wait_with_output())
            .await
            .map_err(|_| {
                RotateError::Target(format!(
                    "`{program}` did not finish within {} s",
                    limit.as_secs()
                ))
            })?
            .map_err(|e| RotateError::Target(format!("`{program}`: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        // The command's own words, cut short and with the secret (if it echoed it) removed.
        let mut said: String = String::from_utf8_lossy(&out.stderr)
            .chars()
            .take(300)
            .collect();
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            said = said.replace(secret, "[redacted]");
        }
        Err(RotateError::Target(format!(
            "`{program}` {action} failed ({}): {}",
            out.status,
            said.trim()
        )))
    }
}

#[async_trait]
impl Rotator for CommandRotator {
    fn login(&self, slot: Slot) -> String {
        self.settings.login(slot)
    }

    async fn apply(&self, slot: Slot, secret: &str) -> Result<(), RotateError> {
        self.run("apply", slot, Some(secret)).await
    }

    async fn revoke(&self, slot: Slot) -> Result<(), RotateError> {
        self.run("revoke", slot, None).await
    }
}

/// A webhook rotator as the server's configuration declares it: the URL the server posts to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    pub url: String,
    /// Vault path of the key that signs each request (`X-Holdfast-Signature: sha256=<hex HMAC>`
    /// over the body), so the receiver knows it is Holdfast.
    pub signing_secret: String,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// Posts a JSON body to a URL, signed with HMAC-SHA256; any 2xx answer is success.
pub async fn post_signed(
    url: &str,
    key: &[u8],
    body: &serde_json::Value,
    timeout: std::time::Duration,
) -> Result<(), RotateError> {
    use hmac::Mac;
    let bytes = Zeroizing::new(
        serde_json::to_vec(body).map_err(|e| RotateError::Config(format!("webhook body: {e}")))?,
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
        .map_err(|_| RotateError::Config("webhook signing key".into()))?;
    mac.update(&bytes);
    let signature = hex::encode(mac.finalize().into_bytes());
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| RotateError::Target(format!("webhook client: {e}")))?;
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-holdfast-signature", format!("sha256={signature}"))
        .body(bytes.to_vec())
        .send()
        .await
        .map_err(|e| {
            RotateError::Target(format!("webhook `{url}` unreachable: {}", e.without_url()))
        })?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(RotateError::Target(format!(
            "webhook `{url}` answered {}",
            resp.status()
        )))
    }
}

/// Rotates by asking a service over HTTPS: `{"action": "apply"|"revoke", "slot", "login",
/// "secret"}` (the secret only for `apply`), signed.
pub struct WebhookRotator {
    spec: WebhookSpec,
    settings: WebhookSettings,
    key: Zeroizing<String>,
}

impl std::fmt::Debug for WebhookRotator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRotator")
            .field("spec", &self.spec)
            .field("settings", &self.settings)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl WebhookRotator {
    pub fn new(
        spec: WebhookSpec,
        settings: WebhookSettings,
        key: Zeroizing<String>,
    ) -> Result<Self, RotateError> {
        if !(spec.url.starts_with("https://") || spec.url.starts_with("http://")) {
            return Err(RotateError::Config(format!(
                "webhook rotator `{}`: url must be http(s)",
                settings.name
            )));
        }
        settings.check()?;
        Ok(Self {
            spec,
            settings,
            key,
        })
    }

    async fn send(
        &self,
        action: &str,
        slot: Slot,
        secret: Option<&str>,
    ) -> Result<(), RotateError> {
        let mut body = serde_json::json!({
            "action": action,
            "slot": match slot { Slot::Blue => "blue", Slot::Green => "green" },
            "login": self.login(slot),
        });
        if let (Some(secret), Some(obj)) = (secret, body.as_object_mut()) {
            obj.insert(
                "secret".into(),
                serde_json::Value::String(secret.to_string()),
            );
        }
        let timeout = std::time::Duration::from_secs(self.spec.timeout_seconds.unwrap_or(30));
        let sent = post_signed(&self.spec.url, self.key.as_bytes(), &body, timeout).await;
        if let Some(serde_json::Value::String(s)) = body.get_mut("secret") {
            zeroize::Zeroize::zeroize(s);
        }
        sent
    }
}

#[async_trait]
impl Rotator for WebhookRotator {
    fn login(&self, slot: Slot) -> String {
        self.settings.login(slot)
    }

    async fn apply(&self, slot: Slot, secret: &str) -> Result<(), RotateError> {
        self.send("apply", slot, Some(secret)).await
    }

    async fn revoke(&self, slot: Slot) -> Result<(), RotateError> {
        self.send("revoke", slot, None).await
    }
}

/// A PostgreSQL database Holdfast issues dynamic logins for, as the server's configuration
/// declares it (`[grants.postgres.<name>]`): the vault path of an admin connection string (a role
/// with `CREATEROLE` that is a member, with ADMIN OPTION, of the roles it may grant) and the group
/// roles a grant may confer. A grant's scopes name those roles; the login it creates has exactly
/// their privileges, through membership, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresGrantSpec {
    pub admin_secret: String,
    pub grantable_roles: Vec<String>,
    /// The tier of access to this database (`standard`, `sensitive`, `management_plane`); a
    /// request for it is at least this tier. Default `sensitive`.
    #[serde(default)]
    pub tier: Option<String>,
}

/// Checks a role name is a plain lower-case identifier (so it can be quoted safely).
pub fn check_role_name(role: &str) -> bool {
    !role.is_empty()
        && role.len() <= 63
        && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Dynamic logins on one PostgreSQL database.
pub struct PostgresGrants {
    admin_url: Zeroizing<String>,
}

impl std::fmt::Debug for PostgresGrants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresGrants")
            .field("admin_url", &"[redacted]")
            .finish()
    }
}

impl PostgresGrants {
    pub fn new(admin_url: Zeroizing<String>) -> Self {
        Self { admin_url }
    }

    async fn execute(&self, sql: &str) -> Result<(), RotateError> {
        execute_as_admin(&self.admin_url, sql).await
    }

    /// Creates `login` with `password` (sent as a SCRAM verifier), valid until `valid_until`
    /// (RFC 3339; PostgreSQL refuses password logins after it), member of `roles`, with `note`
    /// (letters, digits, `-`, `:` and spaces) as the role's comment, so the installation that made
    /// it can recognise it later.
    pub async fn create(
        &self,
        login: &str,
        password: &str,
        roles: &[String],
        valid_until: &str,
        note: &str,
    ) -> Result<(), RotateError> {
        if !note
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | ' '))
        {
            return Err(RotateError::Config("unexpected role comment".into()));
        }
        if !check_role_name(login) || !roles.iter().all(|r| check_role_name(r)) {
            return Err(RotateError::Config(
                "role names must be plain identifiers".into(),
            ));
        }
        if !valid_until
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '+'))
        {
            return Err(RotateError::Config("unexpected expiry".into()));
        }
        let verifier = Zeroizing::new(postgres_protocol::password::scram_sha_256(
            password.as_bytes(),
        ));
        if verifier.contains('\'') {
            return Err(RotateError::Config("unexpected password verifier".into()));
        }
        let grants: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
        let sql = Zeroizing::new(format!(
            "CREATE ROLE \"{login}\" WITH LOGIN NOINHERIT PASSWORD '{}' VALID UNTIL '{valid_until}'; COMMENT ON ROLE \"{login}\" IS '{note}'; GRANT {} TO \"{login}\"; ALTER ROLE \"{login}\" INHERIT",
            verifier.as_str(),
            grants.join(", ")
        ));
        self.execute(&sql).await
    }

    /// The logins named like Holdfast's (`hf_…`) on this database, with their comments.
    pub async fn logins(&self) -> Result<Vec<(String, Option<String>)>, RotateError> {
        let (client, conn) = tokio_postgres::connect(&self.admin_url, tokio_postgres::NoTls)
            .await
            .map_err(|e| RotateError::Target(format!("cannot connect as the admin role: {e}")))?;
        let handle = tokio::spawn(conn);
        let rows = client
            .query(
                "SELECT rolname::text, shobj_description(oid, 'pg_authid') FROM pg_roles \
                 WHERE rolname LIKE 'hf\\_%' ESCAPE '\\'",
                &[],
            )
            .await
            .map_err(|e| RotateError::Target(format!("listing logins: {e}")));
        drop(client);
        let _ = handle.await;
        Ok(rows?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, Option<String>>(1)))
            .collect())
    }

    /// Moves `login`'s expiry.
    pub async fn extend(&self, login: &str, valid_until: &str) -> Result<(), RotateError> {
        if !check_role_name(login)
            || !valid_until
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '+'))
        {
            return Err(RotateError::Config("unexpected login or expiry".into()));
        }
        self.execute(&format!(
            "ALTER ROLE \"{login}\" VALID UNTIL '{valid_until}'"
        ))
        .await
    }

    /// Ends `login`: no new sessions, current sessions terminated, the role dropped. Idempotent.
    pub async fn drop_login(&self, login: &str) -> Result<(), RotateError> {
        if !check_role_name(login) {
            return Err(RotateError::Config(
                "role names must be plain identifiers".into(),
            ));
        }
        self.execute(&format!(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{login}') THEN \
               ALTER ROLE \"{login}\" NOLOGIN; \
               PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{login}'; \
               DROP OWNED BY \"{login}\"; \
               DROP ROLE \"{login}\"; \
             END IF; END $$"
        ))
        .await
    }
}
