"""Spend so far: replica-hours observed (monitoring.replicas) x the instance type's price per
hour, as the wizard's estimate prices it (endpoints.scaling.cost_range, VAT excluded).

The price is the one the endpoint keeps of its instance type (`instance_spec`): an endpoint
whose type has no known price has replica-hours and no amount.
"""

from __future__ import annotations

from datetime import datetime, time

from django.db.models import Sum
from django.utils import timezone

from endpoints.models import Endpoint
from monitoring.models import ReplicaHour


def month_start() -> datetime:
    """Midnight on the first of this month, in TIME_ZONE (a whole hour in UTC for UTC+7)."""
    local = timezone.localtime()
    return timezone.make_aware(datetime.combine(local.date().replace(day=1), time.min))


def price_of(endpoint: Endpoint) -> tuple[float | None, str]:
    spec = endpoint.instance_spec or {}
    price = spec.get("price_per_hour")
    return (float(price) if price is not None else None), spec.get("currency") or "VND"


def replica_hours_since(endpoint_ids: list[int] | None, since: datetime) -> dict[int, float]:
    """Per endpoint (all of them with None): replica-hours observed since `since`."""
    rows = ReplicaHour.objects.filter(start__gte=since)
    if endpoint_ids is not None:
        rows = rows.filter(endpoint_id__in=endpoint_ids)
    sums = rows.values("endpoint_id").annotate(seconds=Sum("replica_seconds"))
    return {row["endpoint_id"]: (row["seconds"] or 0) / 3600 for row in sums}


def _amount(hours: float, price: float | None) -> float | None:
    return None if price is None else round(hours * price, 2)


def endpoint_spend(endpoint: Endpoint, range_replica_hours: float) -> dict:
    price, currency = price_of(endpoint)
    month_hours = replica_hours_since([endpoint.pk], month_start()).get(endpoint.pk, 0.0)
    return {
        "currency": currency,
        "price_per_hour": price,
        "replica_hours_range": round(range_replica_hours, 3),
        "range": _amount(range_replica_hours, price),
        "replica_hours_month": round(month_hours, 3),
        "month": _amount(month_hours, price),
        "estimate": endpoint.cost_range(),
    }


def team_spend_this_month() -> dict:
    """The team's spend this month, and per endpoint (largest first)."""
    hours = replica_hours_since(None, month_start())
    endpoints = Endpoint.objects.filter(pk__in=list(hours)).only("pk", "code", "name",
                                                                 "instance_spec")  # fmt: skip
    rows = []
    total = 0.0
    unpriced = 0
    currency = "VND"
    for endpoint in endpoints:
        price, currency = price_of(endpoint)
        amount = _amount(hours[endpoint.pk], price)
        if amount is None:
            unpriced += 1
        else:
            total += amount
        rows.append(
            {
                "id": str(endpoint.code),
                "name": endpoint.name,
                "replica_hours": round(hours[endpoint.pk], 3),
                "amount": amount,
            }
        )
    rows.sort(key=lambda row: row["amount"] or 0, reverse=True)
    return {
        "currency": currency,
        "month": round(total, 2),
        "replica_hours_month": round(sum(hours.values()), 3),
        "unpriced_endpoints": unpriced,
        "endpoints": rows,
    }
