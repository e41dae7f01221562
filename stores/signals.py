"""What the store services announce, for parts that react (webhook registration).

- `credentials_saved(store)`: after connect or replace commits; the store has
  working credentials.
- `store_disconnecting(store)`: inside `store_disconnect`, under the store's
  row lock, just before the credentials are deleted: the last moment they can
  be read. Receivers must be quick, make no network call (read what they need
  into memory and do the remote work in `transaction.on_commit`, as the
  webhooks' removal does) and never raise: disconnecting always succeeds.
"""

from django.dispatch import Signal

credentials_saved = Signal()
store_disconnecting = Signal()
status_flipped_by_traffic = Signal()
