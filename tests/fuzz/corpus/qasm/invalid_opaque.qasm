OPENQASM 2.0;
opaque o a;
qreg q[1];
o q;
