"""Pictures of artifacts (matplotlib, imported only when a picture is asked for)."""
