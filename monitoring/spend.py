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


MAIN_CURRENCY = "VND"


def team_spend_this_month() -> dict:
    """The team's spend this month, and per endpoint (largest first).

    Amounts in different currencies are never added together: `totals` has one sum per currency;
    `month` and `currency` are the main currency's (VND, or the currency most endpoints are priced
    in when none is in VND), and `other_currencies` lists the rest, for the overview to show apart.
    """
    hours = replica_hours_since(None, month_start())
    endpoints = Endpoint.objects.filter(pk__in=list(hours)).only("pk", "code", "name",
                                                                 "instance_spec")  # fmt: skip
    rows = []
    totals: dict[str, float] = {}
    priced: dict[str, int] = {}
    unpriced = 0
    for endpoint in endpoints:
        price, currency = price_of(endpoint)
        amount = _amount(hours[endpoint.pk], price)
        if amount is None:
            unpriced += 1
        else:
            totals[currency] = totals.get(currency, 0.0) + amount
            priced[currency] = priced.get(currency, 0) + 1
        rows.append(
            {
                "id": str(endpoint.code),
                "name": endpoint.name,
                "replica_hours": round(hours[endpoint.pk], 3),
                "amount": amount,
                "currency": currency,
            }
        )
    rows.sort(key=lambda row: row["amount"] or 0, reverse=True)
    main = MAIN_CURRENCY
    if totals and main not in totals:
        main = max(sorted(priced), key=lambda c: priced[c])
    return {
        "currency": main,
        "month": round(totals.get(main, 0.0), 2),
        "totals": {c: round(totals[c], 2) for c in sorted(totals)},
        "other_currencies": [
            {"currency": c, "amount": round(totals[c], 2)} for c in sorted(totals) if c != main
        ],
        "replica_hours_month": round(sum(hours.values()), 3),
        "unpriced_endpoints": unpriced,
        "endpoints": rows,
    }
