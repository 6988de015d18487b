"""Process-wide resources built once at start-up (database engine, Redis, arq pool, the store
of uploaded originals).

The API and the worker both hold one ``Resources``; routes and jobs receive it (or its parts)
through dependency injection rather than reading globals.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reporunner.nodes.codesandbox import configure as configure_code_sandbox
from reporunner.nodes.ssrf_litellm import configure as configure_llm_guard
from reporunner.platform.db.session import autocommit_factory, create_engine, session_factory
from reporunner.platform.jobcodec import ARQ_SERIALIZERS
from reporunner.platform.originals import OriginalStore, open_original_store
from reporunner.platform.settings import Settings
from reporunner.platform.vault import Keyring, keyring_from_settings

__all__ = ["Resources", "arq_redis_settings", "open_resources"]


@dataclass(slots=True)
class Resources:
    """What a process shares: ``sessions`` open transactions, ``autocommit`` sessions (same
    pool) run units of work of one statement without ``BEGIN``/``COMMIT``."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    arq: ArqRedis
    keyring: Keyring
    autocommit: async_sessionmaker[AsyncSession]
    originals: OriginalStore
    """Where uploaded originals live (PostgreSQL, or an S3-compatible bucket)."""

    async def close(self) -> None:
        await self.originals.close()
        await self.arq.aclose()
        await self.redis.aclose()
        await self.engine.dispose()


_TLS_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")


def arq_redis_settings(url: str) -> RedisSettings:
    """arq's connection settings for ``url``, with the TLS options of its query.

    ``RedisSettings.from_dsn`` reads only the scheme of a ``rediss://`` URL; the API's own
    client (redis-py's ``from_url``) also reads ``ssl_ca_certs``, ``ssl_certfile``,
    ``ssl_keyfile``, ``ssl_cert_reqs`` and ``ssl_check_hostname``. Both clients of a process
    must reach the same server the same way, so arq's gets them too.
    """
    found = RedisSettings.from_dsn(url)
    if not found.ssl:
        return found
    query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items() if v}
    options: dict[str, object] = {k: query[k] for k in _TLS_FILES if k in query}
    if "ssl_check_hostname" in query:
        options["ssl_check_hostname"] = query["ssl_check_hostname"].strip().lower() not in (
            "0", "f", "false", "n", "no", ""
        )  # fmt: skip
    return replace(found, **options)  # type: ignore[arg-type]


async def open_resources(settings: Settings) -> Resources:
    """Connect to the services named in ``settings`` (URLs must be resolved already)."""
    if settings.database_url is None or settings.redis_url is None:
        raise ValueError("resolve the embedded services before opening resources")
    configure_llm_guard(settings.llm_allow_hosts.split(","), settings.llm_api_base)
    configure_code_sandbox(settings.code_limits())
    engine = create_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
    arq = await create_pool(
        arq_redis_settings(settings.redis_url),
        default_queue_name=settings.queue_name,
        **ARQ_SERIALIZERS,  # JSON, never pickle
    )
    return Resources(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        redis=redis,
        arq=arq,
        keyring=keyring_from_settings(settings),
        autocommit=autocommit_factory(engine),
        originals=open_original_store(settings, engine),
    )
