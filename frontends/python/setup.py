"""Builds sipcc._sipcc with CMake for `pip install ./frontends/python`.

The repository root is configured with only the Python module enabled (no apps,
tests or benchmarks) into <root>/build/python-pip (or $SIPCC_PIP_BUILD_DIR), for
the interpreter pip runs, and the module is copied into the wheel. Nothing is
downloaded: CMake finds Debian's pybind11-dev, libosip2-dev, libboost-dev ...
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("SIPCC_SOURCE_DIR", HERE.parents[1])).resolve()
BUILD = Path(os.environ.get("SIPCC_PIP_BUILD_DIR", ROOT / "build" / "python-pip")).resolve()


class CMakeExtension(Extension):
    """An extension that CMake builds (target `_sipcc`)."""

    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    """Configures and builds the repository's CMake project for this interpreter."""

    def build_extension(self, ext: Extension) -> None:
        if not (ROOT / "frontends" / "python" / "CMakeLists.txt").is_file():
            raise RuntimeError(f"{ROOT} is not the sipcc repository (set SIPCC_SOURCE_DIR)")
        cmake = shutil.which("cmake")
        if cmake is None:
            raise RuntimeError("cmake is needed to build sipcc (apt-get install cmake)")
        configure = [
            cmake, "-S", str(ROOT), "-B", str(BUILD),
            # -O2 as the presets use: GCC 12 at -O3 warns falsely (-Wrestrict) in std::string.
            "-DCMAKE_BUILD_TYPE=Release",
            "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG",
            # A user's install should not fail on a new compiler's new warning.
            "-DSIPCC_WERROR=OFF",
            f"-DPython_EXECUTABLE={sys.executable}",
            "-DPYBIND11_FINDPYTHON=ON",
            "-DSIPCC_BUILD_PYTHON=ON",
            "-DSIPCC_BUILD_TESTS=OFF",
            "-DSIPCC_BUILD_APPS=OFF",
            "-DSIPCC_BUILD_BENCH=OFF",
        ]
        if shutil.which("ninja") and not (BUILD / "CMakeCache.txt").exists():
            configure += ["-G", "Ninja"]
        subprocess.run(configure, check=True)
        jobs = os.environ.get("SIPCC_JOBS", str(os.cpu_count() or 1))
        subprocess.run([cmake, "--build", str(BUILD), "--target", "_sipcc", "-j", jobs],
                       check=True)
        built = sorted((BUILD / "python" / "sipcc").glob("_sipcc*" + _suffix()))
        if not built:
            raise RuntimeError(f"CMake built no _sipcc module in {BUILD / 'python' / 'sipcc'}")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[-1], target)


def _suffix() -> str:
    import sysconfig

    return sysconfig.get_config_var("EXT_SUFFIX") or ".so"


setup(
    ext_modules=[CMakeExtension("sipcc._sipcc")],
    cmdclass={"build_ext": CMakeBuild},
    # Build products go to the build directory, not into the source tree.
    options={
        "build": {"build_base": str(BUILD / "setuptools")},
        "egg_info": {"egg_base": str(BUILD)},
    },
    zip_safe=False,
)
