"""Abuse limits per caller (`sub`): refused commands and expensive reads, answered 429 with `Retry-After`.

Built on the `limits` library: a moving window per caller, in memory by default (one API process), or shared in Redis
(`P2HAM_RATE_LIMIT_STORAGE=redis://host:6379`, with the `redis` package installed) when several API processes serve.
"""

import math
import time

from limits import RateLimitItem, parse, storage, strategies

from models.contracts import Actor
from service.errors import ApiError
from service.settings import Settings
from workflows.reasons import reason


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self.limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(settings.rate_limit_storage))
        self.limits: dict[str, RateLimitItem] = {
            "refused": parse(settings.rate_limit_refused),
            "expensive": parse(settings.rate_limit_expensive),
        }

    def _refuse(self, kind: str, actor: Actor) -> ApiError:
        reset, _ = self.limiter.get_window_stats(self.limits[kind], kind, actor.sub)
        wait = max(1, math.ceil(reset - time.time()))
        return ApiError(
            429,
            "too_many_requests",
            reason(f"batas.{kind}", detik=wait),
            headers={"Retry-After": str(wait)},
        )

    def before_command(self, actor: Actor) -> None:
        """A caller whose commands were refused too often lately waits before sending more (nothing is logged)."""
        if not self.limiter.test(self.limits["refused"], "refused", actor.sub):
            raise self._refuse("refused", actor)

    def refused(self, actor: Actor) -> None:
        self.limiter.hit(self.limits["refused"], "refused", actor.sub)

    def expensive(self, actor: Actor) -> None:
        """Count one expensive read (audit replay, audit pack, a dashboard computed afresh); 429 over the limit."""
        if not self.limiter.hit(self.limits["expensive"], "expensive", actor.sub):
            raise self._refuse("expensive", actor)
