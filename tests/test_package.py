"""The package's public names resolve, and importing it stays light."""
import subprocess
import sys

import lrcourse


def test_every_public_name_resolves():
    for name in lrcourse.__all__:
        assert getattr(lrcourse, name) is not None, name


def test_import_is_lazy():
    code = "import sys, lrcourse; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
