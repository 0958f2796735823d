OPENQASM 2.0;
qreg q[1];
U(1/0, 0, 0) q;
