"""The API's input and output schemas (Pydantic v2) and the one place that validates a request against them.

Every API route declares its schemas with :func:`endpoint`: the path, query-string and body models that validate
the request, the success response model and the errors it may answer. The same declarations build the OpenAPI 3.1
document (:mod:`disburse.api.openapi`), whose schemas are these models' JSON Schema (2020-12, OpenAPI 3.1's dialect):
what the document says is what is checked.

Validation is structure and types only: a missing required field, a wrong type, a value outside its documented
range or pattern, an unknown field. It answers the API's one 422 ``invalid`` shape with every field's message in
the caller's language. Rules that need the database (the registry, a claim's state) stay in the services.

- Bodies are JSON objects (an empty body is ``{}``), read strictly: ``"5"`` is not a number, ``1`` is not text.
- Query strings are text: an empty value is an absent one, numbers are digits (:data:`QUERY_INT`), yes or no is
  ``true`` or ``false`` (:data:`QUERY_BOOL`).
- A name given twice (a query parameter, a key in one JSON object) is refused, never read as its first or last
  value: :data:`GIVEN_TWICE`.
- A field may carry :class:`Msg` metadata: the message for its errors when the generic one would say less.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Annotated, Any, ClassVar, TypeVar

import annotated_types
from flask import request
from flask.typing import ResponseReturnValue
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from disburse.api.errors import invalid, message, unreadable_parameters
from disburse.auth.text import NO_HIDDEN_PATTERN
from disburse.formatting import BadDay, composed, parse_day

F = TypeVar("F", bound=Callable[..., Any])
#: Attribute on a view function holding its :class:`Endpoint` (copied onto wrappers by functools.wraps).
ENDPOINT_ATTR = "_disburse_api_endpoint"

_DIGITS = re.compile(r"[0-9]{1,19}")
#: Control characters other than tab and line breaks, and format characters (a right-to-left override, a zero-width
#: space: a note read as something it is not): never in a note (PostgreSQL refuses NUL outright).
NO_CONTROL = NO_HIDDEN_PATTERN


@dataclass(frozen=True)
class Msg:
    """The (Vietnamese, English) message for a field's errors of ``kinds`` (Pydantic error types; all when empty, but
    a field left out, which is said as such: "a district code has exactly 3 digits" read wrong for a body without
    one)."""

    vi: str
    en: str
    kinds: frozenset[str] = frozenset()
    #: The words for the text given, when they depend on it (which characters are wrong): (Vietnamese, English), or
    #: None for ``vi`` and ``en``. The service's own check, so that the API says what its forms say.
    said: Callable[[str], tuple[str, str] | None] | None = None

    def applies(self, kind: str) -> bool:
        return kind in self.kinds if self.kinds else kind != "missing"


class ApiModel(BaseModel):
    """A request body: a JSON object, strict types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")

    #: The field a body that is not a JSON object (or not JSON) is reported against.
    body_field: ClassVar[str] = "body"

    @field_validator("*", mode="after")
    @classmethod
    def _composed(cls, value: Any) -> Any:
        """Text in its composed form (NFC), as everything is stored and compared: a Vietnamese keyboard set to
        "Unicode tổ hợp" sends "ế" as e + two combining marks, which would compare unequal to the same word. A field
        with a length limit composes first (:data:`COMPOSED`)."""
        return composed(value) if isinstance(value, str) else value

    def problems(self) -> dict[str, tuple[str, str]]:
        """Rules across fields, checked once each field is valid; (Vietnamese, English) per field."""
        return {}

    @classmethod
    def more_problems(cls, raw: Any) -> dict[str, tuple[str, str]]:
        """When the body is not valid: the service's own messages for it, which take precedence (Form 04)."""
        return {}


class QueryModel(ApiModel):
    """Query-string parameters: text, an empty value is absent, no unknown parameters."""


class ResponseModel(BaseModel):
    """A success answer: every property is always present (null where there is nothing), as the tests check."""

    model_config = ConfigDict(extra="forbid")


def _digits_to_int(value: Any) -> Any:
    return int(value) if isinstance(value, str) and _DIGITS.fullmatch(value) else value


#: A whole number in a query string: digits only (no sign, no spaces) become the integer. Put it after the bounds,
#: so that they stay in the schema: ``Annotated[int, Field(ge=1, le=200), QUERY_INT] | None``.
QUERY_INT = BeforeValidator(_digits_to_int)


def _true_false(value: Any) -> Any:
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


#: A yes or no in a query string: exactly ``true`` or ``false`` become the boolean (anything else, ``1``, ``yes`` or
#: ``True`` too, is refused: "Must be true or false."). ``Annotated[bool, QUERY_BOOL] | None``.
QUERY_BOOL = BeforeValidator(_true_false)


def _empty_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


#: Put before an optional text field's type: blank text is the same as no value.
BLANK_IS_ABSENT = BeforeValidator(_empty_to_none)


def _composed_text(value: Any) -> Any:
    return composed(value) if isinstance(value, str) else value


#: Put last in a text field's ``Annotated`` that has a length limit: the text composed (NFC) before its checks, so
#: that the limit counts letters, not the marks of letters typed decomposed. (:class:`ApiModel` composes every text
#: after its checks; a "before" validator on every field would make Pydantic read JSON's dates as Python's and
#: refuse them.)
COMPOSED = BeforeValidator(_composed_text)
CONTROL_MSG = Msg(
    "Có ký tự điều khiển hoặc ký tự ẩn (như ký tự đảo chiều chữ) không hợp lệ.",
    "Contains control or hidden characters (such as a right-to-left override).",
    frozenset({"string_pattern_mismatch"}),
)
#: What a required field left out or given blank says, in every body (:func:`left_out`).
REQUIRED = ("Trường này là bắt buộc.", "This field is required.")
#: A query parameter or a JSON object's key given more than once: which value was meant cannot be told.
GIVEN_TWICE = ("Trường này được gửi nhiều lần; chỉ gửi một lần.", "This field is given more than once; give it once.")
#: A required text field given blank: "required", as when it is missing.
BLANK_IS_MISSING = Msg(*REQUIRED, frozenset({"string_too_short"}))


def _wordless_to_blank(value: Any) -> Any:
    return "" if isinstance(value, str) and not re.search(r"\w", value) else value


#: Put in a required free text's ``Annotated`` (a reason printed on a notice, a note kept on a record), with
#: :data:`BLANK_IS_MISSING`: a text of dots or dashes alone says nothing and is refused as blank, as the pages' forms
#: refuse it (:func:`disburse.forms.free_text`).
WORDLESS_IS_BLANK = BeforeValidator(_wordless_to_blank)

#: ``?program=CODE`` (default: the configured program).
ProgramCode = Annotated[
    Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,20}$")] | None,
    Field(default=None, description="The program's code (default: the server's DISBURSE_PROGRAM, e.g. NQ116)."),
    Msg(
        "Mã chương trình chỉ gồm chữ, số, '-' và '_', tối đa 20 ký tự.",
        "A program code has only letters, digits, '-' and '_', at most 20 characters.",
    ),
]


class OneOf:
    """Text that must be one of ``values`` (a list known at run time: states, reason codes); an ``enum`` in the
    schema."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(sorted(values))

    def _check(self, value: str) -> str:
        if value not in self.values:
            raise PydanticCustomError("literal_error", "not one of the values", {"expected": ", ".join(self.values)})
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        result = handler(schema)
        result["enum"] = list(self.values)
        return result


# ---------------------------------------------------------------------------------------------- shared answers


class Reason(ResponseModel):
    """A reason code with its plain words."""

    code: str
    label_vi: str
    label_en: str


class ErrorResponse(ResponseModel):
    """The API's one error shape (``api_error``)."""

    error: str = Field(description="A stable code, e.g. not_found, invalid, invalid_state.")
    message: str = Field(description="What went wrong, in the caller's language (Accept-Language: vi or en).")
    fields: dict[str, str] = Field(description="A message per field (422), else {}.")


# ------------------------------------------------------------------------------------------------- validation


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (itself, in a list, optional), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[str], FieldInfo | None]:
    """A Pydantic error location as the API names it (``rows.0.si_code``), with the innermost field's info. Union
    members' tags (``int``, ``literal['me','none']``) are not part of the name."""
    parts: list[str] = []
    info: FieldInfo | None = None
    current: type[BaseModel] | None = model
    for item in loc:
        if isinstance(item, int):
            parts.append(str(item))
        elif current is not None and item in current.model_fields:
            info = current.model_fields[item]
            parts.append(item)
            current = _inner_model(info.annotation)
        else:
            break
    return parts, info


def _constraints(item: Any) -> Iterator[Any]:
    """Every piece of metadata in a field's annotation, however deep (unions, nested Annotated, Field())."""
    if isinstance(item, FieldInfo):
        yield from item.metadata
        yield from _constraints(item.annotation)
        return
    yield item
    for arg in typing.get_args(item):
        yield from _constraints(arg)


def _bounds(info: FieldInfo | None) -> tuple[Any, Any]:
    low = high = None
    for item in _constraints(info) if info is not None else ():
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Le):
            high = item.le
    return low, high


def _day(value: Any) -> Any:
    """A day given as text: dd/mm/yyyy, as people write it here, or YYYY-MM-DD (:func:`parse_day`, which says why it
    refuses one); any other value goes on to pydantic's own date check."""
    if not isinstance(value, str):
        return value
    try:
        return parse_day(value)
    except BadDay as bad:
        raise PydanticCustomError("day", "{en}", {"vi": bad.vi, "en": bad.en}) from None


#: What a day looks like in the document: either way it is written (``format: date`` would say ISO alone).
_DAY_SCHEMA = {
    "type": "string",
    "pattern": r"^([0-9]{1,2}/[0-9]{1,2}/[0-9]{4}|[0-9]{4}-[0-9]{2}-[0-9]{2})$",
    "description": "A day: dd/mm/yyyy (the day and month may have one digit) or YYYY-MM-DD, years 1900 to 2100.",
    "examples": ["31/01/1990", "1990-01-31"],
}

#: A day in a request: dd/mm/yyyy or YYYY-MM-DD, from 1900 to 2100. Every date field of every body and query string
#: is one (tests/api/test_days.py walks them all): what its error message promises is what it takes.
Day = Annotated[date, BeforeValidator(_day), WithJsonSchema(_DAY_SCHEMA)]


def _list_message(kind: str, ctx: Mapping[str, Any]) -> tuple[str, str]:
    """A list's error: not a list at all, or how many items it may hold."""
    if kind == "too_long":
        most, count = ctx.get("max_length"), ctx.get("actual_length")
        return f"Tối đa {most} phần tử (đang có {count}).", f"At most {most} items (this has {count})."
    if kind == "too_short":
        least = ctx.get("min_length")
        return f"Cần ít nhất {least} phần tử.", f"At least {least} items are needed."
    return "Phải là một danh sách (JSON [...]).", "Must be a list (JSON [...])."


def _generic(error: Any, info: FieldInfo | None) -> tuple[str, str]:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "day":
        return str(ctx["vi"]), str(ctx["en"])
    if kind == "missing":
        return REQUIRED
    if kind == "extra_forbidden":
        return "Trường này không được nhận.", "This field is not accepted."
    if kind in ("string_type", "string_sub_type"):
        return "Phải là một đoạn văn bản.", "Must be text."
    if kind in ("bool_type", "bool_parsing"):
        return "Phải là true hoặc false.", "Must be true or false."
    if kind in ("int_type", "int_parsing", "int_from_float", "greater_than_equal", "less_than_equal"):
        low, high = _bounds(info)
        if low is not None and high is not None:
            return f"Phải là một số nguyên từ {low} đến {high}.", f"Must be a whole number from {low} to {high}."
        return "Phải là một số nguyên.", "Must be a whole number."
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        return f"Phải là một trong: {expected}.", f"Must be one of: {expected}."
    if kind == "string_too_long":
        most, given = ctx.get("max_length"), len(str(error.get("input", "")).strip())
        return f"Tối đa {most} ký tự (đang có {given}).", f"At most {most} characters (this has {given})."
    if kind == "string_too_short":
        return REQUIRED
    if kind.startswith("date"):
        return "Phải là một ngày dạng dd/mm/yyyy hoặc YYYY-MM-DD.", "Must be a date as dd/mm/yyyy or YYYY-MM-DD."
    if kind in ("list_type", "too_short", "too_long"):
        return _list_message(kind, ctx)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "Phải là một đối tượng JSON.", "Must be a JSON object."
    return "Giá trị không hợp lệ.", "The value is not valid."


def _message(error: Any, info: FieldInfo | None) -> tuple[str, str]:
    for item in info.metadata if info is not None else ():
        if isinstance(item, Msg) and item.applies(error["type"]):
            if item.said is not None and isinstance(error.get("input"), str) and (words := item.said(error["input"])):
                return words
            length = str(len(error["input"])) if isinstance(error.get("input"), str) else "?"
            return item.vi.replace("{length}", length), item.en.replace("{length}", length)
    return _generic(error, info)


_BODY_NOT_OBJECT = ("Nội dung phải là một đối tượng JSON.", "The body must be a JSON object.")


def field_errors(model: type[BaseModel], exc: ValidationError) -> dict[str, tuple[str, str]]:
    """Every field's (Vietnamese, English) message. An error of a list itself or of one of its items that is not
    an object (``rows``, ``rows.3``) is reported once on the list, before its items' own errors."""
    body_field = getattr(model, "body_field", "body")
    top_info = model.model_fields.get(body_field)
    whole: dict[str, tuple[str, str]] = {}
    inner: dict[str, tuple[str, str]] = {}
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            parts, _ = _walk(model, loc[:-1])
            inner.setdefault(".".join([*parts, str(loc[-1])]), _message(error, None))
            continue
        parts, info = _walk(model, loc)
        if not parts:  # the body itself: not JSON, or not an object
            whole.setdefault(body_field, _message(error, top_info) if top_info is not None else _BODY_NOT_OBJECT)
        elif all(part.isascii() and part.isdigit() for part in parts[1:]):
            whole.setdefault(parts[0], _message(error, model.model_fields[parts[0]]))
        else:
            inner.setdefault(".".join(parts), _message(error, info))
    for name, text in inner.items():
        if name.split(".")[0] not in whole:
            whole.setdefault(name, text)
    return whole


# ---------------------------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Endpoint:
    """What a route takes and answers: the OpenAPI document is built from these."""

    tag: str
    summary: str
    description: str = ""
    path: type[ApiModel] | None = None
    query: type[QueryModel] | None = None
    body: type[ApiModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    #: A success answer that is not JSON (e.g. "text/html"): documented as that media type.
    media_type: str = "application/json"
    #: status → what it means for this route (401/403/422/429 are added from the route's guard and schemas).
    errors: Mapping[int, str] = field(default_factory=dict)
    #: status → a body other than ErrorResponse.
    error_models: Mapping[int, type[BaseModel]] = field(default_factory=dict)
    #: Request headers the route reads, name → description (the Idempotency-Key is added on every POST).
    headers: Mapping[str, str] = field(default_factory=dict)
    #: A body the route reads as it is (a provider's own message): documented, not validated here.
    raw_body: str = ""
    #: Any query string is passed over, not refused (a health probe may append its own, e.g. a cache-buster).
    any_query: bool = False


def _query_values() -> dict[str, str]:
    return {name: value for name, value in request.args.items() if value != ""}


def left_out(model: type[BaseModel], values: Any) -> dict[str, tuple[str, str]]:
    """The body's required fields that are missing or blank text, each said :data:`REQUIRED`: the same words in
    every body, before what a field's type, pattern or service would say of a value that is not there ("«» is not a
    date")."""
    if not isinstance(values, Mapping):
        return {}
    return {
        name: REQUIRED
        for name, info in model.model_fields.items()
        if info.is_required() and (name not in values or (isinstance(values[name], str) and not values[name].strip()))
    }


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key-value pairs, in order and repeats kept."""


def repeated_keys(raw: bytes) -> dict[str, tuple[str, str]]:
    """The keys given twice in one object of a JSON body, by where they sit (``rows.0.si_code``): a parser keeps
    the last of them, when the client who sent two values meant one of them."""
    try:
        document = json.loads(raw, object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        return {}  # the model's validation says what is wrong with it
    repeated: dict[str, tuple[str, str]] = {}
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, _Pairs):
            seen: set[str] = set()
            for key, item in value:
                path = f"{where}.{key}" if where else key
                if key in seen:
                    repeated[path] = GIVEN_TWICE
                seen.add(key)
                stack.append((item, path))
        elif isinstance(value, list):
            stack.extend((item, f"{where}.{index}" if where else str(index)) for index, item in enumerate(value))
    return repeated


def _read_body(model: type[ApiModel]) -> tuple[ApiModel | None, dict[str, tuple[str, str]]]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raw = b"{}"
    twice = repeated_keys(raw)
    if twice:
        return None, twice
    try:
        parsed = model.model_validate_json(raw)
    except ValidationError as exc:
        decoded = _decoded(raw)
        # The service's words first, but for a required field that is not there.
        return None, {**field_errors(model, exc), **model.more_problems(decoded), **left_out(model, decoded)}
    if left_out(model, dict(parsed)):  # blank text that the field's type lets through
        decoded = _decoded(raw)
        return None, {**model.more_problems(decoded), **left_out(model, decoded)}
    return parsed, {}


def _decoded(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def validated(spec: Endpoint) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The route's parsed inputs (``query``, ``body``) and every field's error. A value no route could accept
    (control characters, a path's percent-encoding that is not UTF-8) is named for that, before any model's own
    words about it (which would count the U+FFFD it decoded to as characters)."""
    errors: dict[str, tuple[str, str]] = unreadable_parameters()
    if spec.query is None and not spec.any_query:  # a route that reads none takes none, as a QueryModel its own
        for name in request.args:
            errors.setdefault(name, ("Trường này không được nhận.", "This field is not accepted."))
    for name, given in request.args.lists():
        if len(given) > 1 and not spec.any_query:
            errors.setdefault(name, GIVEN_TWICE)
    values: dict[str, Any] = {}
    for key, model, source in (("path", spec.path, request.view_args or {}), ("query", spec.query, None)):
        if model is None:
            continue
        try:
            values[key] = model.model_validate(source if source is not None else _query_values())
        except ValidationError as exc:
            for name, text in field_errors(model, exc).items():
                errors.setdefault(name, text)
    if spec.body is not None:
        body, body_errors = _read_body(spec.body)
        for name, text in body_errors.items():
            errors.setdefault(name, text)
        if body is not None and not errors:
            for name, text in body.problems().items():
                errors.setdefault(name, text)
        values["body"] = body
    return values, errors


def endpoint(**declared: Any) -> Callable[[F], F]:
    """Declare a route's schemas (see :class:`Endpoint`) and validate its input through them before it runs: the
    view gets ``query=`` and ``body=`` (the parsed models) besides its path arguments; bad input is the 422.

    Put it below the route's permission decorator, so that who may call is decided first (401/403 before 422)."""
    spec = Endpoint(**declared)

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            values, errors = validated(spec)
            if errors:
                return invalid({name: message(vi, en) for name, (vi, en) in errors.items()})
            values.pop("path", None)
            if spec.query is not None or spec.body is not None:
                kwargs.update(values)
            return view(*args, **kwargs)

        setattr(wrapped, ENDPOINT_ATTR, spec)
        return wrapped  # type: ignore[return-value]

    return decorator


def spec_of(view: Callable[..., Any]) -> Endpoint | None:
    return getattr(view, ENDPOINT_ATTR, None)


__all__ = [
    "QUERY_BOOL",
    "QUERY_INT",
    "ApiModel",
    "Day",
    "Endpoint",
    "ErrorResponse",
    "Msg",
    "OneOf",
    "ProgramCode",
    "QueryModel",
    "Reason",
    "ResponseModel",
    "endpoint",
    "field_errors",
    "left_out",
    "spec_of",
]
