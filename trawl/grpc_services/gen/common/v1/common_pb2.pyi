from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class PageRequest(_message.Message):
    __slots__ = ("first", "after")
    FIRST_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    first: int
    after: str
    def __init__(self, first: _Optional[int] = ..., after: _Optional[str] = ...) -> None: ...

class PageInfo(_message.Message):
    __slots__ = ("has_next_page", "total_count")
    HAS_NEXT_PAGE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    has_next_page: bool
    total_count: int
    def __init__(self, has_next_page: bool = ..., total_count: _Optional[int] = ...) -> None: ...
