"""Kept secrets follow their store: a disconnect forgets them at once."""

from django.db.models import Q
from django.dispatch import receiver

from stores.signals import store_disconnecting

from .models import CredentialDraft


@receiver(store_disconnecting)
def forget_kept_secrets(sender, store, **kwargs) -> None:
    for_store = Q(target=store.store_hash) | Q(store_hash=store.store_hash)
    CredentialDraft.objects.filter(for_store, merchant=store.merchant_id).delete()
