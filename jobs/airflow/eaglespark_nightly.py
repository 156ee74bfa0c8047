"""Example Airflow DAG for the eaglespark nightly chain (an example file: nothing here runs it).

One task per stage would duplicate jobs/nightly.sh's bookkeeping (dated run directory, pinned
vocabulary, resumed checkpoints, the tau gate on the `latest` pointer), so the DAG runs the
script once per night with the logical date as the run's name. A non-zero exit fails the task:
1 = a stage failed (named in the log), 3 = tau regressed; `latest` is left as it was in both.
"""
import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

REPO = "/opt/eaglespark-repo"  # a checkout with the built jar (mvn -B -DskipTests package)

with DAG(
    dag_id="eaglespark_nightly",
    schedule="30 1 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # nights share the checkpoint directory
    tags=["eaglespark"],
) as dag:
    BashOperator(
        task_id="nightly",
        bash_command=f"{REPO}/jobs/nightly.sh {REPO}/conf/jobs/llama3.1-8b-standard.conf",
        env={
            "NIGHTLY_DATE": "{{ ds }}",
            "NIGHTLY_ROOT": "hdfs:///eagle/llama3.1-8b-nightly",
            "SPARK_MASTER": "yarn",
            "NUM_EXECUTORS": "8",
            "GPUS_PER_EXECUTOR": "1",
            # libtorch installed on the GPU nodes (see README, "libtorch on the executors").
            "PYTORCH_LIBRARY_PATH": "/opt/djl/lib",
            "PYTORCH_FLAVOR": "cu124",
            "PYTORCH_VERSION": "2.5.1",
            "MAX_TAU_DROP": "0.05",
        },
        append_env=True,
        execution_timeout=pendulum.duration(hours=20),
        retries=0,  # a rerun would train further: retry by hand after reading the log
    )
