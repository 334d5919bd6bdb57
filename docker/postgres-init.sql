-- Run once by the postgres image, when its data volume is empty: one database per service, owned
-- by POSTGRES_USER (the user running this script).
CREATE DATABASE prefect;
CREATE DATABASE mlflow;
CREATE DATABASE optuna;
