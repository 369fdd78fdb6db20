"""The dbt project as Dagster sees it, with its manifest prepared when missing."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from ledger.dbt_project import DBT_PROJECT_DIR, dbt_executable

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _manifest_is_stale() -> bool:
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", *(
        path for folder in ("models", "seeds", "macros", "tests") for path in (DBT_PROJECT_DIR / folder).rglob("*") if path.is_file()
    )]
    return any(path.stat().st_mtime > built for path in sources)


def prepare_manifest(force: bool = False) -> Path:
    """Parse the dbt project into target/manifest.json when it is missing or older than the project."""
    if force or _manifest_is_stale():
        dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
        dbt.cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return dbt_project.manifest_path


prepare_manifest()
