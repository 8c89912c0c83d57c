"""How a stage reports progress without printing: the command passes in a reporter."""

from typing import Protocol


class Progress(Protocol):
    """Receives progress from long stages; the CLI draws it on stderr."""

    def start(self, description: str, total: int) -> None: ...

    def advance(self, amount: int = 1, status: str | None = None) -> None:
        """``amount`` more steps done; ``status`` (e.g. the running loss) shown beside the bar."""

    def log(self, message: str) -> None: ...


class SilentProgress:
    """The reporter used when nobody is watching."""

    def start(self, description: str, total: int) -> None:
        pass

    def advance(self, amount: int = 1, status: str | None = None) -> None:
        pass

    def log(self, message: str) -> None:
        pass
