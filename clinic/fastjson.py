"""Flask's JSON answers encoded by orjson (the one module that talks to it).

A month of availability is a few thousand small objects: the standard library's encoder was a tenth of the
request. Output stays what Flask's default provider gives: keys sorted, dates and dataclasses through Flask's
own `default`; anything orjson refuses (integers over 64 bits, keyword options) goes to the default provider.
"""
from __future__ import annotations

import typing as t

import orjson
from flask.json.provider import DefaultJSONProvider

_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS).decode()
        except TypeError:  # orjson.JSONEncodeError: let the standard encoder answer (or raise) as before
            return super().dumps(obj)

    def response(self, *args: t.Any, **kwargs: t.Any):
        if self._app.debug and self.compact is None:  # pretty output in debug, as Flask does
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj) + "\n", mimetype=self.mimetype)
