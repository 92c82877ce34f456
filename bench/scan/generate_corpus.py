#!/usr/bin/env python3
"""Generate a labelled, deterministic corpus for the Holdfast secret-scanner benchmark.

    python3 bench/scan/generate_corpus.py --out DIR --size-mb 1024 --seed 7

Writes DIR/corpus/ (many repositories of mixed source code and configuration, files of 2-200 KB),
DIR/labels.jsonl (one object per planted item: path, line, secret, label, kind; multi-line PEM
items also carry end_line) and DIR/manifest.json (totals). Every file is generated from its own
random stream, seeded by (seed, file index), so the output is identical whatever --jobs is.

Only the standard library is used.
"""

import argparse
import base64
import json
import os
import random
import re
import shutil
import sys
import time
import zlib
from multiprocessing import Pool

GENERATOR_VERSION = 1
POSITIVE_EVERY = 150_000  # bytes per planted positive (and per planted decoy)
MARK = "\x01"  # marks the first character of a labelled secret inside a rendered snippet

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

NOUNS = (
    "user account order invoice payment session customer product cart item shipment report metric "
    "event job task queue tenant project build deployment cluster node policy role permission "
    "webhook notification message email template upload image config setting feature flag audit "
    "record batch schedule pipeline subscription plan price coupon address profile device region "
    "zone bucket object snapshot backup volume instance service endpoint request response channel "
    "topic partition consumer producer worker lease lock transaction ledger entry balance transfer "
    "refund dispute charge vendor catalog inventory warehouse route trip driver review rating "
    "comment post thread attachment document folder workspace team member invite organization "
    "license quota usage alert incident runbook check probe target rule filter index shard replica "
    "migration schema table column query cursor page cache store client gateway proxy cert"
).split()
VERBS = (
    "get fetch load create update delete validate parse render build compute sync refresh rotate "
    "issue encode decode hash sign verify send publish subscribe handle process resolve register "
    "list find count merge split apply reset retry schedule cancel archive restore export import "
    "upload download notify enqueue dequeue flush normalize serialize migrate provision attach"
).split()
ADJS = (
    "active pending default primary internal external remote local cached stale expired current "
    "next previous total max min raw parsed signed public shared global regional daily hourly"
).split()
CLASS_SUFFIX = (
    "Service Manager Client Handler Repository Controller Factory Builder Validator Store Cache "
    "Provider Adapter Resolver Scheduler Worker Processor Serializer Gateway Registry"
).split()
DOMAINS = (
    "acme.io globex.com initech.net umbrella-corp.com hooli.xyz piedpiper.net stark-industries.com "
    "wayne-ent.com contoso.com fabrikam.com northwind.io tailspin.dev soylent.co vandelay.io "
    "cyberdyne.net aperture-labs.org massive-dynamic.com wonka.dev gringotts.bank oscorp.tech"
).split()
ORGS = (
    "acme globex initech umbrella hooli piedpiper stark wayne contoso fabrikam northwind tailspin "
    "soylent vandelay cyberdyne aperture massive wonka oscorp tyrell"
).split()
PROJECTS = (
    "billing payments checkout auth identity gateway inventory search catalog notifications "
    "analytics reporting scheduler ingest exporter webhooks ledger accounts orders shipping "
    "pricing recommendations media uploads admin portal mobile-api dashboard etl sync crm "
    "onboarding support chat feeds profile audit metrics infra platform tooling deploy"
).split()
SUFFIXES = "api service web worker app core lib sdk cli ops infra backend frontend".split()
FIRSTNAMES = "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert sybil trent victor walter".split()
WORDS = (
    "the a an of for with when if then this that which into from over under before after while "
    "request response value field record entry data state result error retry timeout limit window "
    "batch stream buffer handler payload header body status code message context"
).split()
LOG_MSGS = (
    "failed to {v} {n}", "{n} {v} complete", "retrying {n} after error", "could not {v} {n}: %s",
    "skipping {adj} {n}", "{n} not found", "unexpected {n} state", "{v} {n} took %d ms",
    "received {n} from upstream", "{adj} {n} expired", "starting {n} {v}", "invalid {n} payload",
)
ENV_PLAIN = (
    "LOG_LEVEL PORT HOST DATABASE_HOST DATABASE_PORT DATABASE_NAME REDIS_HOST REDIS_PORT NODE_ENV "
    "APP_ENV AWS_REGION SENTRY_ENVIRONMENT FEATURE_FLAGS WORKERS TIMEOUT_SECONDS CACHE_TTL "
    "OTEL_EXPORTER_OTLP_ENDPOINT KAFKA_BROKERS S3_BUCKET PUBLIC_URL CORS_ORIGINS METRICS_PORT"
).split()
ENV_SECRETISH = (
    "DB_PASSWORD DATABASE_PASSWORD API_TOKEN API_KEY SECRET_KEY STRIPE_SECRET_KEY GITHUB_TOKEN "
    "NPM_TOKEN SLACK_BOT_TOKEN JWT_SECRET SESSION_SECRET REDIS_PASSWORD SMTP_PASSWORD "
    "AWS_SECRET_ACCESS_KEY SENDGRID_API_KEY OPENAI_API_KEY REGISTRY_PASSWORD VAULT_TOKEN "
    "CLIENT_SECRET WEBHOOK_SECRET ENCRYPTION_KEY DEPLOY_TOKEN ADMIN_PASSWORD"
).split()
SECRET_NAMES = "db-creds api-credentials prod/billing/db stripe-keys app-secrets registry-auth tls-cert postgres-admin smtp-relay oauth-client".split()
K8S_IMAGES = "nginx:1.25-alpine redis:7.2 postgres:16 busybox:1.36 python:3.11-slim node:20-alpine golang:1.22 eclipse-temurin:21-jre".split()
LANG_WORDS = "lorem ipsum system design service request latency throughput cluster region rollout migration schema queue consumer retry backoff idempotent tenant quota dashboard alert runbook incident deploy canary release feature flag config cache index shard replica".split()


def snake(words):
    return "_".join(words)


def upper(words):
    return "_".join(words).upper()


def camel(words):
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def pascal(words):
    return "".join(w[:1].upper() + w[1:] for w in words)


def kebab(words):
    return "-".join(words)


def dotted(words):
    return ".".join(words)


STYLES = {"snake": snake, "upper": upper, "camel": camel, "pascal": pascal, "kebab": kebab, "dot": dotted}


def fmt_name(words, style):
    """Format a name; a MARK on the first word marks the name itself as the labelled string."""
    if words and words[0].startswith(MARK):
        return MARK + STYLES[style]([words[0][1:]] + list(words[1:]))
    return STYLES[style](words)


# ---------------------------------------------------------------------------------------------
# Random strings
# ---------------------------------------------------------------------------------------------

LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPERC = LOWER.upper()
DIGITS = "0123456789"
ALNUM = UPPERC + LOWER + DIGITS
B62 = DIGITS + UPPERC + LOWER
HEXL = "0123456789abcdef"
B32 = UPPERC + "234567"
B64URL = ALNUM + "-_"


def rs(rng, alpha, n):
    return "".join(rng.choices(alpha, k=n))


def hexs(rng, n):
    return rng.randbytes((n + 1) // 2).hex()[:n]


def b64(rng, nbytes):
    return base64.b64encode(rng.randbytes(nbytes)).decode()


def b64url(rng, nbytes):
    return base64.urlsafe_b64encode(rng.randbytes(nbytes)).decode().rstrip("=")


def uuid4(rng):
    h = rng.randbytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[rng.randrange(4)]}{h[17:20]}-{h[20:32]}"


def crc_b62(body):
    n = zlib.crc32(body.encode()) & 0xFFFFFFFF
    out = []
    for _ in range(6):
        out.append(B62[n % 62])
        n //= 62
    return "".join(reversed(out))


def no_long_runs(s, n=6):
    run = 1
    for a, b in zip(s, s[1:]):
        run = run + 1 if a == b else 1
        if run >= n:
            return False
    return True


BAD_SUBSTRINGS = ("example", "xxxx", "placeholder", "your", "changeme", "dummy", "sample", "redacted",
                  "fake", "test", "pass", "secret", "token", "admin", "...", "***")


def clean(s):
    low = s.lower()
    return no_long_runs(s) and not any(b in low for b in BAD_SUBSTRINGS) and len(set(s)) > 5


PW_WORDS = ("Summer Winter Spring Autumn Welcome Dragon Falcon Tiger Orion Phoenix Galaxy Maple "
            "Harbor Lighthouse Velvet Copper Marble Thunder Cobalt Juniper Saffron Granite Nimbus "
            "Pelican Quartz Raven Sierra Tundra Willow Zephyr Monday Ocean Rocket Panda").split()
PW_COMPANIES = ORGS + ["Corp", "Prod", "Ops", "Infra", "Team"]


def human_password(rng, url_safe=False):
    syms = "!*-_.~" if url_safe else "!#$%*-_+=?.@~^"
    for _ in range(50):
        r = rng.random()
        if r < 0.35:
            w = rng.choice(PW_WORDS)
            s = w + str(rng.choice((rng.randrange(2015, 2027), rng.randrange(10, 100), rng.randrange(100, 10000))))
            s += rng.choice(syms)
            if rng.random() < 0.6:
                c = rng.choice(PW_COMPANIES)
                s += c[:1].upper() + c[1:]
        elif r < 0.75:
            n = rng.randrange(10, 17)
            chars = [rng.choice(UPPERC), rng.choice(LOWER), rng.choice(DIGITS), rng.choice(syms), rng.choice(syms)]
            chars += rng.choices(ALNUM + syms, k=n - len(chars))
            rng.shuffle(chars)
            s = "".join(chars)
        elif r < 0.9:
            n = rng.randrange(8, 11)
            chars = [rng.choice(UPPERC), rng.choice(LOWER), rng.choice(DIGITS), rng.choice(syms)]
            chars += rng.choices(LOWER + DIGITS + UPPERC + syms, k=n - len(chars))
            rng.shuffle(chars)
            s = "".join(chars)
        else:
            a, b = rng.sample(PW_WORDS, 2)
            s = f"{a}-{b.lower()}-{rng.randrange(10, 99)}{rng.choice(syms)}"
        if s[0] in "-=" or not clean(s):
            continue
        return s
    return "Qz7!" + rs(rng, ALNUM, 10)


def random_token(rng, lo=20, hi=64):
    n = rng.randrange(lo, hi + 1)
    r = rng.random()
    for _ in range(20):
        if r < 0.35:
            s = rs(rng, ALNUM, n)
        elif r < 0.65:
            s = hexs(rng, n)
        elif r < 0.8:
            s = b64(rng, max(15, n * 3 // 4))
        elif r < 0.95:
            s = rs(rng, B64URL, n)
        else:
            s = uuid4(rng)
        if clean(s) and s[0] not in "-_":
            return s
    return rs(rng, ALNUM, n)


def pem_block(rng, kind):
    """Return (begin_line, full text with \\n line breaks)."""
    if kind == "rsa":
        begin, end, prefix, nbytes, width = "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA", 1190, 64
    elif kind == "ec":
        begin, end, prefix, nbytes, width = "-----BEGIN EC PRIVATE KEY-----", "-----END EC PRIVATE KEY-----", "MHcCAQEEI", 121, 64
    elif kind == "openssh":
        begin, end, prefix, nbytes, width = ("-----BEGIN OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----",
                                             "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", 300, 70)
    else:
        begin, end, prefix, nbytes, width = ("-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----",
                                             "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ", 1216, 64)
    body = b64(rng, nbytes)
    body = prefix + body[len(prefix):]
    lines = [body[i:i + width] for i in range(0, len(body), width)]
    return begin, begin + "\n" + "\n".join(lines) + "\n" + end


def public_pem(rng, cert=False):
    if cert:
        begin, end, prefix, nbytes = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----", "MIIDdzCCAl+gAwIBAgIE", 890
    else:
        begin, end, prefix, nbytes = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 294
    body = b64(rng, nbytes)
    body = prefix + body[len(prefix):]
    return begin, begin + "\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64)) + "\n" + end


def jwt_token(rng):
    alg = rng.choice(("HS256", "RS256", "ES256"))
    hdr = {"alg": alg, "typ": "JWT"}
    if alg != "HS256":
        hdr["kid"] = hexs(rng, 16)
    iat = rng.randrange(1_650_000_000, 1_760_000_000)
    payload = {"sub": uuid4(rng), "iss": f"https://auth.{rng.choice(DOMAINS)}/", "iat": iat, "exp": iat + rng.choice((900, 3600, 86400, 31536000))}
    if rng.random() < 0.5:
        payload["scope"] = rng.choice(("read write", "admin", "orders:read orders:write", "openid profile email"))
    if rng.random() < 0.4:
        payload["email"] = f"{rng.choice(FIRSTNAMES)}@{rng.choice(DOMAINS)}"
    enc = lambda o: base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).decode().rstrip("=")
    sig = b64url(rng, 32 if alg == "HS256" else (256 if alg == "RS256" else 64))
    return f"{enc(hdr)}.{enc(payload)}.{sig}"


# ---------------------------------------------------------------------------------------------
# Templates: «field» or «field2» (same number -> same value within one rendering)
# ---------------------------------------------------------------------------------------------

_FIELD = re.compile(r"«([A-Za-z_]+?)(\d*)»")


def T(s):
    parts = []
    pos = 0
    for m in _FIELD.finditer(s):
        parts.append((s[pos:m.start()], m.group(1), m.group(0)))
        pos = m.end()
    parts.append((s[pos:], None, None))
    if parts and len(parts) == 1:
        return ((s, None, None),)
    return tuple(parts)


def TL(*items):
    return [T(s) for s in items]


def R(rng, tpl):
    out = []
    vals = {}
    for lit, fname, key in tpl:
        out.append(lit)
        if fname is not None:
            v = vals.get(key)
            if v is None:
                v = vals[key] = F[fname](rng)
            out.append(v)
    return "".join(out)


def _ch(seq):
    return lambda rng: rng.choice(seq)


def _msg(rng):
    return rng.choice(LOG_MSGS).format(v=rng.choice(VERBS), n=rng.choice(NOUNS), adj=rng.choice(ADJS))


def _sentence(rng):
    n = rng.randrange(8, 22)
    w = rng.choices(LANG_WORDS + WORDS, k=n)
    return w[0].capitalize() + " " + " ".join(w[1:]) + "."


# Non-secret values under secret-sounding names: what makes keyword scanners slow and imprecise.
BAIT = [
    (("password", "file"), lambda r: f"/run/secrets/{r.choice(('db_password', 'postgres-password', 'smtp_password', 'redis.pass'))}"),
    (("token", "endpoint", "auth", "method"), lambda r: r.choice(("client_secret_basic", "client_secret_post", "private_key_jwt"))),
    (("api", "key", "env"), lambda r: r.choice(ENV_SECRETISH)),
    (("password", "encoder"), lambda r: r.choice(("bcrypt", "argon2", "pbkdf2_sha256", "scrypt"))),
    (("secret", "store"), lambda r: r.choice(("aws-secretsmanager", "vault", "gcp-secret-manager", "azure-keyvault", "sops"))),
    (("token", "audience"), lambda r: f"https://api.{r.choice(DOMAINS)}"),
    (("access", "token", "lifetime"), lambda r: r.choice(("3600s", "15m", "1h", "PT30M"))),
    (("jwt", "secret", "ref"), lambda r: f"vault:secret/data/{r.choice(PROJECTS)}#jwt"),
    (("client", "secret", "name"), lambda r: f"{r.choice(PROJECTS)}-oauth-client"),
    (("password", "hash", "algorithm"), lambda r: r.choice(("argon2id", "bcrypt-sha256", "PBKDF2WithHmacSHA512"))),
    (("secret", "version", "stage"), lambda r: r.choice(("AWSCURRENT", "AWSPREVIOUS", "latest"))),
    (("tokenizer",), lambda r: r.choice(("bert-base-uncased", "cl100k_base", "gpt2", "sentencepiece"))),
    (("auth", "token", "header"), lambda r: r.choice(("X-Auth-Token", "X-Api-Token", "Authorization"))),
    (("secrets", "provider"), lambda r: r.choice(("sops", "doppler", "vault", "1password-connect"))),
    (("github", "token", "scopes"), lambda r: r.choice(("repo,read:org", "read:packages", "workflow,repo"))),
    (("credentials", "path"), lambda r: r.choice(("~/.aws/credentials", "/etc/gcp/service-account.json", "/var/run/secrets/kubernetes.io/serviceaccount/token"))),
    (("secret", "key", "ref"), lambda r: f"{r.choice(PROJECTS)}-secrets/{r.choice(('password', 'api-key', 'token'))}"),
    (("existing", "secret"), lambda r: F["secretname"](r)),
    (("password", "reset", "url"), lambda r: f"https://{r.choice(PROJECTS)}.{r.choice(DOMAINS)}/account/password/reset"),
    (("token", "cache", "dir"), lambda r: f"/var/cache/{r.choice(PROJECTS)}/tokens"),
    (("api", "key", "id"), lambda r: uuid4(r)),
    (("signing", "key", "id"), lambda r: r.choice(("kid-2024-01", "rsa-prod-1", "hmac-v2")) + "-" + hexs(r, 6)),
    (("secret", "rotation", "days"), lambda r: str(r.choice((30, 60, 90, 180)))),
    (("keystore", "type"), lambda r: r.choice(("PKCS12", "JKS"))),
    (("password", "policy"), lambda r: r.choice(("strict", "nist-800-63b", "legacy"))),
    (("token", "type"), lambda r: r.choice(("Bearer", "JWT", "opaque"))),
]


def bait(r, style, fmt):
    words, vf = r.choice(BAIT)
    return fmt.format(k=STYLES[style](list(words)), v=vf(r))


F = {
    "noun": _ch(NOUNS), "verb": _ch(VERBS), "adj": _ch(ADJS), "word": _ch(WORDS),
    "Noun": lambda r: r.choice(NOUNS).capitalize(),
    "NOUN": lambda r: r.choice(NOUNS).upper(),
    "var": lambda r: r.choice(NOUNS) if r.random() < 0.5 else f"{r.choice(ADJS)}_{r.choice(NOUNS)}",
    "cvar": lambda r: r.choice(NOUNS) if r.random() < 0.5 else f"{r.choice(ADJS)}{r.choice(NOUNS).capitalize()}",
    "func": lambda r: f"{r.choice(VERBS)}_{r.choice(NOUNS)}",
    "cfunc": lambda r: f"{r.choice(VERBS)}{r.choice(NOUNS).capitalize()}",
    "Func": lambda r: f"{r.choice(VERBS).capitalize()}{r.choice(NOUNS).capitalize()}",
    "Class": lambda r: f"{r.choice(NOUNS).capitalize()}{r.choice(CLASS_SUFFIX)}",
    "CONST": lambda r: f"{r.choice(ADJS)}_{r.choice(NOUNS)}".upper(),
    "num": lambda r: str(r.choice((1, 2, 3, 5, 8, 10, 16, 20, 25, 30, 50, 60, 64, 100, 128, 256, 500, 1000, 3600))),
    "port": lambda r: str(r.choice((80, 443, 3000, 5432, 6379, 8000, 8080, 8443, 9090, 9200, 5672, 27017))),
    "big": lambda r: str(r.randrange(10_000, 99_999_999)),
    "float": lambda r: f"{r.random() * 100:.2f}",
    "msg": _msg,
    "sentence": _sentence,
    "domain": _ch(DOMAINS),
    "url": lambda r: f"https://{r.choice(('api', 'auth', 'hooks', 'cdn', 'internal', 'svc'))}.{r.choice(DOMAINS)}/v{r.randrange(1, 4)}/{r.choice(NOUNS)}s",
    "token_url": lambda r: f"https://{r.choice(('auth', 'login', 'sso', 'id'))}.{r.choice(DOMAINS)}/oauth{r.choice(('', '2'))}/token",
    "uuid": uuid4,
    "sha": lambda r: hexs(r, 40),
    "sha256": lambda r: hexs(r, 64),
    "short": lambda r: hexs(r, 7),
    "blob": lambda r: b64(r, r.randrange(30, 150)),
    "date": lambda r: f"20{r.randrange(19, 27)}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}",
    "ts": lambda r: f"20{r.randrange(19, 27)}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}T{r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d}Z",
    "semver": lambda r: f"{r.randrange(0, 12)}.{r.randrange(0, 30)}.{r.randrange(0, 20)}",
    "email": lambda r: f"{r.choice(FIRSTNAMES)}@{r.choice(DOMAINS)}",
    "user": _ch(FIRSTNAMES),
    "ENV": _ch(ENV_PLAIN),
    "ENVS": _ch(ENV_SECRETISH),
    "secretname": lambda r: r.choice((
        lambda: r.choice(SECRET_NAMES),
        lambda: f"{r.choice(PROJECTS)}-{r.choice(('db', 'api', 'smtp', 'redis', 'oauth'))}-credentials",
        lambda: f"{r.choice(('prod', 'staging', 'dev'))}/{r.choice(PROJECTS)}/{r.choice(NOUNS)}",
        lambda: f"{r.choice(PROJECTS)}-{r.choice(('prod', 'staging', 'dev'))}-secrets",
        lambda: f"{r.choice(PROJECTS)}-tls"))(),
    "image": _ch(K8S_IMAGES),
    "svc": lambda r: f"{r.choice(PROJECTS)}-{r.choice(SUFFIXES)}",
    "proj": _ch(PROJECTS),
    "org": _ch(ORGS),
    "Org": lambda r: r.choice(ORGS).capitalize(),
    "pkg": lambda r: r.choice(NOUNS) + r.choice(("s", "", "_utils", "_core")),
    "env": _ch(("dev", "staging", "prod", "qa", "sandbox")),
    "region": _ch(("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")),
    "sw": _ch(("token", "password", "secret", "api_key", "credential", "auth")),
    "ip": lambda r: f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
    "bool": _ch(("true", "false")),
    "Bool": _ch(("True", "False")),
    "l": _ch("abcdefghijklmnopqrstuvwxyz"),
    "bait_yaml": lambda r: bait(r, r.choice(("snake", "camel")), "{k}: {v}"),
    "bait_env": lambda r: bait(r, "upper", "{k}={v}"),
    "bait_ini": lambda r: bait(r, "snake", "{k} = {v}"),
    "bait_props": lambda r: bait(r, "dot", "{k}={v}"),
    "bait_json": lambda r: bait(r, "camel", '"{k}": "{v}"'),
    "bait_toml": lambda r: bait(r, "snake", '{k} = "{v}"'),
    "bait_py": lambda r: bait(r, "upper", '{k} = "{v}"'),
    "bait_js": lambda r: bait(r, "upper", "const {k} = '{v}';"),
    "bait_go": lambda r: bait(r, "camel", 'const {k} = "{v}"'),
    "bait_java": lambda r: bait(r, "upper", 'private static final String {k} = "{v}";'),
    "bait_rb": lambda r: bait(r, "upper", "{k} = '{v}'"),
    "bait_php": lambda r: bait(r, "upper", "const {k} = '{v}';"),
    "bait_cs": lambda r: bait(r, "pascal", 'private const string {k} = "{v}";'),
    "bait_rs": lambda r: bait(r, "upper", 'const {k}: &str = "{v}";'),
    "bait_sh": lambda r: bait(r, "upper", 'export {k}="{v}"'),
    "bait_tf": lambda r: bait(r, "snake", '  {k} = "{v}"'),
    "bait_xml": lambda r: bait(r, "pascal", '<add key="{k}" value="{v}" />'),
}


# ---------------------------------------------------------------------------------------------
# Planted items
# ---------------------------------------------------------------------------------------------

class Item:
    """One planted thing. `assigns` is a list of (name_words, value, quoted); a value (or a name)
    contains MARK before each labelled secret. `pem` is set when the value spans lines. `snippet`
    is a ready-made block used verbatim instead of assignments. `secrets` lists the labelled strings
    in MARK order (None: the marked name, whatever its rendered form)."""

    __slots__ = ("label", "kinds", "assigns", "secrets", "pem", "snippet")

    def __init__(self, label, kinds, assigns=None, secrets=(), pem=False, snippet=None):
        self.label = label
        self.kinds = kinds if isinstance(kinds, (list, tuple)) else [kinds]
        self.assigns = assigns or []
        self.secrets = list(secrets)
        self.pem = pem
        self.snippet = snippet


CODE = {"py", "js", "ts", "go", "java", "rb", "php", "cs", "rs"}
CONF = {"yaml", "json", "env", "ini", "properties", "toml", "xml", "tf"}
SHELLISH = {"sh", "dockerfile", "md"}
ALL = CODE | CONF | SHELLISH | {"minjs"}

PW_NAMES = [w.split() for w in (
    "password|db password|database password|admin password|smtp password|mail password|redis password|"
    "postgres password|pg password|mysql password|mysql root password|ldap bind password|keystore password|"
    "truststore password|rabbitmq password|db pass|passwd|registry password|ftp password|sftp password|"
    "service account password|elastic password|mongo password|kafka sasl password|root password|"
    "bind password|vpn password|db pwd|master password|proxy password").split("|")]
SECRET_NAMES_W = [w.split() for w in (
    "client secret|app secret|secret|secret key|jwt secret|session secret|webhook secret|signing secret|"
    "oauth client secret|hmac secret|cookie secret|shared secret|consumer secret|encryption secret").split("|")]
TOKEN_NAMES = [w.split() for w in (
    "api token|auth token|access token|token|bot token|service token|refresh token|bearer token|"
    "admin token|deploy token|ci token|integration token|personal access token|sync token").split("|")]
APIKEY_NAMES = [w.split() for w in (
    "api key|apikey|private api key|partner api key|encryption key|signing key|master key|"
    "internal api key|backend api key|service api key|app key|license key|client key|auth key").split("|")]


def gen_item(rng, label, table, syn, gen):
    weights = [w for w, _ in table]
    for _ in range(40):
        _, fac = rng.choices(table, weights=weights)[0]
        item = fac(rng, syn, gen)
        if item is not None:
            return item
    return fac_generic_password(rng, syn, gen) if label == "positive" else dec_env_ref(rng, syn, gen)


# --- positives -------------------------------------------------------------------------------

def P(kind, names, value, quoted=True):
    """Single-assignment positive; the whole value is the secret."""
    return Item("positive", kind, [(names, MARK + value, quoted)], [value])


def fac_generic_password(rng, syn, gen):
    pw = human_password(rng) if rng.random() < 0.7 else random_token(rng, 12, 32)
    return P("generic-password", rng.choice(PW_NAMES), pw)


def fac_generic_secret(rng, syn, gen):
    return P("generic-secret", rng.choice(SECRET_NAMES_W), random_token(rng))


def fac_generic_token(rng, syn, gen):
    return P("generic-token", rng.choice(TOKEN_NAMES), random_token(rng))


def fac_generic_apikey(rng, syn, gen):
    return P("generic-api-key", rng.choice(APIKEY_NAMES), random_token(rng))


def fac_connstring(rng, syn, gen):
    if syn in ("minjs",):
        return None
    pw = human_password(rng) if rng.random() < 0.6 else random_token(rng, 16, 32)
    pw = pw.replace(";", "")
    db = rng.choice(PROJECTS)
    r = rng.random()
    if r < 0.5:
        v = f"Server=tcp:sql-{db}-{rng.choice(('prod', 'eu', 'main'))}.database.windows.net,1433;Initial Catalog={db};User ID={db}_app;Password={MARK}{pw};Encrypt=True;"
    elif r < 0.8:
        v = f"Host=pg-{db}.internal;Port=5432;Database={db};Username={db}_svc;Password={MARK}{pw};SSL Mode=Require"
    else:
        v = f"Data Source=db-{db}.{rng.choice(DOMAINS)};Database={db};User Id=sa;Pwd={MARK}{pw};"
    names = rng.choice((["connection", "string"], ["default", "connection"], ["db", "connection"], ["sql", "connection", "string"]))
    return Item("positive", "connection-string-password", [(names, v, True)], [pw])


def fac_db_url(rng, syn, gen):
    scheme = rng.choice(("postgres", "postgresql", "mysql", "mongodb", "mongodb+srv", "redis", "amqp", "amqps", "rediss"))
    pw = human_password(rng, url_safe=True) if rng.random() < 0.5 else random_token(rng, 16, 40).replace("/", "x").replace("+", "z")
    pw = pw.replace("=", "")
    user = rng.choice(("app", "svc_" + rng.choice(PROJECTS).replace("-", "_"), "admin", "root", "deploy", "default", rng.choice(FIRSTNAMES)))
    host = rng.choice((f"db-{rng.choice(PROJECTS)}.{rng.choice(DOMAINS)}", f"{rng.choice(PROJECTS)}-primary.internal", f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"))
    kindmap = {"postgres": "postgres-url", "postgresql": "postgres-url", "mysql": "mysql-url", "mongodb": "mongodb-url",
               "mongodb+srv": "mongodb-url", "redis": "redis-url", "rediss": "redis-url", "amqp": "amqp-url", "amqps": "amqp-url"}
    port = {"postgres": ":5432", "postgresql": ":5432", "mysql": ":3306", "mongodb": ":27017", "mongodb+srv": "",
            "redis": ":6379", "rediss": ":6380", "amqp": ":5672", "amqps": ":5671"}[scheme]
    path = {"redis": "/0", "rediss": "/0", "amqp": "/" + rng.choice(("", "vhost", "prod")), "amqps": "/"}.get(scheme, "/" + rng.choice(PROJECTS).replace("-", "_"))
    v = f"{scheme}://{user}:{MARK}{pw}@{host}{port}{path}"
    names = rng.choice((["database", "url"], ["db", "url"], ["dsn"], ["connection", "uri"], ["broker", "url"], ["cache", "url"], ["mongo", "uri"], ["sqlalchemy", "database", "uri"]))
    return Item("positive", kindmap[scheme], [(names, v, True)], [pw])


def fac_aws_pair(rng, syn, gen):
    akid = rng.choice(("AKIA", "AKIA", "AKIA", "ASIA")) + rs(rng, B32, 16)
    sk = b64(rng, 30)
    while not clean(sk) or "/" in sk[:1]:
        sk = b64(rng, 30)
    if syn == "tf":
        n1, n2 = ["access", "key"], ["secret", "key"]
    elif syn in ("ini",) or rng.random() < 0.6:
        n1, n2 = ["aws", "access", "key", "id"], ["aws", "secret", "access", "key"]
    else:
        n1, n2 = ["access", "key", "id"], ["secret", "access", "key"]
    return Item("positive", ["aws-access-key-id", "aws-secret-access-key"],
                [(n1, MARK + akid, True), (n2, MARK + sk, True)], [akid, sk])


def fac_github_classic(rng, syn, gen):
    body = rs(rng, ALNUM, 30)
    tok = rng.choice(("ghp_", "ghp_", "ghp_", "gho_", "ghs_")) + body + crc_b62(body)
    if syn in ("sh", "md") and rng.random() < 0.4:
        org, repo = rng.choice(ORGS), rng.choice(PROJECTS)
        line = f"git clone https://x-access-token:{MARK}{tok}@github.com/{org}/{repo}.git\n"
        if syn == "md":
            line = "```bash\n" + line + "```\n"
        return Item("positive", "github-classic", snippet="\n" + line + "\n", secrets=[tok])
    return P("github-classic", rng.choice((["github", "token"], ["gh", "token"], ["github", "pat"], ["git", "token"], ["github", "access", "token"])), tok)


def fac_github_fine(rng, syn, gen):
    a = "11" + rs(rng, UPPERC + DIGITS, 9) + "0" + rs(rng, ALNUM, 10)
    b = rs(rng, ALNUM, 53)
    body = a + "_" + b
    tok = "github_pat_" + body + crc_b62(body)
    return P("github-fine-grained", rng.choice((["github", "token"], ["gh", "pat"], ["github", "pat"])), tok)


def fac_gitlab(rng, syn, gen):
    tok = rng.choice(("glpat-", "glpat-", "glpat-", "glrt-", "gldt-")) + rs(rng, ALNUM + "_-", 20)
    return P("gitlab-token", rng.choice((["gitlab", "token"], ["gl", "token"], ["gitlab", "private", "token"])), tok)


def fac_slack(rng, syn, gen):
    r = rng.random()
    if r < 0.4:
        tok = f"xoxb-{rng.randrange(10**10, 10**13)}-{rng.randrange(10**10, 10**13)}-{rs(rng, ALNUM, 24)}"
        return P("slack-bot-token", rng.choice((["slack", "bot", "token"], ["slack", "token"])), tok)
    if r < 0.6:
        tok = f"xoxp-{rng.randrange(10**10, 10**13)}-{rng.randrange(10**10, 10**13)}-{rng.randrange(10**10, 10**13)}-{hexs(rng, 32)}"
        return P("slack-user-token", rng.choice((["slack", "user", "token"], ["slack", "token"])), tok)
    url = f"https://hooks.slack.com/services/T{rs(rng, UPPERC + DIGITS, rng.randrange(8, 11))}/B{rs(rng, UPPERC + DIGITS, rng.randrange(8, 11))}/{rs(rng, ALNUM, 24)}"
    return P("slack-webhook", rng.choice((["slack", "webhook", "url"], ["slack", "webhook"], ["alerts", "webhook", "url"])), url)


def fac_stripe(rng, syn, gen):
    tok = rng.choice(("sk_live_", "sk_live_", "rk_live_")) + ("51" + rs(rng, ALNUM, 97) if rng.random() < 0.6 else rs(rng, ALNUM, 24))
    return P("stripe-live-key", rng.choice((["stripe", "secret", "key"], ["stripe", "api", "key"], ["stripe", "key"])), tok)


def fac_sendgrid(rng, syn, gen):
    tok = "SG." + rs(rng, B64URL, 22) + "." + rs(rng, B64URL, 43)
    return P("sendgrid-api-key", rng.choice((["sendgrid", "api", "key"], ["sendgrid", "key"], ["mail", "api", "key"])), tok)


def fac_twilio(rng, syn, gen):
    sid = "AC" + hexs(rng, 32)
    tok = hexs(rng, 32)
    return Item("positive", "twilio-auth-token",
                [(["twilio", "account", "sid"], sid, True), (["twilio", "auth", "token"], MARK + tok, True)], [tok])


def fac_openai(rng, syn, gen):
    if rng.random() < 0.8:
        tok = "sk-proj-" + rs(rng, B64URL, 64) + "T3BlbkFJ" + rs(rng, B64URL, 64)
    else:
        tok = "sk-" + rs(rng, ALNUM, 20) + "T3BlbkFJ" + rs(rng, ALNUM, 20)
    return P("openai-api-key", rng.choice((["openai", "api", "key"], ["openai", "key"], ["llm", "api", "key"])), tok)


def fac_anthropic(rng, syn, gen):
    tok = "sk-ant-api03-" + rs(rng, B64URL, 93) + "AA"
    return P("anthropic-api-key", rng.choice((["anthropic", "api", "key"], ["claude", "api", "key"])), tok)


def fac_hf(rng, syn, gen):
    return P("huggingface-token", rng.choice((["hf", "token"], ["huggingface", "token"], ["hugging", "face", "hub", "token"])), "hf_" + rs(rng, UPPERC + LOWER, 34))


def npm_token(rng):
    body = rs(rng, ALNUM, 30)
    return "npm_" + body + crc_b62(body)


def fac_npm(rng, syn, gen):
    return P("npm-token", rng.choice((["npm", "token"], ["npm", "auth", "token"], ["node", "auth", "token"])), npm_token(rng))


def fac_npmrc(rng, syn, gen):
    r = rng.random()
    if r < 0.6:
        reg, tok = "//registry.npmjs.org/", npm_token(rng)
    elif r < 0.8:
        reg, tok = "//registry.npmjs.org/", uuid4(rng)
    else:
        body = rs(rng, ALNUM, 30)
        reg, tok = "//npm.pkg.github.com/", "ghp_" + body + crc_b62(body)
    line = f"{reg}:_authToken={MARK}{tok}"
    if syn == "sh":
        snip = f"\n# registry auth for private packages\necho \"{line}\" > ~/.npmrc\nnpm ci --prefer-offline\n\n"
    elif syn == "dockerfile":
        snip = f"\nRUN echo \"{line}\" > /root/.npmrc && \\\n    npm ci --omit=dev && \\\n    rm -f /root/.npmrc\n\n"
    elif syn == "md":
        snip = f"\nAdd this to your `~/.npmrc` to install the private packages:\n\n```ini\n@{rng.choice(ORGS)}:registry=https:{reg}\n{line}\n```\n\n"
    elif syn == "yaml" and getattr(gen, "sub", "") == "workflow":
        snip = (f"  publish-{rng.choice(PROJECTS)}:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
                f"      - run: echo \"{line}\" > .npmrc\n      - run: npm publish\n")
    else:
        return None
    return Item("positive", "npmrc-auth-token", snippet=snip, secrets=[tok])


def fac_netrc(rng, syn, gen):
    pw = random_token(rng, 24, 40) if rng.random() < 0.6 else human_password(rng)
    host = rng.choice(("api.github.com", "github.com", "gitlab.com", f"artifacts.{rng.choice(DOMAINS)}", "api.heroku.com", f"ftp.{rng.choice(DOMAINS)}"))
    user = rng.choice(("ci-bot", "deploy", rng.choice(FIRSTNAMES), f"{rng.choice(FIRSTNAMES)}@{rng.choice(DOMAINS)}"))
    body = f"machine {host}\n  login {user}\n  password {MARK}{pw}\n"
    if syn == "sh":
        snip = f"\ncat > \"$HOME/.netrc\" <<EOF\n{body}EOF\nchmod 600 \"$HOME/.netrc\"\n\n"
    elif syn == "md":
        snip = f"\nCredentials for the artifact mirror go in `~/.netrc`:\n\n```\n{body}```\n\n"
    else:
        return None
    return Item("positive", "netrc-password", snippet=snip, secrets=[pw])


def fac_dockercfg(rng, syn, gen):
    user = rng.choice(("ci", "deploy", "robot$builder", rng.choice(FIRSTNAMES)))
    pw = random_token(rng, 20, 40) if rng.random() < 0.7 else human_password(rng)
    auth = base64.b64encode(f"{user}:{pw}".encode()).decode()
    reg = rng.choice(("ghcr.io", "registry.gitlab.com", f"{rng.randrange(10**11, 10**12)}.dkr.ecr.us-east-1.amazonaws.com", "https://index.docker.io/v1/", f"registry.{rng.choice(DOMAINS)}"))
    body = f'{{\n  "auths": {{\n    "{reg}": {{\n      "auth": "{MARK}{auth}"\n    }}\n  }}\n}}\n'
    if syn == "sh":
        snip = f"\nmkdir -p \"$HOME/.docker\"\ncat > \"$HOME/.docker/config.json\" <<'EOF'\n{body}EOF\n\n"
    elif syn == "md":
        snip = f"\nThe build agents use this `~/.docker/config.json`:\n\n```json\n{body}```\n\n"
    else:
        return None
    return Item("positive", "docker-config-auth", snippet=snip, secrets=[auth])


def fac_google(rng, syn, gen):
    tok = "AIza" + rs(rng, ALNUM + "_-", 35)
    return P("google-api-key", rng.choice((["google", "api", "key"], ["maps", "api", "key"], ["firebase", "api", "key"], ["gcp", "api", "key"])), tok)


def fac_azure_storage(rng, syn, gen):
    acct = rng.choice(PROJECTS).replace("-", "") + rng.choice(("prod", "data", "logs", "sa")) + str(rng.randrange(10, 99))
    key = b64(rng, 64)
    v = f"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={MARK}{key};EndpointSuffix=core.windows.net"
    return Item("positive", "azure-storage-key", [(rng.choice((["azure", "storage", "connection", "string"], ["storage", "connection"], ["blob", "connection", "string"])), v, True)], [key])


def fac_digitalocean(rng, syn, gen):
    return P("digitalocean-token", rng.choice((["digitalocean", "token"], ["do", "token"], ["do", "api", "token"])), "dop_v1_" + hexs(rng, 64))


def fac_vault(rng, syn, gen):
    return P("vault-token", rng.choice((["vault", "token"], ["vault", "auth", "token"])), "hvs.CAESI" + rs(rng, B64URL, 86))


def fac_pypi(rng, syn, gen):
    tok = "pypi-AgEIcHlwaS5vcmcCJD" + b64url(rng, 120)
    if syn == "ini" and rng.random() < 0.5:
        snip = f"\n[pypi]\nusername = __token__\npassword = {MARK}{tok}\n\n"
        return Item("positive", "pypi-token", snippet=snip, secrets=[tok])
    return P("pypi-token", rng.choice((["pypi", "token"], ["pypi", "api", "token"], ["twine", "password"])), tok)


def fac_jwt(rng, syn, gen):
    tok = jwt_token(rng)
    if syn == "sh" and rng.random() < 0.5:
        snip = f"\ncurl -sS -H \"Authorization: Bearer {MARK}{tok}\" \\\n  \"https://api.{rng.choice(DOMAINS)}/v2/{rng.choice(NOUNS)}s?limit=100\"\n\n"
        return Item("positive", "jwt", snippet=snip, secrets=[tok])
    return P("jwt", rng.choice((["auth", "token"], ["jwt"], ["access", "token"], ["id", "token"], ["service", "jwt"], ["bearer", "token"])), tok)


def fac_pem(rng, syn, gen):
    if syn in ("dockerfile", "minjs", "ini"):
        return None
    kind = rng.choice(("rsa", "rsa", "ec", "openssh", "pkcs8"))
    begin, text = pem_block(rng, kind)
    names = rng.choice((["private", "key"], ["ssh", "private", "key"], ["tls", "key"], ["signing", "key"], ["deploy", "key"], ["jwt", "private", "key"]))
    return Item("positive", f"private-key-{kind}", [(names, MARK + text, True)], [begin], pem=True)


def fac_gcp_sa(rng, syn, gen):
    if syn not in ("json",):
        return None
    begin, text = pem_block(rng, "pkcs8")
    proj = f"{rng.choice(PROJECTS)}-{rng.randrange(100000, 999999)}"
    esc = text.replace("\n", "\\n") + "\\n"
    snip = ('{\n  "type": "service_account",\n  "project_id": "' + proj + '",\n  "private_key_id": "' + hexs(rng, 40) +
            '",\n  "private_key": "' + MARK + esc + '",\n  "client_email": "deployer@' + proj +
            '.iam.gserviceaccount.com",\n  "client_id": "' + str(rng.randrange(10**20, 10**21)) +
            '",\n  "token_uri": "https://oauth2.googleapis.com/token"\n}')
    return Item("positive", "gcp-service-account", snippet=snip, secrets=[begin])


PROVIDER_MISC = [
    ("datadog-api-key", (["dd", "api", "key"], ["datadog", "api", "key"]), lambda r: hexs(r, 32)),
    ("shopify-token", (["shopify", "access", "token"], ["shopify", "token"]), lambda r: "shpat_" + hexs(r, 32)),
    ("mailgun-api-key", (["mailgun", "api", "key"], ["mailgun", "key"]), lambda r: "key-" + hexs(r, 32)),
    ("telegram-bot-token", (["telegram", "bot", "token"], ["tg", "token"]), lambda r: f"{r.randrange(10**8, 10**10)}:AA{rs(r, B64URL, 33)}"),
    ("linear-api-key", (["linear", "api", "key"],), lambda r: "lin_api_" + rs(r, ALNUM, 40)),
    ("pulumi-token", (["pulumi", "access", "token"],), lambda r: "pul-" + hexs(r, 40)),
    ("grafana-token", (["grafana", "token"], ["grafana", "sa", "token"]), lambda r: "glsa_" + rs(r, ALNUM, 32) + "_" + hexs(r, 8)),
    ("databricks-token", (["databricks", "token"],), lambda r: "dapi" + hexs(r, 32)),
    ("newrelic-key", (["new", "relic", "api", "key"], ["nr", "api", "key"]), lambda r: "NRAK-" + rs(r, UPPERC + DIGITS, 27)),
    ("doppler-token", (["doppler", "token"],), lambda r: "dp.st." + rs(r, ALNUM, 43)),
    ("heroku-api-key", (["heroku", "api", "key"],), lambda r: "HRKU-AA" + rs(r, B64URL, 58)),
    ("age-secret-key", (["age", "identity"], ["sops", "age", "key"]), lambda r: "AGE-SECRET-KEY-1" + rs(r, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)),
    ("postman-api-key", (["postman", "api", "key"],), lambda r: f"PMAK-{hexs(r, 24)}-{hexs(r, 34)}"),
    ("groq-api-key", (["groq", "api", "key"],), lambda r: "gsk_" + rs(r, ALNUM, 52)),
    ("replicate-token", (["replicate", "api", "token"],), lambda r: "r8_" + rs(r, ALNUM, 37)),
    ("alibaba-access-key", (["alibaba", "access", "key", "id"], ["aliyun", "access", "key"]), lambda r: "LTAI" + rs(r, ALNUM, 20)),
    ("mailchimp-api-key", (["mailchimp", "api", "key"],), lambda r: f"{hexs(r, 32)}-us{r.randrange(1, 21)}"),
    ("square-token", (["square", "access", "token"],), lambda r: "EAAA" + rs(r, B64URL, 60)),
    ("netlify-token", (["netlify", "auth", "token"],), lambda r: "nfp_" + rs(r, ALNUM, 40)),
    ("figma-token", (["figma", "token"],), lambda r: "figd_" + rs(r, B64URL, 40)),
]


def fac_misc(rng, syn, gen):
    kind, names, mk = rng.choice(PROVIDER_MISC)
    return P(kind, list(rng.choice(names)), mk(rng))


POSITIVE_TABLE = [
    (13, fac_generic_password), (6, fac_generic_secret), (7, fac_generic_token), (7, fac_generic_apikey),
    (4, fac_connstring), (8, fac_db_url),
    (5, fac_aws_pair), (4, fac_github_classic), (2, fac_github_fine), (2, fac_gitlab), (3, fac_slack),
    (3, fac_stripe), (2, fac_sendgrid), (2, fac_twilio), (2, fac_openai), (2, fac_anthropic), (1, fac_hf),
    (2, fac_npm), (2, fac_npmrc), (1, fac_netrc), (1, fac_dockercfg), (1, fac_pypi), (2, fac_google),
    (2, fac_azure_storage), (1, fac_digitalocean), (1, fac_vault), (3, fac_jwt), (5, fac_pem), (1, fac_gcp_sa),
    (6, fac_misc),
]

# --- decoys ----------------------------------------------------------------------------------

def D(kind, names, value, quoted=True):
    return Item("decoy", kind, [(names, MARK + value, quoted)], [value])


def envref(rng, syn, var):
    c = rng.random
    if syn == "py":
        return rng.choice((f'os.environ["{var}"]', f'os.getenv("{var}")', f'os.environ.get("{var}")')), False
    if syn in ("js", "ts"):
        return rng.choice((f"process.env.{var}", f'process.env["{var}"]')), False
    if syn == "go":
        return f'os.Getenv("{var}")', False
    if syn == "java":
        return f'System.getenv("{var}")', False
    if syn == "rb":
        return rng.choice((f'ENV["{var}"]', f'ENV.fetch("{var}")')), False
    if syn == "php":
        return rng.choice((f"getenv('{var}')", f"$_ENV['{var}']", f"env('{var}')")), False
    if syn == "cs":
        return rng.choice((f'Environment.GetEnvironmentVariable("{var}")', f'configuration["{var}"]')), False
    if syn == "rs":
        return f'std::env::var("{var}")?', False
    if syn == "sh":
        return rng.choice((f"${var}", f"${{{var}}}", f"${{{var}:?missing {var}}}")), False
    if syn == "yaml":
        return (f"${{{{ secrets.{var} }}}}" if c() < 0.5 else f"${{{var}}}"), True
    if syn == "tf":
        return f"var.{var.lower()}", False
    if syn == "dockerfile":
        return f"${{{var}}}", False
    if syn == "xml":
        return f"${{{var.lower().replace('_', '.')}}}", True
    return f"${{{var}}}", True


def dec_env_ref(rng, syn, gen):
    names = rng.choice(PW_NAMES + TOKEN_NAMES + APIKEY_NAMES + SECRET_NAMES_W)
    if syn == "minjs":
        return None
    v, quoted = envref(rng, syn, upper(names))
    return D("env-reference", names, v, quoted)


def dec_aws_docs(rng, syn, gen):
    a, s = rng.choice((("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                       ("AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")))
    return Item("decoy", ["aws-docs-example", "aws-docs-example"],
                [(["aws", "access", "key", "id"], MARK + a, True), (["aws", "secret", "access", "key"], MARK + s, True)], [a, s])


PLACEHOLDERS = ("<your-api-key>", "<YOUR_TOKEN>", "xxxxxxxxxxxxxxxx", "changeme", "REPLACE_ME", "your_api_key_here",
                "INSERT_TOKEN_HERE", "TODO", "<redacted>", "CHANGE_ME", "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
                "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "AKIAXXXXXXXXXXXXXXXX", "<password>", "{password}",
                "your-secret-here", "put-your-token-here", "__API_TOKEN__", "#{DeployToken}#", "@@DB_PASSWORD@@")


def dec_placeholder(rng, syn, gen):
    names = rng.choice(PW_NAMES + TOKEN_NAMES + APIKEY_NAMES + SECRET_NAMES_W)
    r = rng.random()
    if syn == "yaml" and r < 0.4:
        v = "{{ .Values." + camel(names) + " }}"
    elif syn in ("py", "ini") and r < 0.3:
        v = f"%({snake(names)})s"
    elif syn in ("env", "properties", "yaml", "toml", "json") and r < 0.5:
        v = "${" + upper(names) + "}"
    else:
        v = rng.choice(PLACEHOLDERS)
    return D("placeholder", names, v)


def dec_bad_checksum(rng, syn, gen):
    r = rng.random()
    if r < 0.6:
        body = rs(rng, ALNUM, 30)
        good = crc_b62(body)
        bad = good
        while bad == good:
            bad = rs(rng, ALNUM, 6)
        return D("github-bad-checksum", ["github", "token"], rng.choice(("ghp_", "gho_", "ghs_")) + body + bad)
    if r < 0.8:
        body = rs(rng, ALNUM, 30)
        bad = rs(rng, ALNUM, 6)
        return D("npm-bad-checksum", ["npm", "token"], "npm_" + body + (bad if bad != crc_b62(body) else "000000"))
    a = "11" + rs(rng, UPPERC + DIGITS, 20)
    b = rs(rng, ALNUM, 59)
    return D("github-pat-bad-checksum", ["github", "pat"], "github_pat_" + a + "_" + b)


def dec_uuid_id(rng, syn, gen):
    names = rng.choice((["request", "id"], ["tenant", "id"], ["client", "id"], ["subscription", "id"], ["correlation", "id"],
                        ["trace", "id"], ["app", "id"], ["project", "id"], ["workspace", "id"], ["installation", "id"], ["account", "id"]))
    return D("uuid-identifier", names, uuid4(rng))


def dec_hex_hash(rng, syn, gen):
    names = rng.choice((["sha256"], ["checksum"], ["content", "hash"], ["etag"], ["digest"], ["file", "hash"], ["sha1"],
                        ["key", "fingerprint"], ["build", "hash"], ["artifact", "sha256"], ["password", "hash"], ["token", "hash"]))
    return D("hex-hash", names, hexs(rng, rng.choice((40, 64, 64, 32))))


def dec_integrity(rng, syn, gen):
    if syn != "json":
        return None
    v = "sha512-" + b64(rng, 64)
    return D("lockfile-integrity", ["integrity"], v)


def dec_image(rng, syn, gen):
    v = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA" + b64(rng, rng.randrange(150, 600))
    names = rng.choice((["icon"], ["logo", "data", "uri"], ["avatar", "fallback"], ["favicon"], ["spinner", "image"]))
    return D("base64-image", names, v)


FIXTURE_VALUES = ("password123", "test", "hunter2", "admin", "letmein", "secret", "qwerty", "dummy", "test-token",
                  "fake-api-key", "changeit", "foobar", "abc123", "pass1234", "not-a-real-secret", "dummy-key", "testpass",
                  "s3cret", "correct-horse-battery-staple", "P@ssw0rd")


def dec_fixture(rng, syn, gen):
    names = rng.choice(PW_NAMES[:6] + TOKEN_NAMES[:4] + APIKEY_NAMES[:3] + [["secret"]])
    return D("test-fixture", names, rng.choice(FIXTURE_VALUES))


def dec_masked(rng, syn, gen):
    v = rng.choice(("sk_live_" + "*" * 24, "ghp_" + "*" * 36, "********", "AKIA" + "*" * 16, "xoxb-****-****-************",
                    "sk-...redacted", "****-****-****", "hvs.****************"))
    names = rng.choice(PW_NAMES[:4] + TOKEN_NAMES[:4] + APIKEY_NAMES[:3])
    return D("masked", names, v)


def dec_name_only(rng, syn, gen):
    if syn in ("minjs", "md"):
        return None
    names = list(rng.choice(PW_NAMES[:8] + TOKEN_NAMES[:6] + APIKEY_NAMES[:6] + SECRET_NAMES_W[:5]))
    names[0] = MARK + names[0]
    return Item("decoy", "name-only", [(names, "", True)], [None])


def dec_public_key(rng, syn, gen):
    r = rng.random()
    if r < 0.5 or syn in ("dockerfile", "minjs", "ini"):
        if rng.random() < 0.5:
            v = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + b64(rng, 250).rstrip("=") + f" {rng.choice(FIRSTNAMES)}@{rng.choice(PROJECTS)}"
        else:
            v = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + rs(rng, ALNUM + "+/", 43) + f" deploy@{rng.choice(PROJECTS)}"
        return D("public-key", rng.choice((["ssh", "public", "key"], ["authorized", "key"], ["deploy", "public", "key"])), v)
    begin, text = public_pem(rng, cert=rng.random() < 0.5)
    return Item("decoy", "public-key-pem" if "PUBLIC" in begin else "certificate-pem",
                [(rng.choice((["public", "key"], ["tls", "cert"], ["ca", "cert"], ["signing", "cert"])), MARK + text, True)], [begin], pem=True)


def dec_build_id(rng, syn, gen):
    r = rng.random()
    if r < 0.4:
        return D("commit-sha", rng.choice((["git", "commit"], ["commit", "sha"], ["revision"], ["release", "sha"], ["source", "version"])), hexs(rng, 40))
    if r < 0.7:
        return D("image-digest", rng.choice((["image", "digest"], ["base", "image", "digest"])), "sha256:" + hexs(rng, 64))
    return D("build-id", rng.choice((["build", "id"], ["pipeline", "id"], ["run", "id"], ["build", "number"])),
             rng.choice((rs(rng, UPPERC + DIGITS, 26), f"{rng.randrange(10**9, 10**10)}", f"b-{hexs(rng, 12)}")))


def dec_publishable(rng, syn, gen):
    r = rng.random()
    if r < 0.5:
        return D("stripe-publishable-key", rng.choice((["stripe", "publishable", "key"], ["stripe", "pk"])), "pk_live_" + rs(rng, ALNUM, rng.choice((24, 99))))
    if r < 0.75:
        return D("oauth-client-id", ["google", "client", "id"], f"{rng.randrange(10**11, 10**12)}-{rs(rng, LOWER + DIGITS, 32)}.apps.googleusercontent.com")
    return D("jwt-docs-example", ["example", "jwt"], "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")


def dec_password_hash(rng, syn, gen):
    v = f"$2b$12${rs(rng, ALNUM + './', 53)}" if rng.random() < 0.7 else f"$argon2id$v=19$m=65536,t=3,p=4${b64(rng, 16).rstrip('=')}${b64(rng, 32).rstrip('=')}"
    if syn in ("sh", "dockerfile", "env", "php") or (syn == "minjs"):
        return None
    return D("password-hash", rng.choice((["password", "hash"], ["hashed", "password"], ["admin", "password", "digest"])), v)


DECOY_TABLE = [
    (4, dec_aws_docs), (10, dec_placeholder), (10, dec_env_ref), (5, dec_bad_checksum), (7, dec_uuid_id),
    (7, dec_hex_hash), (3, dec_integrity), (3, dec_image), (10, dec_fixture), (4, dec_masked), (5, dec_name_only),
    (5, dec_public_key), (7, dec_build_id), (5, dec_publishable), (3, dec_password_hash),
]
LOCK_DECOYS = [(1, dec_integrity)]

# ---------------------------------------------------------------------------------------------
# File generators
# ---------------------------------------------------------------------------------------------


def ind(text, n):
    pad = " " * n
    return "\n".join(pad + ln if ln else ln for ln in text.split("\n"))


def ind_str(text, pad):
    return "\n".join(pad + ln if ln else ln for ln in text.split("\n"))


def yaml_scalar(rng, v):
    raw = v.replace(MARK, "")
    if "\n" in raw:
        return None
    risky = (not raw) or raw[0] in "!&*{}[]|>'\"%@`#,?:-~ " or ": " in raw or " #" in raw or raw in ("true", "false", "null", "yes", "no") \
        or raw.replace(".", "").isdigit()
    if risky or rng.random() < 0.4:
        return '"' + v + '"'
    return v


class Gen:
    syntax = "txt"
    sub = ""
    pos_mult = 1.0
    dec_mult = 1.0
    gap = 3

    def __init__(self, rng, path):
        self.rng = rng
        self.path = path

    def begin(self):
        return ""

    def end(self):
        return ""

    def block(self):
        raise NotImplementedError

    # ---- planting
    def plant(self, item):
        if item.snippet is not None:
            return self.snippet(item.snippet)
        return self.plant_assigns(item)

    def snippet(self, text):
        return text

    def plant_assigns(self, item):
        return "".join(self.assign(n, v, q, item.pem) for n, v, q in item.assigns)

    def assign(self, names, value, quoted, pem):
        raise NotImplementedError


# ----------------------------------------------------------------------------- code languages

def qstr(rng, v, syn):
    if syn in ("py", "rb"):
        qc = rng.choice(('"', "'"))
    elif syn in ("js", "ts"):
        qc = rng.choice(('"', "'", "'"))
    elif syn == "php":
        qc = "'"
    elif syn == "sh":
        qc = "'" if "$" in v or "!" in v else rng.choice(('"', "'"))
    else:
        qc = '"'
    return qc + v + qc


def multiline_literal(rng, syn, v):
    """A string literal holding a multi-line value (PEM)."""
    if syn == "py":
        return '"""' + v + '\n"""'
    if syn in ("js", "ts"):
        return "`" + v + "\n`"
    if syn == "go":
        return "`" + v + "\n`"
    if syn == "java":
        return '"""\n' + v + '\n"""'
    if syn == "rb":
        return "<<~PEM\n" + ind(v, 2) + "\nPEM"
    if syn == "php":
        return "<<<EOT\n" + v + "\nEOT"
    if syn == "cs":
        return '@"' + v + '\n"'
    if syn == "rs":
        return 'r#"' + v + '\n"#'
    return '"' + v.replace("\n", "\\n") + '\\n"'


class CodeGen(Gen):
    """Shared plant logic for programming languages; subclasses provide the filler."""

    def value_expr(self, value, quoted, pem):
        if not quoted:
            return value
        if pem:
            return multiline_literal(self.rng, self.syntax, value)
        return qstr(self.rng, value, self.syntax)

    def plant_assigns(self, item):
        rng = self.rng
        parts = []
        form = rng.random()
        for names, value, quoted in item.assigns:
            parts.append((names, self.value_expr(value, quoted, item.pem)))
        return self.render_assign_group(parts, form)


class PyGen(CodeGen):
    syntax = "py"
    IMPORTS = ["import os", "import logging", "import json", "import hashlib", "import time", "import re",
               "from datetime import datetime, timedelta", "from typing import Any, Dict, List, Optional",
               "import requests", "from dataclasses import dataclass, field", "import base64", "import hmac",
               "from django import forms", "from django.db import models", "import boto3", "from pathlib import Path",
               "from flask import Flask, request, jsonify", "import sqlalchemy as sa", "import asyncio", "import uuid"]
    CONSTS = TL(
        'TOKEN_URL = "«token_url»"', 'API_KEY_HEADER = "X-API-Key"', "PASSWORD_MIN_LENGTH = «num»",
        'SECRET_NAME = "«secretname»"', "TOKEN_TTL_SECONDS = «num»", 'DEFAULT_«NOUN»_ID = "«uuid»"',
        'SCHEMA_SHA = "«sha»"', 'BASE_URL = "«url»"', "MAX_RETRIES = «num»", 'PASSWORD_RESET_PATH = "/account/password/reset"',
        'TOKEN_TYPE = "Bearer"', 'CACHE_PREFIX = "«noun»:v«num»"', "«CONST» = «num»", '«CONST» = "«word»"',
        'AUTH_HEADER = "Authorization"', 'SECRET_ARN_PREFIX = "arn:aws:secretsmanager:«region»:«big»:secret:"',
        'CREDENTIALS_FILE = "~/.config/«proj»/credentials.json"', 'LOGO_SHA256 = "«sha256»"', 'PLACEHOLDER_AVATAR_B64 = "«blob»"', "«bait_py»", "«bait_py»", "«bait_py»",
    )
    STMTS = TL(
        "«var» = self.«func»(«var2», timeout=«num»)", 'logger.info("«msg»", «var»)', "if not «var»:\n        raise ValueError(\"«msg»\")",
        "token = self._get_token()", 'headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}',
        'resp = requests.get(f"«url»/{«var»}", headers=headers, timeout=«num»)', "resp.raise_for_status()",
        'password = os.environ["«ENVS»"]', "api_key = request.headers.get(API_KEY_HEADER)",
        'secret = client.get_secret_value(SecretId=SECRET_NAME)["SecretString"]',
        "for «var» in «var2»:\n        «var3».append(«var».«noun»)", 'return {"id": «var».id, "status": "«adj»"}',
        "«var» = hashlib.sha256(«var2».encode()).hexdigest()", "if not check_password(password, user.password_hash):\n        return None",
        'cache_key = f"«noun»:{«var»}"', "expires_at = datetime.utcnow() + timedelta(seconds=TOKEN_TTL_SECONDS)",
        "«var» = json.loads(resp.text)", "self.«var» = «var»", 'token = payload.get("access_token")',
        'log.debug("refreshing token for %s", «var»)', "return self.«func»(«var»)", "# TODO: «sentence»",
        'if resp.status_code == 401:\n        self._token = None  # force a token refresh\n        return self.«func»(«var»)',
        "«var» = [x for x in «var2» if x.«adj»]", "time.sleep(min(2 ** attempt, «num»))",
        'session["csrf_token"] = generate_token()', 'expected = hmac.new(webhook_secret.encode(), body, hashlib.sha256).hexdigest()',
        'assert «var» is not None, "«msg»"', "«var» = Path(«var2») / \"«noun».json\"",
    )
    FUNCS = TL(
        'def «func»(«var», «var2»=None):\n    """«sentence»"""\n',
        "def «func»(self, «var»: str) -> Optional[dict]:\n    \"\"\"«sentence»\n\n    Returns None when the «noun» is missing.\n    \"\"\"\n",
        "async def «func»(«var», *, timeout: float = «num».0) -> List[str]:\n",
        "def get_token(self) -> str:\n    \"\"\"Return a cached OAuth token, refreshing it from TOKEN_URL when it expires.\"\"\"\n",
        "def refresh_token(self, refresh_token: str) -> Dict[str, Any]:\n",
        "def verify_password(self, password: str) -> bool:\n",
        "def «func»(request):\n",
    )
    CLASSES = TL(
        "class «Class»:\n    \"\"\"«sentence»\"\"\"\n\n    def __init__(self, client, api_key=None, timeout=«num»):\n        self.client = client\n        self.api_key = api_key\n        self.timeout = timeout\n        self._token = None\n",
        "@dataclass\nclass «Class»:\n    «var»: str\n    «var2»: int = «num»\n    password_env: str = \"«ENVS»\"\n    token_url: str = TOKEN_URL\n    tags: List[str] = field(default_factory=list)\n",
        "class «Noun»Form(forms.Form):\n    username = forms.CharField(max_length=150)\n    password_field = forms.CharField()\n    password = forms.CharField(widget=forms.PasswordInput)\n    password_confirm = forms.CharField(widget=forms.PasswordInput, label=\"Confirm password\")\n    api_key = forms.CharField(required=False, help_text=\"Leave blank to generate a new API key\")\n",
        "class «Noun»(models.Model):\n    id = models.UUIDField(primary_key=True, default=uuid.uuid4)\n    name = models.CharField(max_length=«num»)\n    api_key_hash = models.CharField(max_length=64, unique=True)\n    token_expires_at = models.DateTimeField(null=True)\n    created_at = models.DateTimeField(auto_now_add=True)\n",
    )
    TESTS = TL(
        "def test_«func»_rejects_bad_password(client):\n    resp = client.post(\"/login\", json={\"username\": \"«user»\", \"password\": \"wrong\"})\n    assert resp.status_code == 401\n",
        "def test_«func»(«var»):\n    result = «func»(«var», limit=«num»)\n    assert result[\"id\"] == \"«uuid»\"\n    assert result[\"etag\"] == \"«sha»\"\n",
        "@pytest.mark.parametrize(\"value\", [\"«word»\", \"«noun»\", \"\"])\ndef test_«func»_invalid(value):\n    with pytest.raises(ValueError):\n        «func»(value)\n",
    )

    def begin(self):
        rng = self.rng
        out = ['"""' + R(rng, T("«sentence»")) + '"""\n']
        out += ["import logging\nimport os\n"] + [imp + "\n" for imp in rng.sample(self.IMPORTS[2:], rng.randrange(3, 8))]
        out.append("\nlogger = logging.getLogger(__name__)\n\n")
        out += [R(rng, rng.choice(self.CONSTS)) + "\n" for _ in range(rng.randrange(3, 8))]
        return "".join(out) + "\n"

    def body(self, n, indent="    "):
        rng = self.rng
        lines = []
        for _ in range(n):
            lines.append(indent + R(rng, rng.choice(self.STMTS)).replace("\n    ", "\n" + indent))
        return "\n".join(lines) + "\n"

    def block(self):
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            return "\n" + R(rng, rng.choice(self.FUNCS)) + self.body(rng.randrange(3, 9)) + "\n"
        if r < 0.75:
            out = ["\n" + R(rng, rng.choice(self.CLASSES))]
            for _ in range(rng.randrange(1, 5)):
                f = R(rng, rng.choice(self.FUNCS)).replace("\n", "\n    ")
                out.append("\n    " + f.rstrip(" ") + self.body(rng.randrange(2, 7), "        "))
            return "".join(out) + "\n"
        if r < 0.9:
            return "\n" + R(rng, rng.choice(self.TESTS)) + "\n"
        return "\n" + "\n".join(R(rng, rng.choice(self.CONSTS)) for _ in range(rng.randrange(2, 6))) + "\n"

    def render_assign_group(self, parts, form):
        rng = self.rng
        if form < 0.4:
            st = "upper" if rng.random() < 0.7 else "snake"
            return "\n# " + R(rng, T("«sentence»")) + "\n" + "".join(f"{fmt_name(n, st)} = {v}\n" for n, v in parts) + "\n"
        if form < 0.7:
            body = "".join(f'    "{fmt_name(n, "snake")}": {v},\n' for n, v in parts)
            return "\n" + R(rng, T("«CONST»_CONFIG = {\n    \"«noun»\": \"«word»\",\n")) + body + "    \"timeout\": " + str(rng.randrange(5, 60)) + ",\n}\n\n"
        if form < 0.85:
            body = "".join(f"        {fmt_name(n, 'snake')}={v},\n" for n, v in parts)
            return "\n" + R(rng, T("def «func»():\n    return «Class»(\n")) + body + "    )\n\n"
        body = "".join(f"    {fmt_name(n, 'snake')} = {v}\n" for n, v in parts)
        return "\n" + R(rng, T("def «func»(«var»):\n")) + body + R(rng, T("    return «var»\n")) + "\n"


class CLikeGen(CodeGen):
    """JS/TS/Go/Java/Ruby/PHP/C#/Rust, each a table of templates."""
    HEADER = []
    CONSTS = []
    STMTS = []
    FUNCS = []  # (open, close)
    CLASSES = []  # (open, close)
    TESTS = []
    INDENT = "  "
    ASSIGN_FORMS = []  # each: (prefix_tpl, line_fmt, suffix_tpl, name_style)

    def begin(self):
        rng = self.rng
        return "".join(R(rng, t) for t in self.HEADER) + "\n" + "".join(R(rng, rng.choice(self.CONSTS)) + "\n" for _ in range(rng.randrange(2, 7))) + "\n"

    def body(self, n, indent):
        rng = self.rng
        out = []
        for _ in range(n):
            out.append(indent + R(rng, rng.choice(self.STMTS)).replace("\n", "\n" + indent))
        return "\n".join(out) + "\n"

    NEST = True

    def func_text(self, lo, hi):
        rng = self.rng
        op, cl = rng.choice(self.FUNCS)
        return R(rng, op) + self.body(rng.randrange(lo, hi), self.INDENT) + R(rng, cl)

    def block(self):
        rng = self.rng
        r = rng.random()
        I = self.INDENT
        if r < 0.45 or not self.CLASSES:
            return "\n" + self.func_text(3, 9) + "\n"
        if r < 0.85:
            op, cl = rng.choice(self.CLASSES)
            methods = [self.func_text(2, 7) for _ in range(rng.randrange(1, 5))]
            if self.NEST:
                return "\n" + R(rng, op) + "".join("\n" + ind_str(m, I) for m in methods) + R(rng, cl) + "\n"
            return "\n" + R(rng, op) + R(rng, cl) + "".join("\n" + m for m in methods) + "\n"
        if self.TESTS and r < 0.93:
            return "\n" + R(rng, rng.choice(self.TESTS)) + "\n"
        return "\n" + "\n".join(R(rng, rng.choice(self.CONSTS)) for _ in range(rng.randrange(2, 6))) + "\n"

    def render_assign_group(self, parts, form):
        rng = self.rng
        pre, line, post, style = self.ASSIGN_FORMS[int(form * len(self.ASSIGN_FORMS)) % len(self.ASSIGN_FORMS)]
        body = "".join(line.format(name=fmt_name(n, style), value=v) for n, v in parts)
        return "\n" + R(rng, pre) + body + R(rng, post) + "\n"


class JsGen(CLikeGen):
    syntax = "js"
    HEADER = TL("'use strict';\n\n", "const axios = require('axios');\nconst crypto = require('crypto');\nconst { promisify } = require('util');\n",
                "const config = require('../config');\nconst logger = require('./logger')('«noun»');\n")
    CONSTS = TL("const TOKEN_URL = '«token_url»';", "const API_KEY_HEADER = 'X-API-Key';", "const DEFAULT_TIMEOUT_MS = «num»000;",
                "const «CONST» = '«word»';", "const PASSWORD_FIELD = 'password';", "const SECRET_NAME = '«secretname»';",
                "const BUILD_SHA = '«sha»';", "const «CONST»_ID = '«uuid»';", "const BASE_URL = '«url»';",
                "const TOKEN_STORAGE_KEY = '«proj».auth.token';", "const FIXTURE_B64 = '«blob»';", "«bait_js»", "«bait_js»")
    STMTS = TL("const «cvar» = await this.«cfunc»(«cvar2», { limit: «num» });", "logger.info('«msg»', { «cvar» });",
               "if (!«cvar») {\n  throw new Error('«msg»');\n}", "const token = await getToken();",
               "const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };",
               "const res = await axios.get(`«url»/${«cvar»}`, { headers, timeout: DEFAULT_TIMEOUT_MS });",
               "const password = process.env.«ENVS»;", "const apiKey = req.get(API_KEY_HEADER);",
               "const { username, password } = req.body;", "if (!(await bcrypt.compare(password, user.passwordHash))) {\n  return res.status(401).json({ error: 'invalid credentials' });\n}",
               "for (const «cvar» of «cvar2») {\n  «cvar3».push(«cvar».«noun»);\n}", "return { id: «cvar».id, status: '«adj»' };",
               "const digest = crypto.createHash('sha256').update(«cvar»).digest('hex');", "this.«cvar» = «cvar»;",
               "// TODO: «sentence»", "const tokenExpiresAt = Date.now() + «num» * 1000;", "res.json({ «cvar», count: «cvar2».length });",
               "const signature = crypto.createHmac('sha256', webhookSecret).update(rawBody).digest('hex');",
               "await cache.set(`«noun»:${«cvar».id}`, JSON.stringify(«cvar»), 'EX', «num»);")
    FUNCS = [(T("async function «cfunc»(«cvar», options = {}) {\n"), T("}\n")),
             (T("function «cfunc»(«cvar», «cvar2») {\n"), T("}\n")),
             (T("async function getToken() {\n  // Client-credentials grant against TOKEN_URL; cached until expiry.\n"), T("}\n")),
             (T("router.post('/«noun»s/:id/«verb»', async (req, res) => {\n"), T("});\n"))]
    CLASSES = [(T("class «Class» {\n  constructor({ apiKey, baseUrl = BASE_URL, timeout = «num» } = {}) {\n    this.apiKey = apiKey;\n    this.baseUrl = baseUrl;\n    this.token = null;\n  }\n"), T("}\n\nmodule.exports = { «Class» };\n"))]
    TESTS = TL("describe('«cfunc»', () => {\n  it('rejects a wrong password', async () => {\n    const res = await request(app).post('/login').send({ username: '«user»', password: 'wrong' });\n    expect(res.status).toBe(401);\n  });\n});\n",
               "test('«cfunc» returns the «noun»', async () => {\n  const «cvar» = await «cfunc»('«uuid»');\n  expect(«cvar».etag).toEqual('«sha»');\n});\n")
    ASSIGN_FORMS = [(T("// «sentence»\n"), "const {name} = {value};\n", T(""), "upper"),
                    (T("module.exports.«cvar» = {\n  «noun»: '«word»',\n"), "  {name}: {value},\n", T("};\n"), "camel"),
                    (T("const «cvar» = new «Class»({\n"), "  {name}: {value},\n", T("});\n"), "camel"),
                    (T("function «cfunc»() {\n"), "  let {name} = {value};\n", T("  return «cvar»;\n}\n"), "camel")]


class TsGen(JsGen):
    syntax = "ts"
    HEADER = TL("import axios, { AxiosInstance } from 'axios';\nimport { createHash, createHmac } from 'crypto';\n",
                "import { Injectable, Logger } from '@nestjs/common';\nimport { ConfigService } from '@nestjs/config';\n",
                "\nexport interface «Noun»Options {\n  baseUrl: string;\n  apiKey?: string;\n  password?: string;\n  tokenUrl: string;\n  timeoutMs: number;\n}\n")
    CONSTS = TL("export const TOKEN_URL = '«token_url»';", "const API_KEY_HEADER = 'X-API-Key';", "export const DEFAULT_TIMEOUT_MS = «num»000;",
                "const «CONST»: string = '«word»';", "export const SECRET_NAME = '«secretname»';", "const BUILD_SHA = '«sha»';",
                "export type «Noun»Id = string;", "const «CONST»_ID = '«uuid»';", "export const PASSWORD_POLICY = { minLength: «num», requireDigit: true };", "export «bait_js»", "«bait_js»")
    FUNCS = [(T("export async function «cfunc»(«cvar»: string, options: Partial<«Noun»Options> = {}): Promise<«Noun»> {\n"), T("}\n")),
             (T("function «cfunc»(«cvar»: «Noun», «cvar2»?: number): boolean {\n"), T("}\n")),
             (T("async getToken(): Promise<string> {\n"), T("}\n"))]
    CLASSES = [(T("@Injectable()\nexport class «Class» {\n  private readonly logger = new Logger(«Class».name);\n  private token?: string;\n\n  constructor(private readonly config: ConfigService, private readonly http: AxiosInstance) {}\n"), T("}\n"))]
    ASSIGN_FORMS = [(T("// «sentence»\n"), "export const {name} = {value};\n", T(""), "upper"),
                    (T("export const «cvar»Config: Record<string, string> = {\n  «noun»: '«word»',\n"), "  {name}: {value},\n", T("};\n"), "camel"),
                    (T("const «cvar» = new «Class»({\n"), "  {name}: {value},\n", T("});\n"), "camel"),
                    (T("const «CONST» = {\n"), "  {name}: {value} as const,\n", T("};\n"), "camel")]


class GoGen(CLikeGen):
    syntax = "go"
    NEST = False
    INDENT = "\t"
    HEADER = TL("package «pkg»\n\n", 'import (\n\t"context"\n\t"encoding/json"\n\t"fmt"\n\t"net/http"\n\t"os"\n\t"time"\n)\n')
    CONSTS = TL('const tokenURL = "«token_url»"', 'const apiKeyHeader = "X-API-Key"', "const defaultTimeout = «num» * time.Second",
                'const secretName = "«secretname»"', 'var build«Noun»SHA = "«sha»"', 'const «cvar»ID = "«uuid»"', 'const baseURL = "«url»"',
                "const maxPasswordLength = «num»", "«bait_go»", "«bait_go»")
    STMTS = TL("«cvar», err := s.«cfunc»(ctx, «cvar2»)\nif err != nil {\n\treturn nil, fmt.Errorf(\"«msg»: %w\", err)\n}",
               "token, err := s.tokenSource.Token()\nif err != nil {\n\treturn nil, err\n}",
               'req.Header.Set("Authorization", "Bearer "+token.AccessToken)', 'password := os.Getenv("«ENVS»")',
               'apiKey := r.Header.Get(apiKeyHeader)', 's.log.Info("«msg»", "«noun»", «cvar»)',
               "for _, «cvar» := range «cvar2» {\n\t«cvar3» = append(«cvar3», «cvar».ID)\n}", "return &«Noun»{ID: «cvar», Status: \"«adj»\"}, nil",
               "ctx, cancel := context.WithTimeout(ctx, defaultTimeout)\ndefer cancel()", "// TODO: «sentence»",
               "if err := bcrypt.CompareHashAndPassword(user.PasswordHash, []byte(password)); err != nil {\n\treturn ErrInvalidCredentials\n}",
               "if err := json.NewDecoder(resp.Body).Decode(&«cvar»); err != nil {\n\treturn nil, err\n}", "s.«cvar» = «cvar»")
    FUNCS = [(T("func (s *«Class») «Func»(ctx context.Context, «cvar» string) (*«Noun», error) {\n"), T("}\n")),
             (T("func «cfunc»(«cvar» []string) error {\n"), T("\treturn nil\n}\n")),
             (T("// Token returns a cached OAuth2 token for the «noun» API.\nfunc (s *«Class») Token(ctx context.Context) (string, error) {\n"), T("}\n"))]
    CLASSES = [(T("// «Class» «sentence»\ntype «Class» struct {\n\tClient   *http.Client\n\tAPIKey   string `json:\"api_key\"`\n\tPassword string `json:\"password,omitempty\"`\n\tTokenURL string `json:\"token_url\"`\n}\n"), T(""))]
    TESTS = TL('func Test«Func»(t *testing.T) {\n\tgot, err := «cfunc»("«uuid»")\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n\tif got.ETag != "«sha»" {\n\t\tt.Errorf("unexpected etag %q", got.ETag)\n\t}\n}\n')
    ASSIGN_FORMS = [(T("// «sentence»\nconst (\n"), "\t{name} = {value}\n", T(")\n"), "camel"),
                    (T("var default«Class» = «Class»{\n"), "\t{name}: {value},\n", T("}\n"), "pascal"),
                    (T("func «cfunc»() *«Class» {\n"), "\t{name} := {value}\n", T("\treturn nil\n}\n"), "camel")]


class JavaGen(CLikeGen):
    syntax = "java"
    INDENT = "    "
    HEADER = TL("package com.«org».«proj».«pkg»;\n\n", "import java.net.URI;\nimport java.time.Duration;\nimport java.util.*;\nimport org.slf4j.Logger;\nimport org.slf4j.LoggerFactory;\nimport org.springframework.beans.factory.annotation.Value;\n")
    CONSTS = TL('private static final String TOKEN_URL = "«token_url»";', 'private static final String API_KEY_HEADER = "X-API-Key";',
                "private static final int PASSWORD_MIN_LENGTH = «num»;", 'private static final String SECRET_NAME = "«secretname»";',
                '@Value("${«proj».db.password}")\nprivate String password;', '@Value("${«proj».api.token}")\nprivate String apiToken;',
                'private static final String «CONST»_ID = "«uuid»";', 'private static final String BUILD_SHA = "«sha»";', "«bait_java»", "«bait_java»")
    STMTS = TL("«Noun» «cvar» = «cvar2»Repository.findById(«cvar3»).orElseThrow();", 'log.info("«msg»", «cvar»);',
               'if («cvar» == null) {\n    throw new IllegalArgumentException("«msg»");\n}', "String token = tokenProvider.getToken();",
               'request.setHeader("Authorization", "Bearer " + token);', 'String password = System.getenv("«ENVS»");',
               "String apiKey = httpRequest.getHeader(API_KEY_HEADER);", "if (!passwordEncoder.matches(password, user.getPasswordHash())) {\n    throw new BadCredentialsException(\"invalid password\");\n}",
               "for («Noun» «cvar» : «cvar2») {\n    «cvar3».add(«cvar».getId());\n}", "return new «Noun»(«cvar», «num»);",
               "// TODO: «sentence»", "this.«cvar» = Objects.requireNonNull(«cvar»);", "Duration timeout = Duration.ofSeconds(«num»);")
    FUNCS = [(T("public «Noun» «cfunc»(String «cvar») {\n"), T("}\n")), (T("private List<String> «cfunc»(«Noun» «cvar», int «cvar2») {\n"), T("    return List.of();\n}\n")),
             (T("public String getToken() {\n"), T("    return token;\n}\n"))]
    CLASSES = [(T("@Service\npublic class «Class» {\n    private static final Logger log = LoggerFactory.getLogger(«Class».class);\n    private String token;\n"), T("}\n"))]
    ASSIGN_FORMS = [(T("public final class «Noun»Secrets {\n"), "    public static final String {name} = {value};\n", T("}\n"), "upper"),
                    (T("Properties props = new Properties();\n"), "props.setProperty(\"{name}\", {value});\n", T(""), "dot"),
                    (T("void «cfunc»() {\n"), "    String {name} = {value};\n", T("}\n"), "camel")]


class RubyGen(CLikeGen):
    syntax = "rb"
    HEADER = TL("# frozen_string_literal: true\n\n", "require 'net/http'\nrequire 'json'\nrequire 'openssl'\n")
    CONSTS = TL('TOKEN_URL = "«token_url»"', "API_KEY_HEADER = 'X-API-Key'", "PASSWORD_MIN_LENGTH = «num»", "SECRET_NAME = '«secretname»'",
                "«CONST»_ID = '«uuid»'", "BUILD_SHA = '«sha»'", "«bait_rb»", "«bait_rb»")
    STMTS = TL("«var» = «func»(«var2», limit: «num»)", 'Rails.logger.info("«msg»")', 'raise ArgumentError, "«msg»" if «var».nil?',
               "token = fetch_token", 'request["Authorization"] = "Bearer #{token}"', 'password = ENV.fetch("«ENVS»")',
               "api_key = request.headers[API_KEY_HEADER]", "return head(:unauthorized) unless user&.authenticate(params[:password])",
               "«var».each do |«noun»|\n  «var2» << «noun».id\nend", "{ id: «var».id, status: '«adj»' }", "# TODO: «sentence»",
               "@«var» = «var»", "digest = OpenSSL::HMAC.hexdigest('SHA256', webhook_secret, payload)")
    FUNCS = [(T("def «func»(«var», «var2» = nil)\n"), T("end\n")), (T("def token\n  @token ||= refresh_token!\n"), T("end\n"))]
    CLASSES = [(T("class «Class»\n  attr_reader :api_key, :token_url\n"), T("end\n")),
               (T("class «Noun» < ApplicationRecord\n  has_secure_password\n  has_secure_token :api_token\n  validates :password, length: { minimum: PASSWORD_MIN_LENGTH }, allow_nil: true\n"), T("end\n"))]
    TESTS = TL("RSpec.describe «Class» do\n  it 'rejects a wrong password' do\n    post '/login', params: { email: '«email»', password: 'wrong' }\n    expect(response).to have_http_status(:unauthorized)\n  end\nend\n")
    ASSIGN_FORMS = [(T("# «sentence»\n"), "{name} = {value}\n", T(""), "upper"),
                    (T("Rails.application.configure do\n"), "  config.x.{name} = {value}\n", T("end\n"), "snake"),
                    (T("«CONST»_SETTINGS = {\n"), "  {name}: {value},\n", T("}.freeze\n"), "snake")]


class PhpGen(CLikeGen):
    syntax = "php"
    INDENT = "    "
    HEADER = TL("<?php\n\ndeclare(strict_types=1);\n\nnamespace App\\«Noun»;\n\n", "use Illuminate\\Support\\Facades\\Hash;\nuse Illuminate\\Http\\Request;\n")
    CONSTS = TL("const TOKEN_URL = '«token_url»';", "const API_KEY_HEADER = 'X-API-Key';", "const SECRET_NAME = '«secretname»';",
                "const «CONST»_ID = '«uuid»';", "const BUILD_SHA = '«sha»';", "«bait_php»", "«bait_php»")
    STMTS = TL("$«var» = $this->«cfunc»($«var2», «num»);", "Log::info('«msg»', ['«noun»' => $«var»]);",
               "if (!$«var») {\n    throw new \\InvalidArgumentException('«msg»');\n}", "$token = $this->getToken();",
               "$headers = ['Authorization' => 'Bearer ' . $token];", "$password = $request->input('password');",
               "if (!Hash::check($password, $user->password)) {\n    return response()->json(['error' => 'invalid credentials'], 401);\n}",
               "$apiKey = $request->header(self::API_KEY_HEADER);", "$dbPassword = env('«ENVS»');", "foreach ($«var» as $«noun») {\n    $«var2»[] = $«noun»->id;\n}",
               "return ['id' => $«var»->id, 'status' => '«adj»'];", "// TODO: «sentence»")
    FUNCS = [(T("public function «cfunc»(string $«var»): array\n{\n"), T("}\n")), (T("private function getToken(): string\n{\n"), T("    return $this->token;\n}\n"))]
    CLASSES = [(T("final class «Class»\n{\n    private ?string $token = null;\n\n    public function __construct(private readonly Client $http, private readonly string $apiKey = '')\n    {\n    }\n"), T("}\n"))]
    ASSIGN_FORMS = [(T("return [\n    '«noun»' => '«word»',\n"), "    '{name}' => {value},\n", T("];\n"), "snake"),
                    (T("// «sentence»\n"), "define('{name}', {value});\n", T(""), "upper"),
                    (T("function «cfunc»()\n{\n"), "    ${name} = {value};\n", T("    return null;\n}\n"), "camel")]


class CsGen(CLikeGen):
    syntax = "cs"
    INDENT = "    "
    HEADER = TL("using System;\nusing System.Net.Http;\nusing System.Threading.Tasks;\nusing Microsoft.Extensions.Configuration;\n\n", "namespace «Org».«Noun»;\n")
    CONSTS = TL('private const string TokenUrl = "«token_url»";', 'private const string ApiKeyHeader = "X-API-Key";',
                'private const string SecretName = "«secretname»";', 'private static readonly Guid «Noun»Id = Guid.Parse("«uuid»");',
                "public const int PasswordMinLength = «num»;", "«bait_cs»", "«bait_cs»")
    STMTS = TL("var «cvar» = await _«cvar2»Repository.GetAsync(«cvar3», ct);", '_logger.LogInformation("«msg»", «cvar»);',
               'if («cvar» is null)\n{\n    throw new ArgumentNullException(nameof(«cvar»));\n}', "var token = await _tokenProvider.GetTokenAsync(ct);",
               'request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);', 'var password = Environment.GetEnvironmentVariable("«ENVS»");',
               'var apiKey = context.Request.Headers[ApiKeyHeader];', 'var signingKey = _configuration["Jwt:SigningKey"];',
               "if (!_hasher.VerifyHashedPassword(user, user.PasswordHash, password))\n{\n    return Unauthorized();\n}",
               "return new «Noun»Dto(«cvar».Id, «num»);", "// TODO: «sentence»")
    FUNCS = [(T("public async Task<«Noun»Dto> «Func»Async(string «cvar», CancellationToken ct)\n{\n"), T("}\n")),
             (T("private bool «Func»(«Noun» «cvar»)\n{\n"), T("    return true;\n}\n"))]
    CLASSES = [(T("public sealed class «Class»\n{\n    public string ApiKey { get; set; } = string.Empty;\n    public string Password { get; init; } = \"\";\n"), T("}\n"))]
    ASSIGN_FORMS = [(T("public static class «Noun»Settings\n{\n"), "    public const string {name} = {value};\n", T("}\n"), "pascal"),
                    (T("services.Configure<«Class»Options>(options =>\n{\n"), "    options.{name} = {value};\n", T("});\n"), "pascal"),
                    (T("void «Func»()\n{\n"), "    var {name} = {value};\n", T("}\n"), "camel")]


class RustGen(CLikeGen):
    syntax = "rs"
    INDENT = "    "
    HEADER = TL("use std::time::Duration;\nuse serde::{Deserialize, Serialize};\nuse anyhow::{Context, Result};\n\n")
    CONSTS = TL('const TOKEN_URL: &str = "«token_url»";', 'const API_KEY_HEADER: &str = "x-api-key";', 'const SECRET_NAME: &str = "«secretname»";',
                "const PASSWORD_MIN_LEN: usize = «num»;", 'const «CONST»_ID: &str = "«uuid»";', 'const BUILD_SHA: &str = "«sha»";', "«bait_rs»", "«bait_rs»")
    STMTS = TL("let «var» = self.«func»(&«var2»).await?;", 'tracing::info!(«var» = ?«var», "«msg»");', 'let token = self.token().await.context("«msg»")?;',
               'let password = std::env::var("«ENVS»").context("«ENVS» is not set")?;', 'let api_key = headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok());',
               "if !verify_password(&password, &user.password_hash)? {\n    return Err(Error::Unauthorized);\n}",
               "for «var» in &«var2» {\n    «var3».push(«var».id.clone());\n}", "// TODO: «sentence»", "let timeout = Duration::from_secs(«num»);")
    FUNCS = [(T("pub async fn «func»(&self, «var»: &str) -> Result<«Noun»> {\n"), T("    todo!()\n}\n")), (T("fn «func»(«var»: &[u8]) -> Option<String> {\n"), T("    None\n}\n"))]
    CLASSES = [(T("#[derive(Debug, Clone, Deserialize)]\npub struct «Class» {\n    pub api_key: Option<String>,\n    pub password_file: Option<PathBuf>,\n    pub token_url: String,\n}\n\nimpl «Class» {\n"), T("}\n"))]
    ASSIGN_FORMS = [(T("// «sentence»\n"), "const {name}: &str = {value};\n", T(""), "upper"),
                    (T("fn «func»() -> Config {\n    Config {\n"), "        {name}: {value}.to_string(),\n", T("        ..Default::default()\n    }\n}\n"), "snake"),
                    (T("fn «func»() {\n"), "    let {name} = {value};\n", T("}\n"), "snake")]


class ShGen(Gen):
    syntax = "sh"
    pos_mult = 2.0
    dec_mult = 1.5
    STMTS = TL('log "«msg»"', 'curl -fsSL -H "Authorization: Bearer ${API_TOKEN}" "«url»" -o /tmp/«noun».json',
               "aws secretsmanager get-secret-value --secret-id «secretname» --query SecretString --output text > /tmp/secret.json",
               'kubectl -n «proj» create secret generic «secretname» --from-literal=password="$DB_PASSWORD" --dry-run=client -o yaml | kubectl apply -f -',
               'echo "$REGISTRY_PASSWORD" | docker login -u "$REGISTRY_USER" --password-stdin «domain»',
               "for «noun» in «noun2» «noun3» «noun4»; do\n  «func» \"$«noun»\"\ndone",
               'if [[ -z "${GITHUB_TOKEN:-}" ]]; then\n  echo "GITHUB_TOKEN is not set" >&2\n  exit 1\nfi',
               'export PGPASSWORD="$(vault kv get -field=password secret/«proj»/db)"', "# «sentence»",
               'git rev-parse HEAD > build/sha.txt  # e.g. «sha»', 'docker build -t «domain»/«proj»:«short» .',
               'read -rsp "Password: " password', 'TOKEN=$(curl -s -X POST «token_url» -d grant_type=client_credentials | jq -r .access_token)',
               'helm upgrade --install «proj» ./charts/«proj» --set image.tag=«short» --namespace «env»', "sleep «num»", "«bait_sh»", "«bait_sh»")

    def begin(self):
        return "#!/usr/bin/env bash\n# " + R(self.rng, T("«sentence»")) + "\nset -euo pipefail\n\nlog() { echo \"[$(date -u +%H:%M:%S)] $*\" >&2; }\n\n"

    def block(self):
        rng = self.rng
        if rng.random() < 0.5:
            body = "\n".join("  " + R(rng, rng.choice(self.STMTS)).replace("\n", "\n  ") for _ in range(rng.randrange(3, 9)))
            return "\n" + R(rng, T("«func»() {\n")) + "  local «var»=\"$1\"\n".replace("«var»", rng.choice(NOUNS)) + body + "\n}\n"
        return "\n" + "\n".join(R(rng, rng.choice(self.STMTS)) for _ in range(rng.randrange(3, 9))) + "\n"

    def assign(self, names, value, quoted, pem):
        rng = self.rng
        if pem:
            return f"\ncat > \"$HOME/.ssh/{rng.choice(('id_rsa', 'deploy_key', 'id_ed25519'))}\" <<'EOF'\n{value}\nEOF\n\n"
        if not quoted:
            v = '"' + value + '"'
        elif value.replace(MARK, "") and all(c.isalnum() or c in "_-./:@+=" for c in value.replace(MARK, "")) and rng.random() < 0.3:
            v = value
        else:
            v = qstr(rng, value, "sh")
        return "\n" + rng.choice(("export ", "", "readonly ")) + f"{fmt_name(names, 'upper')}={v}\n"

    def plant_assigns(self, item):
        return "\n# " + R(self.rng, T("«sentence»")) + "".join(self.assign(n, v, q, item.pem) for n, v, q in item.assigns) + "\n"


class DockerGen(Gen):
    syntax = "dockerfile"
    pos_mult = 4.0
    dec_mult = 3.0

    def begin(self):
        return R(self.rng, T("# syntax=docker/dockerfile:1.6\nFROM «image» AS build\nWORKDIR /src\n"))

    def block(self):
        rng = self.rng
        opts = TL("RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl «noun» && rm -rf /var/lib/apt/lists/*\n",
                  "COPY «noun»/ ./«noun»/\n", "ENV «ENV»=«word»\n", "ARG «ENVS»\n", "RUN --mount=type=secret,id=npm_token NPM_TOKEN=$(cat /run/secrets/npm_token) npm ci\n",
                  "LABEL org.opencontainers.image.revision=\"«sha»\"\n", "HEALTHCHECK --interval=30s CMD curl -f http://localhost:«port»/healthz || exit 1\n",
                  "EXPOSE «port»\n", "USER «num»:«num»\n", "# «sentence»\n", "FROM «image»@sha256:«sha256»\n", "RUN pip install --no-cache-dir -r requirements.txt\n",
                  "ENV PASSWORD_FILE=/run/secrets/db_password\n", "ENV «bait_env»\n", "CMD [\"./«proj»\", \"--config\", \"/etc/«proj»/config.yaml\"]\n")
        return "".join(R(rng, rng.choice(opts)) for _ in range(rng.randrange(3, 8))) + "\n"

    def assign(self, names, value, quoted, pem):
        if pem:
            value = value.replace("\n", "\\n")
        return f"{self.rng.choice(('ENV', 'ARG', 'ENV'))} {fmt_name(names, 'upper')}={value if not quoted or self.rng.random() < 0.6 else chr(34) + value + chr(34)}\n"


# ---------------------------------------------------------------------------------------------- config


class EnvGen(Gen):
    syntax = "env"
    pos_mult = 12.0
    dec_mult = 8.0
    LINES = TL("«ENV»=«word»", "PORT=«port»", "DATABASE_HOST=db-«proj».internal", "REDIS_URL=redis://cache-«proj»:6379/0", "LOG_LEVEL=info",
               "PUBLIC_URL=https://«proj».«domain»", "SENTRY_ENVIRONMENT=«env»", "FEATURE_«NOUN»_ENABLED=«bool»", "WORKERS=«num»",
               "OAUTH_TOKEN_URL=«token_url»", "SECRET_NAME=«secretname»", "PASSWORD_MIN_LENGTH=«num»", "API_KEY_HEADER=X-API-Key",
               "TOKEN_TTL=«num»m", "S3_BUCKET=«proj»-«env»-assets", "AWS_REGION=«region»", "GIT_SHA=«sha»", "DEFAULT_TENANT_ID=«uuid»",
               "«bait_env»", "«bait_env»", "«bait_env»")

    def block(self):
        rng = self.rng
        return "\n# " + R(rng, T("«Noun»")) + "\n" + "".join(R(rng, rng.choice(self.LINES)) + "\n" for _ in range(rng.randrange(2, 7)))

    def assign(self, names, value, quoted, pem):
        if pem:
            value = '"' + value.replace("\n", "\\n") + '"'
        elif any(c in value for c in "#$ ") or self.rng.random() < 0.3:
            value = '"' + value + '"'
        return f"{fmt_name(names, 'upper')}={value}\n"

    def plant_assigns(self, item):
        return "\n" + "".join(self.assign(n, v, q, item.pem) for n, v, q in item.assigns)


class IniGen(Gen):
    syntax = "ini"
    pos_mult = 4.0
    dec_mult = 3.0
    LINES = TL("host = «proj»-db.internal", "port = «port»", "timeout = «num»", "log_level = info", "enabled = «bool»", "name = «proj»",
               "token_endpoint = «token_url»", "password_policy = strict", "secret_backend = vault", "api_key_header = X-API-Key",
               "cache_dir = /var/cache/«proj»", "max_connections = «num»", "region = «region»", "«bait_ini»", "«bait_ini»")

    def block(self):
        rng = self.rng
        return "\n[" + R(rng, T("«noun»")) + "]\n" + "".join(R(rng, rng.choice(self.LINES)) + "\n" for _ in range(rng.randrange(3, 9)))

    def assign(self, names, value, quoted, pem):
        if pem:
            value = value.replace("\n", "\\n")
        return f"{fmt_name(names, 'snake')} = {value}\n"

    def plant_assigns(self, item):
        return "\n[" + R(self.rng, T("«noun»")) + "]\n" + R(self.rng, T("host = «proj».internal\n")) + "".join(self.assign(n, v, q, item.pem) for n, v, q in item.assigns)


class PropertiesGen(IniGen):
    syntax = "properties"
    LINES = TL("server.port=«port»", "spring.datasource.url=jdbc:postgresql://db-«proj»:5432/«proj»", "spring.datasource.username=«proj»_app",
               "spring.datasource.password=${DB_PASSWORD}", "«proj».api.token-url=«token_url»", "«proj».security.password.min-length=«num»",
               "logging.level.root=INFO", "management.endpoints.web.exposure.include=health,info", "«proj».«noun».enabled=«bool»",
               "spring.security.oauth2.client.registration.«org».client-secret=${OAUTH_CLIENT_SECRET}", "«proj».build.sha=«sha»", "«bait_props»", "«bait_props»")

    def block(self):
        rng = self.rng
        return "\n# " + R(rng, T("«sentence»")) + "\n" + "".join(R(rng, rng.choice(self.LINES)) + "\n" for _ in range(rng.randrange(3, 9)))

    def assign(self, names, value, quoted, pem):
        if pem:
            value = value.replace("\n", "\\n")
        return f"{self.rng.choice(('', 'spring.', 'app.'))}{fmt_name(names, 'dot')}={value}\n"

    def plant_assigns(self, item):
        return "\n" + "".join(self.assign(n, v, q, item.pem) for n, v, q in item.assigns)


class TomlGen(IniGen):
    syntax = "toml"
    LINES = TL('name = "«proj»"', 'version = "«semver»"', "port = «port»", "timeout_secs = «num»", 'token_url = "«token_url»"',
               'password_env = "«ENVS»"', 'secret_name = "«secretname»"', "enabled = «bool»", 'rev = "«sha»"', 'log_level = "info"', "«bait_toml»", "«bait_toml»")

    def assign(self, names, value, quoted, pem):
        if pem:
            return f'{fmt_name(names, "snake")} = """\n{value}\n"""\n'
        return f'{fmt_name(names, "snake")} = "{value}"\n'


class TfGen(Gen):
    syntax = "tf"
    pos_mult = 2.5
    dec_mult = 2.0
    BLOCKS = TL(
        'resource "aws_s3_bucket" "«noun»" {\n  bucket = "«proj»-«env»-«noun»"\n  tags = {\n    Team = "«proj»"\n  }\n}\n',
        'variable "db_password" {\n  type      = string\n  sensitive = true\n}\n',
        'variable "«noun»_token" {\n  description = "API token for «noun»; set in the workspace, never here"\n  type        = string\n  sensitive   = true\n}\n',
        'resource "aws_db_instance" "«noun»" {\n  identifier        = "«proj»-«env»"\n  engine            = "postgres"\n  instance_class    = "db.t3.medium"\n  username          = "«proj»_admin"\n  password          = var.db_password\n  storage_encrypted = true\n}\n',
        'resource "aws_secretsmanager_secret" "«noun»" {\n  name = "«secretname»"\n}\n',
        'output "«noun»_endpoint" {\n  value = aws_db_instance.«noun».endpoint\n}\n',
        'module "«noun»" {\n  source  = "git::https://github.com/«org»/terraform-«noun».git?ref=«sha»"\n  name    = "«proj»"\n  region  = "«region»"\n}\n',
        'resource "kubernetes_secret" "«noun»" {\n  metadata {\n    name = "«secretname»"\n  }\n  data = {\n    password = random_password.«noun».result\n  }\n}\n',
        'locals {\n  «noun»_id = "«uuid»"\n  tags = { env = "«env»", owner = "«proj»" }\n}\n',
        'locals {\n«bait_tf»\n«bait_tf2»\n}\n',
    )

    def block(self):
        return "\n" + R(self.rng, self.rng.choice(self.BLOCKS))

    def assign(self, names, value, quoted, pem):
        if pem:
            return f"  {fmt_name(names, 'snake')} = <<-EOT\n{value}\n  EOT\n"
        return f"  {fmt_name(names, 'snake')} = {chr(34) + value + chr(34) if quoted else value}\n"

    def plant_assigns(self, item):
        rng = self.rng
        if item.kinds[0] == "aws-access-key-id":
            head = R(rng, T('provider "aws" {\n  region     = "«region»"\n'))
        else:
            head = R(rng, rng.choice(TL('resource "«noun»_«noun2»" "«noun3»" {\n  name = "«proj»"\n', 'provider "«noun»" {\n', 'module "«noun»" {\n  source = "./modules/«noun»"\n')))
        return "\n" + head + "".join(self.assign(n, v, q, item.pem) for n, v, q in item.assigns) + "}\n"


class YamlGen(Gen):
    syntax = "yaml"
    pos_mult = 3.0
    dec_mult = 2.5

    def __init__(self, rng, path, sub):
        super().__init__(rng, path)
        self.sub = sub

    def begin(self):
        rng = self.rng
        if self.sub == "workflow":
            return R(rng, T("name: «Noun» CI\n\non:\n  push:\n    branches: [main]\n  pull_request:\n\npermissions:\n  contents: read\n  id-token: write\n\njobs:\n"))
        if self.sub == "compose":
            return "services:\n"
        if self.sub == "values":
            return R(rng, T("# Default values for «proj».\nreplicaCount: «num»\nimage:\n  repository: ghcr.io/«org»/«proj»\n  tag: \"«short»\"\n"))
        return ""

    def block(self):
        rng = self.rng
        s = self.sub
        if s == "workflow":
            return R(rng, rng.choice(TL(
                "  «verb»-«noun»:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@«sha»\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 20\n          registry-url: https://npm.pkg.github.com\n      - run: npm ci\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n      - run: npm test -- --ci\n",
                "  deploy-«env»:\n    needs: [build]\n    runs-on: ubuntu-latest\n    environment: «env»\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: arn:aws:iam::«big»:role/«proj»-deploy\n          aws-region: «region»\n      - name: Deploy\n        run: ./scripts/deploy.sh «env»\n        env:\n          DEPLOY_TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n          SECRET_NAME: «secretname»\n",
                "  «noun»-lint:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          token: ${{ secrets.GITHUB_TOKEN }}\n          fetch-depth: 0\n      - run: make lint\n      - uses: actions/upload-artifact@v4\n        with:\n          name: «noun»-report\n          path: build/reports\n")))
        if s == "compose":
            return R(rng, rng.choice(TL(
                "  «noun»:\n    image: «image»\n    restart: unless-stopped\n    environment:\n      POSTGRES_USER: «proj»\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n      POSTGRES_DB: «proj»\n    ports:\n      - \"«port»:«port»\"\n    volumes:\n      - «noun»-data:/var/lib/data\n",
                "  «noun»-worker:\n    build: ./«noun»\n    depends_on: [«noun2»]\n    environment:\n      - LOG_LEVEL=info\n      - API_TOKEN_FILE=/run/secrets/api_token\n      - TOKEN_URL=«token_url»\n    secrets:\n      - api_token\n")))
        if s == "values":
            return R(rng, rng.choice(TL(
                "«noun»:\n  enabled: «bool»\n  existingSecret: \"«secretname»\"\n  passwordKey: password\n  resources:\n    limits:\n      cpu: «num»00m\n      memory: «num»Mi\n",
                "«noun»:\n  enabled: «bool»\n  «bait_yaml»\n  «bait_yaml2»\n  replicas: «num»\n",
                "security:\n  «bait_yaml»\n  «bait_yaml2»\n  «bait_yaml3»\n",
                "auth:\n  tokenUrl: «token_url»\n  apiKeyHeader: X-API-Key\n  password: \"\"\n  # password is read from the «secretname» secret when empty\n",
                "podAnnotations:\n  checksum/config: «sha256»\n  build.«domain»/commit: «sha»\nnodeSelector: {}\ntolerations: []\n")))
        return "---\n" + R(rng, rng.choice(TL(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: «svc»\n  labels:\n    app: «svc»\nspec:\n  replicas: «num»\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/«org»/«proj»@sha256:«sha256»\n          env:\n            - name: DB_PASSWORD\n              valueFrom:\n                secretKeyRef:\n                  name: «secretname»\n                  key: password\n            - name: TOKEN_URL\n              value: «token_url»\n          ports:\n            - containerPort: «port»\n",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: «svc»\nspec:\n  selector:\n    app: «svc»\n  ports:\n    - port: «port»\n      targetPort: «port»\n",
            "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: «secretname»\nspec:\n  secretStoreRef:\n    name: vault\n    kind: ClusterSecretStore\n  target:\n    name: «secretname»\n  data:\n    - secretKey: password\n      remoteRef:\n        key: «proj»/db\n        property: password\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: «svc»-settings\ndata:\n  «bait_yaml»\n  «bait_yaml2»\n  LOG_LEVEL: debug\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: «svc»-config\ndata:\n  LOG_LEVEL: info\n  TOKEN_URL: «token_url»\n  SECRET_NAME: «secretname»\n  API_KEY_HEADER: X-API-Key\n")))

    def kv(self, names, value, quoted, pem, indent, style):
        name = fmt_name(names, style)
        if pem:
            return f"{indent}{name}: |\n" + ind(value, len(indent) + 2) + "\n"
        sv = yaml_scalar(self.rng, value) if value else '""'
        return f"{indent}{name}: {sv}\n"

    def plant_assigns(self, item):
        rng = self.rng
        s = self.sub
        A = item.assigns
        if s == "workflow":
            if item.pem:
                return R(rng, T("  «verb»-«noun»:\n    runs-on: ubuntu-latest\n    env:\n")) + "".join(self.kv(n, v, q, item.pem, "      ", "upper") for n, v, q in A) + "    steps:\n      - run: make deploy\n"
            return R(rng, T("  «verb»-«noun»:\n    runs-on: ubuntu-latest\n    env:\n")) + "".join(self.kv(n, v, q, False, "      ", "upper") for n, v, q in A) + "    steps:\n      - uses: actions/checkout@v4\n      - run: ./scripts/«verb».sh\n".replace("«verb»", rng.choice(VERBS))
        if s == "compose":
            head = R(rng, T("  «noun»:\n    image: «image»\n    environment:\n"))
            if not item.pem and rng.random() < 0.5:
                return head + "".join(f"      - {fmt_name(n, 'upper')}={v}\n" for n, v, q in A)
            return head + "".join(self.kv(n, v, q, item.pem, "      ", "upper") for n, v, q in A)
        if s == "values":
            return R(rng, T("«noun»:\n")) + "".join(self.kv(n, v, q, item.pem, "  ", rng.choice(("camel", "snake"))) for n, v, q in A)
        r = rng.random()
        if r < 0.4 or item.pem:
            return "---\n" + R(rng, T("apiVersion: v1\nkind: Secret\nmetadata:\n  name: «svc»\ntype: Opaque\nstringData:\n")) + "".join(self.kv(n, v, q, item.pem, "  ", rng.choice(("snake", "kebab", "upper"))) for n, v, q in A)
        if r < 0.7:
            head = "---\n" + R(rng, T("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: «svc»\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: «image»\n          env:\n"))
            out = [head]
            for n, v, q in A:
                sv = yaml_scalar(rng, v) if v else '""'
                out.append(f"            - name: {fmt_name(n, 'upper')}\n              value: {sv}\n")
            return "".join(out)
        return "---\n" + R(rng, T("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: «svc»-env\ndata:\n")) + "".join(self.kv(n, v, q, False, "  ", "upper") for n, v, q in A)


class JsonGen(Gen):
    """Configuration JSON (appsettings-like): one top-level object of sections."""
    syntax = "json"
    pos_mult = 2.0
    dec_mult = 2.0

    def __init__(self, rng, path):
        super().__init__(rng, path)
        self.first = True

    def begin(self):
        return "{\n"

    def end(self):
        return "\n}\n"

    def sep(self):
        if self.first:
            self.first = False
            return ""
        return ",\n"

    SECTIONS = TL(
        '  "«Noun»": {\n    "BaseUrl": "«url»",\n    "TimeoutSeconds": «num»,\n    "Retries": «num»,\n    "TokenUrl": "«token_url»"\n  }',
        '  "Logging": {\n    "LogLevel": {\n      "Default": "Information",\n      "Microsoft.AspNetCore": "Warning"\n    }\n  }',
        '  "«noun»": {\n    "enabled": «bool»,\n    "id": "«uuid»",\n    "secretName": "«secretname»",\n    "apiKeyHeader": "X-API-Key",\n    "passwordPolicy": { "minLength": «num», "requireSymbol": true }\n  }',
        '  "build": {\n    "commit": "«sha»",\n    "date": "«ts»",\n    "version": "«semver»"\n  }',
        '  "«noun»Features": [\n    "«noun»",\n    "«noun2»",\n    "«noun3»"\n  ]',
        '  "«Noun»Security": {\n    «bait_json»,\n    «bait_json2»,\n    "enabled": «bool»\n  }',
        '  "Jwt": {\n    "Issuer": "https://auth.«domain»/",\n    "Audience": "«proj»",\n    "SigningKeySecretName": "«secretname»",\n    "TokenLifetimeMinutes": «num»\n  }',
    )

    def block(self):
        return self.sep() + R(self.rng, self.rng.choice(self.SECTIONS))

    def plant_assigns(self, item):
        rng = self.rng
        style = rng.choice(("camel", "pascal", "snake"))
        lines = []
        for n, v, q in item.assigns:
            if item.pem:
                v = v.replace("\n", "\\n") + "\\n"
            lines.append(f'    "{fmt_name(n, style)}": "{v}"')
        head = R(rng, T('  "«Noun»": {\n'))
        return self.sep() + head + ",\n".join(lines + [R(rng, T('    "Endpoint": "«url»"'))]) + "\n  }"

    def snippet(self, text):
        return self.sep() + R(self.rng, T('  "«noun»ServiceAccount": ')) + ind(text, 2).lstrip()


class LockGen(JsonGen):
    syntax = "json"
    sub = "lock"
    pos_mult = 0.0
    dec_mult = 1.0

    def begin(self):
        return R(self.rng, T('{\n  "name": "«proj»",\n  "version": "«semver»",\n  "lockfileVersion": 3,\n  "requires": true,\n  "packages": {\n'))

    def end(self):
        return "\n  }\n}\n"

    def entry(self, integrity):
        rng = self.rng
        name = rng.choice(("@" + rng.choice(ORGS) + "/", "", "")) + rng.choice(NOUNS) + rng.choice(("", "-js", "-utils", "-core", "ify", "-parser"))
        ver = F["semver"](rng)
        deps = ""
        if rng.random() < 0.4:
            deps = ',\n      "dependencies": {\n' + ",\n".join(f'        "{rng.choice(NOUNS)}": "^{F["semver"](rng)}"' for _ in range(rng.randrange(1, 4))) + "\n      }"
        return (f'    "node_modules/{name}": {{\n      "version": "{ver}",\n      "resolved": "https://registry.npmjs.org/{name}/-/{name.split("/")[-1]}-{ver}.tgz",\n'
                f'      "integrity": "{integrity}"{deps}' + (',\n      "dev": true' if rng.random() < 0.3 else "") + "\n    }")

    def block(self):
        return self.sep() + self.entry("sha512-" + b64(self.rng, 64))

    def plant_assigns(self, item):
        n, v, q = item.assigns[0]
        return self.sep() + self.entry(v)


class PackageJsonGen(JsonGen):
    """package.json / composer-ish manifest: a small object; filler is script and dependency lines."""
    pos_mult = 0.5
    dec_mult = 0.5

    def begin(self):
        return R(self.rng, T('{\n  "name": "@«org»/«proj»",\n  "version": "«semver»",\n  "private": true,\n  "description": "«sentence»",\n  "main": "dist/index.js",\n'))

    def block(self):
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            body = ",\n".join(f'    "{rng.choice(("@" + rng.choice(ORGS) + "/", "", ""))}{rng.choice(NOUNS)}{rng.choice(("", "-js", "-kit"))}": "^{F["semver"](rng)}"' for _ in range(rng.randrange(4, 15)))
            return self.sep() + f'  "{rng.choice(("dependencies", "devDependencies", "peerDependencies"))}": {{\n{body}\n  }}'
        if r < 0.8:
            body = ",\n".join(R(rng, rng.choice(TL('    "«verb»": "node scripts/«verb».js"', '    "test": "jest --ci"', '    "lint": "eslint . --max-warnings 0"',
                                                  '    "token:refresh": "node scripts/refresh-token.js"', '    "secrets:check": "holdfast scan ."'))) for _ in range(rng.randrange(3, 9)))
            return self.sep() + '  "scripts": {\n' + body + "\n  }"
        return self.sep() + R(rng, T('  "config": {\n    "port": «port»,\n    "tokenUrl": "«token_url»",\n    "apiKeyHeader": "X-API-Key"\n  }'))

    def begin_first(self):
        pass


class FixtureJsonGen(JsonGen):
    """Array of API records (test fixtures / exports), heavy with ids and hashes."""
    pos_mult = 0.5
    dec_mult = 1.5

    def begin(self):
        return "[\n"

    def end(self):
        return "\n]\n"

    def block(self):
        rng = self.rng
        return self.sep() + R(rng, rng.choice(TL(
            '  {\n    "id": "«uuid»",\n    "type": "«noun»",\n    "name": "«adj» «noun»",\n    "owner": "«email»",\n    "created_at": "«ts»",\n    "etag": "«sha»",\n    "token_scopes": ["read", "write"],\n    "has_password": «bool»\n  }',
            '  {\n    "id": «big»,\n    "commit": "«sha»",\n    "author": "«email»",\n    "message": "«sentence»",\n    "checksum": "«sha256»",\n    "secret_scanning": "enabled"\n  }',
            '  {\n    "id": "«uuid»",\n    "amount": «float»,\n    "currency": "USD",\n    "status": "«adj»",\n    "idempotency_key": "«uuid»",\n    "metadata": {"source": "«noun»", "blob": "«blob»"}\n  }')))

    def plant_assigns(self, item):
        rng = self.rng
        fields = [f'    "id": "{uuid4(rng)}"', f'    "name": "{rng.choice(NOUNS)}"']
        for n, v, q in item.assigns:
            if item.pem:
                v = v.replace("\n", "\\n") + "\\n"
            fields.append(f'    "{fmt_name(n, "snake")}": "{v}"')
        return self.sep() + "  {\n" + ",\n".join(fields) + "\n  }"

    def snippet(self, text):
        return self.sep() + ind(text, 2)


class XmlGen(Gen):
    syntax = "xml"
    pos_mult = 2.0
    dec_mult = 2.0

    def __init__(self, rng, path, sub):
        super().__init__(rng, path)
        self.sub = sub

    def begin(self):
        root = {"appconfig": "configuration", "pom": "project", "settings": "settings"}[self.sub]
        extra = ' xmlns="http://maven.apache.org/POM/4.0.0"' if self.sub == "pom" else ""
        return f'<?xml version="1.0" encoding="utf-8"?>\n<{root}{extra}>\n'

    def end(self):
        root = {"appconfig": "configuration", "pom": "project", "settings": "settings"}[self.sub]
        return f"</{root}>\n"

    def block(self):
        rng = self.rng
        if self.sub == "pom":
            return R(rng, rng.choice(TL(
                "  <dependencies>\n    <dependency>\n      <groupId>com.«org»</groupId>\n      <artifactId>«noun»-«noun2»</artifactId>\n      <version>«semver»</version>\n    </dependency>\n    <dependency>\n      <groupId>org.springframework.security</groupId>\n      <artifactId>spring-security-crypto</artifactId>\n    </dependency>\n  </dependencies>\n",
                "  <properties>\n    <java.version>21</java.version>\n    <«proj».token-url>«token_url»</«proj».token-url>\n    <git.commit.id>«sha»</git.commit.id>\n  </properties>\n",
                "  <!-- «sentence» -->\n  <build>\n    <plugins>\n      <plugin>\n        <artifactId>maven-surefire-plugin</artifactId>\n        <configuration>\n          <systemPropertyVariables>\n            <db.password>${env.DB_PASSWORD}</db.password>\n          </systemPropertyVariables>\n        </configuration>\n      </plugin>\n    </plugins>\n  </build>\n")))
        if self.sub == "settings":
            return R(rng, rng.choice(TL(
                "  <mirrors>\n    <mirror>\n      <id>«org»-«noun»</id>\n      <url>https://artifacts.«domain»/maven</url>\n      <mirrorOf>central</mirrorOf>\n    </mirror>\n  </mirrors>\n",
                "  <servers>\n    <server>\n      <id>«org»-releases</id>\n      <username>${env.MAVEN_USER}</username>\n      <password>${env.MAVEN_PASSWORD}</password>\n    </server>\n  </servers>\n",
                "  <profiles>\n    <profile>\n      <id>«env»</id>\n      <properties>\n        <«proj».url>«url»</«proj».url>\n      </properties>\n    </profile>\n  </profiles>\n")))
        return R(rng, rng.choice(TL(
            '  <appSettings>\n    «bait_xml»\n    «bait_xml2»\n    <add key="«Noun»Timeout" value="«num»" />\n  </appSettings>\n',
            '  <appSettings>\n    <add key="«Noun»BaseUrl" value="«url»" />\n    <add key="TokenUrl" value="«token_url»" />\n    <add key="ApiKeyHeader" value="X-API-Key" />\n    <add key="SecretName" value="«secretname»" />\n    <add key="«Noun»Id" value="«uuid»" />\n  </appSettings>\n',
            '  <system.web>\n    <authentication mode="Forms">\n      <forms loginUrl="~/Account/Login" timeout="«num»" />\n    </authentication>\n    <membership defaultProvider="SqlProvider">\n      <providers>\n        <add name="SqlProvider" minRequiredPasswordLength="«num»" passwordFormat="Hashed" />\n      </providers>\n    </membership>\n  </system.web>\n',
            '  <!-- «sentence» -->\n  <runtime>\n    <assemblyBinding xmlns="urn:schemas-microsoft-com:asm.v1">\n      <dependentAssembly>\n        <assemblyIdentity name="«Noun».«Noun2»" publicKeyToken="«short»" />\n      </dependentAssembly>\n    </assemblyBinding>\n  </runtime>\n')))

    def plant_assigns(self, item):
        rng = self.rng
        A = item.assigns
        if item.pem:
            n, v, q = A[0]
            tag = fmt_name(n, "camel")
            return f"  <{tag}>{v}\n  </{tag}>\n"
        if self.sub == "settings":
            out = ["  <servers>\n"]
            for n, v, q in A:
                out.append(f"    <server>\n      <id>{rng.choice(ORGS)}-{rng.choice(('releases', 'snapshots', 'npm'))}</id>\n      <username>{rng.choice(FIRSTNAMES)}</username>\n      <{fmt_name(n, 'camel')}>{v}</{fmt_name(n, 'camel')}>\n    </server>\n")
            return "".join(out) + "  </servers>\n"
        if self.sub == "pom":
            return "  <properties>\n" + "".join(f"    <{fmt_name(n, 'dot')}>{v}</{fmt_name(n, 'dot')}>\n" for n, v, q in A) + "  </properties>\n"
        if "connection-string-password" in item.kinds and rng.random() < 0.7:
            n, v, q = A[0]
            return f'  <connectionStrings>\n    <add name="{rng.choice(("Default", "Primary", "Reporting"))}" connectionString="{v}" providerName="System.Data.SqlClient" />\n  </connectionStrings>\n'
        return "  <appSettings>\n" + "".join(f'    <add key="{fmt_name(n, "pascal")}" value="{v}" />\n' for n, v, q in A) + "  </appSettings>\n"


class MdGen(Gen):
    syntax = "md"
    pos_mult = 1.0
    dec_mult = 1.0

    def begin(self):
        return R(self.rng, T("# «Noun» «noun2» service\n\n«sentence» «sentence2»\n\n"))

    def block(self):
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return "\n## " + R(rng, T("«Noun» «noun2»")) + "\n\n" + " ".join(_sentence(rng) for _ in range(rng.randrange(3, 9))) + "\n"
        if r < 0.55:
            return "\n" + "".join("- " + _sentence(rng) + "\n" for _ in range(rng.randrange(3, 7)))
        if r < 0.8:
            return "\n```" + R(rng, rng.choice(TL(
                "bash\nexport API_TOKEN=<your-token>\ncurl -H \"Authorization: Bearer $API_TOKEN\" «url»\n",
                "yaml\nauth:\n  tokenUrl: «token_url»\n  «bait_yaml»\n",
                "bash\n«bait_sh»\n./scripts/«verb».sh --env «env»\n",
                "properties\n«bait_props»\n«bait_props2»\n",
                "python\nclient = «Class»(api_key=os.environ[\"«ENVS»\"])\nresp = client.«func»(\"«uuid»\")\n",
                "bash\ngit checkout «sha»\nmake «verb»\n"))) + "```\n"
        return ("\n| id | commit | status |\n|---|---|---|\n" + "".join(f"| {uuid4(rng)} | {hexs(rng, 7)} | {rng.choice(ADJS)} |\n" for _ in range(rng.randrange(3, 8))))

    def plant_assigns(self, item):
        rng = self.rng
        inner = rng.choice(("bash", "env", "yaml", "python", "json"))
        lines = []
        for n, v, q in item.assigns:
            if item.pem:
                lines.append(v)
            elif inner == "bash":
                lines.append(f"export {fmt_name(n, 'upper')}={qstr(rng, v, 'sh')}")
            elif inner == "env":
                lines.append(f"{fmt_name(n, 'upper')}={v}")
            elif inner == "yaml":
                lines.append(f"{fmt_name(n, 'snake')}: {yaml_scalar(rng, v) or chr(34) + chr(34)}")
            elif inner == "python":
                lines.append(f"{fmt_name(n, 'snake')} = {qstr(rng, v, 'py')}")
            else:
                lines.append(f'"{fmt_name(n, "camel")}": "{v}",')
        fence = "" if item.pem else inner
        return "\n" + _sentence(rng) + "\n\n```" + fence + "\n" + "\n".join(lines) + "\n```\n"


class MinJsGen(Gen):
    syntax = "minjs"
    pos_mult = 0.3
    dec_mult = 0.5
    gap = 2
    FRAGS = TL("function «l»(«l2»,«l3»){return «l2».«cvar»(«l3»)}", "var «l»=«num»,«l2»=\"«word»\";", "«l».prototype.«cfunc»=function(«l2»){this.«cvar»=«l2»};",
               "if(!«l»)throw new Error(\"«msg»\");", "«l».exports=«num»;", "«l»=[«num»,«num»,«num»];", "Object.defineProperty(«l»,\"__esModule\",{value:!0});",
               "getToken:function(){return this.token||this.«cfunc»()},", "headers:{Authorization:\"Bearer \"+«l».token},", "password:{type:\"password\",required:!0,minLength:«num»},",
               "apiKeyHeader:\"X-API-Key\",", "tokenUrl:\"«token_url»\",", "«l».«cfunc»=function(){return «l2»(«l3»,\"«uuid»\")};", "case «num»:return «l».«cvar»;",
               "«l»&&«l».length>«num»&&(«l2»=«l».slice(0,«num»));", "\"«sha»\"===«l»&&«l2»();", "for(var «l»=0;«l»<«l2».length;«l»++)«l3».push(«l2»[«l»]);")

    def block(self):
        rng = self.rng
        s = "".join(R(rng, rng.choice(self.FRAGS)) for _ in range(rng.randrange(20, 60)))
        return s + ("\n" if rng.random() < 0.15 else "")

    def begin(self):
        return "/*! " + R(self.rng, T("«proj» v«semver» | (c) «org» | MIT")) + " */\n(self.webpackChunk=self.webpackChunk||[]).push([[" + str(self.rng.randrange(100, 999)) + "],{"

    def end(self):
        return "}]);\n"

    def plant_assigns(self, item):
        out = []
        for n, v, q in item.assigns:
            if item.pem:
                v = v.replace("\n", "\\n")
            out.append(f'{fmt_name(n, "camel")}:"{v}",' if q else f"{fmt_name(n, 'camel')}:{v},")
        return "var " + self.rng.choice("abcdefghijklmnop") + "={" + "".join(out) + "};\n"

    def snippet(self, text):
        return None


# --------------------------------------------------------------------------------------- bulk types

CSV_SCHEMAS = [
    ("id,created_at,customer_email,amount,currency,status,order_ref\n",
     lambda r, i: f"{i},20{r.randrange(19, 27)}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}T{r.randrange(24):02d}:{r.randrange(60):02d}:00Z,{r.choice(FIRSTNAMES)}.{r.randrange(1000)}@{r.choice(DOMAINS)},{r.randrange(100, 999999) / 100:.2f},{r.choice(('USD', 'EUR', 'GBP'))},{r.choice(('paid', 'refunded', 'pending', 'failed'))},{uuid4(r)}\n"),
    ("event_id,ts,user_id,event,path,latency_ms,trace_id\n",
     lambda r, i: f"{uuid4(r)},{1_600_000_000 + i * 7},{r.randrange(10**6)},{r.choice(('login', 'logout', 'token_refresh', 'password_reset', 'api_key_created', 'view'))},/{r.choice(NOUNS)}s/{r.randrange(10**5)},{r.randrange(1, 3000)},{hexs(r, 32)}\n"),
    ("file,size,sha256,modified\n",
     lambda r, i: f"{r.choice(NOUNS)}/{r.choice(NOUNS)}-{i}.{r.choice(('json', 'csv', 'png', 'txt'))},{r.randrange(100, 10**7)},{hexs(r, 64)},{r.randrange(1_500_000_000, 1_760_000_000)}\n"),
]


def gen_csv(rng, target):
    header, row = rng.choice(CSV_SCHEMAS)
    out = [header]
    n = len(header)
    i = 1
    while n < target:
        chunk = [row(rng, i + k) for k in range(50)]
        i += 50
        s = "".join(chunk)
        out.append(s)
        n += len(s)
    return "".join(out)


def gen_binary(rng, target, ext):
    if ext == ".png":
        head = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + rng.randbytes(13) + rng.randbytes(4)
        body = bytearray(rng.randbytes(max(0, target - 64)))
        for k in range(0, len(body), 997):
            body[k:k + 8] = b"\x00" * 8
        return head + len(body).to_bytes(4, "big") + b"IDAT" + bytes(body) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    if ext in (".zip", ".jar"):
        name = (rng.choice(NOUNS) + ".class").encode() if ext == ".jar" else (rng.choice(NOUNS) + ".json").encode()
        data = bytearray(rng.randbytes(max(0, target - 120)))
        for k in range(0, len(data), 1499):
            data[k:k + 4] = b"\x00\x00\x00\x00"
        local = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + rng.randbytes(16) + len(name).to_bytes(2, "little") + b"\x00\x00" + name
        central = b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x08\x00" + rng.randbytes(16) + len(name).to_bytes(2, "little") + b"\x00" * 12 + name
        return local + bytes(data) + central + b"PK\x05\x06" + b"\x00" * 18
    body = bytearray(rng.randbytes(max(0, target - 64)))
    for k in range(0, len(body), 613):
        body[k:k + 16] = b"\x00" * 16
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x03\x00\x3e\x00" + rng.randbytes(44) + bytes(body)


# ------------------------------------------------------------------------------------ dotfiles (positives)

def gen_dotfile(rng, kind):
    """Small credential files: returns (text, [(secret, kind)])."""
    if kind == "npmrc":
        tok = npm_token(rng)
        txt = f"registry=https://registry.npmjs.org/\n@{rng.choice(ORGS)}:registry=https://npm.pkg.github.com\nsave-exact=true\nengine-strict=true\n//registry.npmjs.org/:_authToken={MARK}{tok}\n"
        return txt, [(tok, "npmrc-auth-token")]
    if kind == "netrc":
        pw = random_token(rng, 24, 40)
        return f"machine {rng.choice(('api.github.com', 'gitlab.com', 'api.heroku.com'))}\n  login {rng.choice(FIRSTNAMES)}@{rng.choice(DOMAINS)}\n  password {MARK}{pw}\n", [(pw, "netrc-password")]
    if kind == "docker":
        pw = random_token(rng, 20, 36)
        auth = base64.b64encode(f"{rng.choice(FIRSTNAMES)}:{pw}".encode()).decode()
        return ('{\n  "auths": {\n    "ghcr.io": {\n      "auth": "' + MARK + auth + '"\n    }\n  },\n  "credsStore": ""\n}\n'), [(auth, "docker-config-auth")]
    if kind == "aws":
        akid = "AKIA" + rs(rng, B32, 16)
        sk = b64(rng, 30)
        return (f"[default]\nregion = {F['region'](rng)}\noutput = json\n\n[profile {rng.choice(PROJECTS)}]\naws_access_key_id = {MARK}{akid}\naws_secret_access_key = {MARK}{sk}\n"), [(akid, "aws-access-key-id"), (sk, "aws-secret-access-key")]
    if kind == "git-credentials":
        body = rs(rng, ALNUM, 30)
        tok = "ghp_" + body + crc_b62(body)
        return f"https://{rng.choice(FIRSTNAMES)}:{MARK}{tok}@github.com\n", [(tok, "github-classic")]
    if kind == "pypirc":
        tok = "pypi-AgEIcHlwaS5vcmcCJD" + b64url(rng, 120)
        return f"[distutils]\nindex-servers =\n    pypi\n\n[pypi]\nusername = __token__\npassword = {MARK}{tok}\n", [(tok, "pypi-token")]
    k = rng.choice(("rsa", "openssh", "ec"))
    begin, text = pem_block(rng, k)
    return MARK + text + "\n", [(begin, f"private-key-{k}")]


DOTFILE_NAMES = {"npmrc": ".npmrc", "netrc": ".netrc", "docker": ".docker/config.json", "aws": ".aws/credentials",
                 "git-credentials": ".git-credentials", "pypirc": ".pypirc", "key": None}

# ---------------------------------------------------------------------------------------------
# File writing
# ---------------------------------------------------------------------------------------------


def extract_labels(text, secrets, base_line, path, label, kinds):
    """Find each MARK in `text`, record labels, return the text without marks."""
    out = []
    labels = []
    pos = 0
    line = base_line
    i = 0
    while True:
        j = text.find(MARK, pos)
        if j < 0:
            out.append(text[pos:])
            break
        seg = text[pos:j]
        out.append(seg)
        line += seg.count("\n")
        sec = secrets[i] if i < len(secrets) else None
        rest = text[j + 1:]
        if sec is None:
            m = re.match(r"[A-Za-z0-9_.\-]+", rest)
            sec = m.group(0) if m else ""
        elif not rest.startswith(sec):
            raise AssertionError(f"marker mismatch in {path}: {sec!r} vs {rest[:40]!r}")
        lab = {"path": path, "line": line, "secret": sec, "label": label, "kind": kinds[min(i, len(kinds) - 1)]}
        if sec.startswith("-----BEGIN"):
            endpos = rest.find("-----END")
            if endpos >= 0:
                lab["end_line"] = line + rest[:endpos].count("\n")
        labels.append(lab)
        pos = j + 1
        i += 1
    return "".join(out), labels


def make_gen(ftype, rng, path):
    if ftype == "py":
        return PyGen(rng, path)
    cls = {"js": JsGen, "ts": TsGen, "go": GoGen, "java": JavaGen, "rb": RubyGen, "php": PhpGen, "cs": CsGen, "rs": RustGen,
           "sh": ShGen, "dockerfile": DockerGen, "env": EnvGen, "ini": IniGen, "properties": PropertiesGen, "toml": TomlGen,
           "tf": TfGen, "json": JsonGen, "lock": LockGen, "pkgjson": PackageJsonGen, "fixture": FixtureJsonGen, "md": MdGen,
           "minjs": MinJsGen}.get(ftype)
    if cls:
        return cls(rng, path)
    if ftype.startswith("yaml-"):
        return YamlGen(rng, path, ftype[5:])
    if ftype.startswith("xml-"):
        return XmlGen(rng, path, ftype[4:])
    raise ValueError(ftype)


def write_text_file(spec, seed, corpus):
    idx, rel, ftype, size, npos, ndec = spec
    rng = random.Random(f"{seed}:{idx}")
    full = os.path.join(corpus, rel)
    labels = []
    if ftype == "csv":
        data = gen_csv(rng, size).encode()
    elif ftype.startswith("bin"):
        data = gen_binary(rng, size, os.path.splitext(rel)[1])
    elif ftype.startswith("dot-"):
        text, secs = gen_dotfile(rng, ftype[4:])
        text, labels = extract_labels(text, [s for s, _ in secs], 1, rel, "positive", [k for _, k in secs])
        data = text.encode()
    else:
        gen = make_gen(ftype, rng, rel)
        plants = ["positive"] * npos + ["decoy"] * ndec
        rng.shuffle(plants)
        offsets = sorted(rng.randrange(0, max(1, size)) for _ in plants)
        parts = []
        nbytes = 0
        line = 1
        last_plant = -100

        def emit(t):
            nonlocal nbytes, line
            parts.append(t)
            nbytes += len(t)
            line += t.count("\n")

        emit(gen.begin())
        k = 0
        while nbytes < size or k < len(plants):
            if k < len(plants) and (nbytes >= offsets[k] or nbytes >= size) and line > last_plant + gen.gap:
                label = plants[k]
                table = POSITIVE_TABLE if label == "positive" else (LOCK_DECOYS if ftype == "lock" else DECOY_TABLE)
                snippet = None
                for _ in range(10):
                    item = gen_item(rng, label, table, gen.syntax, gen)
                    snippet = gen.plant(item)
                    if snippet is not None:
                        break
                if snippet is None:
                    k += 1
                    continue
                clean_text, labs = extract_labels(snippet, item.secrets, line, rel, label, item.kinds)
                labels.extend(labs)
                emit(clean_text)
                last_plant = line
                k += 1
                continue
            emit(gen.block())
        emit(gen.end())
        data = "".join(parts).encode()
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as fh:
        fh.write(data)
    return idx, len(data), labels


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------

# (type, share of bytes, (min KB, max KB))
TYPES = [
    ("py", 11, (3, 150)), ("js", 7, (3, 120)), ("ts", 7, (3, 120)), ("go", 8, (3, 150)), ("java", 8, (3, 150)),
    ("rb", 4, (2, 80)), ("php", 4, (2, 80)), ("cs", 5, (3, 120)), ("rs", 5, (3, 150)), ("sh", 3, (2, 30)),
    ("yaml-k8s", 2.5, (2, 40)), ("yaml-workflow", 1.2, (2, 20)), ("yaml-compose", 0.8, (2, 15)), ("yaml-values", 1.2, (2, 25)),
    ("json", 2, (2, 40)), ("pkgjson", 0.4, (2, 6)), ("fixture", 2, (10, 200)), ("lock", 5, (60, 200)),
    ("env", 0.7, (2, 5)), ("tf", 3, (3, 40)), ("dockerfile", 0.4, (2, 4)), ("properties", 0.8, (2, 15)),
    ("ini", 0.6, (2, 12)), ("toml", 0.7, (2, 15)), ("md", 5, (3, 60)), ("xml-appconfig", 1.2, (3, 40)),
    ("xml-pom", 1.2, (3, 40)), ("xml-settings", 0.5, (2, 15)), ("minjs", 4, (50, 200)), ("csv", 3, (20, 200)),
    ("bin-png", 1, (2, 150)), ("bin-zip", 0.8, (10, 200)), ("bin-jar", 0.4, (10, 200)), ("bin-so", 0.3, (20, 200)),
]
POS_MULT = {"py": 1, "js": 1, "ts": 1, "go": 1, "java": 1, "rb": 1, "php": 1, "cs": 1, "rs": 0.7, "sh": 2,
            "yaml-k8s": 3, "yaml-workflow": 3, "yaml-compose": 3, "yaml-values": 3, "json": 2, "pkgjson": 0.5,
            "fixture": 0.5, "lock": 0, "env": 12, "tf": 2.5, "dockerfile": 4, "properties": 4, "ini": 4, "toml": 3,
            "md": 1, "xml-appconfig": 2, "xml-pom": 1.5, "xml-settings": 3, "minjs": 0.3}
DEC_MULT = {"lock": 1.5, "fixture": 1.5, "env": 8, "dockerfile": 3, "minjs": 0.5, "md": 1.2}


def file_name(rng, ftype, repo):
    n, n2 = rng.choice(NOUNS), rng.choice(NOUNS)
    pkg = rng.choice(NOUNS) + "s"
    proj = repo.split("-", 1)[1] if "-" in repo else repo
    if ftype == "py":
        d = rng.choice((f"src/{proj.replace('-', '_')}/{pkg}", f"src/{proj.replace('-', '_')}", "tests", f"src/{proj.replace('-', '_')}/{pkg}/{n2}", "scripts"))
        return f"{d}/{'test_' if d == 'tests' else ''}{n}_{rng.choice(('service', 'client', 'models', 'views', 'utils', 'handlers', 'tasks', 'api', 'schemas', 'forms'))}.py"
    if ftype in ("js", "ts"):
        d = rng.choice(("src", f"src/{pkg}", "lib", f"src/{pkg}/{n2}", "test", "packages/" + n2 + "/src"))
        ext = ftype if rng.random() < 0.8 or ftype == "js" else "tsx"
        return f"{d}/{n}.{rng.choice(('service', 'controller', 'utils', 'client', 'routes', 'store', 'api'))}.{ext}"
    if ftype == "go":
        d = rng.choice((f"internal/{n2}", f"pkg/{n2}", f"cmd/{proj}", f"internal/{n2}/{pkg}"))
        return f"{d}/{n}{rng.choice(('', '_test', '_handler', '_store'))}.go"
    if ftype == "java":
        d = f"src/{rng.choice(('main', 'main', 'test'))}/java/com/{repo.split('-')[0]}/{proj.replace('-', '')}/{n2}"
        return f"{d}/{n.capitalize()}{rng.choice(CLASS_SUFFIX)}.java"
    if ftype == "rb":
        return f"{rng.choice(('app/models', 'app/controllers', 'app/services', 'lib/' + proj.replace('-', '_'), 'spec/' + pkg))}/{n}_{n2}.rb"
    if ftype == "php":
        return f"{rng.choice(('src/' + n2.capitalize(), 'app/Http/Controllers', 'app/Services', 'config'))}/{n.capitalize()}{rng.choice(CLASS_SUFFIX)}.php"
    if ftype == "cs":
        return f"src/{proj.title().replace('-', '')}.{n2.capitalize()}/{n.capitalize()}{rng.choice(CLASS_SUFFIX)}.cs"
    if ftype == "rs":
        return f"{rng.choice(('src', 'src/' + n2, 'crates/' + n2 + '/src'))}/{n}.rs"
    if ftype == "sh":
        return f"{rng.choice(('scripts', 'bin', 'deploy', 'ci'))}/{rng.choice(VERBS)}-{n}.sh"
    if ftype == "yaml-k8s":
        return f"deploy/k8s/{rng.choice(('base', 'overlays/prod', 'overlays/staging', 'dev'))}/{n}-{rng.choice(('deployment', 'service', 'config', 'secrets', 'app'))}.yaml"
    if ftype == "yaml-workflow":
        return f".github/workflows/{rng.choice(('ci', 'release', 'deploy', 'nightly', 'lint', n))}.yml"
    if ftype == "yaml-compose":
        return rng.choice(("docker-compose.yml", f"docker-compose.{rng.choice(('dev', 'prod', 'test'))}.yml", f"deploy/{n}/docker-compose.yaml"))
    if ftype == "yaml-values":
        return rng.choice((f"charts/{proj}/values.yaml", f"charts/{proj}/values-{rng.choice(('prod', 'staging'))}.yaml", f"config/{rng.choice(('prod', 'staging', 'dev', 'local'))}.yaml"))
    if ftype == "json":
        return rng.choice((f"config/{rng.choice(('production', 'staging', 'default', 'local'))}.json", "appsettings.json", f"appsettings.{rng.choice(('Production', 'Development', 'Staging'))}.json", f"src/{n}/settings.json"))
    if ftype == "pkgjson":
        return rng.choice(("package.json", f"packages/{n}/package.json"))
    if ftype == "fixture":
        return f"{rng.choice(('test/fixtures', 'fixtures', 'data', 'src/test/resources'))}/{n}s{rng.choice(('', '-export', '-sample'))}.json"
    if ftype == "lock":
        return rng.choice(("package-lock.json", f"packages/{n}/package-lock.json", "web/package-lock.json"))
    if ftype == "env":
        return rng.choice((".env", ".env.production", ".env.local", ".env.staging", f"services/{n}/.env", "config/.env.prod", ".env.development"))
    if ftype == "tf":
        return f"{rng.choice(('infra', 'terraform', 'infra/' + rng.choice(('prod', 'staging')), 'modules/' + n2))}/{rng.choice(('main', 'variables', n, 'providers', 'outputs'))}.tf"
    if ftype == "dockerfile":
        return rng.choice(("Dockerfile", f"docker/{n}/Dockerfile", f"Dockerfile.{n}"))
    if ftype == "properties":
        return f"src/main/resources/application{rng.choice(('', '-prod', '-dev', '-staging'))}.properties"
    if ftype == "ini":
        return rng.choice(("setup.cfg", "tox.ini", f"config/{n}.ini", "alembic.ini", f"deploy/{n}.cfg"))
    if ftype == "toml":
        return rng.choice(("pyproject.toml", "Cargo.toml", f"config/{n}.toml", "netlify.toml", f"crates/{n}/Cargo.toml"))
    if ftype == "md":
        return rng.choice(("README.md", f"docs/{n}.md", f"docs/{rng.choice(('runbooks', 'guides', 'adr'))}/{n}-{n2}.md", "CONTRIBUTING.md", "CHANGELOG.md"))
    if ftype.startswith("xml-"):
        sub = ftype[4:]
        if sub == "pom":
            return rng.choice(("pom.xml", f"{n}/pom.xml"))
        if sub == "settings":
            return rng.choice((".mvn/settings.xml", "settings.xml", "ci/maven-settings.xml"))
        return rng.choice(("App.config", "Web.config", f"src/{n.capitalize()}/App.config", f"src/{n.capitalize()}/Web.{rng.choice(('Release', 'Debug'))}.config"))
    if ftype == "minjs":
        return f"{rng.choice(('dist/assets', 'public/js', 'static/js', 'build/static/js'))}/{rng.choice((n, 'vendor', 'main', 'chunk'))}.{hexs(rng, 8)}.min.js"
    if ftype == "csv":
        return f"{rng.choice(('data', 'exports', 'test/data', 'analytics'))}/{n}s-{F['date'](rng)}.csv"
    if ftype.startswith("bin-"):
        ext = {"bin-png": "png", "bin-zip": "zip", "bin-jar": "jar", "bin-so": "so"}[ftype]
        d = {"png": "assets/img", "zip": "vendor", "jar": "lib", "so": "lib/native"}[ext]
        return f"{d}/{n}-{n2}.{ext}"
    raise ValueError(ftype)


def plan(seed, size_bytes):
    rng = random.Random(f"plan:{seed}")
    names = [t for t, _, _ in TYPES]
    shares = [s for _, s, _ in TYPES]
    ranges = {t: r for t, _, r in TYPES}
    # count weights: share / mean size, so bytes end up in proportion to share
    means = {t: (lo + hi) / 2 for t, (lo, hi) in ranges.items()}
    cw = [s / means[t] for t, s in zip(names, shares)]
    files = []  # [rel, type, size]
    used = set()
    total = 0
    repo_left = 0
    repo = ""
    while total < size_bytes:
        if repo_left <= 0:
            for _ in range(100):
                repo = f"{rng.choice(ORGS)}-{rng.choice(PROJECTS)}-{rng.choice(SUFFIXES)}"
                if repo not in used:
                    break
            used.add(repo)
            repo_left = rng.randrange(1, 9) * 1_000_000
        t = rng.choices(names, weights=cw)[0]
        lo, hi = ranges[t]
        # log-uniform sizes inside the type's range
        size = int(1024 * lo * (hi / lo) ** rng.random())
        size = min(size, size_bytes - total + 2048) if size_bytes - total < size else size
        size = max(size, 2048)
        name = file_name(rng, t, repo)
        rel = f"{repo}/{name}"
        for _ in range(3):
            if rel not in used:
                break
            rel = f"{repo}/{rng.choice(('services', 'packages', 'apps', 'modules', 'tools', 'examples', 'legacy'))}/{rng.choice(NOUNS)}/{name}"
        base, ext = os.path.splitext(rel)
        k = 2
        while rel in used:
            rel = f"{base}-{k}{ext}"
            k += 1
        used.add(rel)
        files.append([rel, t, size])
        total += size
        repo_left -= size
    # planted positives / decoys, allocated in proportion to size x type multiplier
    n_pos = max(1, round(size_bytes / POSITIVE_EVERY))
    n_dec = max(1, round(size_bytes / POSITIVE_EVERY))
    n_dot = max(1, round(n_pos * 0.02)) if size_bytes >= 5_000_000 else 0
    pos_w = [f[2] * POS_MULT.get(f[1], 0) for f in files]
    dec_w = [f[2] * DEC_MULT.get(f[1], POS_MULT.get(f[1], 0)) for f in files]
    pos = [0] * len(files)
    dec = [0] * len(files)
    idxs = range(len(files))
    dot_pos = 0
    dotfiles = []
    repos = sorted({f[0].split("/", 1)[0] for f in files})
    kinds = ["npmrc", "netrc", "docker", "aws", "git-credentials", "pypirc", "key"]
    for i in range(n_dot):
        kind = kinds[i % len(kinds)] if i < len(kinds) else rng.choice(kinds)
        r = rng.choice(repos)
        name = DOTFILE_NAMES[kind] or rng.choice(("deploy/id_rsa", "keys/deploy_key.pem", f"certs/{rng.choice(NOUNS)}.key", ".ssh/id_ed25519", "config/jwt-signing.pem"))
        rel = f"{r}/{name}"
        if rel in used:
            continue
        used.add(rel)
        dotfiles.append([rel, "dot-" + kind, 0])
        dot_pos += 2 if kind == "aws" else 1
    for i in rng.choices(idxs, weights=pos_w, k=max(0, n_pos - dot_pos)):
        pos[i] += 1
    for i in rng.choices(idxs, weights=dec_w, k=n_dec):
        dec[i] += 1
    specs = [(i, f[0], f[1], f[2], pos[i], dec[i]) for i, f in enumerate(files)]
    base = len(specs)
    specs += [(base + j, d[0], d[1], 0, 1, 0) for j, d in enumerate(dotfiles)]
    return specs


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

_SEED = None
_CORPUS = None


def _init(seed, corpus):
    global _SEED, _CORPUS
    _SEED, _CORPUS = seed, corpus


def _work(spec):
    return write_text_file(spec, _SEED, _CORPUS)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (corpus/, labels.jsonl, manifest.json)")
    ap.add_argument("--size-mb", type=float, default=1024, help="approximate corpus size in MB (10^6 bytes)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (output does not depend on it)")
    ap.add_argument("--force", action="store_true", help="replace an existing DIR/corpus")
    args = ap.parse_args(argv)

    out = os.path.abspath(args.out)
    corpus = os.path.join(out, "corpus")
    if os.path.exists(corpus):
        if not args.force and os.listdir(corpus):
            sys.exit(f"{corpus} exists and is not empty; pass --force to replace it")
        shutil.rmtree(corpus)
    os.makedirs(corpus)
    t0 = time.time()
    size_bytes = int(args.size_mb * 1_000_000)
    specs = plan(args.seed, size_bytes)
    total = 0
    kinds = {}
    npos = ndec = 0
    labels_path = os.path.join(out, "labels.jsonl")
    with open(labels_path, "w") as lf:
        if args.jobs > 1:
            pool = Pool(args.jobs, initializer=_init, initargs=(args.seed, corpus))
            results = pool.imap(_work, specs, chunksize=8)
        else:
            _init(args.seed, corpus)
            pool = None
            results = map(_work, specs)
        done = 0
        for idx, nbytes, labels in results:
            total += nbytes
            for lab in labels:
                lf.write(json.dumps(lab, sort_keys=True) + "\n")
                kinds[lab["kind"]] = kinds.get(lab["kind"], 0) + 1
                if lab["label"] == "positive":
                    npos += 1
                else:
                    ndec += 1
            done += 1
            if sys.stderr.isatty() and done % 200 == 0:
                print(f"\r{done}/{len(specs)} files, {total / 1e6:.0f} MB", end="", file=sys.stderr)
        if pool:
            pool.close()
            pool.join()
    manifest = {"seed": args.seed, "size_mb": args.size_mb, "generator_version": GENERATOR_VERSION, "bytes": total,
                "files": len(specs), "positives": npos, "decoys": ndec, "kinds": dict(sorted(kinds.items()))}
    with open(os.path.join(out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")
    dt = time.time() - t0
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"wrote {len(specs)} files, {total / 1e6:.1f} MB, {npos} positives, {ndec} decoys to {out} in {dt:.1f} s ({total / 1e6 / max(dt, 1e-9):.1f} MB/s)")


if __name__ == "__main__":
    main()
