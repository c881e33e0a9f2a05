"""`pokegan sample / interpolate / reconstruct` on tiny models trained here (32 px, 1 epoch).

The fixture is a small repository: data/raw (pokedex.csv, artwork/index.csv, PNGs),
data/prepared/artwork made by the augment stage's own functions, and models/{dcgan,aegan,cdcgan}
trained with pokegan.training.train.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from pokegan.cli import main
from pokegan.config import TrainConfig
from pokegan.data.augment import prepare_dataset, write_prepared
from pokegan.generate import GenerateError, find_pokemon, load_raw
from pokegan.models.conditional import encode_labels
from pokegan.training import train

pytestmark = pytest.mark.slow   # the module fixture trains three tiny models (~10 s on 2 cores)

S = 32          # image size
CELL = S + 2    # make_grid: 2 px padding
DEX = [  # id, species, form, type1, dex_name
    ("1", "Bulbasaur", "", "grass", "Bulbasaur"), ("4", "Charmander", "", "fire", "Charmander"),
    ("7", "Squirtle", "", "water", "Squirtle"), ("25", "Pikachu", "", "electric", "Pikachu"),
    ("54", "Psyduck", "", "water", "Psyduck"), ("58", "Growlithe", "", "fire", "Growlithe"),
    ("201-a", "Unown", "a", "psychic", "Unown"), ("201-b", "Unown", "b", "psychic", "Unown-B"),
    ("386", "Deoxys", "", "psychic", "Deoxys"),
    ("386-attack", "Deoxys", "attack", "psychic", "Deoxys-Attack"),
]


def _write_raw(raw: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    (raw / "artwork/images").mkdir(parents=True)
    pd.DataFrame([{"id": i, "species": sp, "form": f, "type1": t, "type2": "", "generation": "1",
                   "colour": "red", "dex_name": dn} for i, sp, f, t, dn in DEX]
                 ).to_csv(raw / "pokedex.csv", index=False)
    rows = []
    for i, sp, f, t, _ in DEX:
        img = np.full((48, 40, 3), 255, np.uint8)
        y, x = rng.integers(4, 20, 2)
        img[y:y + 24, x:x + 16] = rng.integers(0, 256, 3)
        Image.fromarray(img).save(raw / f"artwork/images/{i}.png")
        rows.append({"file": f"images/{i}.png", "pokedex_id": i, "species_id": i.split("-")[0],
                     "species": sp, "form": f, "source": f"{i}.svg", "frame": ""})
    pd.DataFrame(rows).to_csv(raw / "artwork/index.csv", index=False)
    return pd.DataFrame([{"file": f"images/{i}.png", "species_id": i.split("-")[0], "species": sp,
                          "type1": t, "type2": "", "colour": "red"} for i, sp, f, t, _ in DEX])


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    rows = _write_raw(root / "data/raw")
    images, index = prepare_dataset(rows, root / "data/raw/artwork", "artwork", S, copies=2,
                                    seed=0, brightness=0.2, contrast=0.2, saturation=0.2)
    write_prepared(root / "data/prepared", "artwork", images, index, {"select": "all"})
    x = torch.from_numpy(images)
    for model in ("dcgan", "aegan", "cdcgan"):
        cfg = TrainConfig(model=model, image_size=S, latent_dim=16, batch_size=10, epochs=1,
                          checkpoint_every=1, grid_size=4, precision="fp32", device="cpu")
        extra = {}
        if model == "cdcgan":
            extra["labels"], extra["label_names"] = encode_labels(index["type1"])
        train(f"tiny_{model}", cfg, x, data_fingerprint="fx", model_dir=root / "models" / model,
              progress=False, log=lambda m: None, **extra)
    return root


@pytest.fixture
def at_repo(repo, monkeypatch):
    monkeypatch.chdir(repo)
    return repo


def _size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


# --------------------------------------------------------------------------- help and errors
@pytest.mark.parametrize("cmd", [[], ["sample"], ["interpolate"], ["reconstruct"], ["info"]])
def test_help(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main(cmd + ["--help"])
    assert exc.value.code == 0
    assert "usage: pokegan" in capsys.readouterr().out


@pytest.mark.parametrize("cmd", [["sample", "models/nope"], ["interpolate", "models/nope", "a", "b"],
                                 ["reconstruct", "models/nope"]])
def test_missing_model_is_one_clear_line(at_repo, cmd, capsys):
    assert main(cmd + ["-o", "x.png"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"pokegan {cmd[0]}: error:") and "models/nope" in err
    assert err.count("\n") == 1 and not (at_repo / "x.png").exists()


# --------------------------------------------------------------------------- sample --type
def test_sample_dcgan_and_cdcgan_by_type(at_repo, capsys):
    assert main(["sample", "models/dcgan", "-n", "4", "-o", "out/d.png"]) == 0
    assert _size("out/d.png") == (2 * CELL + 2, 2 * CELL + 2)
    assert main(["sample", "models/cdcgan", "-n", "6", "--nrow", "3", "-o", "out/c.png"]) == 0
    assert _size("out/c.png") == (3 * CELL + 2, 2 * CELL + 2)
    assert main(["sample", "models/cdcgan", "-n", "4", "--type", "Water", "-o", "out/w.png"]) == 0
    assert main(["sample", "models/cdcgan", "-n", "4", "--type", "fire", "-o", "out/f.png"]) == 0
    assert _size("out/w.png") == (2 * CELL + 2, 2 * CELL + 2)
    with Image.open("out/w.png") as w, Image.open("out/f.png") as f:
        assert np.asarray(w).tolist() != np.asarray(f).tolist()   # same latents, other type


def test_sample_type_errors(at_repo, capsys):
    assert main(["sample", "models/cdcgan", "--type", "dragon", "-o", "x.png"]) == 1
    err = capsys.readouterr().err
    assert "unknown type 'dragon'" in err and "electric, fire, grass, psychic, water" in err
    assert main(["sample", "models/dcgan", "--type", "water", "-o", "x.png"]) == 1
    assert "cdcgan" in capsys.readouterr().err
    assert not Path("x.png").exists()


# --------------------------------------------------------------------------- interpolate
def test_interpolate_writes_a_strip(at_repo, capsys):
    assert main(["interpolate", "models/aegan", "bulbasaur", "CHARMANDER", "--steps", "5",
                 "-o", "strip.png"]) == 0
    assert _size("strip.png") == (7 * CELL + 2, CELL + 2)   # original, 5 steps, original
    assert "Bulbasaur -> Charmander" in capsys.readouterr().out
    assert main(["interpolate", "models/aegan", "squirtle", "pikachu", "deoxys-attack",
                 "--steps", "3", "-o", "three.png"]) == 0
    assert _size("three.png") == (7 * CELL + 2, CELL + 2)   # 1 + 2 + 2 frames between originals


def test_interpolate_errors(at_repo, capsys):
    assert main(["interpolate", "models/aegan", "bulbasuar", "charmander", "-o", "x.png"]) == 1
    err = capsys.readouterr().err
    assert "'bulbasuar'" in err and "did you mean: Bulbasaur" in err
    assert main(["interpolate", "models/dcgan", "bulbasaur", "charmander", "-o", "x.png"]) == 1
    assert "needs an AEGAN" in capsys.readouterr().err
    assert main(["interpolate", "models/aegan", "bulbasaur", "-o", "x.png"]) == 1
    assert "two" in capsys.readouterr().err
    assert main(["interpolate", "models/aegan", "bulbasaur", "pikachu", "--steps", "1",
                 "-o", "x.png"]) == 1
    assert not Path("x.png").exists()


def test_names_forms_and_preprocessing(repo):
    raw = repo / "data/raw"
    assert find_pokemon("Deoxys", raw).name == "Deoxys"                 # base form preferred
    assert find_pokemon("deoxys attack", raw).name == "Deoxys-Attack"
    assert find_pokemon("386-ATTACK", raw).name == "Deoxys-Attack"
    assert find_pokemon("unown-b", raw).name == "Unown-B"
    assert find_pokemon("unown", raw).name == "Unown"                   # no base: first form
    assert find_pokemon("25", raw).name == "Pikachu"
    with pytest.raises(GenerateError, match="Psyduck"):
        find_pokemon("psyduk", raw)
    # exactly the prepared bytes (the augment stage's resize)
    prepared = np.load(repo / "data/prepared/artwork/images.npy")
    x = load_raw(find_pokemon("squirtle", raw).path, S)
    assert np.array_equal(x.numpy(), prepared[2])


# --------------------------------------------------------------------------- reconstruct
def test_reconstruct(at_repo, capsys):
    assert main(["reconstruct", "models/aegan", "-n", "3", "-o", "r/recon.png"]) == 0
    assert _size("r/recon.png") == (3 * CELL + 2, 2 * CELL + 2)
    out = capsys.readouterr().out
    l1 = float(out.split("mean L1 error: ")[1].split()[0])
    assert 0 < l1 < 2
    assert main(["reconstruct", "models/cdcgan", "-o", "x.png"]) == 1
    assert "needs an AEGAN" in capsys.readouterr().err
