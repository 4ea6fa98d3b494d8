"""Dates, moments and periods as the API's document writes them: ISO 8601 text.

Pydantic would also read a number as one (seconds since 1970, or seconds long), which no official means and the
OpenAPI document does not promise; these types refuse it, with the message a badly written date gets. Values built in
code (a `datetime`) and the ISO text the workflows and the database store pass unchanged.
"""

import re
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

NUMBER = re.compile(r"\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*")


def written_out(message_id: str) -> BeforeValidator:
    """Refuse a number (or a number in text, as a query parameter carries it) with `message_id`."""

    def check(value: Any) -> Any:
        if isinstance(value, bool | int | float) or (isinstance(value, str) and NUMBER.fullmatch(value)):
            raise PydanticCustomError(message_id, "written out in ISO 8601, not as a number")
        return value

    return BeforeValidator(check)


Moment = Annotated[AwareDatetime, written_out("isian.waktu_salah")]
Day = Annotated[date, written_out("isian.tanggal_salah")]
Period = Annotated[timedelta, written_out("isian.durasi_salah")]
