"""The error raised for malformed sample data: it always says where (file, row id, field)."""

from __future__ import annotations


class SchemaError(ValueError):
    """Bad sample data, with the location that lets the user find and fix it."""

    def __init__(
        self,
        message: str,
        *,
        row_id: str | None = None,
        field: str | None = None,
        file: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.row_id = row_id
        self.field = field
        self.file = file
        self.hint = hint
        where = []
        if file:
            where.append(f"file {file}")
        if row_id is not None:
            where.append(f"row id {row_id!r}")
        if field:
            where.append(f"column {field!r}")
        text = (", ".join(where) + ": " if where else "") + message
        if hint:
            text += f" ({hint})"
        super().__init__(text)

    def with_file(self, file: str) -> SchemaError:
        """The same error, located in ``file``."""
        if self.file:
            return self
        base = str(self)
        prefix = ", ".join(
            p
            for p in (
                f"row id {self.row_id!r}" if self.row_id is not None else "",
                f"column {self.field!r}" if self.field else "",
            )
            if p
        )
        msg = base[len(prefix) + 2 :] if prefix and base.startswith(prefix) else base
        if self.hint and msg.endswith(f" ({self.hint})"):
            msg = msg[: -len(f" ({self.hint})")]
        return SchemaError(msg, row_id=self.row_id, field=self.field, file=file, hint=self.hint)
