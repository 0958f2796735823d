OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
input float[64] _θ_0_;
gate rzz(p0) _gate_q_0, _gate_q_1 {
  cx _gate_q_0, _gate_q_1;
  rz(p0) _gate_q_1;
  cx _gate_q_0, _gate_q_1;
}
gate nest(a, b) r, s { rzz(a * b + 1) r, s; u3(a, -b, pi) r; }
bit[2] c;
qubit[2] q;
h q[0];
rx(theta/2) q[0];
rzz(2*theta + _θ_0_) q[0], q[1];
nest(theta ** 2, arccos(0.5) - τ) q[1], q[0];
barrier q[0], q[1];
c[0] = measure q[0];
c[1] = measure q[1];
