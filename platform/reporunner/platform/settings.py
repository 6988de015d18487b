"""Settings: one object built at start-up and passed down; nothing reads the environment later.

Variables take the ``REPORUNNER_`` prefix, except the two connection URLs that every hosting
platform names plainly: ``DATABASE_URL`` and ``REDIS_URL``, and OpenTelemetry's standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` and ``OTEL_SERVICE_NAME``. Leaving either unset starts the
embedded server for it in the data directory.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reporunner.nodes.codesandbox import CodeLimits
from reporunner.nodes.errors import ConfigurationError

__all__ = ["Settings", "load_settings"]

_ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "otel_exporter_otlp_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
    "otel_service_name": "OTEL_SERVICE_NAME",
}


class Settings(BaseSettings):
    """Every setting of reporunner, grouped by area (docs/settings.md lists them with defaults)."""

    model_config = SettingsConfigDict(env_prefix="REPORUNNER_", extra="ignore", frozen=True)

    # -- services
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
        description="PostgreSQL URL (postgresql://...). Unset: start the embedded PostgreSQL.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "redis_url"),
        description="Redis URL (redis://, rediss:// or unix://). Unset: start an embedded Redis.",
    )
    data_dir: Path = Field(
        default=Path(".reporunner"),
        description="Directory for embedded PostgreSQL/Redis data and generated keys (uploaded "
        "originals live in the originals store, not here).",
    )
    # -- API
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port the API listens on.")
    env: Literal["development", "production"] = Field(
        default="development",
        description="'production' refuses to start without REPORUNNER_SECRET_KEY.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Master key for the credential vault (base64, 32 bytes). Unset outside "
        "production: generated into the data directory with 0600 permissions.",
    )
    old_secret_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated previous master keys, still used to decrypt while "
        "`reporunner rotate-key` re-encrypts every credential with REPORUNNER_SECRET_KEY.",
    )
    bootstrap_token: SecretStr | None = Field(
        default=None,
        description="API key given to the first owner when `serve` starts on an empty database "
        "(otherwise one is generated and printed once).",
    )
    migrate_on_start: bool = Field(
        default=True, description="Run database migrations when `reporunner serve` starts."
    )
    log_level: str = Field(default="INFO", description="Python log level.")
    # -- worker / engine
    worker_concurrency: int = Field(
        default=10, ge=1, description="Executions one worker runs at the same time."
    )
    queue_name: str = Field(
        default="reporunner:queue",
        description="arq queue name in Redis; a worker's reapers re-queue only the lost work "
        "of their own queue, so pools with different queue names can share one database.",
    )
    heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="How often a worker writes its heartbeat."
    )
    reap_after_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A running execution whose worker heartbeat is older than this is re-queued.",
    )
    execution_timeout_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Longest one execution run may take (seconds): the engine fails it with "
        "`execution_timeout`; a workflow's settings.timeout_seconds may only lower it. The "
        "worker's job timeout is this plus 120 s, so the engine always stops a run first.",
    )
    workers: int | None = Field(
        default=None,
        ge=0,
        description="Worker processes `reporunner serve` starts beside the API (unset: one per "
        "CPU core; 0: one worker inside the API process).",
    )
    worker_shutdown_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM/SIGINT a worker takes no new job and gives running ones this "
        "long to end; the rest go back to the queue and continue on another worker. `serve` "
        "gives open requests (uploads, event streams) as long, then closes them.",
    )
    execution_retention_days: float = Field(
        default=0,
        ge=0,
        description="Ended executions older than this many days are deleted with their node "
        "runs and checkpoints by the workers (0: kept forever).",
    )
    checkpoint_retention_hours: float = Field(
        default=24,
        ge=0,
        description="Checkpoints of ended executions are deleted this many hours after the end "
        "(the execution and its node runs stay; 0: kept as long as the execution).",
    )
    event_retention_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="How long an execution's event stream stays in Redis after its last event.",
    )
    max_output_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest output (JSON bytes) one node run may hand on; a larger one fails "
        "the node with an error naming this setting.",
    )
    # -- AI
    llm_model: str | None = Field(
        default=None,
        description="Default litellm model string, e.g. 'openai/gpt-4o-mini' or 'ollama/llama3.2'.",
    )
    llm_api_base: str | None = Field(
        default=None,
        description="Base URL for the default model (a local Ollama or vLLM server, or any "
        "OpenAI-compatible endpoint).",
    )
    llm_allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts (names, '*.suffix', IPs or CIDRs) that LLM and "
        "embedding base URLs may reach although they are private or loopback (a local Ollama "
        "or vLLM server); the host of REPORUNNER_LLM_API_BASE is always allowed. Server "
        "provider keys still go only to the provider's own URL or REPORUNNER_LLM_API_BASE.",
    )
    llm_fallback_model: str | None = Field(
        default=None,
        description="litellm model tried when the default model keeps failing (429/5xx/timeouts).",
    )
    embedding_model: str = Field(
        default="sentence-transformers/all-MiniLM-L6-v2",
        description="Default embedding model of new knowledge bases (local, offline).",
    )
    # -- knowledge uploads
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024,
        ge=1,
        description="Largest document one upload may carry (bytes); larger files answer 413.",
    )
    max_upload_files: int = Field(
        default=20, ge=1, description="Most files one document upload request may carry."
    )
    max_document_chars: int = Field(
        default=20_000_000,
        ge=1,
        description="Most characters one document may extract to (a small PDF of many pages "
        "can extract hundreds of millions); larger documents fail with the reason.",
    )
    max_document_chunks: int = Field(
        default=20_000, ge=1, description="Most chunks one document may make when ingested."
    )
    max_base_chunks: int = Field(
        default=1_000_000,
        ge=1,
        description="Most chunks one knowledge base may hold; a document that would pass it "
        "fails with the figure.",
    )
    # -- stored originals (uploaded documents)
    originals_store: Literal["postgres", "s3"] = Field(
        default="postgres",
        description="Where uploaded originals are kept, shared by every API process and "
        "worker: postgres (in the database, 1 MiB chunks) or s3 (an S3-compatible bucket, "
        "REPORUNNER_S3_*). `reporunner migrate` moves originals of older versions in.",
    )
    s3_bucket: str | None = Field(
        default=None, description="Bucket of the originals (required when the store is s3)."
    )
    s3_prefix: str = Field(
        default="", description="Key prefix of the originals in the bucket (e.g. reporunner/)."
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint of a self-hosted or non-AWS store (MinIO, Ceph, R2); unset: "
        "AWS S3. An endpoint switches to path-style addressing.",
    )
    s3_region: str | None = Field(default=None, description="S3 region (unset: boto3's default).")
    s3_access_key_id: str | None = Field(
        default=None,
        description="S3 access key id; unset: boto3's own chain (AWS_* variables, a profile, "
        "an instance or pod role).",
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key (with REPORUNNER_S3_ACCESS_KEY_ID)."
    )
    # -- protection, webhooks, schedules, observability
    max_request_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1,
        description="Largest request body of any route but document uploads (bytes); larger "
        "bodies answer 413.",
    )
    rate_limit_per_minute: int = Field(
        default=0,
        ge=0,
        description="Requests one API key (or browser session) may make per minute (default 0: "
        "no limit; one busy integration exceeds any small figure); more answer 429 with "
        "Retry-After.",
    )
    anonymous_rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        description="Requests one client address may make per minute without an API key "
        "(health probes, 401s, failed webhook deliveries: unknown path, wrong token or "
        "signature; a delivery that reaches its workflow does not count), and failed API-key "
        "lookups it may cause (0: no limit); more answer 429.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Reverse proxies whose X-Forwarded-For/-Proto/-Host are believed: "
        "comma-separated IPs/CIDRs, or '*' (whatever connects is the one proxy in front). The "
        "client is then the right-most X-Forwarded-For entry that is not a trusted proxy; it "
        "counts for the per-address limits, and the headers decide the Secure cookie flag and "
        "links (empty: the socket's peer is the client, no header is believed).",
    )
    webhook_rate_limit_per_minute: int = Field(
        default=0,
        ge=0,
        description="Deliveries one webhook path may receive per minute (default 0: no limit); "
        "more answer 429 with Retry-After.",
    )
    webhook_response_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a webhook waiting for its webhook.respond node holds the request.",
    )
    cors_allow_origins: str = Field(
        default="",
        description="Comma-separated origins allowed to call the API from a browser "
        "(empty: none; '*' allows any origin, without credentials).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus sends to GET /metrics (an admin API key works too).",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "otel_exporter_otlp_endpoint"),
        description="OpenTelemetry collector base URL (OTLP over HTTP, e.g. "
        "http://otel-collector:4318; spans go to its /v1/traces). Unset: no tracing, at no cost. "
        "Operator-set, not checked by the SSRF guard.",
    )
    otel_service_name: str = Field(
        default="reporunner",
        validation_alias=AliasChoices("OTEL_SERVICE_NAME", "otel_service_name"),
        description="service.name of the spans when tracing is on.",
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="'json': one JSON object per log line with request and execution ids.",
    )
    scheduler_tick_seconds: float = Field(
        default=1.0, gt=0, description="How often the scheduler loop looks for due schedules."
    )
    # -- browser sign-in and the web app
    session_ttl_hours: float = Field(
        default=168.0,
        gt=0,
        description="A browser session unused for this long ends (idle expiry, hours).",
    )
    session_max_hours: float = Field(
        default=720.0,
        gt=0,
        description="A browser session ends this long after sign-in however much it is used "
        "(hours); the cookie's Max-Age.",
    )
    workspace_creation: Literal["anyone", "admins"] = Field(
        default="anyone",
        description="Who may create workspaces with POST /workspaces: 'anyone' signed in, or "
        "'admins' (instance admins: the owners of the oldest workspace).",
    )
    invitation_ttl_hours: float = Field(
        default=168.0, gt=0, description="How long an invitation link stays valid (hours)."
    )
    signin_failures_per_account: int = Field(
        default=10,
        ge=0,
        description="Failed sign-ins one e-mail address may have per window before sign-in "
        "answers 429 (0: no limit).",
    )
    signin_failures_per_ip: int = Field(
        default=50,
        ge=0,
        description="Failed sign-ins one client address may have per window (0: no limit).",
    )
    signin_failure_window_seconds: int = Field(
        default=900,
        ge=1,
        description="Window of the failed sign-in limits (seconds, from the first failure).",
    )
    totp_required: bool = Field(
        default=False,
        description="Require two-factor authentication (TOTP) of every user who signs in with "
        "a password: until they set it up, their session reaches only /auth/me, /auth/totp/* "
        "and /auth/logout. API keys and SSO sign-ins are not affected.",
    )
    password_signin: bool = Field(
        default=True,
        description="false: POST /auth/login refuses passwords (403) while at least one "
        "enabled SSO provider exists, so people sign in only through SSO (API keys, set-up and "
        "invitation links keep working).",
    )
    oidc_allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts (names, '*.suffix', IPs or CIDRs) that OpenID "
        "provider issuer URLs (and the endpoints their discovery names) may reach although "
        "private or loopback, e.g. an identity provider on the internal network (empty: only "
        "public addresses).",
    )
    sso_state_ttl_seconds: int = Field(
        default=600,
        ge=30,
        description="How long a started SSO sign-in (its state, nonce and PKCE verifier) waits "
        "for the provider to send the browser back (seconds).",
    )
    trust_proxy_headers: bool = Field(
        default=False,
        description="Deprecated: true means REPORUNNER_TRUSTED_PROXIES='*' (ignored when "
        "REPORUNNER_TRUSTED_PROXIES is set).",
    )
    web_dir: Path | None = Field(
        default=None,
        description="Folder of the built web app (index.html, assets/). Unset: the copy inside "
        "the installed package, else web/dist of a source checkout.",
    )
    # -- knowledge search
    rerank_model: Path | None = Field(
        default=None,
        description="Folder of a local sentence-transformers cross-encoder that re-scores "
        "knowledge search results when a search asks for rerank. Unset: rerank is skipped "
        "with a note.",
    )
    # -- credentials
    credential_allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts (names, '*.suffix', IPs, CIDRs or unix socket "
        "directories) that postgres.query, redis.command and email.send credentials may reach "
        "although they are private, loopback or local; the platform's own PostgreSQL and Redis "
        "stay refused unless named here exactly (empty: only public addresses).",
    )
    # -- MCP servers for agents
    mcp_allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts (names, '*.suffix', IPs or CIDRs) that registered MCP "
        "server URLs may reach although they are private or loopback; the SSRF guard refuses "
        "them otherwise (empty: only public addresses).",
    )
    mcp_stdio_enabled: bool = Field(
        default=False,
        description="Let workspaces register stdio MCP servers (commands from "
        "REPORUNNER_MCP_STDIO_COMMANDS only).",
    )
    mcp_stdio_commands: dict[str, list[str]] = Field(
        default_factory=dict,
        description="JSON object of allow-listed stdio MCP commands, name -> argv, e.g. "
        '{"files": ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv/docs"]}; an '
        "API body names one, never a command line.",
    )
    mcp_tools_max_age_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="A registered MCP server's cached tool list older than this is listed "
        "again when an agent or GET /mcp-servers/{id}/tools needs it.",
    )
    # -- code nodes (code.python, code.javascript)
    code_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Wall time one call of a code node may take; its sandbox is killed after.",
    )
    code_cpu_seconds: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="CPU time one call of a code node may use; its sandbox is killed after.",
    )
    code_memory_mb: int = Field(
        default=256,
        ge=32,
        le=65536,
        description="Memory of a code sandbox in MB (Python: address space; JavaScript: V8 heap).",
    )
    code_max_output_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest JSON a code node's function may return per call.",
    )
    code_scratch_mb: int = Field(
        default=16,
        ge=1,
        le=4096,
        description="Size of a code sandbox's private scratch directory (/scratch) in MB.",
    )
    code_warm_sandboxes: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Code sandboxes kept started ahead of use per language in each process.",
    )
    code_python: str | None = Field(
        default=None,
        description="Python interpreter of code.python sandboxes, under /usr (unset: "
        "/usr/bin/python3, else /usr/local/bin/python3).",
    )
    code_node: str | None = Field(
        default=None,
        description="Node.js binary of code.javascript sandboxes, under /usr (unset: "
        "/usr/bin/node, else /usr/local/bin/node).",
    )

    def code_limits(self) -> CodeLimits:
        """The limits of the code nodes' sandboxes (``reporunner.nodes.codesandbox``)."""
        return CodeLimits(
            timeout_seconds=self.code_timeout_seconds,
            cpu_seconds=self.code_cpu_seconds,
            memory_mb=self.code_memory_mb,
            max_output_bytes=self.code_max_output_bytes,
            scratch_mb=self.code_scratch_mb,
            warm=self.code_warm_sandboxes,
            python=self.code_python,
            node=self.code_node,
        )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        for entry in (e.strip() for e in value.split(",")):
            if not entry or entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as err:
                raise ValueError(f"'{entry}' is not an IP address, a CIDR or '*'") from err
        return value

    @field_validator("otel_exporter_otlp_endpoint")
    @classmethod
    def _otlp_endpoint(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if "://" in value and value.split("://", 1)[0] in ("http", "https"):
            return value
        raise ValueError("must be an http(s) URL like http://otel-collector:4318")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        raise ValueError(
            "must be a PostgreSQL URL like postgresql://user:password@host:5432/dbname"
        )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.split("://", 1)[0] in ("redis", "rediss", "unix"):
            return value
        raise ValueError("must be a Redis URL like redis://host:6379/0 or unix:///path/redis.sock")


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment (and ``overrides``).

    Raises:
        ConfigurationError: one line naming the variable and what to fix.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        first = err.errors()[0]
        field = str(first["loc"][0]).lower() if first["loc"] else "?"
        name = _ENV_NAMES.get(field, f"REPORUNNER_{field.upper()}")
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigurationError(f"{name}: {message}") from None
