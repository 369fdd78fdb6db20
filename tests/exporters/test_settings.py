import pytest

from exporters.entities import Entity, EntityConfigError
from exporters.netsuite_auth import ClientCredentials, TokenCredentials
from exporters.settings import ExportSettings
from ledger.config import ConfigError

TBA = {"NETSUITE_CONSUMER_KEY": "ck", "NETSUITE_CONSUMER_SECRET": "cs-secret", "NETSUITE_TOKEN_ID": "tid", "NETSUITE_TOKEN_SECRET": "ts-secret"}


@pytest.fixture
def references(tmp_path):
    path = tmp_path / "refs.csv"
    path.write_text("kind,key,internal_id\nsubsidiary,main,3\ncurrency,USD,1\naccount,1010,58\n")
    return str(path)


MAIN = Entity("main", "ACME Robotics Inc", "acct_main", "1", "0001", "usd")
EUROPE = Entity("europe", "ACME Robotics GmbH", "acct_eu", "7", "", "usd")


def test_files_only_need_no_erp_settings_and_take_each_entitys_ids_from_its_seed_row(tmp_path):
    settings = ExportSettings.from_env({"CLOSE_EXPORT_DIR": str(tmp_path)})
    assert settings.destination.directory == tmp_path and settings.netsuite_push is None and settings.sap_push is None
    assert (settings.netsuite_options(MAIN).subsidiary, settings.netsuite_options(MAIN).account_reference) == ("1", "number_name")
    assert (settings.netsuite_options(EUROPE).subsidiary, settings.sap_options(MAIN).company_code) == ("7", "0001")
    with pytest.raises(EntityConfigError, match=r"entity 'europe' \(ACME Robotics GmbH\) has no sap_company_code in seeds/entities.csv"):
        settings.sap_options(EUROPE)


@pytest.mark.parametrize(("variable", "column"), [("NETSUITE_SUBSIDIARY", "netsuite_subsidiary"), ("SAP_COMPANY_CODE", "sap_company_code")])
def test_the_retired_single_entity_variables_are_refused_pointing_at_the_seed(variable, column):
    with pytest.raises(ConfigError, match=f"{variable} is no longer read: each entity's {column} comes from seeds/entities.csv"):
        ExportSettings.from_env({variable: "1010"})


def test_token_based_push_settings_with_references(references):
    settings = ExportSettings.from_env({"NETSUITE_ACCOUNT_ID": "1234567_SB1", "NETSUITE_REFERENCES_FILE": references, **TBA})
    push = settings.netsuite_push
    assert isinstance(push.credentials, TokenCredentials)
    main, europe = push.client(MAIN).references, push.client(EUROPE).references
    assert (push.account.realm, main.subsidiary_id, dict(main.currency_ids), dict(main.account_ids)) == ("1234567_SB1", "3", {"usd": "1"}, {"1010": "58"})
    # Without a references row, REST takes the seed's subsidiary; without either, the entity is named.
    assert europe.subsidiary_id == "7"
    with pytest.raises(EntityConfigError, match="entity 'nowhere' .* netsuite_subsidiary is empty .* NETSUITE_REFERENCES_FILE has no subsidiary row"):
        push.client(Entity("nowhere", "Nowhere Ltd", "acct_x", "", "", "usd"))
    assert "secret" not in repr(settings)


def test_oauth2_settings_read_the_private_key_file(references, tmp_path):
    key = tmp_path / "m2m.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n")
    environment = {"NETSUITE_ACCOUNT_ID": "1", "NETSUITE_REFERENCES_FILE": references, "NETSUITE_CLIENT_ID": "client", "NETSUITE_CERTIFICATE_ID": "cert", "NETSUITE_PRIVATE_KEY_FILE": str(key)}
    credentials = ExportSettings.from_env(environment).netsuite_push.credentials
    assert isinstance(credentials, ClientCredentials) and credentials.certificate_id == "cert"
    assert "PRIVATE KEY" not in repr(credentials)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"NETSUITE_ACCOUNT_ID": "1", "NETSUITE_CONSUMER_KEY": "ck"}, "NETSUITE_CONSUMER_SECRET, NETSUITE_TOKEN_ID, NETSUITE_TOKEN_SECRET is/are not"),
        ({"NETSUITE_ACCOUNT_ID": "1", **TBA}, "NETSUITE_REFERENCES_FILE must give the internal ids"),
        ({"NETSUITE_ACCOUNT_ID": "1", "NETSUITE_CLIENT_ID": "c"}, "NETSUITE_PRIVATE_KEY_FILE must name the PEM private key"),
        ({"SAP_URL": "http://sap"}, "SAP_USER and SAP_PASSWORD"),
        ({"NETSUITE_ACCOUNT_REFERENCE": "email"}, "account_reference 'email' is not one of"),
        ({"CLOSE_EXPORT_S3_URI": "bucket/prefix"}, "must look like s3://bucket/prefix"),
        ({"NETSUITE_REFERENCES_FILE": "/nonexistent/refs.csv"}, "does not exist"),
    ],
)
def test_incomplete_settings_name_what_is_missing_without_values(environment, message):
    with pytest.raises(ConfigError, match=message) as raised:
        ExportSettings.from_env(environment)
    assert "cs-secret" not in str(raised.value) and "ts-secret" not in str(raised.value)


def test_a_bad_references_row_is_named_by_line(tmp_path):
    path = tmp_path / "refs.csv"
    path.write_text("kind,key,internal_id\nsubsidiary,main,3\ncolour,usd,1\n")
    with pytest.raises(ConfigError, match="refs.csv line 3: expected kind"):
        ExportSettings.from_env({"NETSUITE_REFERENCES_FILE": str(path)})
