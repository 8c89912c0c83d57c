"""Where a store lives: a local path, or a URL (``s3://...``, ``gs://...``) read through fsspec.

Object-storage credentials and endpoints come from the usual environment (AWS_* variables,
``AWS_ENDPOINT_URL`` for S3-compatible servers), as fsspec's backends read them.
"""

from pathlib import Path


def is_remote(location: str | Path) -> bool:
    return "://" in str(location)


def as_location(location: str | Path) -> str | Path:
    """A URL stays a string (``Path`` would fold its ``//``); anything else is a local path."""
    return str(location) if is_remote(location) else Path(location)


def exists(location: str | Path) -> bool:
    if is_remote(location):
        import fsspec

        filesystem, path = fsspec.core.url_to_fs(str(location))
        return filesystem.exists(path)
    return Path(location).exists()


def read_member(location: str | Path, name: str) -> str | None:
    """The text of a small file inside a store (``zarr.json``), or None when absent."""
    if is_remote(location):
        import fsspec

        try:
            with fsspec.open(f"{str(location).rstrip('/')}/{name}", "r") as stream:
                return stream.read()
        except FileNotFoundError:
            return None
    member = Path(location) / name
    return member.read_text() if member.is_file() else None


def open_group(location: str | Path, what: str):
    """Open the Zarr v3 group at ``location`` read-only, or say why it is not a ``what``."""
    import warnings

    import zarr

    from seiscli.errors import NotAnArtifactError

    if not exists(location):
        raise NotAnArtifactError(f"{location} does not exist", "check the path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zarr's notes on unstable dtypes and numcodecs wrappers
            return zarr.open_group(as_location(location), mode="r", zarr_format=3)
    except Exception as exc:  # zarr raises several types for "not a group"
        raise NotAnArtifactError(f"{location} is not a Zarr v3 store", f"give a {what}") from exc
