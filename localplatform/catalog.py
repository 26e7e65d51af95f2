"""What the local platform offers: regions, Model Registry entries and instance types.

Instance type names follow the documented vServer/VKS flavor convention
(`g1-standard-4x16-1rtx2080ti` = GPU family 1, standard ratio, 4 vCPU x 16 GB RAM, 1 x RTX 2080 Ti).
VRAM per card follows the reference (§8: the console shows 11 GB for an RTX 2080 Ti, 24 GB for an
RTX 4090, 46 GB for an A40). No per-flavor price is public: the prices below are ours, in VND per
hour, only so that the wizard has something to add up.
"""

from __future__ import annotations

from typing import Any

REGIONS = [
    {"id": "HCM", "name": "Ho Chi Minh City", "zone": "HCM-1A", "status": "ACTIVE"},
]

DEMO_SERVED_MODEL_NAME = "demo-chat"

# memoryGb: GPU memory the model needs to load (weights plus a KV cache for a modest context).
REGISTRY_MODELS: list[dict[str, Any]] = [
    {
        "id": "mr-5f0c7a51-1d7b-4a57-9d39-0d3c2a6de001",
        "name": "demo-chat",
        "description": "Tiny built-in demo model of the local platform (a word trigram sampler).",
        "framework": "demo",
        "frameworkVersion": "1.0",
        "servedModelName": DEMO_SERVED_MODEL_NAME,
        "memoryGb": 0.1,
        "maxContextLength": 2048,
        "region": "HCM",
        "status": "ACTIVE",
        "createdAt": "2025-09-01T08:00:00Z",
    },
    {
        "id": "mr-5f0c7a51-1d7b-4a57-9d39-0d3c2a6de002",
        "name": "qwen2-5-0-5b-instruct",
        "description": "Qwen/Qwen2.5-0.5B-Instruct served by vLLM.",
        "framework": "vLLM",
        "frameworkVersion": "0.7.2",
        "servedModelName": "Qwen/Qwen2.5-0.5B-Instruct",
        "memoryGb": 4,
        "maxContextLength": 32768,
        "region": "HCM",
        "status": "ACTIVE",
        "createdAt": "2025-09-01T08:00:00Z",
    },
    {
        "id": "mr-5f0c7a51-1d7b-4a57-9d39-0d3c2a6de003",
        "name": "qwen2-5-7b-instruct",
        "description": "Qwen/Qwen2.5-7B-Instruct served by vLLM.",
        "framework": "vLLM",
        "frameworkVersion": "0.7.2",
        "servedModelName": "Qwen/Qwen2.5-7B-Instruct",
        "memoryGb": 18,
        "maxContextLength": 32768,
        "region": "HCM",
        "status": "ACTIVE",
        "createdAt": "2025-09-01T08:00:00Z",
    },
    {
        "id": "mr-5f0c7a51-1d7b-4a57-9d39-0d3c2a6de004",
        "name": "llama-3-8b-instruct",
        "description": "meta-llama/Meta-Llama-3-8B-Instruct served by vLLM.",
        "framework": "vLLM",
        "frameworkVersion": "0.7.2",
        "servedModelName": "meta-llama/Meta-Llama-3-8B-Instruct",
        "memoryGb": 20,
        "maxContextLength": 8192,
        "region": "HCM",
        "status": "ACTIVE",
        "createdAt": "2025-09-01T08:00:00Z",
    },
]


def _instance_type(
    name: str, group: str, vcpu: int, ram: int, gpu: str, count: int, vram: int, price: int
) -> dict:
    return {
        "id": name,
        "name": name,
        "group": group,
        "region": "HCM",
        "vcpu": vcpu,
        "ramGb": ram,
        "gpuModel": gpu,
        "gpuCount": count,
        "vramGb": vram * count,
        "pricePerHour": price,
        "currency": "VND",
    }


INSTANCE_TYPES = [
    _instance_type(
        "g1-standard-4x16-1rtx2080ti", "GPU-CODE-RTX2080TI", 4, 16, "RTX 2080 Ti", 1, 11, 6868
    ),
    _instance_type(
        "g1-standard-8x32-2rtx2080ti", "GPU-CODE-RTX2080TI", 8, 32, "RTX 2080 Ti", 2, 11, 13736
    ),
    _instance_type(
        "g2-standard-16x64-1rtx4090", "GPU-CODE-RTX4090", 16, 64, "RTX 4090", 1, 24, 19500
    ),
    _instance_type(
        "g2-standard-32x128-4rtx4090", "GPU-CODE-RTX4090", 32, 128, "RTX 4090", 4, 24, 78000
    ),
    _instance_type("g3-standard-16x64-1a40", "GPU-CODE-A40", 16, 64, "A40", 1, 46, 32000),
]


def find(items: list[dict], item_id: str) -> dict | None:
    return next((item for item in items if item["id"] == item_id), None)
