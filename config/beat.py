"""django-celery-beat's database scheduler, made to outlive a database restart.

The stock scheduler lets an OperationalError escape `tick()`, and beat exits:
after a PostgreSQL restart or failover nothing would be dispatched until
someone restarted beat. Here a database error closes the connection and beat
tries again a few seconds later.
"""

import logging
import time

from django.db import DatabaseError, connections
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)
RETRY_SECONDS = 5.0


class ResilientDatabaseScheduler(DatabaseScheduler):
    def setup_schedule(self):
        # At start-up too: wait for the database rather than exit.
        while True:
            try:
                return super().setup_schedule()
            except DatabaseError as error:
                logger.warning("beat: database unavailable at start (%s); waiting", type(error).__name__)
                for connection in connections.all():
                    connection.close()
                time.sleep(RETRY_SECONDS)

    def tick(self, *args, **kwargs):
        try:
            return super().tick(*args, **kwargs)
        except DatabaseError as error:
            logger.warning(
                "beat: database unavailable (%s); trying again in %.0f s", type(error).__name__, RETRY_SECONDS
            )
            for connection in connections.all():
                connection.close()
            # Forget the cached schedule so it is read afresh once the database is back.
            self._initial_read = True
            self._heap = None
            return RETRY_SECONDS

    def sync(self):
        try:
            super().sync()
        except DatabaseError as error:
            logger.warning("beat: could not save the schedule (%s); will retry", type(error).__name__)
            for connection in connections.all():
                connection.close()
