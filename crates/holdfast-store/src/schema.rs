//! The schema both SQL backends share: plain SQL that SQLite and PostgreSQL both accept.
//! Migrations are append-only: a released step is never edited, only followed by a new one.

/// `(version, statements)` in order; each step runs in one transaction.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE owners (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    name TEXT NOT NULL, kind TEXT NOT NULL, active BIGINT NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT uq_owners__name UNIQUE (name)
);
CREATE TABLE systems (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    name TEXT NOT NULL, kind TEXT NOT NULL, environment TEXT,
    doc TEXT NOT NULL,
    CONSTRAINT uq_systems__name UNIQUE (name)
);
CREATE TABLE identities (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    kind TEXT NOT NULL, name TEXT NOT NULL, source TEXT NOT NULL, external_id TEXT,
    owner_id TEXT, state TEXT NOT NULL, tier TEXT NOT NULL, environment TEXT, systems TEXT,
    doc TEXT NOT NULL,
    CONSTRAINT uq_identities__external_id UNIQUE (source, external_id)
);
CREATE INDEX ix_identities_owner ON identities (owner_id);
CREATE INDEX ix_identities_state ON identities (state);
CREATE TABLE credentials (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    identity_id TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL, fingerprint TEXT, external_id TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX ix_credentials_identity ON credentials (identity_id);
CREATE INDEX ix_credentials_fingerprint ON credentials (fingerprint);
CREATE TABLE entitlements (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    identity_id TEXT NOT NULL, system_id TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX ix_entitlements_identity ON entitlements (identity_id);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL
);
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, key_id, signature)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', '', '');
CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY, hash TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL
);
CREATE TABLE audit_keys (
    key_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, registered_at TEXT NOT NULL
);
"#,
    ),
    (
        2,
        r#"
CREATE TABLE leaks (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    fingerprint TEXT NOT NULL, rule TEXT NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT uq_leaks__fingerprint UNIQUE (fingerprint)
);
"#,
    ),
    (
        3,
        r#"
CREATE TABLE graph_nodes (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    source TEXT NOT NULL, key TEXT NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT uq_graph_nodes__key UNIQUE (source, key)
);
CREATE TABLE graph_edges (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    source TEXT NOT NULL, from_key TEXT NOT NULL, to_key TEXT NOT NULL, kind TEXT NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT uq_graph_edges__edge UNIQUE (source, from_key, to_key, kind)
);
CREATE INDEX ix_graph_edges_from ON graph_edges (from_key);
CREATE TABLE discovery_sources (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    source TEXT NOT NULL, connector TEXT NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT uq_discovery_sources__source UNIQUE (source)
);
"#,
    ),
    (
        4,
        r#"
CREATE TABLE secrets (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    path TEXT NOT NULL, owner_identity TEXT,
    doc TEXT NOT NULL,
    CONSTRAINT uq_secrets__path UNIQUE (path)
);
CREATE TABLE vault_config (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    mode TEXT NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT uq_vault_config__mode UNIQUE (mode)
);
"#,
    ),
    (
        5,
        r#"
CREATE TABLE rotations (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    path TEXT NOT NULL, finished BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX ix_rotations_open ON rotations (finished);
"#,
    ),
    (
        6,
        r#"
CREATE TABLE policy_versions (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    kind TEXT NOT NULL, number BIGINT NOT NULL, current BIGINT NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT uq_policy_versions__number UNIQUE (kind, number)
);
CREATE INDEX ix_policy_versions_current ON policy_versions (kind, current);
"#,
    ),
    (
        7,
        r#"
CREATE TABLE access_requests (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    state TEXT NOT NULL, requester TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX ix_access_requests_state ON access_requests (state);
CREATE TABLE leases (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    state TEXT NOT NULL, holder TEXT NOT NULL, request TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX ix_leases_state ON leases (state);
CREATE INDEX ix_leases_holder ON leases (holder);
CREATE TABLE grant_keys (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    kid TEXT NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT uq_grant_keys__kid UNIQUE (kid)
);
"#,
    ),
    (
        8,
        r#"
CREATE TABLE reviews (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    state TEXT NOT NULL, request TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX ix_reviews_state ON reviews (state);
"#,
    ),
    (
        9,
        r#"
CREATE TABLE alerts (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    dedup TEXT NOT NULL, state TEXT NOT NULL, severity TEXT NOT NULL,
    detection TEXT NOT NULL, identity_id TEXT, pending BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX ix_alerts_pending ON alerts (pending);
CREATE INDEX ix_alerts_dedup ON alerts (dedup);
CREATE UNIQUE INDEX uq_alerts__dedup ON alerts (dedup) WHERE state <> 'closed';
CREATE INDEX ix_alerts_state ON alerts (state);
CREATE INDEX ix_alerts_identity ON alerts (identity_id);
CREATE TABLE profiles (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    identity_id TEXT, actor TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX ix_profiles_identity ON profiles (identity_id);
CREATE TABLE event_batches (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    format TEXT NOT NULL, digest TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX ix_event_batches_digest ON event_batches (digest);
"#,
    ),
    (
        10,
        r#"
CREATE TABLE posture_findings (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    key TEXT NOT NULL, state TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,
    identity_id TEXT,
    doc TEXT NOT NULL,
    CONSTRAINT uq_posture_findings__key UNIQUE (key)
);
CREATE INDEX ix_posture_findings_state ON posture_findings (state);
CREATE INDEX ix_posture_findings_identity ON posture_findings (identity_id);
CREATE INDEX ix_posture_findings_rule ON posture_findings (rule);
CREATE TABLE posture_runs (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    at TEXT NOT NULL,
    doc TEXT NOT NULL
);
"#,
    ),
    (
        11,
        r#"
CREATE TABLE offboardings (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    identity_id TEXT NOT NULL, state TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX ix_offboardings_identity ON offboardings (identity_id);
CREATE INDEX ix_offboardings_state ON offboardings (state);
CREATE TABLE review_campaigns (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    state TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE review_items (
    id TEXT PRIMARY KEY, version BIGINT NOT NULL,
    campaign TEXT NOT NULL, identity_id TEXT NOT NULL, decision TEXT NOT NULL, owner TEXT,
    doc TEXT NOT NULL,
    CONSTRAINT uq_review_items__identity_id UNIQUE (campaign, identity_id)
);
CREATE INDEX ix_review_items_campaign ON review_items (campaign);
CREATE INDEX ix_review_items_owner ON review_items (owner);
"#,
    ),
];

/// SQL text for the parts of queries and changes that are the same in both backends. `p(n)` renders
/// the n-th (1-based) placeholder in the backend's syntax.
pub mod sql {
    use crate::{Filter, Query, Table, Value};

    pub fn insert(table: Table, p: impl Fn(usize) -> String) -> String {
        let cols = table.columns();
        let names = cols.join(", ");
        let params: Vec<String> = (1..=cols.len() + 3).map(&p).collect();
        format!(
            "INSERT INTO {} (id, version, {names}, doc) VALUES ({})",
            table.name(),
            params.join(", ")
        )
    }

    /// Parameters: version, each column, doc, then id and the expected version.
    pub fn update(table: Table, p: impl Fn(usize) -> String) -> String {
        let cols = table.columns();
        let mut sets = vec![format!("version = {}", p(1))];
        for (i, c) in cols.iter().enumerate() {
            sets.push(format!("{c} = {}", p(i + 2)));
        }
        sets.push(format!("doc = {}", p(cols.len() + 2)));
        format!(
            "UPDATE {} SET {} WHERE id = {} AND version = {}",
            table.name(),
            sets.join(", "),
            p(cols.len() + 3),
            p(cols.len() + 4)
        )
    }

    /// The query text and its parameters (the limit is last).
    pub fn select(q: &Query, like_op: &str, p: impl Fn(usize) -> String) -> (String, Vec<Value>) {
        let mut clauses = vec![];
        let mut params = vec![];
        for f in &q.filters {
            match f {
                Filter::Eq(col, Value::Text(None) | Value::Int(None)) => {
                    clauses.push(format!("{col} IS NULL"))
                }
                Filter::Eq(col, v) => {
                    params.push(v.clone());
                    clauses.push(format!("{col} = {}", p(params.len())));
                }
                Filter::Contains(col, item) => {
                    params.push(Value::text(format!("%,{},%", escape_like(item))));
                    clauses.push(format!("{col} LIKE {} ESCAPE '\\'", p(params.len())));
                }
                Filter::Like(col, text) => {
                    params.push(Value::text(format!("%{}%", escape_like(text))));
                    clauses.push(format!("{col} {like_op} {} ESCAPE '\\'", p(params.len())));
                }
            }
        }
        if let Some(after) = q.after {
            params.push(Value::text(after.to_string()));
            clauses.push(format!("id > {}", p(params.len())));
        }
        let wh = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        params.push(Value::Int(Some(i64::from(q.limit))));
        (
            format!(
                "SELECT doc FROM {}{wh} ORDER BY id LIMIT {}",
                q.table.name(),
                p(params.len())
            ),
            params,
        )
    }

    fn escape_like(s: &str) -> String {
        s.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    }
}
