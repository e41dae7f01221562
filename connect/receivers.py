"""Kept secrets follow their store: a disconnect forgets them at once."""

from django.dispatch import receiver

from stores.signals import store_disconnecting

from .models import CredentialDraft


@receiver(store_disconnecting)
def forget_kept_secrets(sender, store, **kwargs) -> None:
    CredentialDraft.objects.filter(merchant=store.merchant_id, target=store.store_hash).delete()
