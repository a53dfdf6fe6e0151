"""The import service's admission: a few imports per process at once, one per user."""

from __future__ import annotations

import pytest

from graphql_api.errors import RateLimited
from graphql_api.services.importing import Importing
from graphql_api.settings import Settings


async def test_a_user_runs_one_import_at_a_time_and_the_process_a_few() -> None:
    importing = Importing(Settings(jwt_secret="x" * 32), at_once=2)
    async with importing.admission(1):
        with pytest.raises(RateLimited) as same_user:
            async with importing.admission(1):
                pass
        assert same_user.value.extensions["reason"] == "import_running"
        async with importing.admission(2):
            with pytest.raises(RateLimited) as busy:
                async with importing.admission(3):
                    pass
            assert busy.value.extensions["reason"] == "imports_busy"
    # Every place is given back, also after a failed import.
    with pytest.raises(ValueError, match="boom"):
        async with importing.admission(1):
            raise ValueError("boom")
    async with importing.admission(1), importing.admission(3):
        pass
