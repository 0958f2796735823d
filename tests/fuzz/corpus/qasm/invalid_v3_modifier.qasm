OPENQASM 3.0;
qubit[2] q;
ctrl @ x q[0], q[1];
