from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConditionOp(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONDITION_OP_UNSPECIFIED: _ClassVar[ConditionOp]
    CONDITION_OP_EQ: _ClassVar[ConditionOp]
    CONDITION_OP_IN: _ClassVar[ConditionOp]
    CONDITION_OP_GT: _ClassVar[ConditionOp]
    CONDITION_OP_GTE: _ClassVar[ConditionOp]
    CONDITION_OP_LT: _ClassVar[ConditionOp]
    CONDITION_OP_LTE: _ClassVar[ConditionOp]
    CONDITION_OP_EXISTS: _ClassVar[ConditionOp]
    CONDITION_OP_CONTAINS: _ClassVar[ConditionOp]
CONDITION_OP_UNSPECIFIED: ConditionOp
CONDITION_OP_EQ: ConditionOp
CONDITION_OP_IN: ConditionOp
CONDITION_OP_GT: ConditionOp
CONDITION_OP_GTE: ConditionOp
CONDITION_OP_LT: ConditionOp
CONDITION_OP_LTE: ConditionOp
CONDITION_OP_EXISTS: ConditionOp
CONDITION_OP_CONTAINS: ConditionOp

class ExportRunRecordsRequest(_message.Message):
    __slots__ = ("run_id", "format", "compression")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    format: str
    compression: str
    def __init__(self, run_id: _Optional[str] = ..., format: _Optional[str] = ..., compression: _Optional[str] = ...) -> None: ...

class DatasetExport(_message.Message):
    __slots__ = ("url", "expires_at", "file_name", "content_type", "size", "records", "bucket", "key")
    URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    url: str
    expires_at: _timestamp_pb2.Timestamp
    file_name: str
    content_type: str
    size: int
    records: int
    bucket: str
    key: str
    def __init__(self, url: _Optional[str] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., file_name: _Optional[str] = ..., content_type: _Optional[str] = ..., size: _Optional[int] = ..., records: _Optional[int] = ..., bucket: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class Condition(_message.Message):
    __slots__ = ("field", "op", "value_json")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    VALUE_JSON_FIELD_NUMBER: _ClassVar[int]
    field: str
    op: ConditionOp
    value_json: str
    def __init__(self, field: _Optional[str] = ..., op: _Optional[_Union[ConditionOp, str]] = ..., value_json: _Optional[str] = ...) -> None: ...

class Projection(_message.Message):
    __slots__ = ("fields",)
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, fields: _Optional[_Iterable[str]] = ...) -> None: ...

class RecordsQuery(_message.Message):
    __slots__ = ("first", "after", "filter", "projection")
    FIRST_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    first: int
    after: str
    filter: _containers.RepeatedCompositeFieldContainer[Condition]
    projection: Projection
    def __init__(self, first: _Optional[int] = ..., after: _Optional[str] = ..., filter: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ..., projection: _Optional[_Union[Projection, _Mapping]] = ...) -> None: ...

class ListRunRecordsRequest(_message.Message):
    __slots__ = ("run_id", "query")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    query: RecordsQuery
    def __init__(self, run_id: _Optional[str] = ..., query: _Optional[_Union[RecordsQuery, _Mapping]] = ...) -> None: ...

class ListLatestReportRecordsRequest(_message.Message):
    __slots__ = ("report_id", "query")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    query: RecordsQuery
    def __init__(self, report_id: _Optional[str] = ..., query: _Optional[_Union[RecordsQuery, _Mapping]] = ...) -> None: ...

class Record(_message.Message):
    __slots__ = ("record_id", "sequence", "attempt", "emitted_at", "payload_json", "cursor")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    EMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    sequence: int
    attempt: int
    emitted_at: str
    payload_json: str
    cursor: str
    def __init__(self, record_id: _Optional[str] = ..., sequence: _Optional[int] = ..., attempt: _Optional[int] = ..., emitted_at: _Optional[str] = ..., payload_json: _Optional[str] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListRecordsResponse(_message.Message):
    __slots__ = ("found", "run_id", "records", "has_next_page", "end_cursor", "total_count")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    HAS_NEXT_PAGE_FIELD_NUMBER: _ClassVar[int]
    END_CURSOR_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    found: bool
    run_id: str
    records: _containers.RepeatedCompositeFieldContainer[Record]
    has_next_page: bool
    end_cursor: str
    total_count: int
    def __init__(self, found: bool = ..., run_id: _Optional[str] = ..., records: _Optional[_Iterable[_Union[Record, _Mapping]]] = ..., has_next_page: bool = ..., end_cursor: _Optional[str] = ..., total_count: _Optional[int] = ...) -> None: ...
