"""Which ONNX Runtime execution provider runs the detector (`detector.provider`).

CPU is the default and the only provider the test suite exercises on every machine. The others run
only where their ONNX Runtime build is installed; asking for one that is not gives an error that names
the setting and what to install, never a silent fallback to the CPU (a node sized for a GPU would then
quietly analyse a fraction of its cameras).
"""

from __future__ import annotations

from typing import Literal

import onnxruntime as ort

ProviderName = Literal["cpu", "cuda", "tensorrt", "openvino"]

ORT_PROVIDERS: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}

INSTALL_HINTS: dict[str, str] = {
    "cuda": "the onnxruntime-gpu package (pip install onnxruntime-gpu, in place of onnxruntime) "
    "and the NVIDIA CUDA 12 and cuDNN 9 libraries",
    "tensorrt": "the onnxruntime-gpu package and NVIDIA TensorRT 10 libraries (plus CUDA 12 and cuDNN 9)",
    "openvino": "the onnxruntime-openvino package (pip install onnxruntime-openvino, "
    "in place of onnxruntime)",
}


class ProviderUnavailableError(RuntimeError):
    """The configured execution provider is not part of this ONNX Runtime installation."""


def session_providers(name: str, available: list[str] | None = None) -> list[str]:
    """ONNX Runtime's provider list for `detector.provider`, most preferred first.

    Accelerators keep the CPU provider last: ONNX Runtime places the few ops an accelerator lacks there.
    """
    if name not in ORT_PROVIDERS:
        raise ValueError(
            f"detector.provider: unknown provider {name!r}; use one of {', '.join(ORT_PROVIDERS)}"
        )
    wanted = ORT_PROVIDERS[name]
    have = ort.get_available_providers() if available is None else available
    if wanted not in have:
        raise ProviderUnavailableError(
            f"detector.provider: {name!r} needs ONNX Runtime's {wanted}, which this installation lacks "
            f"(it has {', '.join(have)}); install {INSTALL_HINTS.get(name, 'onnxruntime')}, "
            f"or set detector.provider: cpu"
        )
    fallbacks = (
        [ORT_PROVIDERS["cuda"], ORT_PROVIDERS["cpu"]] if name == "tensorrt" else [ORT_PROVIDERS["cpu"]]
    )
    return [wanted, *(p for p in fallbacks if p in have and p != wanted)]
