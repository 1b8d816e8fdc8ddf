"""Service code mutations: platform staff register, change and retire crawlers (the service
refuses everyone else)."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from trawl.graphql.context import Context
from trawl.graphql.errors import UserError
from trawl.graphql.mutation import payload_or_errors
from trawl.graphql.reports.documents import object_text
from trawl.graphql.reports.types import ServiceCode
from trawl.grpc_services.gen.reports.v1 import reports_pb2 as pb


@strawberry.input
class CreateServiceCodeInput:
    code: str = strawberry.field(description="Unique, e.g. `acme.prices`.")
    title: str
    image: str = strawberry.field(description="Container image the crawler runs in.")
    version: str
    entry_point: str = strawberry.field(description="Python module the crawler starts with.")
    parameters_schema: JSON
    record_schema: JSON
    default_timeout_seconds: int
    cpu: str
    memory: str
    description: str = ""


@strawberry.input(description="Omitted fields stay as they are.")
class UpdateServiceCodeInput:
    code: str
    title: str | None = None
    description: str | None = None
    image: str | None = None
    version: str | None = None
    entry_point: str | None = None
    parameters_schema: JSON | None = None
    record_schema: JSON | None = None
    default_timeout_seconds: int | None = None
    cpu: str | None = None
    memory: str | None = None
    active: bool | None = None


@strawberry.input
class RetireServiceCodeInput:
    code: str


@strawberry.type
class ServiceCodePayload:
    service_code: ServiceCode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


_PLAIN_FIELDS = (
    "title",
    "description",
    "image",
    "version",
    "entry_point",
    "default_timeout_seconds",
    "cpu",
    "memory",
    "active",
)


def _create_request(input: CreateServiceCodeInput) -> pb.CreateServiceCodeRequest:
    return pb.CreateServiceCodeRequest(
        code=input.code,
        title=input.title,
        description=input.description,
        image=input.image,
        version=input.version,
        entry_point=input.entry_point,
        parameters_schema_json=object_text("parametersSchema", input.parameters_schema),
        record_schema_json=object_text("recordSchema", input.record_schema),
        default_timeout_seconds=input.default_timeout_seconds,
        cpu=input.cpu,
        memory=input.memory,
    )


def _update_request(input: UpdateServiceCodeInput) -> pb.UpdateServiceCodeRequest:
    request = pb.UpdateServiceCodeRequest(code=input.code)
    for name in _PLAIN_FIELDS:
        value = getattr(input, name)
        if value is not None:
            setattr(request, name, value)
    if input.parameters_schema is not None:
        request.parameters_schema_json = object_text("parametersSchema", input.parameters_schema)
    if input.record_schema is not None:
        request.record_schema_json = object_text("recordSchema", input.record_schema)
    return request


def _payload(ctx: Context, code: pb.ServiceCode) -> ServiceCodePayload:
    ctx.loaders.service_code_by_code.prime(code.code, code)
    return ServiceCodePayload(service_code=ServiceCode.from_pb(code))


async def _create(ctx: Context, input: CreateServiceCodeInput) -> ServiceCodePayload:
    client = ctx.clients.service_codes
    request = _create_request(input)
    return _payload(ctx, await ctx.call(client, client.stub.CreateServiceCode, request))


async def _update(ctx: Context, input: UpdateServiceCodeInput) -> ServiceCodePayload:
    client = ctx.clients.service_codes
    request = _update_request(input)
    return _payload(ctx, await ctx.call(client, client.stub.UpdateServiceCode, request))


async def _retire(ctx: Context, input: RetireServiceCodeInput) -> ServiceCodePayload:
    client = ctx.clients.service_codes
    request = pb.RetireServiceCodeRequest(code=input.code)
    return _payload(ctx, await ctx.call(client, client.stub.RetireServiceCode, request))


@strawberry.type
class ServiceCodesMutation:
    @strawberry.mutation(description="Staff: register a crawler.")
    async def create_service_code(
        self, info: strawberry.Info[Context, None], input: CreateServiceCodeInput
    ) -> ServiceCodePayload:
        return await payload_or_errors(ServiceCodePayload, _create(info.context, input))

    @strawberry.mutation(description="Staff: change a crawler's registration.")
    async def update_service_code(
        self, info: strawberry.Info[Context, None], input: UpdateServiceCodeInput
    ) -> ServiceCodePayload:
        return await payload_or_errors(ServiceCodePayload, _update(info.context, input))

    @strawberry.mutation(description="Staff: retire a crawler; it vanishes from listings.")
    async def retire_service_code(
        self, info: strawberry.Info[Context, None], input: RetireServiceCodeInput
    ) -> ServiceCodePayload:
        return await payload_or_errors(ServiceCodePayload, _retire(info.context, input))
