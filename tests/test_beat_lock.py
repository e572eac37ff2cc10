"""Beat in exactly one place (issue 17 § 1): the beat lock of config.beat. Two beats running at once
with a real worker are tests/integration/test_two_beats.py."""

import pytest
import redis

from config.beat import LOCK_KEY, FileLeaderLock, RedisLeaderLock

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_url():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    client.delete(LOCK_KEY)
    yield REDIS_URL
    client.delete(LOCK_KEY)


def test_one_redis_lock_holder_at_a_time(redis_url):
    first, second = RedisLeaderLock(redis_url, 5), RedisLeaderLock(redis_url, 5)
    assert first.hold()
    assert not second.hold()
    assert first.hold()  # renewed by its holder
    assert not second.hold()
    second.release()  # not the holder: changes nothing
    assert not second.hold()
    first.release()
    assert second.hold()
    assert not first.hold()


def test_a_dead_holders_redis_lock_runs_out(redis_url):
    first, second = RedisLeaderLock(redis_url, 0.3), RedisLeaderLock(redis_url, 0.3)
    assert first.hold()
    assert not second.hold()
    import time

    time.sleep(0.5)  # the holder stopped renewing
    assert second.hold()
    assert not first.hold()


def test_without_redis_nobody_leads():
    lock = RedisLeaderLock("redis://127.0.0.1:1/0", 5)
    assert not lock.hold()


def test_one_file_lock_holder_at_a_time(tmp_path):
    path = str(tmp_path / "run" / "beat.lock")
    first, second = FileLeaderLock(path, 5), FileLeaderLock(path, 5)
    assert first.hold() and first.hold()
    assert not second.hold()
    first.release()
    assert second.hold()
    second.release()
