"""A person who is deactivated or loses their role stops being able to call, at once; so does a
key changed or deleted anywhere (the Django admin included), not only through the Keys page."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save


def _user_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    # A sign-in saves last_login only: nothing the gateway reads.
    if not created and set(update_fields or ()) != {"last_login"}:
        from gateway.services import owner_keys_changed

        owner_keys_changed(instance.pk)


def _groups_changed(sender, instance, action, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        from gateway.services import owner_keys_changed

        user_model = get_user_model()
        if isinstance(instance, user_model):
            owner_keys_changed(instance.pk)
        else:  # a group's members changed: pk_set holds the people
            for pk in kwargs.get("pk_set") or ():
                owner_keys_changed(pk)


def _key_changed(sender, instance, **kwargs) -> None:
    from gateway.services import key_versions_bump

    digest = instance.hashed
    transaction.on_commit(lambda: key_versions_bump([digest]))


def connect() -> None:
    from gateway.models import GatewayKey

    post_save.connect(_key_changed, sender=GatewayKey, dispatch_uid="gateway-key-saved")
    post_delete.connect(_key_changed, sender=GatewayKey, dispatch_uid="gateway-key-deleted")
    user_model = get_user_model()
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="gateway-user-saved")
    m2m_changed.connect(
        _groups_changed, sender=user_model.groups.through, dispatch_uid="gateway-groups-changed"
    )
