"""Print the project's requirements from pyproject.toml, one a line, for `pip install -r`.

    python requirements.py          # the runtime dependencies
    python requirements.py local    # the optional extra `local` (llama.cpp, the demo model)

The images install the dependencies alone and copy the code as source (see the Dockerfiles).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
groups = sys.argv[1:]
requirements = (
    [item for group in groups for item in project["optional-dependencies"][group]]
    if groups
    else project["dependencies"]
)
print("\n".join(requirements))
