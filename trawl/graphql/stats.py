"""Debug statistics in the response (`extensions.trawl.grpcCalls`), enabled by setting for
tests and benchmarks: it is how they prove a nested list costs a constant number of calls."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension


class CallStatsExtension(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        return {"trawl": {"grpcCalls": getattr(context, "grpc_calls", 0)}}
