"""What every stage shares: artifacts and their paths, schemas, configs, errors, the runner, stage code versions,
the stage registry and the output-folder lock."""
