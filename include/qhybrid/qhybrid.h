/* qhybrid — every public header in one include.
 *
 *     #include <qhybrid/qhybrid.h>
 *
 * Link with qhybrid::qhybrid (CMake: find_package(qhybrid)) or `pkg-config --libs qhybrid`.
 * A program that uses only the simulator may include just the simulator's headers (status,
 * rng, circuit, qasm, plan, state, sim, world) and link qhybrid::sim / qhybrid-sim alone,
 * without the task layer's and the launcher's libraries (ZeroMQ, SQLite, cairo, libarchive).
 *
 * Not included: qhybrid/sim_mpi.h, the simulator over an MPI communicator. It includes
 * <mpi.h>, which must come from the MPI that qhybrid was built with, and most programs do
 * not use MPI themselves (qhybrid/world.h runs a circuit over a program's processes without
 * naming an MPI type); a program that does includes it next to this header. Both the
 * CMake targets and the .pc files carry that MPI's include directories (so `mpicc` is not
 * needed).
 */
#ifndef QHYBRID_QHYBRID_H
#define QHYBRID_QHYBRID_H

/* errors and symbols */
#include "qhybrid/export.h"
#include "qhybrid/status.h"

/* the simulator (libqhybrid_sim) */
#include "qhybrid/circuit.h"
#include "qhybrid/plan.h"
#include "qhybrid/qasm.h"
#include "qhybrid/rng.h"
#include "qhybrid/sim.h"
#include "qhybrid/state.h"
#include "qhybrid/world.h"
#include "qhybrid/target.h"
#include "qhybrid/transpile.h"

/* the task layer (libqhybrid_tasks) */
#include "qhybrid/pool.h"
#include "qhybrid/task.h"
#include "qhybrid/value.h"

/* hybrid jobs, devices, functions and the data store (libqhybrid) */
#include "qhybrid/archive.h"
#include "qhybrid/device.h"
#include "qhybrid/files.h"
#include "qhybrid/function.h"
#include "qhybrid/job.h"

#endif
