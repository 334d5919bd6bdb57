"""MLOps plumbing: MLflow tracking, registered models, champions and their changes (promotion,
rollback), logged evaluations, model cards, data versions and Prefect deployments. Of the
library, only this package and the search's trial logging (:mod:`ethoflow.training.search`)
import MLflow or Prefect; ``flows/`` and the CLI wire them. MLflow is imported inside the
functions: it takes seconds to import and most callers never touch it."""
