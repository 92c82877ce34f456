//! Turning delivered logs into [`Event`]s: AWS CloudTrail (a `{"Records":[…]}` file as delivered,
//! gzip or not, or one record per line), Kubernetes audit (`audit.k8s.io/v1` `Event` JSON lines) and
//! Holdfast's own audit (its events or its stored records, one per line). A line that cannot be read
//! is counted and reported with its number and why; the good lines around it still count.
//!
//! Records are read into borrowed, typed views (only the fields Holdfast uses; request and response
//! bodies are skipped but for a few named fields), which keeps parsing well above 100k events per
//! second per core.

use std::borrow::Cow;
use std::fmt;
use std::io::Read as _;

use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::event::{Actor, ActorKind, Event, Outcome, Platform};

/// Which format a batch is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Decide per line (a `{"Records":[…]}` document counts as CloudTrail).
    Auto,
    Cloudtrail,
    Kubernetes,
    Holdfast,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "cloudtrail" => Ok(Self::Cloudtrail),
            "kubernetes" | "k8s" => Ok(Self::Kubernetes),
            "holdfast" => Ok(Self::Holdfast),
            other => Err(format!(
                "`{other}` is not a format: use auto, cloudtrail, kubernetes or holdfast"
            )),
        }
    }
}

/// A line (or a record of a delivered file) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineError {
    /// 1-based line of the batch.
    pub line: usize,
    /// The record's index inside a `Records` array, when the line held one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<usize>,
    pub reason: String,
}

/// What a batch held.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub errors: Vec<LineError>,
    /// Records that were read but are not events to judge: Kubernetes stages other than
    /// `ResponseComplete`/`Panic` (the same request logged again).
    pub skipped: usize,
    /// Errors past [`MAX_ERRORS`], counted but not kept.
    pub errors_dropped: usize,
}

/// Most bytes a gzip batch may expand to.
pub const MAX_EXPANDED: u64 = 256 * 1024 * 1024;
/// Most events one batch may hold.
pub const MAX_EVENTS: usize = 250_000;
/// Most line errors kept per batch (the rest are counted in `errors_dropped`).
pub const MAX_ERRORS: usize = 1000;

impl Parsed {
    fn error(&mut self, e: LineError) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e);
        } else {
            self.errors_dropped += 1;
        }
    }

    /// Lines or records that could not be read, kept or not.
    pub fn rejected(&self) -> usize {
        self.errors.len() + self.errors_dropped
    }
}

/// Reads a batch. Gzip (as CloudTrail delivers its files) is expanded first.
pub fn parse(bytes: &[u8], format: Format) -> Result<Parsed, String> {
    let expanded;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(MAX_EXPANDED + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("the gzip stream cannot be read: {e}"))?;
        if out.len() as u64 > MAX_EXPANDED {
            return Err(format!(
                "the gzip stream expands past {} MiB",
                MAX_EXPANDED / 1024 / 1024
            ));
        }
        expanded = out;
        &expanded[..]
    } else {
        bytes
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "the batch is not UTF-8 (first bad byte at offset {})",
            e.valid_up_to()
        )
    })?;
    let mut out = Parsed::default();
    let trimmed = text.trim_start();
    // A delivered CloudTrail file is one JSON document, often over several lines.
    if matches!(format, Format::Auto | Format::Cloudtrail)
        && trimmed.starts_with('{')
        && looks_like_records_document(trimmed)
    {
        let offset_lines = text.len() - trimmed.len();
        let first_line = 1 + text
            .get(..offset_lines)
            .map_or(0, |p| p.matches('\n').count());
        match serde_json::from_str::<RecordsFile>(text) {
            Ok(file) => {
                read_records(file, first_line, &mut out);
                return Ok(out);
            }
            // Several delivered files back to back (`cat *.json.gz`): one document after another.
            Err(_)
                if serde_json::Deserializer::from_str(text)
                    .into_iter::<serde::de::IgnoredAny>()
                    .count()
                    > 1
                    && serde_json::Deserializer::from_str(text)
                        .into_iter::<RecordsFile>()
                        .all(|d| d.is_ok()) =>
            {
                for file in serde_json::Deserializer::from_str(text)
                    .into_iter::<RecordsFile>()
                    .flatten()
                {
                    read_records(file, first_line, &mut out);
                }
                return Ok(out);
            }
            // Several delivered files, one per line: read line by line below.
            Err(_)
                if text
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .is_some_and(|l| serde_json::from_str::<RecordsFile>(l).is_ok()) => {}
            Err(e) => {
                out.errors.push(LineError {
                    line: e.line(),
                    record: None,
                    reason: format!("not a CloudTrail log file: {e}"),
                });
                return Ok(out);
            }
        }
    }
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        let kind = match format {
            Format::Auto => sniff(l),
            f => f,
        };
        let result = match kind {
            Format::Cloudtrail => {
                if looks_like_records_document(l) {
                    match serde_json::from_str::<RecordsFile>(l) {
                        Ok(file) => {
                            read_records(file, line_no, &mut out);
                            continue;
                        }
                        Err(e) => Err(format!("not a CloudTrail log file: {e}")),
                    }
                } else {
                    serde_json::from_str::<CtRecord>(l)
                        .map_err(|e| format!("not a CloudTrail record: {e}"))
                        .and_then(cloudtrail_event)
                        .map(Some)
                }
            }
            Format::Kubernetes => serde_json::from_str::<K8sEvent>(l)
                .map_err(|e| format!("not a Kubernetes audit event: {e}"))
                .and_then(kubernetes_event),
            Format::Holdfast => holdfast_event(l).map(Some),
            Format::Auto => Err(if serde_json::from_str::<IgnoredAny>(l).is_err() {
                "not JSON".to_string()
            } else {
                "not a CloudTrail record, a Kubernetes audit event or a Holdfast audit record"
                    .to_string()
            }),
        };
        match result {
            Ok(Some(ev)) => out.events.push(ev),
            Ok(None) => out.skipped += 1,
            Err(reason) => out.error(LineError {
                line: line_no,
                record: None,
                reason,
            }),
        }
        if out.events.len() > MAX_EVENTS {
            return Err(format!(
                "the batch holds more than {MAX_EVENTS} events: send it in smaller batches"
            ));
        }
    }
    Ok(out)
}

fn looks_like_records_document(s: &str) -> bool {
    s.get(..s.len().min(64))
        .is_some_and(|head| head.contains("\"Records\""))
}

/// The top-level keys that tell the formats apart (values are skipped, so a value that happens to
/// read `"auditID"` decides nothing).
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "auditID", default)]
    audit_id: Option<IgnoredAny>,
    #[serde(rename = "eventSource", default)]
    event_source: Option<IgnoredAny>,
    #[serde(rename = "Records", default)]
    records: Option<IgnoredAny>,
    #[serde(default)]
    actor: Option<IgnoredAny>,
    #[serde(default)]
    body: Option<IgnoredAny>,
}

fn sniff(line: &str) -> Format {
    let Ok(p) = serde_json::from_str::<Probe>(line) else {
        return Format::Auto;
    };
    if p.audit_id.is_some() {
        Format::Kubernetes
    } else if p.event_source.is_some() || p.records.is_some() {
        Format::Cloudtrail
    } else if p.actor.is_some() || p.body.is_some() {
        Format::Holdfast
    } else {
        Format::Auto
    }
}

#[derive(Deserialize)]
struct RecordsFile<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<&'a serde_json::value::RawValue>,
}

fn read_records(file: RecordsFile, line: usize, out: &mut Parsed) {
    for (i, raw) in file.records.into_iter().enumerate() {
        let parsed = serde_json::from_str::<CtRecord>(raw.get())
            .map_err(|e| format!("not a CloudTrail record: {e}"))
            .and_then(cloudtrail_event);
        match parsed {
            Ok(ev) => out.events.push(ev),
            Err(reason) => out.error(LineError {
                line,
                record: Some(i),
                reason,
            }),
        }
    }
}

/// A string field that tolerates other JSON (a number, an object): those read as absent, so one
/// service's odd parameter never rejects the record.
#[derive(Debug, Default)]
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl Text<'_> {
    fn get(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
    fn owned(&self) -> Option<String> {
        self.get().map(str::to_string)
    }
}

/// A nested value that may be `null` (read as absent).
#[derive(Debug)]
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Lenient(Option::<T>::deserialize(d)?))
    }
}

// ---------------------------------------------------------------------------------------------
// AWS CloudTrail: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtRecord<'a> {
    #[serde(borrow, default)]
    event_time: Text<'a>,
    #[serde(borrow, default)]
    event_source: Text<'a>,
    #[serde(borrow, default)]
    event_name: Text<'a>,
    #[serde(borrow, default)]
    event_type: Text<'a>,
    #[serde(rename = "eventID", borrow, default)]
    event_id: Text<'a>,
    #[serde(borrow, default)]
    user_identity: Lenient<CtIdentity<'a>>,
    #[serde(rename = "sourceIPAddress", borrow, default)]
    source_ip: Text<'a>,
    #[serde(borrow, default)]
    user_agent: Text<'a>,
    #[serde(borrow, default)]
    error_code: Text<'a>,
    #[serde(borrow, default)]
    error_message: Text<'a>,
    #[serde(borrow, default)]
    read_only: Text<'a>,
    #[serde(borrow, default)]
    request_parameters: Lenient<CtParams<'a>>,
    #[serde(borrow, default)]
    response_elements: Lenient<CtResponse<'a>>,
    #[serde(borrow, default)]
    resources: Lenient<Vec<CtResource<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CtIdentity<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Text<'a>,
    #[serde(borrow, default)]
    arn: Text<'a>,
    #[serde(borrow, default)]
    account_id: Text<'a>,
    #[serde(borrow, default)]
    access_key_id: Text<'a>,
    #[serde(borrow, default)]
    user_name: Text<'a>,
    #[serde(borrow, default)]
    principal_id: Text<'a>,
    #[serde(borrow, default)]
    invoked_by: Text<'a>,
    #[serde(borrow, default)]
    identity_provider: Text<'a>,
    #[serde(borrow, default)]
    session_context: Lenient<CtSession<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CtSession<'a> {
    #[serde(borrow, default)]
    session_issuer: Lenient<CtIssuer<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CtIssuer<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Text<'a>,
    #[serde(borrow, default)]
    arn: Text<'a>,
    #[serde(borrow, default)]
    user_name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CtParams<'a> {
    #[serde(borrow, default)]
    user_name: Text<'a>,
    #[serde(borrow, default)]
    role_name: Text<'a>,
    #[serde(borrow, default)]
    role_arn: Text<'a>,
    #[serde(borrow, default)]
    secret_id: Text<'a>,
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(borrow, default)]
    policy_arn: Text<'a>,
    #[serde(borrow, default)]
    group_name: Text<'a>,
    #[serde(borrow, default)]
    bucket_name: Text<'a>,
    #[serde(borrow, default)]
    key_id: Text<'a>,
    #[serde(borrow, default)]
    trail_name: Text<'a>,
}

#[derive(Deserialize, Default)]
struct CtResponse<'a> {
    #[serde(rename = "ConsoleLogin", borrow, default)]
    console_login: Text<'a>,
}

#[derive(Deserialize)]
struct CtResource<'a> {
    #[serde(rename = "ARN", borrow, default)]
    arn: Text<'a>,
}

fn time_of(field: &str, t: &Text) -> Result<OffsetDateTime, String> {
    let raw = t.get().ok_or_else(|| format!("{field} is missing"))?;
    OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|e| format!("{field} `{}` is not an RFC 3339 time: {e}", clip(raw)))
}

fn clip(s: &str) -> &str {
    let mut end = s.len().min(40);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Error codes that mean authentication or authorisation refused the call.
fn is_denial_code(code: &str) -> bool {
    const DENIALS: [&str; 8] = [
        "AccessDenied",
        "Unauthorized",
        "UnauthorizedOperation",
        "AuthFailure",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "Forbidden",
        "NotAuthorized",
    ];
    DENIALS.iter().any(|d| code.contains(d)) || code.contains("AccessDenied")
}

fn cloudtrail_event(r: CtRecord) -> Result<Event, String> {
    let time = time_of("eventTime", &r.event_time)?;
    let source = r.event_source.get().ok_or("eventSource is missing")?;
    let name = r.event_name.get().ok_or("eventName is missing")?;
    let service = source.strip_suffix(".amazonaws.com").unwrap_or(source);
    let ui = r.user_identity.0.unwrap_or_default();
    let account = ui.account_id.owned();
    let issuer = ui
        .session_context
        .0
        .and_then(|s| s.session_issuer.0)
        .unwrap_or_default();
    let (kind, principal, user_name) = match ui.kind.get().unwrap_or("") {
        "IAMUser" => (ActorKind::IamUser, ui.arn.owned(), ui.user_name.owned()),
        "AssumedRole" => (
            ActorKind::AssumedRole,
            issuer
                .arn
                .owned()
                .or_else(|| ui.arn.get().map(role_of_session)),
            None,
        ),
        "Root" => (
            ActorKind::Root,
            ui.arn
                .owned()
                .or_else(|| account.as_ref().map(|a| format!("arn:aws:iam::{a}:root"))),
            None,
        ),
        "FederatedUser" => (
            ActorKind::Federated,
            issuer.arn.owned().or_else(|| ui.arn.owned()),
            issuer.user_name.owned(),
        ),
        "WebIdentityUser" | "SAMLUser" | "IdentityCenterUser" => (
            ActorKind::External,
            ui.user_name
                .get()
                .map(|u| format!("{}:{u}", ui.identity_provider.get().unwrap_or("idp"))),
            ui.user_name.owned(),
        ),
        "AWSAccount" => (
            ActorKind::Account,
            account.as_ref().map(|a| format!("arn:aws:iam::{a}:root")),
            None,
        ),
        "AWSService" => (ActorKind::Service, ui.invoked_by.owned(), None),
        _ if ui.invoked_by.get().is_some() => (ActorKind::Service, ui.invoked_by.owned(), None),
        _ => (ActorKind::Anonymous, ui.arn.owned(), None),
    };
    let _ = issuer.kind;
    let display = ui
        .arn
        .owned()
        .or_else(|| principal.clone())
        .or_else(|| ui.principal_id.owned())
        .unwrap_or_else(|| "anonymous".into());
    let params = r.request_parameters.0.unwrap_or_default();
    let console = r
        .response_elements
        .0
        .and_then(|re| re.console_login.owned());
    let mut outcome = Outcome::Success;
    let mut error = r.error_code.owned();
    if let Some(code) = error.as_deref() {
        outcome = if is_denial_code(code) {
            Outcome::Denied
        } else {
            Outcome::Failure
        };
    }
    if console.as_deref() == Some("Failure") {
        outcome = Outcome::Denied;
        error = error.or_else(|| r.error_message.owned().map(|m| clip(&m).to_string()));
    }
    let resource = r
        .resources
        .0
        .and_then(|v| v.into_iter().find_map(|x| x.arn.owned()))
        .or_else(|| params.secret_id.owned())
        .or_else(|| params.role_arn.owned())
        .or_else(|| params.policy_arn.owned())
        .or_else(|| params.role_name.owned())
        .or_else(|| params.user_name.owned())
        .or_else(|| params.group_name.owned())
        .or_else(|| params.bucket_name.owned())
        .or_else(|| params.trail_name.owned())
        .or_else(|| params.key_id.owned())
        .or_else(|| params.name.owned());
    let read_only = match r.read_only.get() {
        Some(v) => v == "true",
        None => {
            name.starts_with("Get")
                || name.starts_with("List")
                || name.starts_with("Describe")
                || name.starts_with("Lookup")
        }
    };
    let is_console = name == "ConsoleLogin"
        || r.event_type
            .get()
            .is_some_and(|t| t.eq_ignore_ascii_case("AwsConsoleSignIn"));
    let action = if is_console && name == "ConsoleLogin" {
        "signin:ConsoleLogin".to_string()
    } else {
        iam_action(service, name)
    };
    Ok(Event {
        time,
        platform: Platform::Aws,
        id: r.event_id.owned(),
        actor: Actor {
            kind,
            display,
            principal,
            credential: ui.access_key_id.owned(),
            account,
            user_name,
        },
        action,
        resource,
        source_ip: r.source_ip.owned(),
        user_agent: r.user_agent.owned(),
        outcome,
        error,
        target_user: params.user_name.owned(),
        read_only,
    })
}

/// The IAM action a CloudTrail event stands for, where the two differ: Lambda's API-versioned
/// names (`GetFunction20150331v2` → `lambda:GetFunction`), CloudWatch's `monitoring` source, S3
/// object listings (`ListObjects`, `ListObjectsV2` → `s3:ListBucket`).
fn iam_action(service: &str, name: &str) -> String {
    let service = match service {
        "monitoring" => "cloudwatch",
        other => other,
    };
    let name = match (service, name) {
        ("s3", "ListObjects" | "ListObjectsV2" | "ListObjectVersions") => "ListBucket",
        ("s3", "HeadObject") => "GetObject",
        ("s3", "HeadBucket") => "ListBucket",
        ("lambda", n) => {
            // Strip a trailing API date (8 digits) and optional `v<n>`.
            let trimmed = n.trim_end_matches(|c: char| c.is_ascii_digit());
            let trimmed = trimmed.strip_suffix('v').unwrap_or(trimmed);
            let base = trimmed.trim_end_matches(|c: char| c.is_ascii_digit());
            if n.len() - base.len() >= 8 { base } else { n }
        }
        (_, n) => n,
    };
    format!("{service}:{name}")
}

/// `arn:aws:sts::1:assumed-role/name/session` → `arn:aws:iam::1:role/name`.
fn role_of_session(arn: &str) -> String {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(_), Some(_), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return arn.to_string();
    };
    match rest
        .strip_prefix("assumed-role/")
        .and_then(|r| r.split('/').next())
    {
        Some(role) => format!("arn:{partition}:iam::{account}:role/{role}"),
        None => arn.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes audit: https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/#audit-k8s-io-v1-Event

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sEvent<'a> {
    #[serde(borrow, default)]
    kind: Text<'a>,
    #[serde(rename = "auditID", borrow, default)]
    audit_id: Text<'a>,
    #[serde(borrow, default)]
    stage: Text<'a>,
    #[serde(rename = "requestURI", borrow, default)]
    request_uri: Text<'a>,
    #[serde(borrow, default)]
    verb: Text<'a>,
    #[serde(borrow, default)]
    user: Lenient<K8sUser<'a>>,
    #[serde(borrow, default)]
    impersonated_user: Lenient<K8sUser<'a>>,
    #[serde(rename = "sourceIPs", borrow, default)]
    source_ips: Lenient<Vec<Text<'a>>>,
    #[serde(borrow, default)]
    user_agent: Text<'a>,
    #[serde(borrow, default)]
    object_ref: Lenient<K8sObject<'a>>,
    #[serde(default)]
    response_status: Lenient<K8sStatus<'a>>,
    #[serde(borrow, default)]
    request_received_timestamp: Text<'a>,
    #[serde(borrow, default)]
    stage_timestamp: Text<'a>,
    #[serde(borrow, default)]
    annotations: Lenient<std::collections::HashMap<Cow<'a, str>, Text<'a>>>,
}

#[derive(Deserialize, Default)]
struct K8sUser<'a> {
    #[serde(borrow, default)]
    username: Text<'a>,
    #[serde(borrow, default)]
    extra: Lenient<std::collections::HashMap<Cow<'a, str>, Vec<Text<'a>>>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct K8sObject<'a> {
    #[serde(borrow, default)]
    resource: Text<'a>,
    #[serde(borrow, default)]
    namespace: Text<'a>,
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(borrow, default)]
    api_group: Text<'a>,
    #[serde(borrow, default)]
    subresource: Text<'a>,
}

#[derive(Deserialize, Default)]
struct K8sStatus<'a> {
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    reason: Text<'a>,
}

fn kubernetes_event(e: K8sEvent) -> Result<Option<Event>, String> {
    if e.kind.get().is_some_and(|k| k != "Event") {
        return Err(format!(
            "kind is `{}`, not `Event`",
            clip(e.kind.get().unwrap_or(""))
        ));
    }
    let stage = e.stage.get().ok_or("stage is missing")?;
    if !matches!(stage, "ResponseComplete" | "Panic") {
        return Ok(None);
    }
    let time = if e.stage_timestamp.get().is_some() {
        time_of("stageTimestamp", &e.stage_timestamp)?
    } else {
        time_of("requestReceivedTimestamp", &e.request_received_timestamp)?
    };
    let verb = e.verb.get().ok_or("verb is missing")?;
    let user = e.user.0.ok_or("user is missing")?;
    let username = user.username.get().ok_or("user.username is missing")?;
    let extra = user.extra.0.unwrap_or_default();
    let extra_first = |k: &str| extra.get(k).and_then(|v| v.first()).and_then(Text::owned);
    let mut credential = extra_first("authentication.kubernetes.io/credential-id");
    let annotations = e.annotations.0.unwrap_or_default();
    let (kind, principal, account) = if let Some(rest) =
        username.strip_prefix("system:serviceaccount:")
    {
        let (ns, name) = rest.split_once(':').unwrap_or((rest, ""));
        if credential.is_none() && annotations.contains_key("authentication.k8s.io/legacy-token") {
            credential = Some(format!("legacy-token:{ns}/{name}"));
        }
        (
            ActorKind::ServiceAccount,
            Some(format!("serviceaccount/{ns}/{name}")),
            Some(ns.to_string()),
        )
    } else if username == "system:anonymous" {
        (ActorKind::Anonymous, None, None)
    } else if username.starts_with("arn:aws") {
        // An EKS access entry or aws-auth mapping: the IAM principal itself.
        let principal = if username.contains(":assumed-role/") {
            role_of_session(username)
        } else {
            username.to_string()
        };
        (ActorKind::KubernetesUser, Some(principal), None)
    } else if username.starts_with("eks:") || username.starts_with("aks-") {
        (ActorKind::External, Some(username.to_string()), None)
    } else if username.starts_with("system:") {
        (ActorKind::SystemComponent, Some(username.to_string()), None)
    } else {
        (
            ActorKind::KubernetesUser,
            Some(format!("user/{username}")),
            None,
        )
    };
    let obj = e.object_ref.0.unwrap_or_default();
    let action = match obj.resource.get() {
        Some(resource) => {
            let group = obj.api_group.get().unwrap_or("core");
            match obj.subresource.get() {
                Some(sub) => format!("{verb} {group}/{resource}/{sub}"),
                None => format!("{verb} {group}/{resource}"),
            }
        }
        None => {
            let uri = e.request_uri.get().unwrap_or("/");
            let path = uri.split('?').next().unwrap_or(uri);
            format!("{verb} {path}")
        }
    };
    let resource = match (obj.namespace.get(), obj.name.get()) {
        (Some(ns), Some(n)) => Some(format!("{ns}/{n}")),
        (None, Some(n)) => Some(n.to_string()),
        (Some(ns), None) => Some(format!("{ns}/*")),
        (None, None) => obj.resource.get().map(|_| "*".to_string()),
    };
    let status = e.response_status.0.unwrap_or_default();
    let decision = annotations
        .get("authorization.k8s.io/decision")
        .and_then(Text::get);
    let (outcome, error) = match status.code {
        Some(401) | Some(403) => (
            Outcome::Denied,
            status.reason.owned().or_else(|| Some("Forbidden".into())),
        ),
        Some(c) if c >= 400 => (
            Outcome::Failure,
            status.reason.owned().or_else(|| Some(c.to_string())),
        ),
        _ if decision == Some("forbid") => (Outcome::Denied, Some("Forbidden".into())),
        _ => (Outcome::Success, None),
    };
    let source_ip = e
        .source_ips
        .0
        .and_then(|ips| ips.last().and_then(Text::owned));
    let mut resource = resource;
    if let Some(imp) = e.impersonated_user.0.and_then(|u| u.username.owned()) {
        resource = Some(format!(
            "{} (as {imp})",
            resource.unwrap_or_else(|| "*".into())
        ));
    }
    Ok(Some(Event {
        time,
        platform: Platform::Kubernetes,
        id: e.audit_id.owned(),
        actor: Actor {
            kind,
            display: username.to_string(),
            principal,
            credential,
            account,
            user_name: None,
        },
        action,
        resource,
        source_ip,
        user_agent: e.user_agent.owned(),
        outcome,
        error,
        target_user: None,
        read_only: matches!(verb, "get" | "list" | "watch"),
    }))
}

// ---------------------------------------------------------------------------------------------
// Holdfast's audit: an event as `holdfast audit` prints it, or a stored record whose `body` is one.

#[derive(Deserialize)]
struct HfRecord {
    #[serde(default)]
    seq: Option<u64>,
    body: String,
}

#[derive(Deserialize)]
struct HfEvent {
    #[serde(with = "time::serde::rfc3339")]
    time: OffsetDateTime,
    actor: String,
    action: String,
    #[serde(default)]
    target: Option<String>,
    outcome: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
}

fn holdfast_event(line: &str) -> Result<Event, String> {
    let (seq, ev) = if line.contains("\"body\"") {
        let r: HfRecord =
            serde_json::from_str(line).map_err(|e| format!("not a Holdfast audit record: {e}"))?;
        let ev: HfEvent = serde_json::from_str(&r.body)
            .map_err(|e| format!("body is not a Holdfast audit event: {e}"))?;
        (r.seq, ev)
    } else {
        let ev: HfEvent =
            serde_json::from_str(line).map_err(|e| format!("not a Holdfast audit event: {e}"))?;
        (None, ev)
    };
    let (kind, principal) = match ev.actor.strip_prefix("token:") {
        Some(rest) => {
            let id = rest.split_whitespace().next().unwrap_or(rest);
            (ActorKind::HoldfastToken, Some(format!("token:{id}")))
        }
        None if ev.actor == "anonymous" => (ActorKind::Anonymous, None),
        None => (ActorKind::SystemComponent, Some(ev.actor.clone())),
    };
    let outcome = match ev.outcome.as_str() {
        "success" => Outcome::Success,
        "denied" => Outcome::Denied,
        other => {
            return Err(format!(
                "outcome `{}` is not success or denied",
                clip(other)
            ));
        }
    };
    let read_only = ev.action.ends_with(".list")
        || ev.action.ends_with(".show")
        || ev.action.ends_with(".read");
    Ok(Event {
        time: ev.time,
        platform: Platform::Holdfast,
        id: seq.map(|s| s.to_string()).or(ev.request_id),
        actor: Actor {
            kind,
            display: ev.actor.clone(),
            credential: principal.clone(),
            principal,
            account: None,
            user_name: None,
        },
        action: format!("holdfast:{}", ev.action),
        resource: ev.target,
        source_ip: ev.source,
        user_agent: None,
        error: (outcome == Outcome::Denied).then(|| "denied".to_string()),
        outcome,
        target_user: None,
        read_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_arns_name_their_role() {
        assert_eq!(
            role_of_session("arn:aws:sts::111122223333:assumed-role/app-reader/i-0abc"),
            "arn:aws:iam::111122223333:role/app-reader"
        );
        assert_eq!(
            role_of_session("arn:aws-cn:sts::1:assumed-role/r/s"),
            "arn:aws-cn:iam::1:role/r"
        );
    }

    #[test]
    fn values_never_decide_the_format() {
        let line = r#"{"eventTime":"2024-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"PutRolePolicy","requestParameters":{"policyName":"auditID","roleName":"\"auditID\""},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}}"#;
        let p = parse(line.as_bytes(), Format::Auto).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.events[0].action, "iam:PutRolePolicy");
    }

    #[test]
    fn delivered_files_back_to_back_all_count() {
        let one = r#"{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListObjectsV2"}]}"#;
        let two = r#"{"Records":[{"eventTime":"2024-01-01T00:00:01Z","eventSource":"lambda.amazonaws.com","eventName":"GetFunction20150331v2"}]}"#;
        let p = parse(format!("{one}{two}").as_bytes(), Format::Auto).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let actions: Vec<&str> = p.events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["s3:ListBucket", "lambda:GetFunction"]);
    }

    #[test]
    fn line_errors_are_capped_and_counted() {
        let text = "x\n".repeat(MAX_ERRORS + 10);
        let p = parse(text.as_bytes(), Format::Auto).unwrap();
        assert_eq!(p.errors.len(), MAX_ERRORS);
        assert_eq!(p.rejected(), MAX_ERRORS + 10);
    }

    #[test]
    fn odd_parameter_types_do_not_reject_a_record() {
        let line = r#"{"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","requestParameters":{"userName":{"x":1},"bucketName":7},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u","userName":"u"}}"#;
        let p = parse(line.as_bytes(), Format::Auto).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.events[0].action, "s3:PutObject");
        assert_eq!(p.events[0].target_user, None);
    }
}
