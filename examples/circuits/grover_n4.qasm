// Grover's search on 4 qubits for the marked state |1011> (q3 q2 q1 q0 = 1 0 1 1):
// three rounds of oracle + diffusion bring its probability to about 0.96.
OPENQASM 2.0;
include "qelib1.inc";

// phase flip of |1111> on four qubits: c3x conjugated by h on the target
gate cccz a, b, c, d { h d; c3x a, b, c, d; h d; }

// oracle: flip the phase of |1011> (q2 is the 0 bit)
gate oracle a, b, c, d { x c; cccz a, b, c, d; x c; }

// reflection about the uniform superposition
gate diffuse a, b, c, d {
  h a; h b; h c; h d;
  x a; x b; x c; x d;
  cccz a, b, c, d;
  x a; x b; x c; x d;
  h a; h b; h c; h d;
}

qreg q[4];
creg c[4];
h q;
oracle q[0], q[1], q[2], q[3];
diffuse q[0], q[1], q[2], q[3];
oracle q[0], q[1], q[2], q[3];
diffuse q[0], q[1], q[2], q[3];
oracle q[0], q[1], q[2], q[3];
diffuse q[0], q[1], q[2], q[3];
measure q -> c;
