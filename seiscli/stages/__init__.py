"""One orchestrator per command: ``run_<stage>(cfg, ...) -> Result``. Stages never print."""
