"""Replicas, autoscaling thresholds and what they cost: shared by the wizard, Edit scaling and
the endpoint page."""

from __future__ import annotations

from endpoints.clients.aiplatform import InstanceType

HOURS_PER_MONTH = 730
MAX_REPLICAS = 10

# Autoscaling thresholds: (default, minimum, maximum). The docs give 25-75 % for CPU/RAM and the
# sibling CLI validates 10-90 (vngcloud-api.md §3.1, INFERRED); the latency range is ours.
THRESHOLDS: dict[str, tuple[int, int, int]] = {
    "cpu_threshold": (70, 10, 90),
    "ram_threshold": (70, 10, 90),
    "gpu_threshold": (80, 10, 90),
    "latency_threshold_ms": (1000, 100, 60000),
}


def cost_range(instance: dict, min_replicas: int, max_replicas: int) -> dict | None:
    """Cost per hour and per month (730 h) from min to max replicas, VAT excluded."""
    price = instance.get("price_per_hour")
    if price is None:
        return None
    return {
        "currency": instance.get("currency") or "VND",
        "hour_min": price * min_replicas,
        "hour_max": price * max_replicas,
        "month_min": price * min_replicas * HOURS_PER_MONTH,
        "month_max": price * max_replicas * HOURS_PER_MONTH,
    }


def instance_spec(instance: InstanceType) -> dict:
    """What the endpoint keeps of its instance type (the page shows it after the catalog moved)."""
    return {
        "name": instance.name,
        "group": instance.group,
        "vcpu": instance.vcpu,
        "ram_gb": instance.ram_gb,
        "gpu_model": instance.gpu_model,
        "gpu_count": instance.gpu_count,
        "vram_gb": instance.vram_gb,
        "price_per_hour": instance.price_per_hour,
        "currency": instance.currency,
    }


def autoscaling_from_platform(raw: dict) -> dict:
    """The platform's autoscaling object (camelCase, UNVERIFIED names) as our threshold keys."""
    names = {
        "cpu_threshold": "cpuUtilization",
        "ram_threshold": "memoryUtilization",
        "gpu_threshold": "gpuUtilization",
        "latency_threshold_ms": "responseLatencyMs",
    }
    return {ours: raw[theirs] for ours, theirs in names.items() if raw.get(theirs) is not None}
