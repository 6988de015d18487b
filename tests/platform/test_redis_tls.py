"""``REDIS_URL=rediss://...``: arq's pool reads the URL's TLS options as the API's client does.

``RedisSettings.from_dsn`` kept only the scheme, so a private CA named in ``?ssl_ca_certs=``
reached redis-py's client but not arq's pool, which then refused the server's certificate.
"""

from __future__ import annotations

from redis.asyncio import Redis

from reporunner.platform.resources import arq_redis_settings

URL = (
    "rediss://:secret@redis.internal.example:6380/2?ssl_ca_certs=/etc/reporunner/ca.pem"
    "&ssl_check_hostname=true&ssl_cert_reqs=required"
)


def test_arq_reads_the_tls_options_of_the_url_like_redis_py() -> None:
    arq = arq_redis_settings(URL)
    assert (arq.host, arq.port, arq.database, arq.password) == (
        "redis.internal.example",
        6380,
        2,
        "secret",
    )
    assert arq.ssl is True
    assert arq.ssl_ca_certs == "/etc/reporunner/ca.pem"
    assert arq.ssl_check_hostname is True
    assert arq.ssl_cert_reqs == "required"
    client = Redis.from_url(URL)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["ssl_ca_certs"] == arq.ssl_ca_certs
    assert kwargs["ssl_check_hostname"] is arq.ssl_check_hostname


def test_without_tls_or_options_nothing_changes() -> None:
    plain = arq_redis_settings("redis://localhost:6379/0?ssl_ca_certs=/ignored.pem")
    assert plain.ssl is False
    assert plain.ssl_ca_certs is None
    bare = arq_redis_settings("rediss://redis.example:6380/0")
    assert (bare.ssl, bare.ssl_ca_certs, bare.ssl_check_hostname) == (True, None, False)
    off = arq_redis_settings("rediss://redis.example/0?ssl_check_hostname=false")
    assert off.ssl_check_hostname is False
