import pytest

from exporters.netsuite_auth import ClientCredentials, TokenCredentials
from exporters.settings import ExportSettings
from ledger.config import ConfigError

TBA = {"NETSUITE_CONSUMER_KEY": "ck", "NETSUITE_CONSUMER_SECRET": "cs-secret", "NETSUITE_TOKEN_ID": "tid", "NETSUITE_TOKEN_SECRET": "ts-secret"}


@pytest.fixture
def references(tmp_path):
    path = tmp_path / "refs.csv"
    path.write_text("kind,key,internal_id\nsubsidiary,main,3\ncurrency,USD,1\naccount,1010,58\n")
    return str(path)


def test_files_only_need_no_erp_settings(tmp_path):
    settings = ExportSettings.from_env({"CLOSE_EXPORT_DIR": str(tmp_path)})
    assert settings.destination.directory == tmp_path and settings.netsuite_push is None and settings.sap_push is None
    assert (settings.netsuite.subsidiary, settings.netsuite.account_reference, settings.sap.company_code) == ("main", "number_name", "1010")


def test_token_based_push_settings_with_references(references):
    settings = ExportSettings.from_env({"NETSUITE_ACCOUNT_ID": "1234567_SB1", "NETSUITE_REFERENCES_FILE": references, **TBA})
    push = settings.netsuite_push
    assert isinstance(push.credentials, TokenCredentials)
    assert (push.account.realm, push.references.subsidiary_id, dict(push.references.currency_ids), dict(push.references.account_ids)) == (
        "1234567_SB1", "3", {"usd": "1"}, {"1010": "58"},
    )
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
