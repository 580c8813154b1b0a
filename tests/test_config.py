import os
import subprocess
import sys

import numpy as np
import pytest

import fastprims as fp


def test_show_config(capsys):
    fp.show_config()
    out = capsys.readouterr().out
    assert "OpenMP" in out and "SIMD targets" in out and "compiler" in out
    info = fp.build_info()
    assert info["openmp"].startswith(("yes", "no"))


def test_set_get_num_threads():
    old = fp.get_num_threads()
    try:
        fp.set_num_threads(1)
        assert fp.get_num_threads() == 1
    finally:
        fp.set_num_threads(old)
    assert fp.get_num_threads() == old


def test_num_threads_context_restores():
    old = fp.get_num_threads()
    with fp.num_threads(1):
        assert fp.get_num_threads() == 1
    assert fp.get_num_threads() == old


@pytest.mark.parametrize("bad", [0, -1])
def test_set_num_threads_rejects(bad):
    with pytest.raises(ValueError, match="n must be >= 1"):
        fp.set_num_threads(bad)


def test_set_num_threads_type():
    with pytest.raises(TypeError):
        fp.set_num_threads(1.5)


def _run(code, env, cwd):
    # cwd outside the checkout: `python -c` puts cwd first on sys.path, and the
    # source tree's fastprims/ has no compiled modules when testing an install.
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_omp_num_threads_env_default(tmp_path):
    code = "import fastprims; print(fastprims.get_num_threads())"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    assert _run(code, env, tmp_path) == "1"


def test_default_follows_affinity(tmp_path):
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no affinity API")
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "import fastprims; print(fastprims.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    assert _run(code, env, tmp_path) == "1"


def test_threadpoolctl_sees_and_limits_openmp():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not fp.build_info()["openmp"].startswith("yes"):
        pytest.skip("built without OpenMP")
    fp.relu(np.zeros(10, np.float32))
    apis = [i["internal_api"] for i in threadpoolctl.threadpool_info()]
    assert "openmp" in apis
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fp.get_num_threads() == 1
