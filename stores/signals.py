"""What the store services announce, for parts that react (webhook registration).

- `credentials_saved(store)`: after connect or replace commits; the store has
  working credentials.
- `store_disconnecting(store)`: inside `store_disconnect`, just before the
  credentials are deleted: the last moment they can be used (e.g. to remove
  the webhooks registered with them). Receivers must be quick and must never
  raise: disconnecting always succeeds.
"""

from django.dispatch import Signal

credentials_saved = Signal()
store_disconnecting = Signal()
