"""Settings for every Trawl process, read from `TRAWL_*` environment variables.

The defaults point at the local stack that `trawl up` starts, so nothing needs to be set
for local use. Setting `TRAWL_KAFKA_BOOTSTRAP`, `TRAWL_PG_DSN` or `TRAWL_S3_ENDPOINT`
switches that piece to an external server and `trawl up` leaves it alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

LOCAL_KAFKA_PORT = 19092
LOCAL_KAFKA_CONTROLLER_PORT = 19093
LOCAL_PG_PORT = 15432
LOCAL_S3_PORT = 18333


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRAWL_", extra="ignore")

    home: Path = Field(default=REPO_ROOT / ".trawl", description="state of the local stack")
    local_port_offset: int = Field(
        default=0,
        ge=0,
        le=20_000,
        description="added to every port of the local stack, so a second one runs beside the first",
    )

    # External servers; None means "the local stack's".
    kafka_bootstrap: str | None = None
    pg_dsn: str | None = None
    s3_endpoint: str | None = None

    s3_access_key: str = "trawl"
    s3_secret_key: str = "trawl-local-secret"
    s3_region: str = "us-east-1"
    s3_bucket: str = "trawl-data"

    # Isolation of several deployments (or tests) sharing one broker and one database.
    topic_prefix: str = ""
    schema_prefix: str = ""
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication: int = Field(default=1, ge=1)

    # Consumers: attempts before the DLQ, exponential backoff between them.
    handler_max_attempts: int = Field(default=4, ge=1)
    handler_backoff_initial: float = Field(default=0.2, gt=0)
    handler_backoff_max: float = Field(default=10.0, gt=0)
    handler_timeout_seconds: float = Field(default=600.0, gt=0)
    consumer_batch_size: int = Field(
        default=100, ge=1, le=10_000, description="records a consumer handles in one transaction at most"
    )

    # Outbox relay.
    outbox_batch_size: int = Field(default=1000, ge=1)
    outbox_poll_interval: float = Field(default=1.0, gt=0)
    outbox_retention_seconds: float = Field(default=3600.0, ge=0)
    inbox_retention_seconds: float = Field(default=7 * 24 * 3600.0, ge=0)

    # Health/metrics HTTP; each service adds its offset to the base port (0 = ephemeral).
    http_host: str = "127.0.0.1"
    http_base_port: int = 18100

    # Shared secret of the services' internal HTTP endpoints (never exposed publicly).
    internal_token: str = "trawl-local-internal-token"

    # Crawler.
    crawler_user_agent: str = "TrawlBot/0.1 (+https://trawl.dev/bot)"
    crawler_concurrency: int = Field(default=32, ge=1, description="fetches in flight per crawler process")
    crawler_lease_seconds: float = Field(
        default=30.0, gt=0, description="a crashed worker's URLs return to the queue after this"
    )
    crawler_robots_ttl_seconds: float = Field(default=3600.0, gt=0)
    crawler_progress_interval_seconds: float = Field(default=2.0, gt=0)
    crawler_allowed_networks: list[str] = Field(
        default_factory=list,
        description="CIDR networks the SSRF guard lets through (e.g. 127.0.0.0/8 for local test sites)",
    )

    # Web and image search for keyword jobs: a SearXNG instance or the Brave Search API.
    search_provider: Literal["searxng", "brave"] | None = Field(
        default=None, description="which provider keyword jobs use (default: the one configured)"
    )
    searxng_url: str | None = Field(default=None, description="base URL of a SearXNG instance (JSON API on)")
    brave_api_key: SecretStr | None = None
    brave_url: str = "https://api.search.brave.com/res/v1"
    search_rate_per_second: float = Field(
        default=1.0, gt=0, description="requests to the provider, all crawlers"
    )
    search_monthly_quota: int | None = Field(
        default=None, ge=0, description="requests a month; none: no limit"
    )
    search_cache_ttl_seconds: float = Field(default=24 * 3600.0, ge=0)
    search_breaker_failures: int = Field(default=3, ge=1, description="in a row, before the breaker opens")
    search_breaker_cooldown_seconds: float = Field(default=60.0, gt=0)
    search_max_attempts: int = Field(default=5, ge=1)
    search_retry_base_seconds: float = Field(
        default=2.0, gt=0, description="wait before a failed search's second attempt, doubling"
    )
    search_provider_timeout_seconds: float = Field(default=20.0, gt=0)
    keyword_expansion_wait_seconds: float = Field(
        default=600.0,
        gt=0,
        description="how long a keyword run waits for the llm service's expansions before it "
        "completes on what it has",
    )

    # Extractor.
    crawler_internal_url: str | None = Field(
        default=None, description="base URL of the crawler's internal HTTP (default: its local port)"
    )
    extractor_internal_url: str | None = Field(
        default=None, description="base URL of the extractor's internal HTTP (default: its local port)"
    )
    qdrant_url: str | None = Field(
        default=None,
        description="a Qdrant server or cluster; unset means Qdrant Edge embedded in the extractor",
    )
    qdrant_api_key: str | None = None
    qdrant_path: str | None = Field(
        default=None,
        description="Qdrant Edge shards' directory (default <home>/vectors), or ':memory:' (a temporary one)",
    )
    reindex_page_chunks: int = Field(
        default=256, ge=1, description="chunks a reindex copies per recorded step"
    )
    reindex_drop_grace_seconds: float = Field(
        default=5.0, ge=0, description="after a switch, how long the old collection stays for other replicas"
    )
    reindex_check_seconds: float = Field(
        default=30.0, gt=0, description="how often the reindexer looks for work"
    )
    vector_index_threshold: int = Field(
        default=50_000,
        ge=0,
        description="points searched by brute force that start a reindex building their index (0: never)",
    )
    embedding_backend: Literal["local", "openai"] = "local"
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2", description="the model name sent to an OpenAI-compatible server"
    )
    embedding_url: str | None = Field(default=None, description="base URL of an OpenAI-compatible API")
    embedding_api_key: str | None = None
    embedding_dimensions: int | None = Field(default=None, ge=1, description="asked of the server")
    embedding_batch_size: int = Field(default=32, ge=1)
    embedding_timeout_seconds: float = Field(default=60.0, gt=0)
    embedding_max_attempts: int = Field(default=5, ge=1)
    chunk_tokens: int = Field(default=200, ge=16, description="WordPiece tokens per chunk, at most")
    chunk_overlap_tokens: int = Field(default=32, ge=0)
    extractor_max_document_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    extractor_max_pdf_pages: int = Field(default=2000, ge=1)
    index_batch_chunks: int = Field(default=256, ge=1, description="chunks the indexer embeds per round")
    index_poll_interval: float = Field(default=0.5, gt=0)

    # LLM: any OpenAI-compatible /v1/chat/completions.
    llm_url: str | None = Field(
        default=None, description="base URL of an OpenAI-compatible API (…/v1); unset: tasks wait"
    )
    llm_api_key: SecretStr | None = None
    llm_model: str = Field(default="gpt-4o-mini", description="the model tasks use")
    llm_output_mode: Literal["json_schema", "json_object"] = Field(
        default="json_schema",
        description="structured output the server supports; json_object: JSON mode, validated and re-asked",
    )
    llm_max_reasks: int = Field(default=2, ge=0, description="re-asks with the validation errors, per call")
    llm_max_output_tokens: int = Field(default=1024, ge=16)
    llm_context_tokens: int = Field(default=16_000, ge=1024, description="the model's context window")
    llm_timeout_seconds: float = Field(default=120.0, gt=0)
    llm_concurrency: int = Field(default=4, ge=1, description="calls one llm process makes at once")
    llm_max_attempts: int = Field(default=4, ge=1, description="tries of a task before it fails")
    llm_retry_seconds: float = Field(
        default=2.0, gt=0, description="wait before a task's second try, doubling"
    )
    llm_lease_seconds: float = Field(
        default=300.0, gt=0, description="a crashed llm process's tasks are taken up again after this"
    )
    llm_poll_seconds: float = Field(default=0.5, gt=0)
    llm_requests_per_minute: float | None = Field(default=None, gt=0, description="per model, all replicas")
    llm_tokens_per_minute: float | None = Field(default=None, gt=0, description="per model, all replicas")
    llm_breaker_failures: int = Field(default=5, ge=1, description="in a row, before calls pause")
    llm_breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    llm_prompt_price_per_million: float = Field(
        default=0.0, ge=0, description="USD per million prompt tokens"
    )
    llm_completion_price_per_million: float = Field(default=0.0, ge=0)
    llm_internal_url: str | None = Field(
        default=None, description="base URL of the llm service's internal HTTP (default: its local port)"
    )

    # Ingest.
    credits_per_page: float = Field(default=1.0, ge=0, description="credits a fetched page costs")
    credits_per_thousand_tokens: float = Field(
        default=1.0, ge=0, description="credits a thousand LLM tokens cost"
    )
    api_url: str | None = Field(
        default=None, description="public API base URL the CLI talks to (default: ingest's local port)"
    )
    api_key: str | None = Field(
        default=None, description="the CLI's API key (default: the one `trawl keys create` saved)"
    )
    upload_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1, description="per uploaded file")
    api_json_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="per JSON request body")
    rate_limit_per_second: float = Field(default=20.0, gt=0, description="per API key, on average")
    rate_limit_burst: int = Field(default=100, ge=1, description="per API key, at once")
    default_quota_pages_monthly: int = Field(default=1_000_000, ge=0, description="of a new tenant")
    default_max_active_runs: int = Field(default=20, ge=1, description="of a new tenant")
    schedule_poll_seconds: float = Field(default=5.0, gt=0)
    search_timeout_seconds: float = Field(default=30.0, gt=0)

    # Exporter.
    exporter_internal_url: str | None = Field(
        default=None, description="base URL of the exporter's internal HTTP (default: its local port)"
    )
    exporter_concurrency: int = Field(
        default=2, ge=1, description="exports one exporter process runs at once"
    )
    exporter_poll_seconds: float = Field(
        default=0.5, gt=0, description="how often idle workers look for work"
    )
    exporter_lease_seconds: float = Field(
        default=120.0, gt=0, description="a crashed exporter's export is taken up again after this"
    )
    exporter_max_attempts: int = Field(default=3, ge=1, description="tries of an export before it fails")
    exporter_retry_seconds: float = Field(default=5.0, ge=0, description="wait before an export's next try")
    exporter_rows_wait_seconds: float = Field(
        default=600.0,
        gt=0,
        description="how long an automatic export waits for its run's last rows, then is made without them",
    )
    exporter_sweep_seconds: float = Field(
        default=60.0, gt=0, description="how often expired files are deleted"
    )
    exporter_stale_upload_seconds: float = Field(
        default=6 * 3600.0, gt=0, description="an unfinished multipart upload this old is aborted"
    )

    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("kafka_bootstrap", "pg_dsn", "s3_endpoint", mode="before")
    @classmethod
    def _empty_means_local(cls, value: object) -> object:
        """`TRAWL_PG_DSN=` (set but empty) means the local server, as if it were unset."""
        return None if isinstance(value, str) and not value.strip() else value

    def local_port(self, port: int) -> int:
        """Where the local stack's server of default port `port` listens."""
        return port + self.local_port_offset

    @property
    def kafka(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.local_port(LOCAL_KAFKA_PORT)}"

    @property
    def postgres_dsn(self) -> str:
        return self.pg_dsn or f"postgresql://postgres@127.0.0.1:{self.local_port(LOCAL_PG_PORT)}/postgres"

    @property
    def s3_url(self) -> str:
        return self.s3_endpoint or f"http://127.0.0.1:{self.local_port(LOCAL_S3_PORT)}"

    @property
    def extractor_url(self) -> str:
        return self.extractor_internal_url or f"http://{self.http_host}:{self.http_base_port + 2}"

    @property
    def llm_service_url(self) -> str:
        return self.llm_internal_url or f"http://{self.http_host}:{self.http_base_port + 3}"

    @property
    def exporter_url(self) -> str:
        return self.exporter_internal_url or f"http://{self.http_host}:{self.http_base_port + 4}"

    @property
    def crawler_url(self) -> str:
        return self.crawler_internal_url or f"http://{self.http_host}:{self.http_base_port + 1}"

    def search_provider_name(self) -> str | None:
        """The provider keyword jobs search with, or None when none is configured."""
        if self.search_provider == "searxng" and self.searxng_url:
            return "searxng"
        if self.search_provider == "brave" and self.brave_api_key:
            return "brave"
        if self.search_provider is None:
            return "searxng" if self.searxng_url else "brave" if self.brave_api_key else None
        return None

    def schema_for(self, service: str) -> str:
        """The Postgres schema (and role) a service owns."""
        return f"{self.schema_prefix}{service}"
