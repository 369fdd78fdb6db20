"""The entities an export run covers, with the ids each ERP knows them by, from the warehouse.

Each entity's NetSuite subsidiary and SAP company code come from the seed `entities`
(`seeds/entities.csv`) as dbt loaded it into `accounting.entities`: the ledger and its exports
read the same configuration. A target that needs an id the seed row leaves empty stops the whole
run before anything is written or pushed, naming the entity and the column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

# The entity id is part of folder, file and S3 key names, and of the ERP external ids.
ENTITY_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]+")


class EntityConfigError(ValueError):
    """An entity's seed row cannot serve an export; the message names the entity and the column."""


@dataclass(frozen=True)
class Entity:
    entity_id: str
    entity_name: str
    stripe_account_id: str
    # Empty when the seed row leaves it empty: an entity need not be in both ERPs.
    netsuite_subsidiary: str
    sap_company_code: str
    functional_currency: str

    def erp_id(self, column: str) -> str:
        """The value of `column` (netsuite_subsidiary, sap_company_code); refuses an empty one."""
        value = getattr(self, column)
        if not value:
            raise EntityConfigError(
                f"entity {self.entity_id!r} ({self.entity_name}) has no {column} in seeds/entities.csv (table accounting.entities): "
                f"fill it in, load the seed again (dbt seed, or the next close) and export again; nothing was written or pushed"
            )
        return value


def load_entities(connection: duckdb.DuckDBPyConnection) -> dict[str, Entity]:
    """Every entity of the seed by id. The ERP ids are read as text: a company code keeps its leading zeros."""
    rows = connection.execute(
        """
        select
            cast(entity_id as string), coalesce(cast(entity_name as string), ''), coalesce(cast(stripe_account_id as string), ''),
            coalesce(trim(cast(netsuite_subsidiary as string)), ''), coalesce(trim(cast(sap_company_code as string)), ''),
            cast(functional_currency as string)
        from accounting.entities
        order by entity_id
        """
    ).fetchall()
    entities = {row[0]: Entity(*row) for row in rows}
    for entity_id in entities:
        if not ENTITY_ID_PATTERN.fullmatch(entity_id):
            raise EntityConfigError(f"entity id {entity_id!r} in seeds/entities.csv may only hold letters, digits, '-' and '_' (it names export folders and files)")
    return entities


def select_entities(entities: dict[str, Entity], with_lines: Iterable[str], entity_id: str | None = None) -> list[Entity]:
    """The entities a run covers, by id: those with journal lines (`with_lines`), or only `entity_id` among
    them. Refuses an `entity_id` the seed lacks, and journal lines of an entity the seed lacks."""
    if entity_id is not None and entity_id not in entities:
        raise EntityConfigError(f"no entity {entity_id!r} in seeds/entities.csv; its entities are {sorted(entities)}")
    covered = sorted({entity for entity in with_lines if entity_id in (None, entity)})
    unknown = [entity for entity in covered if entity not in entities]
    if unknown:
        raise EntityConfigError(f"entity(ies) {unknown} have journal lines but no row in seeds/entities.csv: add them there")
    return [entities[entity] for entity in covered]
