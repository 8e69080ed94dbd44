"""One resource class per amoCRM endpoint family; :class:`~amo_bridge.api.client.AmoClient` owns them."""

from amo_bridge.api.resources.account import AccountResource
from amo_bridge.api.resources.calls import CallsResource
from amo_bridge.api.resources.catalogs import CatalogsResource
from amo_bridge.api.resources.contacts import CompaniesResource, ContactsResource
from amo_bridge.api.resources.events import EventsResource
from amo_bridge.api.resources.leads import LeadsResource
from amo_bridge.api.resources.links import LinksResource
from amo_bridge.api.resources.notes import NotesResource
from amo_bridge.api.resources.pipelines import PipelinesResource
from amo_bridge.api.resources.tasks import TasksResource
from amo_bridge.api.resources.unsorted import UnsortedResource
from amo_bridge.api.resources.users import UsersResource
from amo_bridge.api.resources.webhooks import WebhooksResource

__all__ = [
    "AccountResource",
    "CallsResource",
    "CatalogsResource",
    "CompaniesResource",
    "ContactsResource",
    "EventsResource",
    "LeadsResource",
    "LinksResource",
    "NotesResource",
    "PipelinesResource",
    "TasksResource",
    "UnsortedResource",
    "UsersResource",
    "WebhooksResource",
]
