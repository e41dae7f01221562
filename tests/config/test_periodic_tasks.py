"""The periodic tasks are created by every migrate, once; staff's changes stay."""

from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.celery import app
from config.periodic_tasks import PERIODIC_TASKS, ensure_periodic_tasks


def test_periodic_tasks_are_created_once_and_staff_changes_are_kept(db):
    dispatch = PeriodicTask.objects.get(task="stores.dispatch_due_checks")
    assert dispatch.interval.every == 1 and dispatch.interval.period == IntervalSchedule.MINUTES
    five = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    dispatch.interval = five
    dispatch.save()
    ensure_periodic_tasks()
    call_command("migrate", verbosity=0)
    assert PeriodicTask.objects.filter(task="stores.dispatch_due_checks").count() == 1
    assert PeriodicTask.objects.get(task="stores.dispatch_due_checks").interval == five


def test_every_periodic_task_is_a_registered_task(db):
    for name, task, _every, _period in PERIODIC_TASKS:
        assert task.name in app.tasks, name
        assert PeriodicTask.objects.get(name=name).task == task.name
