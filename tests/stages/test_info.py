import json

import pytest

from seiscli.config.ingest import IngestConfig
from seiscli.errors import NotAnArtifactError
from seiscli.stages.info import run_info
from seiscli.stages.ingest import run_ingest


@pytest.fixture
def segy_dir(shared_data):
    return shared_data / "segy"


def test_volume_facts(segy_dir, tmp_path):
    run_ingest(IngestConfig(segy=segy_dir / "f3-segysak" / "f3-withdead.sgy", out=tmp_path / "v.mdio"))
    facts = run_info(tmp_path / "v.mdio")
    assert facts["kind"] == "volume"
    assert facts["dims"] == {"inline": 23, "crossline": 18, "time": 75}
    assert facts["traces"] == {"live": 239, "dead": 175}
    assert facts["coordinates"]["time"] == {"min": 4, "max": 300, "count": 75, "step": 4}
    assert facts["statistics"]["count"] == 239 * 75
    assert facts["statistics"]["min"] == -10239 and facts["statistics"]["max"] == 10827
    assert facts["compression_ratio"] > 1
    assert facts["segy"]["sampleFormat"] == 1
    assert facts["provenance"]["inputs"][0]["fingerprint"].startswith("sha256-edges:")


def test_segy_facts_show_the_grid_ingest_would_build(segy_dir):
    facts = run_info(segy_dir / "volve" / "volve10-migvel-depth-sub3d.sgy")
    assert facts["kind"] == "segy"
    assert facts["sample_format"] == 5 and facts["byte_order"] == "big"
    assert facts["grid"]["dims"] == {"inline": 18, "crossline": 52}
    assert facts["grid"]["coordinates"]["inline"]["step"] == 4
    assert "Petrel" in facts["text_header"]


def test_not_an_artifact(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(NotAnArtifactError):
        run_info(tmp_path / "folder")
    with pytest.raises(NotAnArtifactError):
        run_info(tmp_path / "missing")


def test_models_lists_every_registered_model_with_its_description():
    from typer.testing import CliRunner

    from seiscli.cli.main import app
    from seiscli.models import list_models

    listing = CliRunner().invoke(app, ["info", "--models", "--json"])
    assert listing.exit_code == 0, listing.output
    entries = json.loads(listing.stdout)["models"]
    names = [entry["name"] for entry in entries]
    assert names == list_models() and "vit_t8_unetr" in names and all(entry["doc"] for entry in entries)
    neither = CliRunner().invoke(app, ["info"])
    assert neither.exit_code == 2 and "either an artifact PATH or --models" in neither.output
