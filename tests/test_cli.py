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
from pokegan.explore import GenerateError, find_pokemon, load_raw
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


def test_interpolate_latent_walk_between_seeds(at_repo, capsys):
    import pokegan
    assert main(["interpolate", "models/dcgan", "--seeds", "3", "17", "--steps", "5",
                 "-o", "walk.png"]) == 0
    assert _size("walk.png") == (5 * CELL + 2, CELL + 2)
    assert "seeds 3 -> 17 (slerp)" in capsys.readouterr().out
    G, _ = pokegan.load_generator("models/dcgan")
    frames = pokegan.latent_walk(G, [3, 17, 4], steps=5)
    assert len(frames) == 9                                          # junction drawn once
    for i, seed in ((0, 3), (4, 17), (8, 4)):                        # the ends: `sample --seed`
        assert torch.equal(frames[i], pokegan.sample(G, 1, seed=seed)[0])
    assert not torch.equal(frames[1], frames[0])
    # cdcgan: a latent walk at one type
    assert main(["interpolate", "models/cdcgan", "--seeds", "1", "2", "--type", "fire",
                 "--steps", "3", "-o", "cwalk.png"]) == 0
    assert _size("cwalk.png") == (3 * CELL + 2, CELL + 2)


def test_interpolate_type_walk(at_repo, capsys):
    import pokegan
    from pokegan.models.conditional import label_index
    assert main(["interpolate", "models/cdcgan", "--types", "fire", "water", "grass",
                 "--steps", "4", "--seed", "5", "-o", "types.png"]) == 0
    assert _size("types.png") == (7 * CELL + 2, CELL + 2)
    assert "types fire -> water -> grass at seed 5" in capsys.readouterr().out
    G, meta = pokegan.load_generator("models/cdcgan")
    frames = pokegan.type_walk(G, meta, ["fire", "water"], steps=4, seed=5)
    for i, t in ((0, "fire"), (3, "water")):                         # the ends: `sample --type`
        y = torch.tensor([label_index(t, meta["labels"])])
        assert torch.equal(frames[i], pokegan.sample(G, 1, seed=5, labels=y)[0])


def test_interpolate_walk_errors(at_repo, capsys):
    assert main(["interpolate", "models/dcgan", "--types", "fire", "water", "-o", "x.png"]) == 1
    assert "cdcgan" in capsys.readouterr().err
    assert main(["interpolate", "models/cdcgan", "--seeds", "1", "2", "-o", "x.png"]) == 1
    assert "--type" in capsys.readouterr().err
    assert main(["interpolate", "models/dcgan", "-o", "x.png"]) == 1
    assert "--seeds" in capsys.readouterr().err
    assert main(["interpolate", "models/dcgan", "--seeds", "1", "-o", "x.png"]) == 1
    assert "two points" in capsys.readouterr().err
    assert not Path("x.png").exists()


# --------------------------------------------------------------------------- checkpoints, API
def test_sample_checkpoint_last_best_epoch(at_repo, capsys):
    from pokegan.models.io import best_generator_path, load_generator, save_model
    assert main(["sample", "models/dcgan", "-n", "4", "--checkpoint", "1", "-o", "e1.png"]) == 0
    assert main(["sample", "models/dcgan", "-n", "4", "-o", "last.png"]) == 0
    with Image.open("e1.png") as a, Image.open("last.png") as b:   # 1 epoch: the same weights
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert main(["sample", "models/dcgan", "--checkpoint", "7", "-o", "x.png"]) == 1
    assert "no checkpoint of epoch 7; epochs with one: 1" in capsys.readouterr().err
    best = best_generator_path("models/dcgan")
    assert best == Path("models/best/dcgan.pt")
    assert main(["sample", "models/dcgan", "--checkpoint", "best", "-o", "x.png"]) == 1
    assert "dvc repro evaluate@dcgan" in capsys.readouterr().err
    G, meta = load_generator("models/dcgan/checkpoints/epoch_0001.pt")
    save_model(best, G, meta)
    try:
        assert main(["sample", "models/dcgan", "-n", "4", "--checkpoint", "best", "-o", "b.png"]) == 0
    finally:
        best.unlink()
    assert main(["sample", "models/dcgan", "--checkpoint", "newest", "-o", "x.png"]) == 1
    assert "best, last or an epoch number" in capsys.readouterr().err


def test_python_api_as_in_readme(at_repo):
    """README's notebook example, on the tiny models."""
    from pokegan import encode, generator_file, load_encoder, load_generator, sample, save_grid_png
    G, meta = load_generator("models/dcgan")
    images = sample(G, 16, seed=0)
    assert images.shape == (16, 3, S, S) and images.dtype == torch.uint8
    save_grid_png(images, "api/grid.png")
    assert _size("api/grid.png") == (4 * CELL + 2, 4 * CELL + 2)
    assert generator_file("models/dcgan", "last") == Path("models/dcgan/generator.pt")
    E, _ = load_encoder("models/aegan")
    G_ae, _ = load_generator("models/aegan")
    z = encode(E, images[:2])
    assert z.shape == (2, G_ae.latent_dim) and G_ae(z).shape == (2, 3, S, S)


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


def test_reconstruct_with_the_prior_adds_g_samples_and_the_encoded_spread(at_repo, capsys):
    """--prior: a third row, G's images from the latents `pokegan sample --seed` draws, and the
    spread of E's latents of every original against the prior."""
    from pokegan.data.prepared import load_prepared
    from pokegan.explore import load_aegan
    from pokegan.models.sampling import sample

    assert main(["reconstruct", "models/aegan", "-n", "3", "--prior", "-o", "r/prior.png"]) == 0
    assert _size("r/prior.png") == (3 * CELL + 2, 3 * CELL + 2)
    out = capsys.readouterr().out
    assert "G(z) from the prior (bottom)" in out
    spread = out.split("E(x) of ")[1]
    n_originals = int(spread.split()[0])
    assert n_originals == len(load_prepared("artwork", root=at_repo / "data/prepared",
                                            originals_only=True)[0])
    assert float(spread.split("median norm ")[1].split()[0]) > 0
    assert 0 < float(spread.split("std ")[1].split()[0])
    G, _, _ = load_aegan("models/aegan")
    grid = np.asarray(Image.open(at_repo / "r/prior.png").convert("RGB"))
    first = sample(G, 3, 0)[0].permute(1, 2, 0).numpy()
    # the bottom row's first cell is `pokegan sample`'s first image (2 px grid padding)
    assert np.array_equal(grid[2 * CELL + 2:3 * CELL, 2:CELL], first)
    assert main(["reconstruct", "models/aegan", "--prior", "--curve", "r/c.csv"]) == 1
    assert "--prior" in capsys.readouterr().err


def test_reconstruct_curve(at_repo, capsys):
    """--curve: one row per checkpoint on the same seeded originals; the last checkpoint is the
    final model, so its row equals the grid's error on those images (computed the other way)."""
    cfg = TrainConfig(model="aegan", image_size=S, latent_dim=16, batch_size=10, epochs=2,
                      checkpoint_every=1, grid_size=4, precision="fp32", device="cpu")
    x = torch.from_numpy(np.load(at_repo / "data/prepared/artwork/images.npy"))
    train("aegan2", cfg, x, data_fingerprint="fx", model_dir=at_repo / "models/aegan2",
          progress=False, log=lambda m: None)
    assert main(["reconstruct", "models/aegan2", "--curve", "r/curve.csv", "-n", "5"]) == 0
    curve = pd.read_csv(at_repo / "r/curve.csv")
    assert list(curve.columns) == ["epoch", "images_seen", "dataset", "images", "l1"]
    assert curve["epoch"].tolist() == [1, 2] and curve["images"].tolist() == [5, 5]
    assert curve["images_seen"].is_monotonic_increasing
    assert curve["l1"].iloc[0] != curve["l1"].iloc[1]            # each checkpoint's own weights
    capsys.readouterr()
    assert main(["reconstruct", "models/aegan2", "-n", "5", "-o", "r/g.png"]) == 0
    grid_l1 = float(capsys.readouterr().out.split("mean L1 error: ")[1].split()[0])
    assert abs(curve["l1"].iloc[-1] - grid_l1) < 1e-4
    assert main(["reconstruct", "models/aegan2", "--curve", "r/c.csv", "--dataset", "sprites"]) == 1
    assert "sprites" in capsys.readouterr().err and not (at_repo / "r/c.csv").exists()
    assert main(["reconstruct", "models/dcgan", "--curve", "r/c.csv"]) == 1
    assert "needs an AEGAN" in capsys.readouterr().err


# --------------------------------------------------------------------------- info
def test_info_reads_as_facts_and_json_keeps_every_hash(at_repo, capsys):
    """The human view nests the record, rounds floats and counts the fingerprint's code hashes
    instead of printing them; --json is the record itself, hashes included."""
    import json
    assert main(["info", "models/dcgan", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    code = record["fingerprint_parts"]["code"]
    assert len(code) > 3
    assert main(["info", "models/dcgan"]) == 0
    out = capsys.readouterr().out
    assert f"  code: {len(code)} files, sha256 each (--json lists them)" in out.splitlines()
    assert not any(h in out for h in code.values())
    assert f"epochs: {record['epochs']}" in out.splitlines()
    assert "  params:" in out.splitlines() and "    model: dcgan" in out.splitlines()
    d_loss = record["final"]["d_loss"]
    assert f"  d_loss: {d_loss:.4g}" in out.splitlines() and repr(d_loss) not in out
    generator_hash = record["files"]["generator.pt"]
    assert f"  generator.pt: {generator_hash}" in out.splitlines()   # a short map stays whole
