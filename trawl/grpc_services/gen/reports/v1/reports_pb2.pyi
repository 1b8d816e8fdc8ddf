from google.protobuf import timestamp_pb2 as _timestamp_pb2
from trawl.grpc_services.gen.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_STATE_UNSPECIFIED: _ClassVar[ReportState]
    REPORT_STATE_ACTIVE: _ClassVar[ReportState]
    REPORT_STATE_ARCHIVED: _ClassVar[ReportState]

class RunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATE_UNSPECIFIED: _ClassVar[RunState]
    RUN_STATE_QUEUED: _ClassVar[RunState]
    RUN_STATE_STARTING: _ClassVar[RunState]
    RUN_STATE_RUNNING: _ClassVar[RunState]
    RUN_STATE_CANCELLING: _ClassVar[RunState]
    RUN_STATE_SUCCEEDED: _ClassVar[RunState]
    RUN_STATE_FAILED: _ClassVar[RunState]
    RUN_STATE_CANCELLED: _ClassVar[RunState]
    RUN_STATE_TIMED_OUT: _ClassVar[RunState]

class TriggerKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIGGER_KIND_UNSPECIFIED: _ClassVar[TriggerKind]
    TRIGGER_KIND_MANUAL: _ClassVar[TriggerKind]
    TRIGGER_KIND_SCHEDULE: _ClassVar[TriggerKind]
    TRIGGER_KIND_RERUN: _ClassVar[TriggerKind]

class LogLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOG_LEVEL_UNSPECIFIED: _ClassVar[LogLevel]
    LOG_LEVEL_DEBUG: _ClassVar[LogLevel]
    LOG_LEVEL_INFO: _ClassVar[LogLevel]
    LOG_LEVEL_WARNING: _ClassVar[LogLevel]
    LOG_LEVEL_ERROR: _ClassVar[LogLevel]

class DeliveryState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATE_UNSPECIFIED: _ClassVar[DeliveryState]
    DELIVERY_STATE_PENDING: _ClassVar[DeliveryState]
    DELIVERY_STATE_DELIVERING: _ClassVar[DeliveryState]
    DELIVERY_STATE_DELIVERED: _ClassVar[DeliveryState]
    DELIVERY_STATE_FAILED: _ClassVar[DeliveryState]
REPORT_STATE_UNSPECIFIED: ReportState
REPORT_STATE_ACTIVE: ReportState
REPORT_STATE_ARCHIVED: ReportState
RUN_STATE_UNSPECIFIED: RunState
RUN_STATE_QUEUED: RunState
RUN_STATE_STARTING: RunState
RUN_STATE_RUNNING: RunState
RUN_STATE_CANCELLING: RunState
RUN_STATE_SUCCEEDED: RunState
RUN_STATE_FAILED: RunState
RUN_STATE_CANCELLED: RunState
RUN_STATE_TIMED_OUT: RunState
TRIGGER_KIND_UNSPECIFIED: TriggerKind
TRIGGER_KIND_MANUAL: TriggerKind
TRIGGER_KIND_SCHEDULE: TriggerKind
TRIGGER_KIND_RERUN: TriggerKind
LOG_LEVEL_UNSPECIFIED: LogLevel
LOG_LEVEL_DEBUG: LogLevel
LOG_LEVEL_INFO: LogLevel
LOG_LEVEL_WARNING: LogLevel
LOG_LEVEL_ERROR: LogLevel
DELIVERY_STATE_UNSPECIFIED: DeliveryState
DELIVERY_STATE_PENDING: DeliveryState
DELIVERY_STATE_DELIVERING: DeliveryState
DELIVERY_STATE_DELIVERED: DeliveryState
DELIVERY_STATE_FAILED: DeliveryState

class ServiceCode(_message.Message):
    __slots__ = ("id", "code", "title", "description", "image", "version", "entry_point", "parameters_schema_json", "record_schema_json", "default_timeout_seconds", "cpu", "memory", "active", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    RECORD_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: str
    title: str
    description: str
    image: str
    version: str
    entry_point: str
    parameters_schema_json: str
    record_schema_json: str
    default_timeout_seconds: int
    cpu: str
    memory: str
    active: bool
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., code: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., image: _Optional[str] = ..., version: _Optional[str] = ..., entry_point: _Optional[str] = ..., parameters_schema_json: _Optional[str] = ..., record_schema_json: _Optional[str] = ..., default_timeout_seconds: _Optional[int] = ..., cpu: _Optional[str] = ..., memory: _Optional[str] = ..., active: bool = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListServiceCodesRequest(_message.Message):
    __slots__ = ("include_retired",)
    INCLUDE_RETIRED_FIELD_NUMBER: _ClassVar[int]
    include_retired: bool
    def __init__(self, include_retired: bool = ...) -> None: ...

class ListServiceCodesResponse(_message.Message):
    __slots__ = ("service_codes",)
    SERVICE_CODES_FIELD_NUMBER: _ClassVar[int]
    service_codes: _containers.RepeatedCompositeFieldContainer[ServiceCode]
    def __init__(self, service_codes: _Optional[_Iterable[_Union[ServiceCode, _Mapping]]] = ...) -> None: ...

class GetServiceCodeRequest(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    def __init__(self, code: _Optional[str] = ...) -> None: ...

class CreateServiceCodeRequest(_message.Message):
    __slots__ = ("code", "title", "description", "image", "version", "entry_point", "parameters_schema_json", "record_schema_json", "default_timeout_seconds", "cpu", "memory")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    RECORD_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    code: str
    title: str
    description: str
    image: str
    version: str
    entry_point: str
    parameters_schema_json: str
    record_schema_json: str
    default_timeout_seconds: int
    cpu: str
    memory: str
    def __init__(self, code: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., image: _Optional[str] = ..., version: _Optional[str] = ..., entry_point: _Optional[str] = ..., parameters_schema_json: _Optional[str] = ..., record_schema_json: _Optional[str] = ..., default_timeout_seconds: _Optional[int] = ..., cpu: _Optional[str] = ..., memory: _Optional[str] = ...) -> None: ...

class UpdateServiceCodeRequest(_message.Message):
    __slots__ = ("code", "title", "description", "image", "version", "entry_point", "parameters_schema_json", "record_schema_json", "default_timeout_seconds", "cpu", "memory", "active")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    RECORD_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    code: str
    title: str
    description: str
    image: str
    version: str
    entry_point: str
    parameters_schema_json: str
    record_schema_json: str
    default_timeout_seconds: int
    cpu: str
    memory: str
    active: bool
    def __init__(self, code: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., image: _Optional[str] = ..., version: _Optional[str] = ..., entry_point: _Optional[str] = ..., parameters_schema_json: _Optional[str] = ..., record_schema_json: _Optional[str] = ..., default_timeout_seconds: _Optional[int] = ..., cpu: _Optional[str] = ..., memory: _Optional[str] = ..., active: bool = ...) -> None: ...

class RetireServiceCodeRequest(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    def __init__(self, code: _Optional[str] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ("max_attempts", "backoff_seconds")
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_SECONDS_FIELD_NUMBER: _ClassVar[int]
    max_attempts: int
    backoff_seconds: int
    def __init__(self, max_attempts: _Optional[int] = ..., backoff_seconds: _Optional[int] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("cron", "timezone", "paused", "next_fire_times")
    CRON_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIRE_TIMES_FIELD_NUMBER: _ClassVar[int]
    cron: str
    timezone: str
    paused: bool
    next_fire_times: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    def __init__(self, cron: _Optional[str] = ..., timezone: _Optional[str] = ..., paused: bool = ..., next_fire_times: _Optional[_Iterable[_Union[_timestamp_pb2.Timestamp, _Mapping]]] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("id", "organization_id", "project_id", "name", "description", "service_code", "parameters_json", "record_schema_json", "timeout_seconds", "retry", "delivery_json", "schedule", "state", "created_at", "updated_at", "created_by_user_id", "record_key_fields")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CODE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    RECORD_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_JSON_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_USER_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_KEY_FIELDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    organization_id: str
    project_id: str
    name: str
    description: str
    service_code: str
    parameters_json: str
    record_schema_json: str
    timeout_seconds: int
    retry: RetryPolicy
    delivery_json: str
    schedule: Schedule
    state: ReportState
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    created_by_user_id: str
    record_key_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., organization_id: _Optional[str] = ..., project_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., service_code: _Optional[str] = ..., parameters_json: _Optional[str] = ..., record_schema_json: _Optional[str] = ..., timeout_seconds: _Optional[int] = ..., retry: _Optional[_Union[RetryPolicy, _Mapping]] = ..., delivery_json: _Optional[str] = ..., schedule: _Optional[_Union[Schedule, _Mapping]] = ..., state: _Optional[_Union[ReportState, str]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., created_by_user_id: _Optional[str] = ..., record_key_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class BatchGetReportsRequest(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetReportsResponse(_message.Message):
    __slots__ = ("reports",)
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[Report]
    def __init__(self, reports: _Optional[_Iterable[_Union[Report, _Mapping]]] = ...) -> None: ...

class ListReportsRequest(_message.Message):
    __slots__ = ("project_id", "page", "service_code", "state")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    page: _common_pb2.PageRequest
    service_code: str
    state: ReportState
    def __init__(self, project_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., service_code: _Optional[str] = ..., state: _Optional[_Union[ReportState, str]] = ...) -> None: ...

class ListReportsResponse(_message.Message):
    __slots__ = ("reports", "page_info")
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_INFO_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[Report]
    page_info: _common_pb2.PageInfo
    def __init__(self, reports: _Optional[_Iterable[_Union[Report, _Mapping]]] = ..., page_info: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class ScheduleInput(_message.Message):
    __slots__ = ("cron", "timezone", "paused")
    CRON_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    cron: str
    timezone: str
    paused: bool
    def __init__(self, cron: _Optional[str] = ..., timezone: _Optional[str] = ..., paused: bool = ...) -> None: ...

class CreateReportRequest(_message.Message):
    __slots__ = ("project_id", "name", "description", "service_code", "parameters_json", "record_schema_json", "timeout_seconds", "retry", "delivery_json", "schedule", "record_key_fields")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CODE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    RECORD_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_JSON_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    RECORD_KEY_FIELDS_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    name: str
    description: str
    service_code: str
    parameters_json: str
    record_schema_json: str
    timeout_seconds: int
    retry: RetryPolicy
    delivery_json: str
    schedule: ScheduleInput
    record_key_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, project_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., service_code: _Optional[str] = ..., parameters_json: _Optional[str] = ..., record_schema_json: _Optional[str] = ..., timeout_seconds: _Optional[int] = ..., retry: _Optional[_Union[RetryPolicy, _Mapping]] = ..., delivery_json: _Optional[str] = ..., schedule: _Optional[_Union[ScheduleInput, _Mapping]] = ..., record_key_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateReportRequest(_message.Message):
    __slots__ = ("id", "name", "description", "service_code", "parameters_json", "record_schema_json", "timeout_seconds", "retry", "delivery_json", "schedule", "clear_schedule", "set_record_key_fields", "record_key_fields")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CODE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    RECORD_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_JSON_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    CLEAR_SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    SET_RECORD_KEY_FIELDS_FIELD_NUMBER: _ClassVar[int]
    RECORD_KEY_FIELDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    service_code: str
    parameters_json: str
    record_schema_json: str
    timeout_seconds: int
    retry: RetryPolicy
    delivery_json: str
    schedule: ScheduleInput
    clear_schedule: bool
    set_record_key_fields: bool
    record_key_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., service_code: _Optional[str] = ..., parameters_json: _Optional[str] = ..., record_schema_json: _Optional[str] = ..., timeout_seconds: _Optional[int] = ..., retry: _Optional[_Union[RetryPolicy, _Mapping]] = ..., delivery_json: _Optional[str] = ..., schedule: _Optional[_Union[ScheduleInput, _Mapping]] = ..., clear_schedule: bool = ..., set_record_key_fields: bool = ..., record_key_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class ArchiveReportRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteReportRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteReportResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReportDestination(_message.Message):
    __slots__ = ("id", "report_id", "medium", "format", "compression", "file_name_template", "config_json", "secrets_set", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIUM_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    SECRETS_SET_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    report_id: str
    medium: str
    format: str
    compression: str
    file_name_template: str
    config_json: str
    secrets_set: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., report_id: _Optional[str] = ..., medium: _Optional[str] = ..., format: _Optional[str] = ..., compression: _Optional[str] = ..., file_name_template: _Optional[str] = ..., config_json: _Optional[str] = ..., secrets_set: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DestinationInput(_message.Message):
    __slots__ = ("id", "medium", "format", "compression", "file_name_template", "config_json", "secrets", "clear_secrets")
    class SecretsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    MEDIUM_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    CLEAR_SECRETS_FIELD_NUMBER: _ClassVar[int]
    id: str
    medium: str
    format: str
    compression: str
    file_name_template: str
    config_json: str
    secrets: _containers.ScalarMap[str, str]
    clear_secrets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., medium: _Optional[str] = ..., format: _Optional[str] = ..., compression: _Optional[str] = ..., file_name_template: _Optional[str] = ..., config_json: _Optional[str] = ..., secrets: _Optional[_Mapping[str, str]] = ..., clear_secrets: _Optional[_Iterable[str]] = ...) -> None: ...

class SetReportDestinationsRequest(_message.Message):
    __slots__ = ("report_id", "destinations")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    destinations: _containers.RepeatedCompositeFieldContainer[DestinationInput]
    def __init__(self, report_id: _Optional[str] = ..., destinations: _Optional[_Iterable[_Union[DestinationInput, _Mapping]]] = ...) -> None: ...

class ListReportDestinationsRequest(_message.Message):
    __slots__ = ("report_ids",)
    REPORT_IDS_FIELD_NUMBER: _ClassVar[int]
    report_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, report_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListReportDestinationsResponse(_message.Message):
    __slots__ = ("destinations",)
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    destinations: _containers.RepeatedCompositeFieldContainer[ReportDestination]
    def __init__(self, destinations: _Optional[_Iterable[_Union[ReportDestination, _Mapping]]] = ...) -> None: ...

class TestDestinationRequest(_message.Message):
    __slots__ = ("report_id", "destination_id")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    destination_id: str
    def __init__(self, report_id: _Optional[str] = ..., destination_id: _Optional[str] = ...) -> None: ...

class TestDestinationResponse(_message.Message):
    __slots__ = ("ok", "error", "retryable")
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    error: str
    retryable: bool
    def __init__(self, ok: bool = ..., error: _Optional[str] = ..., retryable: bool = ...) -> None: ...

class GetDeliveryPlanRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class PlannedDestination(_message.Message):
    __slots__ = ("destination", "secrets", "file_name")
    class SecretsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    destination: ReportDestination
    secrets: _containers.ScalarMap[str, str]
    file_name: str
    def __init__(self, destination: _Optional[_Union[ReportDestination, _Mapping]] = ..., secrets: _Optional[_Mapping[str, str]] = ..., file_name: _Optional[str] = ...) -> None: ...

class DeliveryPlan(_message.Message):
    __slots__ = ("run", "report_name", "destinations")
    RUN_FIELD_NUMBER: _ClassVar[int]
    REPORT_NAME_FIELD_NUMBER: _ClassVar[int]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    run: Run
    report_name: str
    destinations: _containers.RepeatedCompositeFieldContainer[PlannedDestination]
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ..., report_name: _Optional[str] = ..., destinations: _Optional[_Iterable[_Union[PlannedDestination, _Mapping]]] = ...) -> None: ...

class RunStats(_message.Message):
    __slots__ = ("pages", "records", "errors", "bytes")
    PAGES_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    pages: int
    records: int
    errors: int
    bytes: int
    def __init__(self, pages: _Optional[int] = ..., records: _Optional[int] = ..., errors: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class StreamStats(_message.Message):
    __slots__ = ("accepted", "rejected", "duplicates", "stored_bytes", "complete_attempt")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    STORED_BYTES_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    rejected: int
    duplicates: int
    stored_bytes: int
    complete_attempt: int
    def __init__(self, accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., duplicates: _Optional[int] = ..., stored_bytes: _Optional[int] = ..., complete_attempt: _Optional[int] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("id", "organization_id", "project_id", "report_id", "state", "attempt", "max_attempts", "trigger_kind", "triggered_by", "rerun_of_id", "failure_reason", "stats", "queued_at", "started_at", "running_at", "finished_at", "cancel_requested_at", "timeout_seconds", "retry_backoff_seconds", "stream", "dataset_ready_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_KIND_FIELD_NUMBER: _ClassVar[int]
    TRIGGERED_BY_FIELD_NUMBER: _ClassVar[int]
    RERUN_OF_ID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    RUNNING_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRY_BACKOFF_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    DATASET_READY_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    organization_id: str
    project_id: str
    report_id: str
    state: RunState
    attempt: int
    max_attempts: int
    trigger_kind: TriggerKind
    triggered_by: str
    rerun_of_id: str
    failure_reason: str
    stats: RunStats
    queued_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    running_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    cancel_requested_at: _timestamp_pb2.Timestamp
    timeout_seconds: int
    retry_backoff_seconds: int
    stream: StreamStats
    dataset_ready_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., organization_id: _Optional[str] = ..., project_id: _Optional[str] = ..., report_id: _Optional[str] = ..., state: _Optional[_Union[RunState, str]] = ..., attempt: _Optional[int] = ..., max_attempts: _Optional[int] = ..., trigger_kind: _Optional[_Union[TriggerKind, str]] = ..., triggered_by: _Optional[str] = ..., rerun_of_id: _Optional[str] = ..., failure_reason: _Optional[str] = ..., stats: _Optional[_Union[RunStats, _Mapping]] = ..., queued_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., running_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_requested_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., timeout_seconds: _Optional[int] = ..., retry_backoff_seconds: _Optional[int] = ..., stream: _Optional[_Union[StreamStats, _Mapping]] = ..., dataset_ready_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RunAttempt(_message.Message):
    __slots__ = ("attempt", "state", "started_at", "running_at", "finished_at", "failure_reason", "exit_code")
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    RUNNING_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    state: RunState
    started_at: _timestamp_pb2.Timestamp
    running_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    failure_reason: str
    exit_code: int
    def __init__(self, attempt: _Optional[int] = ..., state: _Optional[_Union[RunState, str]] = ..., started_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., running_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., failure_reason: _Optional[str] = ..., exit_code: _Optional[int] = ...) -> None: ...

class TriggerRunRequest(_message.Message):
    __slots__ = ("report_id",)
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    def __init__(self, report_id: _Optional[str] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RerunRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class BatchGetRunsRequest(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("report_id", "project_id", "page", "states")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    project_id: str
    page: _common_pb2.PageRequest
    states: _containers.RepeatedScalarFieldContainer[RunState]
    def __init__(self, report_id: _Optional[str] = ..., project_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., states: _Optional[_Iterable[_Union[RunState, str]]] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "page_info")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    PAGE_INFO_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    page_info: _common_pb2.PageInfo
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., page_info: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class ListRunAttemptsRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class ListRunAttemptsResponse(_message.Message):
    __slots__ = ("attempts",)
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    attempts: _containers.RepeatedCompositeFieldContainer[RunAttempt]
    def __init__(self, attempts: _Optional[_Iterable[_Union[RunAttempt, _Mapping]]] = ...) -> None: ...

class BatchListReportRunsRequest(_message.Message):
    __slots__ = ("report_ids", "page", "states")
    REPORT_IDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    report_ids: _containers.RepeatedScalarFieldContainer[str]
    page: _common_pb2.PageRequest
    states: _containers.RepeatedScalarFieldContainer[RunState]
    def __init__(self, report_ids: _Optional[_Iterable[str]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., states: _Optional[_Iterable[_Union[RunState, str]]] = ...) -> None: ...

class ReportRunsPage(_message.Message):
    __slots__ = ("report_id", "runs", "page_info")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    PAGE_INFO_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    page_info: _common_pb2.PageInfo
    def __init__(self, report_id: _Optional[str] = ..., runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., page_info: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class BatchListReportRunsResponse(_message.Message):
    __slots__ = ("pages",)
    PAGES_FIELD_NUMBER: _ClassVar[int]
    pages: _containers.RepeatedCompositeFieldContainer[ReportRunsPage]
    def __init__(self, pages: _Optional[_Iterable[_Union[ReportRunsPage, _Mapping]]] = ...) -> None: ...

class BatchListRunAttemptsRequest(_message.Message):
    __slots__ = ("run_ids",)
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RunAttempts(_message.Message):
    __slots__ = ("run_id", "attempts")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    attempts: _containers.RepeatedCompositeFieldContainer[RunAttempt]
    def __init__(self, run_id: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[RunAttempt, _Mapping]]] = ...) -> None: ...

class BatchListRunAttemptsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[RunAttempts]
    def __init__(self, runs: _Optional[_Iterable[_Union[RunAttempts, _Mapping]]] = ...) -> None: ...

class SetOrganizationRunLimitRequest(_message.Message):
    __slots__ = ("organization_id", "max_concurrent_runs")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_RUNS_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    max_concurrent_runs: int
    def __init__(self, organization_id: _Optional[str] = ..., max_concurrent_runs: _Optional[int] = ...) -> None: ...

class GetOrganizationRunLimitRequest(_message.Message):
    __slots__ = ("organization_id",)
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    def __init__(self, organization_id: _Optional[str] = ...) -> None: ...

class OrganizationRunLimit(_message.Message):
    __slots__ = ("organization_id", "max_concurrent_runs", "overridden", "active_runs")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_RUNS_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_RUNS_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    max_concurrent_runs: int
    overridden: bool
    active_runs: int
    def __init__(self, organization_id: _Optional[str] = ..., max_concurrent_runs: _Optional[int] = ..., overridden: bool = ..., active_runs: _Optional[int] = ...) -> None: ...

class RunPlan(_message.Message):
    __slots__ = ("run", "service_code", "entry_point", "image", "version", "parameters_json", "cpu", "memory", "report_name", "record_key_fields")
    RUN_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CODE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    REPORT_NAME_FIELD_NUMBER: _ClassVar[int]
    RECORD_KEY_FIELDS_FIELD_NUMBER: _ClassVar[int]
    run: Run
    service_code: str
    entry_point: str
    image: str
    version: str
    parameters_json: str
    cpu: str
    memory: str
    report_name: str
    record_key_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ..., service_code: _Optional[str] = ..., entry_point: _Optional[str] = ..., image: _Optional[str] = ..., version: _Optional[str] = ..., parameters_json: _Optional[str] = ..., cpu: _Optional[str] = ..., memory: _Optional[str] = ..., report_name: _Optional[str] = ..., record_key_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class GetRunPlanRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class TransitionRunRequest(_message.Message):
    __slots__ = ("run_id", "state", "attempt", "failure_reason", "stats", "exit_code")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    state: RunState
    attempt: int
    failure_reason: str
    stats: RunStats
    exit_code: int
    def __init__(self, run_id: _Optional[str] = ..., state: _Optional[_Union[RunState, str]] = ..., attempt: _Optional[int] = ..., failure_reason: _Optional[str] = ..., stats: _Optional[_Union[RunStats, _Mapping]] = ..., exit_code: _Optional[int] = ...) -> None: ...

class ReportRunProgressRequest(_message.Message):
    __slots__ = ("run_id", "attempt", "stats")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    attempt: int
    stats: RunStats
    def __init__(self, run_id: _Optional[str] = ..., attempt: _Optional[int] = ..., stats: _Optional[_Union[RunStats, _Mapping]] = ...) -> None: ...

class RunLogLine(_message.Message):
    __slots__ = ("cursor", "attempt", "at", "level", "stream", "message")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    attempt: int
    at: _timestamp_pb2.Timestamp
    level: LogLevel
    stream: str
    message: str
    def __init__(self, cursor: _Optional[str] = ..., attempt: _Optional[int] = ..., at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., level: _Optional[_Union[LogLevel, str]] = ..., stream: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ListRunLogsRequest(_message.Message):
    __slots__ = ("run_id", "first", "after", "min_level")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    MIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    first: int
    after: str
    min_level: LogLevel
    def __init__(self, run_id: _Optional[str] = ..., first: _Optional[int] = ..., after: _Optional[str] = ..., min_level: _Optional[_Union[LogLevel, str]] = ...) -> None: ...

class ListRunLogsResponse(_message.Message):
    __slots__ = ("lines", "has_next_page", "end_cursor")
    LINES_FIELD_NUMBER: _ClassVar[int]
    HAS_NEXT_PAGE_FIELD_NUMBER: _ClassVar[int]
    END_CURSOR_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[RunLogLine]
    has_next_page: bool
    end_cursor: str
    def __init__(self, lines: _Optional[_Iterable[_Union[RunLogLine, _Mapping]]] = ..., has_next_page: bool = ..., end_cursor: _Optional[str] = ...) -> None: ...

class RequestScheduledRunRequest(_message.Message):
    __slots__ = ("report_id", "trigger_key", "schedule_id")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_KEY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    trigger_key: str
    schedule_id: str
    def __init__(self, report_id: _Optional[str] = ..., trigger_key: _Optional[str] = ..., schedule_id: _Optional[str] = ...) -> None: ...

class RequestScheduledRunResponse(_message.Message):
    __slots__ = ("run", "skipped_reason")
    RUN_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_REASON_FIELD_NUMBER: _ClassVar[int]
    run: Run
    skipped_reason: str
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ..., skipped_reason: _Optional[str] = ...) -> None: ...

class GetReportScheduleRequest(_message.Message):
    __slots__ = ("report_id",)
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    def __init__(self, report_id: _Optional[str] = ...) -> None: ...

class ListStaleRunsRequest(_message.Message):
    __slots__ = ("older_than_seconds", "limit")
    OLDER_THAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    older_than_seconds: int
    limit: int
    def __init__(self, older_than_seconds: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListStaleRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ...) -> None: ...

class ReportSchedule(_message.Message):
    __slots__ = ("report_id", "organization_id", "exists", "active", "cron", "timezone", "paused")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    organization_id: str
    exists: bool
    active: bool
    cron: str
    timezone: str
    paused: bool
    def __init__(self, report_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., exists: bool = ..., active: bool = ..., cron: _Optional[str] = ..., timezone: _Optional[str] = ..., paused: bool = ...) -> None: ...

class GetRecordSchemaRequest(_message.Message):
    __slots__ = ("report_id",)
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    def __init__(self, report_id: _Optional[str] = ...) -> None: ...

class RecordSchema(_message.Message):
    __slots__ = ("report_id", "organization_id", "project_id", "record_schema_json", "version", "record_key_fields")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RECORD_KEY_FIELDS_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    organization_id: str
    project_id: str
    record_schema_json: str
    version: str
    record_key_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, report_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., project_id: _Optional[str] = ..., record_schema_json: _Optional[str] = ..., version: _Optional[str] = ..., record_key_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class ReportStreamStatsRequest(_message.Message):
    __slots__ = ("run_id", "organization_id", "stats")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    organization_id: str
    stats: StreamStats
    def __init__(self, run_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., stats: _Optional[_Union[StreamStats, _Mapping]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("id", "run_id", "destination_id", "medium", "state", "attempts", "last_error", "delivered_at", "location", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIUM_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    run_id: str
    destination_id: str
    medium: str
    state: DeliveryState
    attempts: int
    last_error: str
    delivered_at: _timestamp_pb2.Timestamp
    location: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., run_id: _Optional[str] = ..., destination_id: _Optional[str] = ..., medium: _Optional[str] = ..., state: _Optional[_Union[DeliveryState, str]] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., delivered_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., location: _Optional[str] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListRunDeliveriesRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class ListRunDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...

class RedeliverRequest(_message.Message):
    __slots__ = ("run_id", "destination_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    destination_id: str
    def __init__(self, run_id: _Optional[str] = ..., destination_id: _Optional[str] = ...) -> None: ...

class RecordDeliveryAttemptRequest(_message.Message):
    __slots__ = ("run_id", "destination_id", "medium", "state", "attempt", "error", "location")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIUM_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    destination_id: str
    medium: str
    state: DeliveryState
    attempt: int
    error: str
    location: str
    def __init__(self, run_id: _Optional[str] = ..., destination_id: _Optional[str] = ..., medium: _Optional[str] = ..., state: _Optional[_Union[DeliveryState, str]] = ..., attempt: _Optional[int] = ..., error: _Optional[str] = ..., location: _Optional[str] = ...) -> None: ...
