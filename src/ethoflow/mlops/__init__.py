"""MLOps plumbing: the MLflow registry (models, aliases, evaluations), promotion and rollback,
data versions, Prefect deployments, set-up drift and model cards. Of the library, only this
package and the search's trial logging (:mod:`ethoflow.training.search`) import MLflow or
Prefect; ``flows/`` and the CLI wire them."""
