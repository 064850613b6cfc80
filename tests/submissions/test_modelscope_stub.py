"""The ModelScope stand-in answers the real ``modelscope`` client the way modelscope.cn does, reached through the
client's own endpoint setting: ``MODELSCOPE_ENDPOINT``, read by the client's configuration, with no endpoint passed."""
from __future__ import annotations

from pathlib import Path

import pytest
from modelscope_hub import HubApi, HubConfig
from modelscope_hub.errors import NotExistError, PermissionDeniedError

from tests.modelscope_stub import ModelScopeStub


def test_the_client_reads_the_stand_in_through_its_endpoint_setting(modelscope: ModelScopeStub,
                                                                    tiny_models: dict[str, Path],
                                                                    tmp_path: Path) -> None:
    modelscope.add_repo("org/tiny", tiny_models["random"])
    modelscope.add_repo("org/gated", tiny_models["random"], gated=True)
    api = HubApi(HubConfig(token=""))  # the endpoint comes from MODELSCOPE_ENDPOINT, as for any client user
    info = api.get_repo("org/tiny", "model")
    assert ("GET", "/openapi/v1/models/org/tiny") in modelscope.requests  # asked the stand-in, nothing else
    assert (info.repo_id, info.gated, info.private) == ("org/tiny", False, False)
    sizes = {f.path: f.size for f in api.list_repo_files("org/tiny", "model") if not f.is_dir}
    assert sizes["model.safetensors"] == (tiny_models["random"] / "model.safetensors").stat().st_size
    path = api.download_file("org/tiny", "model", "config.json", cache_dir=tmp_path)
    assert path.read_bytes() == (tiny_models["random"] / "config.json").read_bytes()
    assert api.get_repo("org/gated", "model").gated is True
    with pytest.raises(PermissionDeniedError):  # a gated model's files need a granted token
        api.download_file("org/gated", "model", "config.json", cache_dir=tmp_path)
    with pytest.raises(NotExistError):
        api.get_repo("org/none", "model")
