OPENQASM 3.0;
input float x;
qubit[1] q;
rx(x % 2 ^ 1im) q[0];
for int i in [0:2] { }
