"""``stance tag --engine dask`` on a real LocalCluster: two worker processes on loopback."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

import stance.distributed as sd
from stance.data.clean import TextCleaner
from stance.data.formats import EncodingError
from stance.errors import DataError, StanceError
from stance.features.text import NgramTfidf
from stance.models.io import save_model
from stance.predict_cli import main as stance_cli
from stance.tagging import TagOptions, tag_corpus
from tests.run_dir_fixtures import _SENTENCES, make_run_dir, training_data

FILES, ROWS = 12, 200  # one partition per file; enough partitions for a kill to land mid-run
KEEP = TagOptions(keep=("source", "date"))


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    ) as local:
        yield local


@pytest.fixture()
def client(cluster):
    with Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """FILES Parquet files of news-like rows (with fields to keep and a missing text)."""
    root = tmp_path_factory.mktemp("archive")
    sentences = [s for group in _SENTENCES.values() for s in group]
    n = 0
    for f in range(FILES):
        rows = []
        for i in range(ROWS):
            k = n + i
            body = " ".join(sentences[(k + j) % len(sentences)] + "." for j in range(1 + k % 7))
            rows.append(
                {
                    "text": None if k % 97 == 5 else f"{body} Item {k}.",
                    "source": f"outlet-{k % 5}",
                    "date": f"2018-0{1 + k % 9}-1{k % 10}",
                }
            )
        n += ROWS
        pd.DataFrame(rows).to_parquet(root / f"day-{f:03d}.parquet", index=False)
    return root


@pytest.fixture(scope="module")
def reference(model, archive, tmp_path_factory) -> pa.Table:
    """What the single-machine `stance tag` writes for the same archive."""
    out = tmp_path_factory.mktemp("reference") / "tagged.parquet"
    tag_corpus(model, archive, out, KEEP, progress=False)
    return pq.read_table(out)


def _read_parts(out: Path) -> pa.Table:
    parts = sorted(out.glob("part-*.parquet"))
    return pa.concat_tables(pq.read_table(p) for p in parts)


def assert_same_table(got: pa.Table, expected: pa.Table) -> None:
    """Same schema and the same values, bit for bit (NaN probabilities of untagged rows included)."""
    assert got.schema.equals(expected.schema)
    pd.testing.assert_frame_equal(got.to_pandas(), expected.to_pandas(), check_exact=True)


def test_cli_output_is_identical_to_single_machine_tag(
    cluster, model, archive, reference, tmp_path, capsys
):
    out = tmp_path / "tagged"
    argv = ["tag", str(model), str(archive / "*.parquet"), "--out", str(out)]
    argv += ["--keep", "source,date", "--engine", "dask", "--no-progress"]
    assert stance_cli([*argv, "--scheduler", cluster.scheduler_address]) == 0
    assert f"tagged {FILES * ROWS} rows in {FILES} partitions" in capsys.readouterr().err
    assert len(list(out.glob("part-*.parquet"))) == FILES  # one part per input file
    assert_same_table(_read_parts(out), reference)
    # Each worker process loaded the model once, however many partitions it tagged.
    with Client(cluster.scheduler_address) as c:
        loads = c.run(lambda: sd.MODEL_LOADS)
    assert sorted(loads.values()) == [1, 1]


def test_resume_after_the_client_is_stopped(client, cluster, model, archive, reference, tmp_path):
    out = tmp_path / "tagged"
    committed: list[int] = []

    def stop_after_three(index: int) -> None:
        committed.append(index)
        if len(committed) == 3:
            raise KeyboardInterrupt  # the driver is stopped (Ctrl-C)

    with pytest.raises(KeyboardInterrupt):
        sd.tag_files(
            model,
            str(archive / "*.parquet"),
            out,
            client=client,
            options=KEEP,
            on_partition=stop_after_three,
        )
    client.close()
    done = {p: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert 3 <= len(done) < FILES

    with Client(cluster.scheduler_address) as again:
        summary = sd.tag_files(model, str(archive / "*.parquet"), out, client=again, options=KEEP)
    assert summary.resumed_partitions >= 3
    assert summary.resumed_partitions + summary.rows // ROWS == FILES
    assert {p: p.stat().st_mtime_ns for p in done} == done  # finished parts were not redone
    assert_same_table(_read_parts(out), reference)


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    client, model, archive, reference, tmp_path
):
    out = tmp_path / "tagged"
    pids_before = client.run(os.getpid)
    killed: list[int] = []

    def kill_a_busy_worker(index: int) -> None:
        if killed or index < 0:
            return
        busy = [addr for addr, keys in client.processing().items() if keys]
        if busy:
            killed.append(pids_before[busy[0]])
            os.kill(killed[0], signal.SIGKILL)  # no clean-up, mid-partition

    start = time.perf_counter()
    summary = sd.tag_files(
        model,
        str(archive / "*.parquet"),
        out,
        client=client,
        options=KEEP,
        on_partition=kill_a_busy_worker,
    )
    elapsed = time.perf_counter() - start
    assert killed, "no worker was busy to kill"
    client.wait_for_workers(2, timeout=60)
    pids_after = client.run(os.getpid)
    assert killed[0] not in pids_after.values()  # the nanny started a fresh process
    got = _read_parts(out)
    ids = got.column("id").to_pylist()
    assert len(ids) == len(set(ids)) == FILES * ROWS  # nothing lost, nothing twice
    assert_same_table(got, reference)
    assert not list(out.glob(".*.tmp"))  # the dead attempt's temporary is gone
    print(
        f"\nworker-kill test: killed worker pid {killed[0]} (SIGKILL) mid-run; "
        f"{summary.partitions} partitions, {len(ids)} rows, {len(set(ids))} distinct ids, "
        f"output identical to single-machine stance tag; workers now {sorted(pids_after.values())}; "
        f"{elapsed:.1f} s"
    )


def test_the_same_from_python_over_a_dask_dataframe(client, model, archive, reference, tmp_path):
    import dask.dataframe as dd

    frame = dd.read_parquet(str(archive / "*.parquet"))
    summary = sd.tag_dask(model, frame, tmp_path / "tagged", client=client, options=KEEP)
    assert summary.rows == FILES * ROWS
    assert_same_table(_read_parts(tmp_path / "tagged"), reference)


def test_files_are_read_as_stance_tag_reads_them(client, model, tmp_path):
    """``--encoding``, the default ``id`` column, kept fields: the same reader, the same rows."""
    folder = tmp_path / "latin"
    folder.mkdir()
    sentences = [s for group in _SENTENCES.values() for s in group]
    for f in range(2):
        rows = [
            {
                "id": f"doc-{f}-{i}",
                "text": f"{sentences[i % len(sentences)]}. Café {i}.",
                "outlet": "Le Café",
            }
            for i in range(30)
        ]
        pd.DataFrame(rows).to_csv(folder / f"day-{f}.csv", index=False, encoding="latin-1")
    options = TagOptions(keep=("outlet",), encoding="latin-1")
    expected = []
    for f in range(2):
        single = tmp_path / f"single-{f}.parquet"
        tag_corpus(model, folder / f"day-{f}.csv", single, options, progress=False)
        expected.append(pq.read_table(single))
    out = tmp_path / "tagged"
    sd.tag_files(model, str(folder / "*.csv"), out, options, client=client)
    got = _read_parts(out)
    assert_same_table(got, pa.concat_tables(expected))
    assert got.column("id").to_pylist()[:2] == ["doc-0-0", "doc-0-1"]  # the id column, by default
    assert set(got.column("outlet").to_pylist()) == {"Le Café"}
    with pytest.raises(EncodingError, match="--encoding"):  # utf-8, as stance tag refuses it
        sd.tag_files(model, str(folder / "*.csv"), tmp_path / "utf8", client=client)


def test_an_output_folder_of_another_model_is_refused(client, model, archive, tmp_path):
    out = tmp_path / "tagged"
    one_file = str(archive / "day-000.parquet")
    sd.tag_files(model, one_file, out, client=client)
    other = tmp_path / "other" / "model.skops"
    other.parent.mkdir()
    X, y = training_data()
    pipe = Pipeline(
        [
            ("clean", TextCleaner()),
            ("features", NgramTfidf(min_df=1)),
            ("clf", LogisticRegression(C=0.05, max_iter=500)),
        ]
    )
    save_model(pipe.fit(X, y), other)
    (other.parent / "model_card.json").write_text((model / "model_card.json").read_text())
    with pytest.raises(DataError, match="partitions tagged by another model"):
        sd.tag_files(other.parent, one_file, out, client=client)


def test_a_glob_matching_nothing_is_a_clear_error(model, tmp_path, capsys):
    argv = ["tag", str(model), str(tmp_path / "none-*.parquet"), "--out", str(tmp_path / "o")]
    assert stance_cli([*argv, "--engine", "dask", "--cluster", "local"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"stance tag: error: no input files match {str(tmp_path / 'none-*.parquet')!r}"


def test_a_scheduler_that_does_not_answer_fails_within_the_timeout(
    model, archive, tmp_path, capsys
):
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["tag", str(model), str(archive), "--out", str(tmp_path / "o"), "--engine", "dask"]
    start = time.perf_counter()
    code = stance_cli([*argv, "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "2"])
    assert code == 2 and time.perf_counter() - start < 20
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"tcp://127.0.0.1:{port} did not answer within 2 s" in err[0]
    with pytest.raises(StanceError):
        sd.connect(f"tcp://127.0.0.1:{port}", timeout=1)


def test_slurm_settings_come_from_conf_and_overrides():
    from dask_jobqueue import SLURMCluster

    settings = sd.cluster_settings("slurm", ["queue=gpu", "cores=4", "memory=8GB", "jobs=3"])
    assert settings["jobs"] == 3 and settings["cores"] == 4
    settings.pop("jobs")
    with SLURMCluster(
        **{**settings, "processes": 4},
        scheduler_options={"host": "127.0.0.1", "dashboard_address": ":0"},
    ) as c:
        script = c.job_script()
    assert "#SBATCH -p gpu" in script
    assert "#SBATCH --cpus-per-task=4" in script
    assert "#SBATCH --mem=" in script and "--nworkers 4" in script
    with pytest.raises(StanceError, match="unknown --cluster 'pbs'"):
        sd.cluster_settings("pbs")
