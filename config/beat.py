"""Celery beat in exactly one place (docs/betrieb.md, "Beat: genau einmal").

Beat is meant to run once per installation (one ``beat`` unit or container). If a second one is
started by mistake — a worker on another node started with ``-B``, a second container — it must not
send the periodic jobs a second time. ``LeaderScheduler`` (``CELERY_BEAT_SCHEDULER``) sends due jobs
only while it holds the beat lock:

- with Redis (``REDIS_URL``): the key ``kinderschutz:beat-leader`` set with ``NX`` and a time to live
  of ``BEAT_LOCK_SECONDS``, renewed by its holder at every tick (at least every third of the time to
  live); a beat that finds it held by another only checks again. When the holder dies, the key runs
  out and another beat takes over within ``BEAT_LOCK_SECONDS``.
- without Redis (the embedded broker of ``make run``, one machine): an exclusive ``flock`` on
  ``VAR_DIR/run/beat.lock``, released by the kernel when the process ends.

The jobs themselves stay idempotent per referral and deadline (``Escalation``'s unique constraint,
reminders recorded in the database), so even the short overlap that a lost lock allows — a holder
frozen for longer than the time to live — sends nothing twice.
"""

import fcntl
import logging
import os
import socket
import uuid

import redis
from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger("config.beat")

LOCK_KEY = "kinderschutz:beat-leader"
MAX_WAIT_SECONDS = 5.0
# Renew only if we still hold it; a lock taken over by another beat is never extended or deleted.
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisLeaderLock:
    def __init__(self, url: str, seconds: float):
        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self.seconds = seconds
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def hold(self) -> bool:
        """Take the lock if it is free, renew it if it is ours; False if another beat holds it or
        Redis does not answer (then nothing could be sent anyway)."""
        ttl_ms = int(self.seconds * 1000)
        try:
            if self.client.eval(RENEW, 1, LOCK_KEY, self.token, ttl_ms):
                return True
            return bool(self.client.set(LOCK_KEY, self.token, nx=True, px=ttl_ms))
        except redis.RedisError as exc:
            logger.warning("beat lock: Redis not reachable (%s); sending nothing", type(exc).__name__)
            return False

    def release(self) -> None:
        try:
            self.client.eval(RELEASE, 1, LOCK_KEY, self.token)
        except redis.RedisError:
            pass  # runs out on its own


class FileLeaderLock:
    def __init__(self, path: str, seconds: float):
        self.path = path
        self.seconds = seconds
        self.handle = None

    def hold(self) -> bool:
        if self.handle is not None:
            return True
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        handle = open(self.path, "a")  # noqa: SIM115 - held open for the life of the process
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def leader_lock():
    seconds = float(settings.BEAT_LOCK_SECONDS)
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return RedisLeaderLock(url, seconds)
    return FileLeaderLock(str(settings.VAR_DIR / "run" / "beat.lock"), seconds)


class LeaderScheduler(PersistentScheduler):
    """Celery's persistent scheduler that sends only while it holds the beat lock."""

    def __init__(self, *args, **kwargs):
        self.lock = leader_lock()
        self.leading = False
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        holds = self.lock.hold()
        if holds != self.leading:
            self.leading = holds
            if holds:
                logger.info("beat lock taken: this beat sends the periodic jobs")
            else:
                logger.warning("beat lock lost: another beat sends the periodic jobs")
        # The holder renews well before the lock runs out; a waiting beat (or one that lost Redis)
        # looks again within seconds, so jobs resume soon after the holder dies or Redis is back.
        interval = min(self.lock.seconds / 3, MAX_WAIT_SECONDS)
        if not holds:
            if not getattr(self, "_follower_logged", False):
                self._follower_logged = True
                logger.info("beat lock held by another beat: waiting, sending nothing")
            return interval
        return min(super().tick(*args, **kwargs), interval)

    def close(self):
        try:
            super().close()
        finally:
            self.lock.release()
