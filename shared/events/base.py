"""What every event is: a JSON payload model with a type name, a partition key and a subject."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

# Below Kafka's default message.max.bytes and the producer's max_request_size (1 MiB): an
# event no broker would take must be refused where it is made (or asked for), not jam a relay.
MAX_EVENT_BYTES = 900 * 1024

SERVICES = ("ingest", "crawler", "extractor", "llm", "exporter")


class Contract(BaseModel):
    """A value that travels inside events: strict about types, lenient about unknown fields
    (a newer producer may add optional fields an older consumer does not know yet)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Event(Contract):
    """Base of every event payload."""

    event_name: ClassVar[str]  # kebab-case, part of the topic and of ce_type
    version: ClassVar[int] = 1
    key_doc: ClassVar[str] = "run id (tenant id for events without a run)"

    tenant_id: UUID

    @classmethod
    def type_name(cls) -> str:
        return f"trawl.{cls.event_name}.v{cls.version}"

    def partition_key(self) -> str:
        """The aggregate whose order matters; run id where there is one."""
        run_id = getattr(self, "run_id", None)
        return str(run_id if run_id is not None else self.tenant_id)

    def subject(self) -> str | None:
        run_id = getattr(self, "run_id", None)
        return None if run_id is None else str(run_id)
