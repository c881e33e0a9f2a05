"""`pokegan fetch-is-weights` and the sha256 check of every IS classifier file, with file://
URLs to small fake files (no network): the right file lands where torch-fidelity looks, a wrong
one leaves nothing behind, and a wrong file already in place is an error that names it."""
import hashlib
import re

import pytest
import torch

from pokegan.cli import main
from pokegan.metrics import inception_score as isc
from pokegan.metrics import is_weights


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """torch's hub cache in tmp_path: nothing of the real cache is read or written."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def _fake(tmp_path, data=b"not really an inception network\n" * 100):
    src = tmp_path / "served" / "weights.pth"
    src.parent.mkdir()
    src.write_bytes(data)
    return src, hashlib.sha256(data).hexdigest()


def test_pinned_file_is_torch_fidelitys(hub):
    """Our URL is the one torch-fidelity downloads from, the file lands under the name it looks
    for, and the pinned digest begins with the prefix that name carries (torch.hub's
    <name>-<sha256 prefix>.pth convention)."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
    assert is_weights.IS_WEIGHTS_URL == URL_INCEPTION_V3
    assert is_weights.cached_path() == hub / URL_INCEPTION_V3.rsplit("/", 1)[1]
    prefix = re.compile(torch.hub.HASH_REGEX).search(is_weights.IS_WEIGHTS_FILE).group(1)
    assert len(prefix) == 8 and is_weights.IS_WEIGHTS_SHA256.startswith(prefix)
    assert re.fullmatch(r"[0-9a-f]{64}", is_weights.IS_WEIGHTS_SHA256)


def test_fetch_puts_the_verified_file_in_the_hub_cache(tmp_path, hub, capsys):
    src, digest = _fake(tmp_path)
    assert main(["fetch-is-weights", "--url", src.as_uri(), "--sha256", digest]) == 0
    dest = hub / is_weights.IS_WEIGHTS_FILE
    assert dest.read_bytes() == src.read_bytes()
    assert [p.name for p in hub.iterdir()] == [dest.name]          # no temporary file left
    assert "sha256 verified" in capsys.readouterr().err
    # a second call finds it and downloads nothing (the source is gone)
    src.unlink()
    assert main(["fetch-is-weights", "--url", src.as_uri(), "--sha256", digest]) == 0
    assert "already in place" in capsys.readouterr().err


def test_fetch_with_a_wrong_digest_leaves_nothing(tmp_path, hub, capsys):
    src, digest = _fake(tmp_path)
    wrong = "0" * 64
    assert main(["fetch-is-weights", "--url", src.as_uri(), "--sha256", wrong]) == 1
    err = capsys.readouterr().err
    assert "pokegan fetch-is-weights: error:" in err and digest in err and wrong in err
    assert "nothing was written" in err
    assert not hub.exists() or list(hub.iterdir()) == []            # no file, no temp file


def test_fetch_keeps_the_old_file_when_the_replacement_fails(tmp_path, hub, capsys):
    """A damaged file in the cache is replaced only by a verified download."""
    src, digest = _fake(tmp_path)
    hub.mkdir(parents=True)
    dest = hub / is_weights.IS_WEIGHTS_FILE
    dest.write_bytes(b"damaged")
    assert main(["fetch-is-weights", "--url", (tmp_path / "missing.pth").as_uri(),
                 "--sha256", digest]) == 1
    assert "failed" in capsys.readouterr().err
    assert dest.read_bytes() == b"damaged" and len(list(hub.iterdir())) == 1
    assert main(["fetch-is-weights", "--url", src.as_uri(), "--sha256", digest]) == 0
    assert dest.read_bytes() == src.read_bytes()


def test_the_real_digest_is_the_default(tmp_path, hub):
    """Without --sha256 the pinned digest is the one checked: a fake file is refused."""
    src, _ = _fake(tmp_path)
    with pytest.raises(is_weights.WeightsError, match=is_weights.IS_WEIGHTS_SHA256):
        is_weights.fetch(src.as_uri())
    assert not (hub / is_weights.IS_WEIGHTS_FILE).exists()


def test_a_wrong_weights_file_is_an_error_naming_it(tmp_path, hub, monkeypatch):
    """Both places IS takes its classifier from are checked before torch-fidelity sees them."""
    src, digest = _fake(tmp_path)
    with pytest.raises(is_weights.WeightsError, match=re.escape(str(src))):
        isc.find_is_weights(str(src))                            # eval.inception_is_weights
    hub.mkdir(parents=True)
    cached = hub / is_weights.IS_WEIGHTS_FILE
    cached.write_bytes(b"damaged")
    with pytest.raises(is_weights.WeightsError, match=re.escape(str(cached))):
        isc.ISScorer(None)                                       # the hub cache
    with pytest.raises(is_weights.WeightsError, match="fetch-is-weights"):
        isc.find_is_weights(None)
    # with its digest pinned, the same file is accepted
    monkeypatch.setattr(is_weights, "IS_WEIGHTS_SHA256", digest)
    assert isc.find_is_weights(str(src)) == (src, "")
